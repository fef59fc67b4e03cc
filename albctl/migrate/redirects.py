"""Redirects and rewrites: permanent-redirect, temporal-redirect, app-root, rewrite-target."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from albctl.migrate.draft import LAYER_DENY, Draft
from albctl.migrate.report import NGINX

_CODES = {"301": "HTTP_301", "302": "HTTP_302", "307": "HTTP_302", "308": "HTTP_301"}


def redirect_config(url: str, code: str) -> tuple[dict[str, Any] | None, str | None]:
    """ALB redirectConfig for an nginx ``return CODE URL``; (None, why) when ALB cannot."""
    keep_uri = url.endswith("$request_uri")
    if keep_uri:
        url = url.removesuffix("$request_uri")
    if "$" in url:
        return None, f"{url!r} uses nginx variables"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, f"{url!r} is not an absolute http(s) URL"
    cfg: dict[str, Any] = {
        "protocol": parts.scheme.upper(),
        "host": parts.hostname,
        "port": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "statusCode": _CODES[code],
    }
    if keep_uri:
        cfg["path"] = "/#{path}"
        cfg["query"] = "#{query}"
    else:
        cfg["path"] = parts.path or "/"
        cfg["query"] = parts.query
    return cfg, None


def fixed_redirects(d: Draft) -> None:
    """permanent-redirect / temporal-redirect: every path of the Ingress redirects."""
    for key, code_key, default in (
        ("permanent-redirect", "permanent-redirect-code", "301"),
        ("temporal-redirect", None, "302"),
    ):
        url = d.nginx(key)
        code = (d.nginx(code_key) if code_key else None) or default
        if code_key and d.nginx(code_key) is not None and url is None:
            d.report.add(NGINX + code_key, "mapped", f"no effect without {NGINX}{key}")
        if url is None:
            continue
        if code not in _CODES:
            d.report.add(
                NGINX + key, "unsupported", f"status {code}: ALB redirects with 301 or 302"
            )
            continue
        cfg, why = redirect_config(url, code)
        if cfg is None:
            d.report.add(
                NGINX + key,
                "unsupported",
                f"{why}; ALB redirects to fixed parts or "
                "#{protocol}, #{host}, #{port}, #{path}, #{query}",
            )
            continue
        action = {"type": "redirect", "redirectConfig": cfg}
        d.paths = [p.with_action(action, "redirect") for p in d.paths]
        exact = code in ("301", "302")
        detail = f"every path redirects to {url} with {code}"
        if not exact:
            detail += f" (ALB: {cfg['statusCode'][5:]}; clients may change the method)"
        d.report.add(
            NGINX + key,
            "mapped" if exact else "approximated",
            detail,
            (f"redirect {cfg['statusCode']}",),
        )
        if code_key and d.nginx(code_key) is not None:
            d.report.add(
                NGINX + code_key,
                "mapped" if exact else "approximated",
                f"status {code}" + ("" if exact else f" sent as {cfg['statusCode'][5:]}"),
            )
        if key == "permanent-redirect" and d.nginx("temporal-redirect") is not None:
            d.report.add(
                NGINX + "temporal-redirect",
                "mapped",
                "no effect: permanent-redirect wins (as in ingress-nginx)",
            )
        return


def app_root(d: Draft) -> None:
    root = d.nginx("app-root")
    if root is None:
        return
    name = NGINX + "app-root"
    if not root.startswith("/"):
        d.report.add(name, "unsupported", f"{root!r} does not start with '/'")
        return
    action = {
        "type": "redirect",
        "redirectConfig": {"path": root, "query": "", "statusCode": "HTTP_302"},
    }
    roots = [p for p in d.paths if p.path in ("", "/") and p.layer != LAYER_DENY]
    hosts = list(dict.fromkeys(p.host for p in roots))
    for host in hosts:
        first = next(p for p in roots if p.host == host)
        d.paths.insert(
            d.paths.index(first),
            replace(first, path="/", path_type="Exact", conditions=()).with_action(
                action, "app-root"
            ),
        )
    if hosts:
        d.report.add(
            name,
            "mapped",
            f"requests for exactly / redirect (302) to {root}",
            ("redirect HTTP_302 on path / (Exact)",),
        )
    else:
        d.report.add(name, "mapped", "no effect: the Ingress has no path / (as in ingress-nginx)")


_GROUP_REF = re.compile(r"\$(\d+)")


def rewrite_target(d: Draft) -> None:
    target = d.nginx("rewrite-target")
    if target is None:
        return
    name = NGINX + "rewrite-target"
    identity = all(
        target == "/$1" and p.path.endswith("(.*)") and p.path[:-4] in ("", "/") for p in d.paths
    )
    if identity and d.paths:
        d.report.add(name, "mapped", "the rewrite keeps the path as it is")
        return
    d.report.add(
        name,
        "unsupported",
        f"the service receives the original path, not {target!r}: albctl does not support URL "
        "rewrite transforms (alb.ingress.kubernetes.io/transforms.*) yet, and a redirect would "
        "change the URL the client sees; requests still reach the same service"
        + (
            " (capture groups " + ", ".join(sorted(set(_GROUP_REF.findall(target)))) + ")"
            if _GROUP_REF.search(target)
            else ""
        ),
        alternative="an ALB URL rewrite transform on the listener rule, or serve the prefix "
        "in the application",
    )
