"""HTTPRoute matches onto ALB rule conditions (pure), and their precedence.

gateway-api ``apis/v1/httproute_types.go``: ``HTTPPathMatch`` (Exact; PathPrefix matched by
path element, ``/foo`` matches ``/foo`` and ``/foo/bar``, not ``/foobar``, a trailing ``/`` is
ignored; RegularExpression), ``HTTPHeaderMatch`` and ``HTTPQueryParamMatch`` (Exact,
RegularExpression), ``HTTPMethod``; the conditions of one match are ANDed.

On ALB (elbv2 ``RuleCondition``): a PathPrefix ``/foo`` is the path patterns ``/foo`` and
``/foo/*`` (``/`` needs no condition: it matches every path); a value holding ALB's wildcard
characters ``*`` or ``?`` is matched literally through an anchored regex (paths, headers) or a
backslash escape (query strings, as the ELB documentation says); RegularExpression paths and
headers use regex values, anchored so that the whole value must match. ALB compares header and
query values without case: looser than the spec (docs/gateway.md says so). A query parameter
RegularExpression has no ALB condition and is refused.

Precedence (the spec's, continuing on ties): Exact path, then PathPrefix (longest first), then
RegularExpression; a method match; the most header matches; the most query param matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from albctl.errors import InvalidInputError
from albctl.model.desired import Condition, QueryStringValue
from albctl.model.gateway.objects import HTTPRouteMatch

_WILD = re.compile(r"[*?]")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")


@dataclass(frozen=True)
class MatchConditions:
    """The ALB conditions of one match; ``path_variants``: one or more path conditions, each
    making its own ALB rule (a PathPrefix may be split in two to fit the value quota)."""

    path_variants: tuple[Condition | None, ...]
    others: tuple[Condition, ...]


def _anchored(regex: str) -> str:
    if regex.startswith("^") and regex.endswith("$"):
        return regex
    return f"^({regex})$"


def _literal(value: str) -> str:
    return "^" + re.escape(value) + "$"


def path_condition(m: HTTPRouteMatch, obj: str, where: str) -> Condition | None:
    p = m.path
    if p.type == "RegularExpression":
        return Condition(field="path-pattern", regex_values=(_anchored(p.value),))
    if not p.value.startswith("/"):
        raise InvalidInputError(obj, f"{where}.path.value", f"{p.value!r} must start with /")
    if p.type == "Exact":
        if _WILD.search(p.value):
            return Condition(field="path-pattern", regex_values=(_literal(p.value),))
        return Condition(field="path-pattern", values=(p.value,))
    if p.type != "PathPrefix":
        raise InvalidInputError(obj, f"{where}.path.type", f"{p.type!r} is not a path match type")
    prefix = p.value.rstrip("/")
    if not prefix:
        return None  # "/": every path
    if _WILD.search(prefix):
        return Condition(field="path-pattern", regex_values=("^" + re.escape(prefix) + "(/.*)?$",))
    return Condition(field="path-pattern", values=(prefix, prefix + "/*"))


def _header_conditions(m: HTTPRouteMatch, obj: str, where: str) -> list[Condition]:
    out: list[Condition] = []
    seen: set[str] = set()
    for i, h in enumerate(m.headers):
        if h.name.lower() in seen:
            continue  # the spec: the first match of a name wins, later ones are ignored
        seen.add(h.name.lower())
        if h.type == "RegularExpression":
            out.append(
                Condition(
                    field="http-header", http_header_name=h.name, regex_values=(_anchored(h.value),)
                )
            )
        elif h.type == "Exact":
            if _WILD.search(h.value):
                value = {"regex_values": (_literal(h.value),)}
            else:
                value = {"values": (h.value,)}
            out.append(Condition(field="http-header", http_header_name=h.name, **value))
        else:
            raise InvalidInputError(
                obj, f"{where}.headers[{i}].type", f"{h.type!r} is not a header match type"
            )
    return out


def _escape_query(value: str) -> str:
    return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _query_conditions(m: HTTPRouteMatch, obj: str, where: str) -> list[Condition]:
    out: list[Condition] = []
    seen: set[str] = set()
    for i, q in enumerate(m.query_params):
        if q.name in seen:
            continue  # the spec: the first match of a name wins
        seen.add(q.name)
        if q.type != "Exact":
            raise InvalidInputError(
                obj,
                f"{where}.queryParams[{i}].type",
                f"{q.type}: an ALB query-string condition has no regular expressions",
            )
        kv = QueryStringValue(key=_escape_query(q.name), value=_escape_query(q.value))
        out.append(Condition(field="query-string", query_values=(kv,)))
    return out


def match_conditions(m: HTTPRouteMatch, obj: str, where: str) -> MatchConditions:
    others = _header_conditions(m, obj, where) + _query_conditions(m, obj, where)
    if m.method is not None:
        if m.method not in METHODS:
            raise InvalidInputError(obj, f"{where}.method", f"{m.method!r} is not an HTTP method")
        others.append(Condition(field="http-request-method", values=(m.method,)))
    return MatchConditions((path_condition(m, obj, where),), tuple(others))


def split_path(c: Condition) -> tuple[Condition, ...]:
    """A path condition with several values as one condition per value (ORed by adjacent
    rules instead of within one rule)."""
    if len(c.values) < 2:
        return (c,)
    return tuple(Condition(field="path-pattern", values=(v,)) for v in c.values)


def precedence(m: HTTPRouteMatch) -> tuple[int, int, int, int, int]:
    """Sort key of a match, most precedent first."""
    kind = {"Exact": 0, "PathPrefix": 1}.get(m.path.type, 2)
    length = len(m.path.value.rstrip("/")) if m.path.type == "PathPrefix" else len(m.path.value)
    return (
        kind,
        -length,
        0 if m.method else 1,
        -len(m.headers),
        -len(m.query_params),
    )
