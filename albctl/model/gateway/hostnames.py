"""Hostnames of the Gateway API (pure): listener and route hostnames, their intersection, and
the specificity that orders them.

gateway-api ``apis/v1/shared_types.go`` (``Hostname``) and ``httproute_types.go``
(``HTTPRouteSpec.Hostnames``): a hostname prefixed with ``*.`` is a suffix match (``*.example.com``
matches ``a.example.com`` and ``a.b.example.com``, not ``example.com``). A route attaches to a
listener only when their hostnames intersect: both unset (any host); one unset (the other's);
equal; a wildcard on one side that matches the other's (the more specific one). Among
intersecting hostnames, precedence goes to the largest number of characters in a matching
non-wildcard hostname, then in a matching hostname.
"""

from __future__ import annotations

from collections.abc import Sequence


def is_wildcard(host: str) -> bool:
    return host.startswith("*.")


def wildcard_covers(pattern: str, host: str) -> bool:
    """``pattern`` (``*.suffix`` or an exact name) matches ``host`` (exact or ``*.``)."""
    if not is_wildcard(pattern):
        return pattern == host
    suffix = pattern[1:]  # ".example.com"
    if is_wildcard(host):
        return host == pattern or host[1:].endswith(suffix)
    return host.endswith(suffix) and len(host) > len(suffix)


def intersect(listener: str | None, route: str) -> str | None:
    """The hostname both match, or None."""
    if listener is None:
        return route
    if wildcard_covers(listener, route):
        return route
    if wildcard_covers(route, listener):
        return listener
    return None


def effective_hostnames(listener: str | None, route: Sequence[str]) -> list[str | None] | None:
    """The hostnames a route serves on a listener: ``[None]`` for any host; None when the
    route's hostnames and the listener's do not intersect."""
    if not route:
        return [listener]
    out: list[str | None] = []
    for h in route:
        got = intersect(listener, h.lower())
        if got is not None and got not in out:
            out.append(got)
    return out or None


def specificity(host: str | None) -> tuple[int, int]:
    """Sort key, most specific first: exact names (longest first), then wildcards (longest
    first), then any host."""
    if host is None:
        return (2, 0)
    return (1 if is_wildcard(host) else 0, -len(host))


def owner(host: str | None, listeners: Sequence[tuple[str, str | None]]) -> str | None:
    """The name of the listener, of ``(name, hostname)`` on one port, whose routes serve a
    request for ``host``: the most specific listener hostname that matches it (gateway-api
    ``Listener.Hostname``: "the most specific match wins"). None when ``host`` is None (any
    host) or no listener matches it."""
    if host is None:
        return None
    covering = [(n, h) for n, h in listeners if h is None or wildcard_covers(h, host)]
    if not covering:
        return None
    return min(covering, key=lambda nh: specificity(nh[1]))[0]
