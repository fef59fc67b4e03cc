"""Paths: read from the Ingress, written for albctl in ingress-nginx's order.

ingress-nginx matches ``Exact`` paths first, then the longest prefix (``Prefix`` per path
element, ``ImplementationSpecific`` per character); with ``use-regex`` (or ``rewrite-target``)
the paths of the host are case-insensitive regexes anchored at the start. ALB takes the first
rule that matches in priority order, and albctl orders the paths within one ``rules[]`` entry
(Exact, then Prefix by length, then the rest as written). So paths are written longest first,
split into several ``rules[]`` entries of the same host where albctl's own order would differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from albctl.migrate.draft import Draft, DraftPath
from albctl.migrate.report import NGINX
from albctl.model.objects import Ingress


def read_paths(d: Draft, ing: Ingress) -> None:
    for ri, rule in enumerate(ing.spec.rules):
        if rule.http is None:
            continue
        for pi, p in enumerate(rule.http.paths):
            svc = p.backend.service
            if svc is None:
                d.report.add(
                    f"spec.rules[{ri}].http.paths[{pi}].backend",
                    "unsupported",
                    "only Service backends can be load balancer targets",
                )
                continue
            port: int | str | None = (
                svc.port.number if svc.port.number is not None else svc.port.name
            )
            d.paths.append(
                DraftPath(
                    host=rule.host,
                    path=p.path,
                    path_type=p.path_type,
                    service=svc.name,
                    port=port,
                    hint=svc.name,
                )
            )


def server_alias(d: Draft) -> None:
    raw = d.nginx("server-alias")
    if raw is None:
        return
    aliases = [a.strip() for a in raw.split(",") if a.strip()]
    hosts = [h for h in d.hosts if h]
    if not hosts:
        d.report.add(NGINX + "server-alias", "mapped", "no effect: the Ingress names no host")
        return
    extra = [replace(p, host=a) for a in aliases for p in d.paths if p.host == hosts[0]]
    d.paths += extra
    d.report.add(
        NGINX + "server-alias",
        "mapped",
        f"the rules of {hosts[0]} also for {', '.join(aliases)}",
        tuple(aliases),
    )


def wants_regex(d: Draft) -> bool:
    return d.flag("use-regex") or d.nginx("rewrite-target") is not None


def render(p: DraftPath, ingress_regex: bool, host_regex: bool) -> tuple[str, str]:
    """(path, pathType) for albctl."""
    path = p.path or "/"
    if p.path_type == "Exact":
        return path, "Exact"
    if host_regex:
        return "/^" + path, "ImplementationSpecific"
    if p.path_type == "Prefix":
        return path, "Prefix"
    if ingress_regex:
        return "/^" + re.escape(path), "ImplementationSpecific"
    return (path if path.endswith("*") else path + "*"), "ImplementationSpecific"


def host_rank(host: str) -> int:
    return 2 if not host else 1 if host.startswith("*") else 0


def nginx_order(paths: Iterable[DraftPath]) -> list[DraftPath]:
    """ingress-nginx's precedence: per host, Exact first, then longer paths first."""
    indexed = list(enumerate(paths))
    indexed.sort(
        key=lambda ip: (
            host_rank(ip[1].host),
            ip[1].host,
            0 if ip[1].path_type == "Exact" else 1,
            -len(ip[1].path or "/"),
            ip[1].path or "/",
            ip[1].layer,
            ip[0],
        )
    )
    return [p for _, p in indexed]


def albctl_order(rendered: list[tuple[str, str]]) -> list[int]:
    """The order albctl gives the paths of one rules[] entry (see the builder)."""
    exact = [i for i, (_, t) in enumerate(rendered) if t == "Exact"]
    prefix = sorted(
        (i for i, (_, t) in enumerate(rendered) if t == "Prefix"),
        key=lambda i: -len(rendered[i][0]),
    )
    other = [i for i, (_, t) in enumerate(rendered) if t not in ("Exact", "Prefix")]
    return exact + prefix + other


@dataclass
class Entry:
    host: str
    paths: list[tuple[DraftPath, str, str]]  # (draft path, path, pathType)


def entries(d: Draft, regex_hosts: set[str]) -> list[Entry]:
    out: list[Entry] = []
    for p in nginx_order(d.paths):
        path, typ = render(p, d.regex, p.host in regex_hosts)
        if out and out[-1].host == p.host:
            cand = [(x[1], x[2]) for x in out[-1].paths] + [(path, typ)]
            if albctl_order(cand) == list(range(len(cand))):
                out[-1].paths.append((p, path, typ))
                continue
        out.append(Entry(p.host, [(p, path, typ)]))
    return out


def covers(a: DraftPath, b: DraftPath) -> bool:
    """Would a request under ``b``'s path also match ``a`` (a shorter, non-regex path)?"""
    pa, pb = a.path or "/", b.path or "/"
    if a.path_type == "Exact" or b.path_type == "Exact" or len(pb) <= len(pa):
        return False
    if a.host and b.host and a.host.lower() != b.host.lower():
        return False
    if a.path_type == "Prefix":
        return pa == "/" or pb.startswith(pa.rstrip("/") + "/")
    return pb.startswith(pa)
