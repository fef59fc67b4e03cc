"""Which listener rule of an ALB serves a request, with ALB's own matching semantics (pure).

Rules are tried in priority order (lowest first) and the first whose conditions all match
wins, else the listener's default action. Within a condition the values are OR-ed. Host names
compare case-insensitively and without the port, paths case-sensitively and without the query
string; values may use ``*`` (any characters) and ``?`` (one character). HTTP header values and
query strings compare case-insensitively; the method compares exactly; ``regexValues`` match
anywhere in the value unless anchored. A source-ip condition needs the client address.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from albctl.errors import RouteError
from albctl.model.desired import Action, Condition, Stack, Transform


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouteRule(_Frozen):
    priority: int
    conditions: tuple[Condition, ...]
    action: Action
    transforms: tuple[Transform, ...] = ()


class RouteListener(_Frozen):
    port: int
    protocol: str
    default_action: Action
    rules: tuple[RouteRule, ...] = ()


class RoutingTable(_Frozen):
    """One load balancer's listeners and rules; target groups by the reference actions use."""

    name: str
    dns_name: str = ""
    listeners: tuple[RouteListener, ...]
    services: dict[str, str] = Field(default_factory=dict)  # target group ref -> ns/name:port
    names: dict[str, str] = Field(default_factory=dict)  # target group ref -> its name


@dataclass(frozen=True)
class Request:
    method: str
    scheme: str
    host: str
    port: int
    path: str
    query: str
    headers: tuple[tuple[str, str], ...] = ()
    source_ip: str | None = None

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass(frozen=True)
class Route:
    listener: int
    priority: int | None  # None: the default action
    conditions: tuple[Condition, ...]
    action: Action
    transforms: tuple[Transform, ...] = ()


def parse_request(
    method: str, url: str, headers: list[str] | tuple[str, ...] = (), source_ip: str | None = None
) -> Request:
    """``GET https://shop.example.com/cart?x=1`` with ``Name: value`` headers."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RouteError(f"{url!r}: expected an http:// or https:// URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RouteError(f"{url!r}: bad port") from None
    pairs: list[tuple[str, str]] = []
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise RouteError(f"header {h!r}: expected 'Name: value'")
        pairs.append((name.strip(), value.strip()))
    host_header = next((v for k, v in pairs if k.lower() == "host"), None)
    host = (host_header or parts.hostname).split(":")[0]
    if source_ip is not None:
        try:
            ipaddress.ip_address(source_ip)
        except ValueError:
            raise RouteError(f"source address {source_ip!r} is not an IP address") from None
    return Request(
        method=method.upper(),
        scheme=parts.scheme,
        host=host.lower(),
        port=port,
        path=parts.path or "/",
        query=parts.query,
        headers=tuple(pairs),
        source_ip=source_ip,
    )


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).match(value) is not None


def _regex_match(patterns: tuple[str, ...], value: str, ignore_case: bool) -> bool:
    flags = re.IGNORECASE if ignore_case else 0
    for p in patterns:
        try:
            if re.search(p, value, flags):
                return True
        except re.error:
            continue
    return False


def _values_match(c: Condition, value: str, ignore_case: bool) -> bool:
    if any(wildcard_match(v, value, ignore_case) for v in c.values):
        return True
    return _regex_match(c.regex_values, value, ignore_case)


@functools.lru_cache(maxsize=1024)
def _query_pattern(pattern: str) -> re.Pattern[str]:
    """A query-string key or value pattern: ``*`` and ``?`` are wildcards unless escaped with
    a backslash (the ELB documentation's rule for query-string conditions)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


def _query_match(c: Condition, req: Request) -> bool:
    pairs = parse_qsl(req.query, keep_blank_values=True)
    for q in c.query_values:
        for k, v in pairs:
            key_ok = q.key is None or _query_pattern(q.key).match(k) is not None
            if key_ok and _query_pattern(q.value).match(v) is not None:
                return True
    return False


def _source_match(c: Condition, req: Request) -> bool:
    if req.source_ip is None:
        return False
    ip = ipaddress.ip_address(req.source_ip)
    return any(ip in ipaddress.ip_network(v, strict=False) for v in c.values)


def condition_matches(c: Condition, req: Request) -> bool:
    if c.field == "host-header":
        return _values_match(c, req.host, True)
    if c.field == "path-pattern":
        return _values_match(c, req.path, False)
    if c.field == "http-header":
        return any(_values_match(c, v, True) for v in req.header(c.http_header_name or ""))
    if c.field == "http-request-method":
        return req.method in c.values
    if c.field == "query-string":
        return _query_match(c, req)
    return _source_match(c, req)


def _listener(table: RoutingTable, req: Request) -> RouteListener:
    for li in table.listeners:
        if li.port == req.port:
            return li
    ports = ", ".join(str(li.port) for li in table.listeners) or "none"
    raise RouteError(f"load balancer {table.name} has no listener on port {req.port} ({ports})")


def route(table: RoutingTable, req: Request) -> Route:
    """The rule (or default action) of ``table`` that serves ``req``."""
    li = _listener(table, req)
    for rule in sorted(li.rules, key=lambda r: r.priority):
        if all(condition_matches(c, req) for c in rule.conditions):
            return Route(li.port, rule.priority, rule.conditions, rule.action, rule.transforms)
    return Route(li.port, None, (), li.default_action)


def serves_host(table: RoutingTable, host: str) -> int:
    """2: a rule names the host (or it is the DNS name); 1: rules for any host; 0: neither."""
    host = host.lower()
    if table.dns_name and host == table.dns_name.lower():
        return 2
    best = 0
    for li in table.listeners:
        for rule in li.rules:
            hosts = [c for c in rule.conditions if c.field == "host-header"]
            if not hosts:
                best = max(best, 1)
            elif any(_values_match(c, host, True) for c in hosts):
                return 2
    return best


def from_stack(stack: Stack) -> RoutingTable:
    """The routing table of a desired state (before it is applied)."""
    listeners = []
    for li in stack.listeners:
        rules = tuple(
            RouteRule(
                priority=r.priority,
                conditions=r.conditions,
                action=r.action,
                transforms=r.transforms,
            )
            for r in stack.rules
            if r.listener == li.id
        )
        listeners.append(
            RouteListener(
                port=li.port, protocol=li.protocol, default_action=li.default_action, rules=rules
            )
        )
    return RoutingTable(
        name=stack.load_balancer.name,
        listeners=tuple(listeners),
        services={tg.id: tg.service for tg in stack.target_groups},
        names={tg.id: tg.name for tg in stack.target_groups},
    )


def service_of(resource_id: str, ingress: str) -> str | None:
    """ns/name:port from a target group's albctl.io/resource and albctl.io/ingress tags."""
    prefix = f"{ingress}-"
    if not ingress or not resource_id.startswith(prefix):
        return None
    return f"{ingress.split('/')[0]}/{resource_id.removeprefix(prefix)}"
