"""ALB rule conditions (as the Ingress model builds them) back into HTTPRoute matches.

Each alternative the ALB ORs (several values of one condition, several methods) becomes its
own match: the matches of an HTTPRoute rule are ORed too. A path ``/p`` with ``/p/*`` is a
``PathPrefix`` (the Gateway model makes those two patterns of it again), a value without ALB
wildcards is ``Exact``, any other pattern a ``RegularExpression`` meaning the same. Source-ip
conditions have no Gateway API field: they go to a ListenerRuleConfiguration; host-header
values become the route's hostnames.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from albctl.model.desired import Condition

MAX_MATCHES = 64  # gateway-api: matches per HTTPRoute rule


class Inexpressible(Exception):
    """The conditions have no HTTPRoute match of the same meaning."""


@dataclass
class RuleMatches:
    hostnames: tuple[str, ...] = ()
    matches: list[dict[str, Any]] = field(default_factory=list)
    source_ips: tuple[str, ...] = ()


def alb_regex(pattern: str) -> str:
    """An ALB wildcard pattern (``*`` any characters, ``?`` one) as an anchored regex."""
    parts = [re.escape(c) if c not in "*?" else (".*" if c == "*" else ".") for c in pattern]
    return "^" + "".join(parts) + "$"


def _paths(c: Condition) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    values = list(c.values)
    for v in list(values):
        if v == "/*":
            values.remove(v)
            out.append({"type": "PathPrefix", "value": "/"})
    for v in sorted(values):
        if v.endswith("/*") and v[:-2] in values and not re.search(r"[*?]", v[:-2]):
            out.append({"type": "PathPrefix", "value": v[:-2]})
    taken = {p["value"] for p in out} | {p["value"] + "/*" for p in out}
    for v in values:
        if v in taken:
            continue
        if re.search(r"[*?]", v):
            out.append({"type": "RegularExpression", "value": alb_regex(v)})
        else:
            out.append({"type": "Exact", "value": v})
    out += [{"type": "RegularExpression", "value": r} for r in c.regex_values]
    return out


def _headers(c: Condition) -> list[dict[str, Any]]:
    name = c.http_header_name or ""
    out = []
    for v in c.values:
        if re.search(r"[*?]", v):
            out.append({"type": "RegularExpression", "name": name, "value": alb_regex(v)})
        else:
            out.append({"type": "Exact", "name": name, "value": v})
    return out + [{"type": "RegularExpression", "name": name, "value": r} for r in c.regex_values]


def _query(c: Condition) -> list[dict[str, Any]]:
    out = []
    for q in c.query_values:
        if q.key is None or re.search(r"(?<!\\)[*?]", q.key + q.value):
            raise Inexpressible("a query-string condition without a key or with wildcards")
        out.append({"type": "Exact", "name": q.key, "value": q.value.replace("\\", "")})
    return out


def rule_matches(conditions: tuple[Condition, ...]) -> RuleMatches:
    """The matches (ORed) of one ALB rule's conditions (ANDed)."""
    got = RuleMatches()
    axes: list[list[tuple[str, Any]]] = []
    for c in conditions:
        if c.field == "host-header":
            got.hostnames = c.values
        elif c.field == "source-ip":
            got.source_ips = c.values
        elif c.field == "path-pattern":
            axes.append([("path", p) for p in _paths(c)])
        elif c.field == "http-header":
            axes.append([("header", h) for h in _headers(c)])
        elif c.field == "http-request-method":
            axes.append([("method", m) for m in c.values])
        elif c.field == "query-string":
            axes.append([("query", q) for q in _query(c)])
    combos = list(itertools.islice(itertools.product(*axes), MAX_MATCHES + 1))
    if len(combos) > MAX_MATCHES:
        raise Inexpressible(f"more than {MAX_MATCHES} alternatives in one rule")
    for combo in combos:
        m: dict[str, Any] = {"path": {"type": "PathPrefix", "value": "/"}}
        for kind, value in combo:
            if kind == "path":
                m["path"] = value
            elif kind == "method":
                m["method"] = value
            else:
                key = "headers" if kind == "header" else "queryParams"
                m.setdefault(key, []).append(value)
        got.matches.append(m)
    return got
