"""The Gateway API model (pure): listeners, attachment, hostnames, matches and precedence,
filters, backends and status, checked by routing requests through the built stack with the
ALB router."""

from __future__ import annotations

from typing import Any

import pytest

from albctl.manifests import ObjectSet
from albctl.model.gateway.build import GatewayBuild, build_gateway
from albctl.model.gateway.hostnames import effective_hostnames, intersect, owner
from albctl.model.gateway.select import gateway_input, our_gateways
from albctl.model.router import from_stack, parse_request, route
from albctl.model.settings import BuildSettings
from tests.gateway_helpers import (
    backend_ref,
    gateway,
    gateway_class,
    http_route,
    listener,
    path,
    reference_grant,
)
from tests.helpers import inventory, objects, service

SETTINGS = BuildSettings(cluster_name="c1", default_target_type="ip")


def _services() -> list[dict[str, Any]]:
    return [
        service(n, ns, node_port=None, target_port=8080)
        for ns, n in (("shop", "web"), ("shop", "api"), ("shop", "v2"), ("ops", "admin"))
    ]


def build(*docs: dict[str, Any], gw: dict[str, Any] | None = None) -> GatewayBuild:
    objs: ObjectSet = objects(gateway_class(), gw or gateway(), *_services(), *docs)
    [g] = our_gateways(objs, SETTINGS).values()
    return build_gateway(gateway_input(objs, g, inventory({"*.example.com": []}), SETTINGS))


def where(b: GatewayBuild, url: str, *headers: str, method: str = "GET") -> str:
    assert b.result.stack is not None, b.result.group_error
    table = from_stack(b.result.stack)
    r = route(table, parse_request(method, url, list(headers)))
    a = r.action
    if a.type == "forward":
        return ",".join(sorted(table.services[f.target_group] for f in a.forward))
    if a.type == "redirect":
        assert a.redirect is not None
        rd = a.redirect
        return f"redirect {rd.protocol} {rd.host} {rd.port} {rd.path} {rd.status_code}"
    assert a.fixed_response is not None
    return a.fixed_response.status_code


def parent(b: GatewayBuild, route_key: str, i: int = 0) -> dict[str, tuple[bool, str]]:
    ps = b.status.routes[route_key][i]
    return {t: (c.status, c.reason) for t, c in ps.conditions.items()}


# --- hostnames --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listener_host", "route_host", "want"),
    [
        (None, "a.example.com", "a.example.com"),
        ("a.example.com", "a.example.com", "a.example.com"),
        ("*.example.com", "a.example.com", "a.example.com"),
        ("*.example.com", "a.b.example.com", "a.b.example.com"),  # suffix match
        ("*.example.com", "example.com", None),
        ("a.example.com", "*.example.com", "a.example.com"),
        ("*.example.com", "*.b.example.com", "*.b.example.com"),
        ("*.b.example.com", "*.example.com", "*.b.example.com"),
        ("a.example.com", "b.example.com", None),
        ("*.example.com", "*.example.org", None),
    ],
)
def test_hostname_intersection(
    listener_host: str | None, route_host: str, want: str | None
) -> None:
    assert intersect(listener_host, route_host) == want


def test_effective_hostnames_and_the_owning_listener() -> None:
    assert effective_hostnames(None, []) == [None]
    assert effective_hostnames("*.example.com", []) == ["*.example.com"]
    assert effective_hostnames("a.example.com", ["b.example.com"]) is None
    listeners = [("any", None), ("wild", "*.example.com"), ("foo", "foo.example.com")]
    assert owner("foo.example.com", listeners) == "foo"
    assert owner("bar.example.com", listeners) == "wild"
    assert owner("bar.example.org", listeners) == "any"
    assert owner(None, listeners) is None


# --- listeners --------------------------------------------------------------------------------


def test_listeners_alb_cannot_serve_are_refused_in_status() -> None:
    gw = gateway(
        "gw",
        "infra",
        listener("http"),
        listener("tcp", port=5000, protocol="TCP"),
        listener("clash", port=80, protocol="HTTPS"),
        listener("kinds", port=8080, allowedRoutes={"kinds": [{"kind": "TCPRoute"}]}),
    )
    b = build(gw=gw)
    st = {ls.name: ls for ls in b.status.listeners}
    assert st["tcp"].conditions["Accepted"].reason == "UnsupportedProtocol"
    assert st["http"].conditions["Conflicted"].reason == "ProtocolConflict"
    assert st["clash"].conditions["Conflicted"].status
    assert st["kinds"].conditions["ResolvedRefs"].reason == "InvalidRouteKinds"
    assert st["kinds"].supported_kinds == []
    assert not any(ls.conditions["Programmed"].status for ls in st.values())
    assert b.result.stack is None  # no listener left: nothing applied, AWS kept as it is
    assert b.status.conditions["Accepted"].reason == "ListenersNotValid"
    fields = sorted(e.field for e in b.result.problems)
    assert "spec.listeners[1].protocol" in fields


def test_two_listeners_with_one_hostname_on_a_port_conflict() -> None:
    gw = gateway(
        "gw",
        "infra",
        listener("a", hostname="x.example.com"),
        listener("b", hostname="x.example.com"),
    )
    b = build(gw=gw)
    st = {ls.name: ls for ls in b.status.listeners}
    assert not st["a"].conditions["Conflicted"].status
    assert st["b"].conditions["Conflicted"].reason == "HostnameConflict"


# --- attachment -------------------------------------------------------------------------------


def test_attachment_reasons_and_attached_route_counts() -> None:
    gw = gateway(
        "gw",
        "infra",
        listener("all", port=80),
        listener("same", port=8080, from_="Same"),
        listener("team", port=8081, from_="Selector", allowedRoutes={}),
        listener("foo", port=8082, hostname="foo.example.com"),
    )
    gw["spec"]["listeners"][2]["allowedRoutes"] = {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "shop"}}}
    }
    rule = {"backendRefs": [backend_ref("web")]}
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"team": "shop"}},
        },
        http_route("ok", "shop", rule),
        http_route(
            "nosection",
            "shop",
            rule,
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "nope"}],
        ),
        http_route(
            "noport", "shop", rule, parents=[{"name": "gw", "namespace": "infra", "port": 9999}]
        ),
        http_route(
            "same",
            "shop",
            rule,
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "same"}],
        ),
        http_route(
            "selected",
            "shop",
            rule,
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "team"}],
        ),
        http_route(
            "host",
            "shop",
            rule,
            hostnames=["bar.example.com"],
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "foo"}],
        ),
        http_route("other", "shop", rule, parents=[{"name": "another-gw", "namespace": "infra"}]),
    ]
    b = build(*docs, gw=gw)
    assert parent(b, "HTTPRoute/shop/ok")["Accepted"] == (True, "Accepted")
    assert parent(b, "HTTPRoute/shop/nosection")["Accepted"] == (False, "NoMatchingParent")
    assert parent(b, "HTTPRoute/shop/noport")["Accepted"] == (False, "NoMatchingParent")
    assert parent(b, "HTTPRoute/shop/same")["Accepted"] == (False, "NotAllowedByListeners")
    assert parent(b, "HTTPRoute/shop/selected")["Accepted"] == (True, "Accepted")
    assert parent(b, "HTTPRoute/shop/host")["Accepted"] == (False, "NoMatchingListenerHostname")
    assert "HTTPRoute/shop/other" not in b.status.routes  # not this Gateway's business
    counts = {ls.name: ls.attached_routes for ls in b.status.listeners}
    # "ok" has no sectionName: it attaches to every listener that allows it
    assert counts == {"all": 1, "same": 0, "team": 2, "foo": 1}
    # a problem per refused parent, naming the route and the field
    fields = {(e.obj, e.field) for e in b.result.problems}
    assert ("HTTPRoute/shop/nosection", "spec.parentRefs[0]") in fields
    assert ("HTTPRoute/shop/host", "spec.hostnames") in fields


# --- matches and precedence -------------------------------------------------------------------


def test_path_prefix_matches_by_segment_and_exact_wins_over_prefix() -> None:
    b = build(
        http_route(
            "r",
            "shop",
            {"matches": [path("/foo")], "backendRefs": [backend_ref("web")]},
            {"matches": [path("/foo/bar", "Exact")], "backendRefs": [backend_ref("api")]},
            {"matches": [path("/foo/bar/")], "backendRefs": [backend_ref("v2")]},
        )
    )
    assert where(b, "http://x/foo") == "shop/web:80"
    assert where(b, "http://x/foo/") == "shop/web:80"
    assert where(b, "http://x/foo/baz") == "shop/web:80"
    assert where(b, "http://x/foobar") == "404"
    assert where(b, "http://x/foo/bar") == "shop/api:80"  # Exact before any prefix
    assert where(b, "http://x/foo/bar/x") == "shop/v2:80"  # the longer prefix first


def test_precedence_across_routes_as_the_spec_orders_it() -> None:
    b = build(
        # oldest route, but only a plain prefix
        http_route(
            "a",
            "shop",
            {"matches": [path("/")], "backendRefs": [backend_ref("web")]},
            created="2020-01-01T00:00:00Z",
        ),
        # method beats no method at the same path
        http_route(
            "b",
            "shop",
            {"matches": [{**path("/"), "method": "POST"}], "backendRefs": [backend_ref("api")]},
            created="2021-01-01T00:00:00Z",
        ),
        # more headers beat fewer
        http_route(
            "c",
            "shop",
            {
                "matches": [
                    {
                        **path("/"),
                        "headers": [{"name": "x-v", "value": "2"}, {"name": "x-b", "value": "1"}],
                    }
                ],
                "backendRefs": [backend_ref("v2")],
            },
            {
                "matches": [{**path("/"), "headers": [{"name": "x-v", "value": "2"}]}],
                "backendRefs": [backend_ref("api")],
            },
            created="2022-01-01T00:00:00Z",
        ),
        # equal matches: the older route wins
        http_route(
            "d",
            "shop",
            {
                "matches": [{**path("/"), "queryParams": [{"name": "q", "value": "1"}]}],
                "backendRefs": [backend_ref("web")],
            },
            created="2020-06-01T00:00:00Z",
        ),
        http_route(
            "e",
            "shop",
            {
                "matches": [{**path("/"), "queryParams": [{"name": "q", "value": "1"}]}],
                "backendRefs": [backend_ref("api")],
            },
            created="2023-01-01T00:00:00Z",
        ),
    )
    assert where(b, "http://x/", "x-v: 2", "x-b: 1") == "shop/v2:80"
    assert where(b, "http://x/", "x-v: 2") == "shop/api:80"
    assert where(b, "http://x/", method="POST") == "shop/api:80"
    assert where(b, "http://x/?q=1") == "shop/web:80"  # d is older than e
    assert where(b, "http://x/?q=2") == "shop/web:80"  # a, the plain prefix
    assert not b.result.problems


def test_hostname_specificity_orders_rules_before_paths() -> None:
    b = build(
        http_route(
            "wild",
            "shop",
            {"matches": [path("/a/b/c/d")], "backendRefs": [backend_ref("api")]},
            hostnames=["*.example.com"],
        ),
        http_route(
            "exact",
            "shop",
            {"matches": [path("/")], "backendRefs": [backend_ref("web")]},
            hostnames=["shop.example.com"],
        ),
    )
    # the exact hostname's catch-all beats the wildcard's longer path
    assert where(b, "http://shop.example.com/a/b/c/d") == "shop/web:80"
    assert where(b, "http://blog.example.com/a/b/c/d") == "shop/api:80"
    assert where(b, "http://blog.example.org/a/b/c/d") == "404"


def test_listeners_sharing_a_port_serve_their_own_hostnames_only() -> None:
    gw = gateway(
        "gw",
        "infra",
        listener("wild", hostname="*.example.com"),
        listener("foo", hostname="foo.example.com"),
    )
    b = build(
        http_route(
            "wide",
            "shop",
            {"backendRefs": [backend_ref("web")]},
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "wild"}],
        ),
        http_route(
            "foo",
            "shop",
            {"matches": [path("/only")], "backendRefs": [backend_ref("api")]},
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "foo"}],
        ),
        gw=gw,
    )
    assert where(b, "http://bar.example.com/x") == "shop/web:80"
    assert where(b, "http://foo.example.com/only") == "shop/api:80"
    # foo.example.com belongs to the more specific listener: its routes only, else 404
    assert where(b, "http://foo.example.com/x") == "404"


def test_matches_alb_takes_literally_and_regular_expressions() -> None:
    b = build(
        http_route(
            "r",
            "shop",
            {"matches": [path("/a*b", "Exact")], "backendRefs": [backend_ref("web")]},
            {
                "matches": [path("/v[0-9]+/items", "RegularExpression")],
                "backendRefs": [backend_ref("api")],
            },
            {
                "matches": [{**path("/"), "headers": [{"name": "x-id", "value": "a?c"}]}],
                "backendRefs": [backend_ref("v2")],
            },
            {
                "matches": [{**path("/"), "queryParams": [{"name": "k", "value": "*"}]}],
                "backendRefs": [backend_ref("api")],
            },
        )
    )
    assert where(b, "http://x/a*b") == "shop/web:80"
    assert where(b, "http://x/axxb") == "404"  # * is not a wildcard here
    assert where(b, "http://x/v12/items") == "shop/api:80"
    assert where(b, "http://x/v12/items/more") == "404"  # the whole path must match
    assert where(b, "http://x/", "x-id: a?c") == "shop/v2:80"
    assert where(b, "http://x/", "x-id: abc") == "404"
    assert where(b, "http://x/?k=*") == "shop/api:80"
    assert where(b, "http://x/?k=anything") == "404"


def test_a_match_over_the_condition_value_quota_is_split_or_dropped() -> None:
    headers = [{"name": f"h{i}", "value": "1"} for i in range(3)]
    b = build(
        http_route(
            "r",
            "shop",
            # host 1 + prefix 2 + 3 headers = 6 values: the prefix becomes two rules
            {"matches": [{**path("/p"), "headers": headers}], "backendRefs": [backend_ref("web")]},
            # 1 + 2 + 5 headers: cannot fit even split: dropped and reported
            {
                "matches": [
                    {
                        **path("/q"),
                        "headers": [
                            *headers,
                            {"name": "h8", "value": "1"},
                            {"name": "h9", "value": "1"},
                        ],
                    }
                ],
                "backendRefs": [backend_ref("api")],
            },
            hostnames=["shop.example.com"],
        )
    )
    hs = [f"h{i}: 1" for i in range(3)]
    assert where(b, "http://shop.example.com/p", *hs) == "shop/web:80"
    assert where(b, "http://shop.example.com/p/x", *hs) == "shop/web:80"
    assert where(b, "http://shop.example.com/px", *hs) == "404"
    assert parent(b, "HTTPRoute/shop/r")["PartiallyInvalid"] == (True, "UnsupportedValue")
    [e] = b.result.problems
    assert e.field == "spec.rules[1].matches[0]" and "dropped" in e.message


# --- filters ----------------------------------------------------------------------------------


def _redirect(**cfg: Any) -> dict[str, Any]:
    return {"type": "RequestRedirect", "requestRedirect": cfg}


def test_redirects_onto_alb_redirect_actions() -> None:
    b = build(
        http_route(
            "r",
            "shop",
            {"matches": [path("/s")], "filters": [_redirect(scheme="https")]},
            {
                "matches": [path("/h")],
                "filters": [_redirect(hostname="new.example.com", statusCode=301)],
            },
            {"matches": [path("/p")], "filters": [_redirect(port=8443)]},
            {
                "matches": [path("/f")],
                "filters": [
                    _redirect(path={"type": "ReplaceFullPath", "replaceFullPath": "/full"})
                ],
            },
            {
                "matches": [path("/old")],
                "filters": [
                    _redirect(path={"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"})
                ],
            },
            {"matches": [path("/t")], "filters": [_redirect(scheme="https", statusCode=307)]},
            {"matches": [path("/loop")], "filters": [_redirect(statusCode=301)]},
        )
    )
    assert where(b, "http://x/s") == "redirect HTTPS #{host} 443 /#{path} HTTP_302"
    assert (
        where(b, "http://x/h") == "redirect #{protocol} new.example.com #{port} /#{path} HTTP_301"
    )
    assert where(b, "http://x/p") == "redirect #{protocol} #{host} 8443 /#{path} HTTP_302"
    assert where(b, "http://x/f/x") == "redirect #{protocol} #{host} #{port} /full HTTP_302"
    assert where(b, "http://x/old/a") == "redirect #{protocol} #{host} #{port} /#{path} HTTP_302"
    assert b.result.stack is not None
    [old] = [r for r in b.result.stack.rules if r.action.redirect and r.transforms]
    assert old.transforms[0].type == "url-rewrite"
    assert old.transforms[0].rewrites[0].replace == "/new$1$2"  # the rest of the path, the query
    # 307 and a redirect to the same URL: the rule answers 500 and the route says why
    assert where(b, "http://x/t") == "500"
    assert where(b, "http://x/loop") == "500"
    fields = sorted(e.field for e in b.result.problems)
    assert fields == [
        "spec.rules[5].filters[0].requestRedirect.statusCode",
        "spec.rules[6].filters[0].requestRedirect",
    ]


def test_url_rewrites_onto_transforms_and_unsupported_filters_answer_500() -> None:
    b = build(
        http_route(
            "r",
            "shop",
            {
                "matches": [path("/app")],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {
                            "hostname": "internal",
                            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"},
                        },
                    }
                ],
                "backendRefs": [backend_ref("web")],
            },
            {
                "matches": [path("/m")],
                "filters": [{"type": "RequestMirror"}],
                "backendRefs": [backend_ref("web")],
            },
            {
                "matches": [path("/t")],
                "timeouts": {"request": "5s"},
                "backendRefs": [backend_ref("web")],
            },
        )
    )
    assert b.result.stack is not None
    [app] = [r for r in b.result.stack.rules if r.transforms]
    assert [t.type for t in app.transforms] == ["host-header-rewrite", "url-rewrite"]
    assert app.transforms[1].rewrites[0].regex == "^/app/?([^?]*)(\\?.*)?$"
    assert app.transforms[1].rewrites[0].replace == "/$1$2"
    assert where(b, "http://x/m") == "500"
    assert where(b, "http://x/t") == "500"
    assert sorted(e.field for e in b.result.problems) == [
        "spec.rules[1].filters[0].type",
        "spec.rules[2].timeouts",
    ]


# --- backends ---------------------------------------------------------------------------------


def test_backends_weights_grants_and_500s() -> None:
    b = build(
        http_route(
            "r",
            "shop",
            {
                "matches": [path("/w")],
                "backendRefs": [
                    backend_ref("web", weight=600000),
                    backend_ref("api", weight=400000),
                ],
            },
            {"matches": [path("/zero")], "backendRefs": [backend_ref("web", weight=0)]},
            {"matches": [path("/none")]},
            {"matches": [path("/x")], "backendRefs": [backend_ref("admin", namespace="ops")]},
            {"matches": [path("/port")], "backendRefs": [backend_ref("web", port=81)]},
        ),
        reference_grant("ops", "other"),  # a grant for another namespace: not enough
    )
    assert b.result.stack is not None
    table = from_stack(b.result.stack)
    r = route(table, parse_request("GET", "http://x/w", []))
    assert sorted(f.weight for f in r.action.forward) == [666, 999]  # scaled, proportions kept
    assert where(b, "http://x/zero") == "500"
    assert where(b, "http://x/none") == "500"
    assert where(b, "http://x/x") == "500"
    assert where(b, "http://x/port") == "500"
    conds = parent(b, "HTTPRoute/shop/r")
    assert conds["ResolvedRefs"] == (False, "RefNotPermitted")
    messages = [e.message for e in b.result.problems]
    assert any("no ReferenceGrant in ops" in m for m in messages)
    assert any("has no port 81" in m for m in messages)
    b = build(
        http_route(
            "r",
            "shop",
            {"matches": [path("/x")], "backendRefs": [backend_ref("admin", namespace="ops")]},
        ),
        reference_grant("ops", "shop"),
    )
    assert where(b, "http://x/x") == "ops/admin:80"
    assert parent(b, "HTTPRoute/shop/r")["ResolvedRefs"] == (True, "ResolvedRefs")


def test_instance_targets_need_a_node_port() -> None:
    objs = objects(
        gateway_class(),
        gateway(),
        *_services(),
        http_route("r", "shop", {"backendRefs": [backend_ref("web")]}),
    )
    settings = BuildSettings(cluster_name="c1")  # default target type: instance
    [g] = our_gateways(objs, settings).values()
    b = build_gateway(gateway_input(objs, g, inventory(), settings))
    assert where(b, "http://x/") == "500"
    [e] = b.result.problems
    assert "Service/shop/web" in e.message and "nodePort" in e.message


def test_other_classes_are_not_ours() -> None:
    objs = objects(gateway_class("nginx", "k8s.io/ingress-nginx"), gateway(cls="nginx"))
    assert our_gateways(objs, SETTINGS) == {}
    lbc = BuildSettings(
        cluster_name="c1", gateway_controller_names=("albctl.io/alb", "gateway.k8s.aws/alb")
    )
    objs = objects(gateway_class("aws", "gateway.k8s.aws/alb"), gateway(cls="aws"))
    assert list(our_gateways(objs, lbc)) == ["gateway/infra/gw"]


# --- GRPCRoute --------------------------------------------------------------------------------


def grpc_route(name: str, *rules: dict[str, Any], **kw: Any) -> dict[str, Any]:
    doc = http_route(name, "shop", *rules, **kw)
    doc["kind"] = "GRPCRoute"
    return doc


def _method(
    service: str | None = None, method: str | None = None, type_: str = "Exact"
) -> dict[str, Any]:
    m: dict[str, Any] = {"type": type_}
    if service:
        m["service"] = service
    if method:
        m["method"] = method
    return {"method": m}


def test_grpc_routes_route_calls_by_service_and_method_on_https_listeners() -> None:
    https = gateway(
        "gw",
        "infra",
        listener("https", port=443, protocol="HTTPS", hostname="grpc.example.com"),
        listener("http"),
    )
    b = build(
        grpc_route(
            "g",
            {"matches": [_method("shop.Cart", "Add")], "backendRefs": [backend_ref("api")]},
            {"matches": [_method("shop.Cart")], "backendRefs": [backend_ref("web")]},
            {"matches": [_method(method="Health")], "backendRefs": [backend_ref("v2")]},
            {
                "matches": [
                    {
                        **_method("shop\\.V[0-9]+", "Get.*", "RegularExpression"),
                        "headers": [{"name": "x-env", "value": "beta"}],
                    }
                ],
                "backendRefs": [backend_ref("v2")],
            },
        ),
        gw=https,
    )
    call = "content-type: application/grpc"
    assert where(b, "https://grpc.example.com/shop.Cart/Add", call, method="POST") == "shop/api:80"
    assert (
        where(b, "https://grpc.example.com/shop.Cart/Remove", call, method="POST") == "shop/web:80"
    )
    assert (
        where(b, "https://grpc.example.com/other.Svc/Health", call, method="POST") == "shop/v2:80"
    )
    assert (
        where(b, "https://grpc.example.com/shop.V2/GetItem", call, "x-env: beta", method="POST")
        == "shop/v2:80"
    )
    assert where(b, "https://grpc.example.com/shop.V2/GetItem", call, method="POST") == "404"
    # gRPC target groups, gRPC health checks
    assert b.result.stack is not None
    for tg in b.result.stack.target_groups:
        assert tg.protocol_version == "GRPC"
        assert tg.health_check.grpc_code == "12" and tg.health_check.path == "/AWS.ALB/healthcheck"
    # attached to the HTTPS listener only: ALB serves gRPC on HTTPS
    counts = {ls.name: ls.attached_routes for ls in b.status.listeners}
    assert counts == {"https": 1, "http": 0}
    kinds = {ls.name: ls.supported_kinds for ls in b.status.listeners}
    assert ("gateway.networking.k8s.io", "GRPCRoute") in kinds["https"]
    assert ("gateway.networking.k8s.io", "GRPCRoute") not in kinds["http"]
    assert parent(b, "GRPCRoute/shop/g")["Accepted"] == (True, "Accepted")


def test_a_grpc_route_on_an_http_listener_is_not_allowed() -> None:
    b = build(grpc_route("g", {"backendRefs": [backend_ref("api")]}))
    assert parent(b, "GRPCRoute/shop/g")["Accepted"] == (False, "NotAllowedByListeners")
    [e] = b.result.problems
    assert e.obj == "GRPCRoute/shop/g" and "GRPCRoutes" in e.message


def test_a_route_naming_the_host_beats_an_older_wildcard_narrowed_by_the_listener() -> None:
    gw = gateway("gw", "infra", listener("abc", hostname="abc.example.com"))
    b = build(
        http_route(
            "wide",
            "shop",
            {"backendRefs": [backend_ref("web")]},
            hostnames=["*.example.com"],
            created="2020-01-01T00:00:00Z",
        ),
        http_route(
            "exact",
            "shop",
            {"backendRefs": [backend_ref("api")]},
            hostnames=["abc.example.com"],
            created="2021-01-01T00:00:00Z",
        ),
        gw=gw,
    )
    assert where(b, "http://abc.example.com/") == "shop/api:80"


def test_a_grpc_rule_without_a_usable_backend_answers_unavailable() -> None:
    https = gateway(
        "gw", "infra", listener("https", port=443, protocol="HTTPS", hostname="g.example.com")
    )
    b = build(grpc_route("g", {"backendRefs": [backend_ref("api", weight=0)]}), gw=https)
    # 503: gRPC clients read it as UNAVAILABLE, the status the GRPCRoute spec asks for
    assert where(b, "https://g.example.com/s/m", method="POST") == "503"
