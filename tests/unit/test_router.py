"""The router answers with ALB's matching semantics."""

from __future__ import annotations

import pytest

from albctl.errors import RouteError
from albctl.model.desired import (
    Action,
    Condition,
    FixedResponseConfig,
    ForwardTarget,
    QueryStringValue,
    RedirectConfig,
)
from albctl.model.route_view import location, route_json
from albctl.model.router import (
    RouteListener,
    RouteRule,
    RoutingTable,
    parse_request,
    route,
    serves_host,
    service_of,
    wildcard_match,
)


def fwd(tg: str, weight: int = 1) -> Action:
    return Action(type="forward", forward=(ForwardTarget(target_group=tg, weight=weight),))


def host(*v: str) -> Condition:
    return Condition(field="host-header", values=v)


def path(*v: str) -> Condition:
    return Condition(field="path-pattern", values=v)


NOT_FOUND = Action(type="fixed-response", fixed_response=FixedResponseConfig(status_code="404"))


def table(*rules: RouteRule, port: int = 80) -> RoutingTable:
    return RoutingTable(
        name="lb",
        dns_name="lb-1.elb.example",
        listeners=(
            RouteListener(port=port, protocol="HTTP", default_action=NOT_FOUND, rules=rules),
        ),
        services={"a": "ns/a:80", "b": "ns/b:80"},
    )


def go(
    t: RoutingTable, url: str, *headers: str, method: str = "GET", ip: str | None = None
) -> int | None:
    return route(t, parse_request(method, url, list(headers), ip)).priority


def test_lowest_priority_wins_not_declaration_order() -> None:
    t = table(
        RouteRule(priority=20, conditions=(path("/api/*"),), action=fwd("b")),
        RouteRule(priority=10, conditions=(path("/*"),), action=fwd("a")),
    )
    assert go(t, "http://x/api/v1") == 10


def test_conditions_and_values_or() -> None:
    t = table(
        RouteRule(
            priority=1,
            conditions=(host("a.example.com", "b.example.com"), path("/x")),
            action=fwd("a"),
        )
    )
    assert go(t, "http://b.example.com/x") == 1
    assert go(t, "http://a.example.com/y") is None
    assert go(t, "http://c.example.com/x") is None


def test_host_case_insensitive_port_ignored_path_case_sensitive() -> None:
    t = table(
        RouteRule(priority=1, conditions=(host("Shop.Example.com"), path("/Cart")), action=fwd("a"))
    )
    assert go(t, "http://SHOP.example.com/Cart") == 1
    assert go(t, "http://shop.example.com/Cart", "Host: shop.example.com:8080") == 1
    assert go(t, "http://shop.example.com/cart") is None


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),
        ("/api*", "/apix/y", True),
        ("/v?/x", "/v1/x", True),
        ("/v?/x", "/v10/x", False),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("/a.b", "/axb", False),
        ("/*", "/", True),
    ],
)
def test_wildcards(pattern: str, value: str, hit: bool) -> None:
    assert wildcard_match(pattern, value) is hit


def test_query_is_not_part_of_the_path() -> None:
    t = table(RouteRule(priority=1, conditions=(path("/search"),), action=fwd("a")))
    assert go(t, "http://x/search?q=/other") == 1


def test_regex_values_search_unless_anchored() -> None:
    regex = Condition(field="path-pattern", regex_values=("^/api/v[0-9]+/",))
    loose = Condition(field="path-pattern", regex_values=("v2",))
    t = table(
        RouteRule(priority=1, conditions=(regex,), action=fwd("a")),
        RouteRule(priority=2, conditions=(loose,), action=fwd("b")),
    )
    assert go(t, "http://x/api/v12/users") == 1
    assert go(t, "http://x/API/v12/users") is None  # case-sensitive
    assert go(t, "http://x/old/v2") == 2


def test_http_header_name_and_value_case_insensitive_with_wildcards() -> None:
    cond = Condition(field="http-header", http_header_name="X-Canary", values=("always",))
    cookie = Condition(field="http-header", http_header_name="Cookie", values=("*canary=always*",))
    t = table(
        RouteRule(priority=1, conditions=(cond,), action=fwd("b")),
        RouteRule(priority=2, conditions=(cookie,), action=fwd("b")),
    )
    assert go(t, "http://x/", "x-canary: ALWAYS") == 1
    assert go(t, "http://x/", "x-canary: never") is None
    assert go(t, "http://x/", "Cookie: a=1; canary=always; b=2") == 2


def test_method_exact_query_string_and_source_ip() -> None:
    method = Condition(field="http-request-method", values=("POST",))
    query = Condition(field="query-string", query_values=(QueryStringValue(key="v", value="2*"),))
    anykey = Condition(field="query-string", query_values=(QueryStringValue(value="beta"),))
    src = Condition(field="source-ip", values=("10.0.0.0/8",))
    t = table(
        RouteRule(priority=1, conditions=(method,), action=fwd("a")),
        RouteRule(priority=2, conditions=(query,), action=fwd("a")),
        RouteRule(priority=3, conditions=(anykey,), action=fwd("a")),
        RouteRule(priority=4, conditions=(src,), action=fwd("a")),
    )
    assert go(t, "http://x/", method="post") == 1  # the method is upper-cased as HTTP sends it
    assert go(t, "http://x/?V=20") == 2
    assert go(t, "http://x/?channel=BETA") == 3
    assert go(t, "http://x/", ip="10.1.2.3") == 4
    assert go(t, "http://x/", ip="11.1.2.3") is None
    assert go(t, "http://x/") is None  # no client address: a source-ip condition cannot match


def test_default_action_and_missing_listener() -> None:
    t = table(RouteRule(priority=1, conditions=(path("/a"),), action=fwd("a")))
    r = route(t, parse_request("GET", "http://x/b"))
    assert r.priority is None and r.action == NOT_FOUND
    with pytest.raises(RouteError, match="no listener on port 443"):
        route(t, parse_request("GET", "https://x/b"))


def test_json_weighted_forward_names_the_heaviest_service() -> None:
    action = Action(
        type="forward",
        forward=(
            ForwardTarget(target_group="a", weight=90),
            ForwardTarget(target_group="b", weight=10),
        ),
    )
    t = table(RouteRule(priority=5, conditions=(path("/*"),), action=action))
    req = parse_request("GET", "http://x/")
    data = route_json(route(t, req), t, req)
    assert data["listener"] == 80 and data["rule"]["priority"] == 5
    assert data["service"] == "ns/a:80"
    assert [g["service"] for g in data["action"]["targetGroups"]] == ["ns/a:80", "ns/b:80"]
    assert data["rule"]["conditions"] == [{"field": "path-pattern", "values": ["/*"]}]


def test_redirect_location() -> None:
    req = parse_request("GET", "http://shop.example.com/a/b?x=1")
    https = RedirectConfig(protocol="HTTPS", port="443")
    assert location(https, req, 80) == "https://shop.example.com/a/b?x=1"
    fixed = RedirectConfig(host="new.example.com", path="/home", query="", status_code="HTTP_302")
    assert location(fixed, req, 80) == "http://new.example.com/home"


def test_serves_host_and_service_tags() -> None:
    t = table(RouteRule(priority=1, conditions=(host("*.example.com"),), action=fwd("a")))
    assert serves_host(t, "shop.example.com") == 2
    assert serves_host(t, "lb-1.elb.example") == 2
    assert serves_host(t, "other.org") == 0
    assert service_of("shop/web-front:80", "shop/web") == "shop/front:80"
    assert service_of("x", "") is None


def test_bad_requests() -> None:
    with pytest.raises(RouteError):
        parse_request("GET", "ftp://x/")
    with pytest.raises(RouteError):
        parse_request("GET", "http://x/", ["no-colon"])
    with pytest.raises(RouteError):
        parse_request("GET", "http://x/", [], "not-an-ip")
