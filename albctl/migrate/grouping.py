"""What the Ingresses of one host set share on ALB: the load balancer, TLS, the redirect.

ingress-nginx merges every Ingress of a host into one server; on ALB they must share one load
balancer, so Ingresses linked by a host form one IngressGroup (``group.name``), ordered so that
longer paths come first as nginx's longest match would have it. Listeners and the HTTP→HTTPS
redirect are per load balancer on ALB, and so is the idle timeout.
"""

from __future__ import annotations

import json
import re

from albctl.migrate.backend import ALB, IDLE_KEY
from albctl.migrate.draft import Draft
from albctl.migrate.paths import covers, host_rank
from albctl.migrate.report import NGINX, MigrationReport

LISTEN_BOTH = json.dumps([{"HTTP": 80}, {"HTTPS": 443}])


def components(drafts: list[Draft]) -> list[list[Draft]]:
    """Drafts linked by a shared host (hostless rules share nginx's default server)."""
    parent = list(range(len(drafts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, d in enumerate(drafts):
        for h in d.hosts:
            h = h.lower()
            if h in owner:
                parent[find(i)] = find(owner[h])
            else:
                owner[h] = i
    out: dict[int, list[Draft]] = {}
    for i, d in enumerate(drafts):
        out.setdefault(find(i), []).append(d)
    return list(out.values())


def group_name(members: list[Draft], taken: set[str]) -> str:
    hosts = sorted(h for m in members for h in m.hosts if h)
    base = hosts[0].lower().replace("*.", "wildcard.") if hosts else "default-server"
    base = re.sub(r"[^a-z0-9.-]", "-", base)[:58].strip("-.") or "nginx"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def _specificity(d: Draft) -> tuple[int, int, str]:
    ranks = [host_rank(p.host) for p in d.paths] or [2]
    shortest = min((len(p.path or "/") for p in d.paths if p.path_type != "Exact"), default=999)
    return (max(ranks), -shortest, d.key)


def order_members(members: list[Draft], report: MigrationReport) -> list[Draft]:
    """Members in group order, and a note wherever ALB's order differs from longest match."""
    ordered = sorted(members, key=_specificity)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            for pa in a.paths:
                hit = next((pb for pb in b.paths if covers(pa, pb)), None)
                if hit is None or a.regex or b.regex:
                    continue
                detail = (
                    f"ALB tries Ingress/{a.key}'s path {pa.path or '/'} before Ingress/{b.key}'s "
                    f"longer path {hit.path} (host {hit.host or '*'}): such requests go to "
                    f"Ingress/{a.key}'s service, where ingress-nginx's longest match chose "
                    f"Ingress/{b.key}'s"
                )
                b.report.add("spec.rules", "approximated", detail)
                report.notes.append(detail)
                break
    return ordered


def _redirects(d: Draft) -> bool:
    if d.flag("force-ssl-redirect"):
        return True
    return bool(d.tls) and (d.nginx("ssl-redirect") or "true").lower() != "false"


def _share_tls(d: Draft, members: list[Draft]) -> None:
    """Copy the TLS entries of same-namespace siblings for hosts ``d`` serves without one."""
    for host in d.hosts:
        if not host or host in d.tls_hosts:
            continue
        for s in members:
            entry = next((t for t in s.tls if host in (t.get("hosts") or [])), None)
            if s is d or entry is None:
                continue
            if s.namespace == d.namespace and entry.get("secretName"):
                d.tls.append({"hosts": [host], "secretName": entry["secretName"]})
                d.report.add(
                    "spec.tls",
                    "mapped",
                    f"TLS of {host} from Ingress/{s.key}: ingress-nginx serves every "
                    "Ingress of a host with the host's certificate",
                )
            else:
                d.report.add(
                    "spec.tls",
                    "approximated",
                    f"host {host} has its TLS Secret in Ingress/{s.key} of another "
                    "namespace: albctl needs an ISSUED ACM certificate for it",
                )
            break


def tls_and_redirect(members: list[Draft]) -> None:
    https = any(m.tls or m.flag("force-ssl-redirect") for m in members)
    redirect = any(_redirects(m) for m in members)
    for m in members:
        if not https:
            for key in ("ssl-redirect", "force-ssl-redirect"):
                if m.nginx(key) is not None:
                    m.report.add(NGINX + key, "mapped", "no effect: no TLS on this host")
            continue
        _share_tls(m, members)
        m.alb[ALB + "listen-ports"] = LISTEN_BOTH
        if redirect:
            m.alb[ALB + "ssl-redirect"] = "443"
        _report_tls(m, redirect)


def _report_tls(m: Draft, redirect: bool) -> None:
    alb = (ALB + "listen-ports: HTTP 80, HTTPS 443",) + (
        (ALB + "ssl-redirect: 443",) if redirect else ()
    )
    if m.tls:
        m.report.add(
            "spec.tls",
            "mapped",
            "kept: albctl imports the TLS Secrets into ACM (or uses an ISSUED ACM "
            "certificate of the host)",
            alb,
        )
    elif not m.flag("force-ssl-redirect"):
        m.report.add(
            "spec.tls",
            "approximated",
            "no TLS of its own, but its load balancer listens on HTTPS: albctl needs an "
            "ISSUED ACM certificate for its hosts, or leaves it out",
            alb,
        )
    own = _redirects(m)
    if redirect and own:
        key = "force-ssl-redirect" if m.flag("force-ssl-redirect") else "ssl-redirect"
        how = "" if m.nginx(key) is not None else " (ingress-nginx's default with TLS)"
        extra = ""
        if key == "force-ssl-redirect" and not m.tls:
            extra = "; ALB terminates TLS itself, so it needs an ACM certificate for the hosts"
        m.report.add(
            NGINX + key,
            "approximated",
            f"HTTP redirects to HTTPS{how} with 301, where nginx answers 308: clients "
            f"may repeat a POST as a GET{extra}",
            alb,
        )
    elif redirect:
        m.report.add(
            NGINX + "ssl-redirect",
            "approximated",
            "HTTP redirects to HTTPS for this Ingress too: ALB's redirect is per "
            "load balancer, and another Ingress of the host set asks for it",
        )
    elif m.nginx("ssl-redirect") is not None:
        m.report.add(
            NGINX + "ssl-redirect", "mapped", "no redirect: HTTP and HTTPS serve the rules"
        )
    if m.nginx("force-ssl-redirect") is not None and not own and not m.flag("force-ssl-redirect"):
        m.report.add(NGINX + "force-ssl-redirect", "mapped", "false: nothing forced")


def idle_timeout(members: list[Draft], wanted: dict[str, int]) -> None:
    values = [wanted[m.key] for m in members if m.key in wanted]
    if not values:
        return
    for m in members:
        if m.key in wanted:
            m.alb[ALB + "load-balancer-attributes"] = f"{IDLE_KEY}={max(values)}"


def regex(members: list[Draft], regex_hosts: set[str]) -> None:
    for m in members:
        own = m.flag("use-regex") or m.nginx("rewrite-target") is not None
        via = sorted({p.host for p in m.paths if p.host in regex_hosts})
        if not (own or via):
            if m.nginx("use-regex") is not None:
                m.report.add(NGINX + "use-regex", "mapped", "false: paths are not regexes")
            continue
        m.regex = True
        m.alb[ALB + "use-regex-path-match"] = "true"
        why = (
            "its own use-regex/rewrite-target"
            if own
            else (
                f"another Ingress of host {', '.join(via)} uses regex (nginx applies it to the host)"
            )
        )
        m.report.add(
            NGINX + "use-regex" if m.nginx("use-regex") is not None else "spec.rules",
            "approximated",
            f"paths are regexes anchored at the start ({why}); nginx matches them "
            "case-insensitively, ALB case-sensitively, and ALB tries them in rule order",
            (ALB + "use-regex-path-match: true",),
        )
