"""Canary Ingresses merged into their main Ingress.

ingress-nginx pairs a canary Ingress (``canary: "true"``) with the Ingress that serves the same
host and path, and sends a request to the canary's Service by header, then cookie, then
weight. On ALB the main Ingress's rule for that path gets a weighted forward action (main and
canary target groups), and rules before it for the header and the cookie.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from albctl.migrate.backend import sticky_seconds
from albctl.migrate.draft import LAYER_CANARY, LAYER_MAIN, Draft, DraftPath
from albctl.migrate.report import NGINX, Status

MAX_WEIGHT = 999


def _n(name: str) -> str:
    return NGINX + name


def _forward(p: DraftPath) -> dict[str, Any]:
    return {"serviceName": p.service, "servicePort": p.port}


def _header(name: str, values: list[str], regex: bool = False) -> dict[str, Any]:
    key = "regexValues" if regex else "values"
    return {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": name, key: values}}


def _weights(d: Draft) -> tuple[int, int, str | None]:
    """(canary weight, total, why they were scaled) on ALB's 0..999 scale."""
    total_raw = d.nginx("canary-weight-total") or "100"
    weight_raw = d.nginx("canary-weight") or "0"
    total = int(total_raw) if total_raw.isdigit() and int(total_raw) > 0 else 100
    weight = min(int(weight_raw), total) if weight_raw.isdigit() else 0
    if total <= MAX_WEIGHT:
        return weight, total, None
    scaled = round(weight * MAX_WEIGHT / total)
    return scaled, MAX_WEIGHT, f"{weight}/{total} scaled to {scaled}/{MAX_WEIGHT}"


def _variants(canary: Draft, main_p: DraftPath, canary_p: DraftPath) -> list[DraftPath]:
    """Rules before the main path's rule: header, then cookie (never → main, else → canary)."""
    out: list[DraftPath] = []
    to_canary = {"type": "forward", "forwardConfig": {"targetGroups": [_forward(canary_p)]}}
    to_main = main_p.forward_json() or {}
    base = replace(main_p, layer=LAYER_CANARY)
    header = canary.nginx("canary-by-header")
    if header:
        value = canary.nginx("canary-by-header-value")
        pattern = canary.nginx("canary-by-header-pattern")
        if value:
            out.append(
                base.with_conditions(_header(header, [value])).with_action(
                    to_canary, f"{canary_p.service}-canary"
                )
            )
        elif pattern:
            out.append(
                base.with_conditions(_header(header, [pattern], regex=True)).with_action(
                    to_canary, f"{canary_p.service}-canary"
                )
            )
        else:
            out.append(
                base.with_conditions(_header(header, ["never"])).with_action(
                    to_main, f"{main_p.service}-main"
                )
            )
            out.append(
                base.with_conditions(_header(header, ["always"])).with_action(
                    to_canary, f"{canary_p.service}-canary"
                )
            )
    cookie = canary.nginx("canary-by-cookie")
    if cookie:
        out.append(
            base.with_conditions(_header("Cookie", [f"*{cookie}=never*"])).with_action(
                to_main, f"{main_p.service}-main"
            )
        )
        out.append(
            base.with_conditions(_header("Cookie", [f"*{cookie}=always*"])).with_action(
                to_canary, f"{canary_p.service}-canary"
            )
        )
    return out


def _weighted(main: Draft, main_p: DraftPath, canary_p: DraftPath, w: int, total: int) -> DraftPath:
    if w <= 0:
        return main_p
    groups = [dict(_forward(main_p), weight=total - w), dict(_forward(canary_p), weight=w)]
    cfg: dict[str, Any] = {"targetGroups": groups}
    if main.nginx("affinity") == "cookie" and main.nginx("affinity-canary-behavior") != "legacy":
        cfg["targetGroupStickinessConfig"] = {
            "enabled": True,
            "durationSeconds": sticky_seconds(main),
        }
    return main_p.with_action(
        {"type": "forward", "forwardConfig": cfg}, f"{main_p.service}-weighted"
    )


def _find_main(canary: Draft, mains: list[Draft], p: DraftPath) -> tuple[Draft, int] | None:
    for m in mains:
        if m.namespace != canary.namespace:
            continue
        for i, mp in enumerate(m.paths):
            same = (mp.host, mp.path or "/") == (p.host, p.path or "/")
            if same and mp.layer == LAYER_MAIN and mp.service is not None:
                return m, i
    return None


def merge_canary(canary: Draft, mains: list[Draft]) -> None:
    """Fold ``canary`` into the main Ingresses of its paths; report on the canary."""
    w, total, scaled = _weights(canary)
    merged_into: list[str] = []
    for p in canary.paths:
        found = _find_main(canary, mains, p)
        if found is None or p.service is None:
            canary.report.add(
                "spec.rules",
                "unsupported",
                f"no Ingress in namespace {canary.namespace} serves host {p.host or '*'} path "
                f"{p.path or '/'} with a Service: nothing to be the canary of",
            )
            continue
        main, i = found
        main_p = main.paths[i]
        extra = _variants(canary, main_p, p)
        main.paths[i : i + 1] = [*extra, _weighted(main, main_p, p, w, total)]
        merged_into.append(main.key)
    canary.merged = True
    canary.report.output = None
    targets = sorted(set(merged_into))
    canary.report.merged_into = ", ".join(targets) if targets else None
    _report(canary, w, total, scaled, targets)


def _report(canary: Draft, w: int, total: int, scaled: str | None, targets: list[str]) -> None:
    into = f"Ingress/{', '.join(targets)}" if targets else "no Ingress"
    canary.report.add(_n("canary"), "mapped", f"merged into {into}")
    if canary.nginx("canary-weight") is not None:
        detail = f"weighted forward: {w} of {total} to the canary" + (
            f" ({scaled})" if scaled else ""
        )
        canary.report.add(
            _n("canary-weight"),
            "approximated" if scaled else "mapped",
            detail,
            ("forwardConfig weights",),
        )
    if canary.nginx("canary-weight-total") is not None:
        canary.report.add(
            _n("canary-weight-total"),
            "approximated" if scaled else "mapped",
            f"weights out of {total}",
        )
    header = canary.nginx("canary-by-header")
    if header:
        how = "value 'always' to the canary, 'never' to the main Service"
        if canary.nginx("canary-by-header-value"):
            how = f"value {canary.nginx('canary-by-header-value')!r} to the canary"
        elif canary.nginx("canary-by-header-pattern"):
            how = "values matching the pattern (ALB regex) to the canary"
        canary.report.add(
            _n("canary-by-header"),
            "approximated",
            f"http-header condition on {header}: {how}; ALB compares header values "
            "case-insensitively, and * or ? in a value are wildcards",
            ("conditions.* http-header",),
        )
    for key in ("canary-by-header-value", "canary-by-header-pattern"):
        if canary.nginx(key) is not None:
            status: Status = "approximated" if header else "mapped"
            detail = "part of canary-by-header" if header else "no effect without canary-by-header"
            canary.report.add(_n(key), status, detail)
    cookie = canary.nginx("canary-by-cookie")
    if cookie:
        canary.report.add(
            _n("canary-by-cookie"),
            "approximated",
            f"ALB has no cookie condition: http-header conditions on Cookie matching "
            f"*{cookie}=always* (canary) and *{cookie}=never* (main); a cookie whose name ends "
            f"in {cookie} or whose value starts with always/never matches too",
            ("conditions.* http-header Cookie",),
        )
