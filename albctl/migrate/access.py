"""Source address lists: whitelist/allowlist-source-range and denylist-source-range.

Mapped onto listener rules, not onto ``inbound-cidrs``: inbound-cidrs opens a listener port of
the whole load balancer, so in a group shared with other Ingresses it would restrict (or open)
their paths too. Per path, a rule with a ``source-ip`` condition forwards the allowed clients
and a rule after it answers everyone else with 403, as nginx does; denied clients get a 403
rule before the path. ALB allows 5 condition values per rule, so long lists are split over
several rules.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from albctl.migrate.draft import LAYER_DENY, LAYER_FORBIDDEN, Draft, DraftPath
from albctl.migrate.report import NGINX

MAX_VALUES = 5
FORBIDDEN = {
    "type": "fixed-response",
    "fixedResponseConfig": {
        "statusCode": "403",
        "contentType": "text/plain",
        "messageBody": "403 Forbidden",
    },
}


def _cidrs(d: Draft, key: str) -> list[str] | None:
    raw = d.nginx(key)
    if raw is None:
        return None
    out = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            d.report.add(NGINX + key, "unsupported", f"{item!r} is not an IP address or CIDR")
            return None
    return out


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _source_ip(cidrs: list[str]) -> dict[str, object]:
    return {"field": "source-ip", "sourceIpConfig": {"values": cidrs}}


def _split(p: DraftPath, cidrs: list[str]) -> list[DraftPath] | None:
    room = MAX_VALUES - p.condition_values
    if room < 1:
        return None
    if p.action is None:
        p = replace(p, hint=f"{p.hint}-allowed")
    return [p.with_conditions(_source_ip(c)) for c in _chunks(cidrs, room)]


def source_ranges(d: Draft) -> None:
    allow_key = (
        "allowlist-source-range"
        if d.nginx("allowlist-source-range") is not None
        else ("whitelist-source-range")
    )
    allow = _cidrs(d, allow_key)
    deny = _cidrs(d, "denylist-source-range")
    if allow is None and deny is None:
        return
    out: list[DraftPath] = []
    seen: set[tuple[str, str, str]] = set()
    failed = False
    for p in d.paths:
        where = (p.host, p.path, p.path_type)
        first = where not in seen
        seen.add(where)
        base = replace(p, conditions=(), service=None, port=None, layer=LAYER_DENY)
        if deny and first:
            denied = _split(base, deny)
            failed |= denied is None
            out += [x.with_action(FORBIDDEN, "deny") for x in denied or []]
        if allow:
            allowed = _split(p, allow)
            failed |= allowed is None
            out += allowed or []
        else:
            out.append(p)
    if allow:
        done: set[tuple[str, str, str]] = set()
        for p in d.paths:
            where = (p.host, p.path, p.path_type)
            if where not in done:
                done.add(where)
                out.append(
                    replace(p, conditions=(), layer=LAYER_FORBIDDEN).with_action(
                        FORBIDDEN, "forbidden"
                    )
                )
    if failed:
        for key in ((allow_key,) if allow else ()) + (("denylist-source-range",) if deny else ()):
            d.report.add(
                NGINX + key,
                "unsupported",
                "a path's rule has no room left for a source-ip condition (ALB allows "
                "5 condition values per rule)",
                alternative="alb.ingress.kubernetes.io/inbound-cidrs (whole listener)",
            )
        return
    d.paths = out
    if allow:
        d.report.add(
            NGINX + allow_key,
            "mapped",
            f"per path: a rule with a source-ip condition ({len(allow)} CIDRs) forwards, a rule "
            "after it answers other clients 403",
            ("conditions.* source-ip", "actions.* fixed-response 403"),
        )
    if deny:
        d.report.add(
            NGINX + "denylist-source-range",
            "mapped",
            f"per path: a rule with a source-ip condition ({len(deny)} CIDRs) answers 403 first",
            ("conditions.* source-ip", "actions.* fixed-response 403"),
        )
    if d.raw.get("spec", {}).get("defaultBackend"):
        d.report.add(
            "spec.defaultBackend",
            "approximated",
            "the listener's default action cannot check the source address: the source range "
            "does not apply to the default backend",
        )
