"""Gateways through the one-shot engine against moto in-process: the ALB in AWS after apply,
requests routed through the rules read back from AWS, idempotency, status problems, delete."""

from __future__ import annotations

from typing import Any

from albctl.aws.clients import AwsClients
from albctl.aws.routes import read_table
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from albctl.model.router import parse_request, route
from albctl.model.tags import STACK_TAG
from tests.conftest import AwsEnv
from tests.gateway_helpers import (
    backend_ref,
    gateway,
    gateway_class,
    http_route,
    listener,
    path,
    reference_grant,
)
from tests.helpers import REGION, endpoint_slice, objects, service

STACK = "gateway/infra/gw"


def _engine(env: AwsEnv, target_type: str = "ip") -> Engine:
    settings = Settings(cluster_name=env.cluster, region=REGION, default_target_type=target_type)  # type: ignore[arg-type]
    return Engine(settings, env.clients)  # type: ignore[arg-type]


def _docs(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        gateway_class(),
        gateway(
            "gw",
            "infra",
            listener("http"),
            listener("admin", hostname="admin.example.com"),
        ),
        service("web", "shop", node_port=None, target_port=8080),
        service("api", "shop", node_port=None, target_port=9000),
        service("admin", "ops", node_port=None, target_port=8080),
        endpoint_slice("web", ["10.0.1.10", "10.0.2.11"], "shop", port=8080),
        endpoint_slice("api", ["10.0.1.20"], "shop", port=9000),
        endpoint_slice("admin", ["10.0.1.30"], "ops", port=8080),
        http_route(
            "web",
            "shop",
            {
                "matches": [path("/api")],
                "backendRefs": [backend_ref("api", weight=90), backend_ref("web", weight=10)],
            },
            {"matches": [path("/")], "backendRefs": [backend_ref("web")]},
            {
                "matches": [path("/old", "Exact")],
                "filters": [
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {
                            "path": {"type": "ReplaceFullPath", "replaceFullPath": "/new"},
                            "statusCode": 301,
                        },
                    }
                ],
            },
            hostnames=["shop.example.com"],
        ),
        http_route(
            "admin",
            "ops",
            {"backendRefs": [backend_ref("admin")]},
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "admin"}],
        ),
        *extra,
    ]


def _run(env: AwsEnv, mode: str, *docs: dict[str, Any]) -> Report:
    return _engine(env).run(objects(*docs), mode)


def _table(env: AwsEnv) -> Any:
    c: AwsClients = env.clients  # type: ignore[assignment]
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    return read_table(c, lb["LoadBalancerArn"])


def _where(table: Any, method: str, url: str, *headers: str) -> str:
    r = route(table, parse_request(method, url, list(headers)))
    a = r.action
    if a.type == "forward":
        svcs = sorted(table.services.get(f.target_group, f.target_group) for f in a.forward)
        return "forward " + ",".join(svcs)
    if a.type == "redirect":
        assert a.redirect is not None
        return f"redirect {a.redirect.path} {a.redirect.status_code}"
    assert a.fixed_response is not None
    return f"fixed {a.fixed_response.status_code}"


def test_a_gateway_becomes_one_alb_that_routes_as_the_routes_say(aws: AwsEnv) -> None:
    report = _run(aws, "apply", *_docs())
    [o] = report.outcomes
    assert o.group_id == STACK
    assert o.ok, [str(e) for e in o.build.problems] if o.build else o.error
    c: AwsClients = aws.clients  # type: ignore[assignment]
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    tags = c.elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]
    assert {t["Key"]: t["Value"] for t in tags["Tags"]}[STACK_TAG] == STACK
    table = _table(aws)
    assert [li.port for li in table.listeners] == [80]
    assert _where(table, "GET", "http://shop.example.com/api/v1") == (
        "forward shop/api:80,shop/web:80"
    )
    assert _where(table, "GET", "http://shop.example.com/apix") == "forward shop/web:80"
    assert _where(table, "GET", "http://lb/api", "Host: shop.example.com:8080") == (
        "forward shop/api:80,shop/web:80"
    )  # the Host header's port is ignored
    assert _where(table, "GET", "http://shop.example.com/old") == "redirect /new HTTP_301"
    assert _where(table, "GET", "http://admin.example.com/x") == "forward ops/admin:80"
    assert _where(table, "GET", "http://other.example.com/") == "fixed 404"
    # the weights as given
    r = route(table, parse_request("GET", "http://shop.example.com/api", []))
    assert sorted(f.weight for f in r.action.forward) == [10, 90]
    # ip targets registered from the EndpointSlices
    tgs = c.elbv2.describe_target_groups()["TargetGroups"]
    assert len(tgs) == 3
    ids = {
        h["Target"]["Id"]
        for tg in tgs
        for h in c.elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])[
            "TargetHealthDescriptions"
        ]
    }
    assert ids == {"10.0.1.10", "10.0.2.11", "10.0.1.20", "10.0.1.30"}
    # a second apply changes nothing
    again = _run(aws, "apply", *_docs())
    assert not again.has_changes, [c.to_json() for o in again.outcomes for c in o.plan.changes]
    # delete: nothing of the stack left
    gone = _run(aws, "delete", *_docs())
    assert gone.ok
    assert c.elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert c.elbv2.describe_target_groups()["TargetGroups"] == []


def test_unresolvable_backends_answer_500_and_are_reported(aws: AwsEnv) -> None:
    cross = http_route(
        "cross",
        "shop",
        {"matches": [path("/ops")], "backendRefs": [backend_ref("admin", namespace="ops")]},
        {"matches": [path("/gone")], "backendRefs": [backend_ref("missing")]},
        {
            "matches": [path("/kind")],
            "backendRefs": [backend_ref("x", kind="Bucket", group="example.com")],
        },
        {
            "matches": [path("/mod")],
            "filters": [{"type": "RequestHeaderModifier"}],
            "backendRefs": [backend_ref("web")],
        },
        hostnames=["cross.example.com"],
    )
    report = _run(aws, "apply", *_docs(cross))
    [o] = report.outcomes
    assert not o.ok  # one-shot exits 1, and the rest is applied
    assert o.build is not None
    problems = sorted(str(e) for e in o.build.problems)
    assert any("RefNotPermitted" in p or "no ReferenceGrant" in p for p in problems), problems
    assert any("Service shop/missing not found" in p for p in problems)
    assert any("RequestHeaderModifier is not supported" in p for p in problems)
    assert o.gateway is not None
    [ps] = o.gateway.routes["HTTPRoute/shop/cross"]
    assert ps.conditions["Accepted"].status
    assert ps.conditions["ResolvedRefs"].reason == "RefNotPermitted"
    assert ps.conditions["PartiallyInvalid"].status
    table = _table(aws)
    for p in ("/ops", "/gone", "/kind", "/mod"):
        assert _where(table, "GET", f"http://cross.example.com{p}") == "fixed 500", p
    assert _where(table, "GET", "http://shop.example.com/") == "forward shop/web:80"
    # the ReferenceGrant makes the cross-namespace backend resolvable
    report = _run(aws, "apply", *_docs(cross, reference_grant("ops", "shop")))
    table = _table(aws)
    assert _where(table, "GET", "http://cross.example.com/ops") == "forward ops/admin:80"


def test_an_unrelated_route_moves_no_rule_priority(aws: AwsEnv) -> None:
    _run(aws, "apply", *_docs())
    later = http_route(
        "later",
        "shop",
        {"matches": [path("/api/v2/extra")], "backendRefs": [backend_ref("web")]},
        hostnames=["shop.example.com"],  # sorts between two rules of route web
    )
    plan = _run(aws, "plan", *_docs(later))
    [o] = plan.outcomes
    rules = [c for c in o.plan.changes if c.kind == "ListenerRule"]
    assert [c.action for c in rules] == ["create"], [c.to_json() for c in rules]
    assert not any("priority" in c.details and c.action == "update" for c in rules)
    applied = _run(aws, "apply", *_docs(later))
    assert applied.ok
    table = _table(aws)
    assert _where(table, "GET", "http://shop.example.com/api/v2/extra/1") == "forward shop/web:80"
    assert _where(table, "GET", "http://shop.example.com/api/v2") == (
        "forward shop/api:80,shop/web:80"
    )
    assert _where(table, "GET", "http://shop.example.com/old") == "redirect /new HTTP_301"
    assert not _run(aws, "plan", *_docs(later)).has_changes


def _https(*listeners: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        gateway_class(),
        gateway("gw", "infra", *listeners),
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ["10.0.1.10"], "shop", port=8080),
        http_route("web", "shop", {"backendRefs": [backend_ref("web")]}),
    ]


def _certs(env: AwsEnv) -> dict[int, list[str]]:
    c: AwsClients = env.clients  # type: ignore[assignment]
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    out: dict[int, list[str]] = {}
    for li in c.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        out[li["Port"]] = sorted(x["CertificateArn"] for x in li.get("Certificates") or [])
    return out


def test_https_listeners_import_their_secrets_and_a_bad_one_affects_its_listener_only(
    aws: AwsEnv,
) -> None:
    from tests.tls_helpers import tls_secret

    tls = {"mode": "Terminate", "certificateRefs": [{"name": "shop-tls"}]}
    other = {"mode": "Terminate", "certificateRefs": [{"name": "api-tls", "namespace": "certs"}]}
    docs = _https(
        listener("shop", port=443, protocol="HTTPS", hostname="shop.example.org", tls=tls),
        listener("api", port=443, protocol="HTTPS", hostname="api.example.org", tls=other),
        listener("found", port=8443, protocol="HTTPS", hostname="shop.example.com"),
    )
    secrets = [
        tls_secret("shop-tls", "infra", ["shop.example.org"]),
        tls_secret("api-tls", "certs", ["api.example.org"]),
    ]
    report = _run(aws, "apply", *docs, *secrets)
    [o] = report.outcomes
    assert o.gateway is not None
    st = {ls.name: ls for ls in o.gateway.listeners}
    # another namespace's Secret without a ReferenceGrant: only that listener is refused
    assert st["api"].conditions["ResolvedRefs"].reason == "RefNotPermitted"
    assert st["shop"].conditions["Programmed"].status
    assert st["found"].conditions["Programmed"].status  # ACM discovery by hostname
    c: AwsClients = aws.clients  # type: ignore[assignment]
    imported = [
        cert
        for cert in c.acm.list_certificates()["CertificateSummaryList"]
        if cert["DomainName"] == "shop.example.org"
    ]
    assert len(imported) == 1
    certs = _certs(aws)
    assert certs[443] == [imported[0]["CertificateArn"]]
    # discovered: the ISSUED certificates covering the hostname (exact and *.example.com)
    assert len(certs[8443]) == 2 and imported[0]["CertificateArn"] not in certs[8443]
    assert not o.ok and any("certificateRefs[0]" in e.field for e in o.build.problems)  # type: ignore[union-attr]
    # the grant lets the other listener's Secret in: both certificates on port 443
    grant = reference_grant("certs", "infra", kind="Secret", from_kind="Gateway")
    report = _run(aws, "apply", *docs, *secrets, grant)
    assert report.ok, [
        str(e) for o in report.outcomes for e in (o.build.problems if o.build else [])
    ]
    assert len(_certs(aws)[443]) == 2


def test_a_gateway_with_deletion_protection_is_not_deleted(aws: AwsEnv) -> None:
    _run(aws, "apply", *_docs())
    c: AwsClients = aws.clients  # type: ignore[assignment]
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    c.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}],
    )
    report = _run(aws, "delete", *_docs())
    [o] = report.outcomes
    assert o.error is not None and "deletion_protection.enabled" in o.error
    assert len(c.elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    assert len(c.elbv2.describe_target_groups()["TargetGroups"]) == 3  # nothing touched


def test_a_grpc_route_gets_grpc_target_groups_on_the_https_listener(aws: AwsEnv) -> None:
    route = http_route(
        "calls",
        "shop",
        {
            "matches": [{"method": {"service": "shop.Cart", "method": "Add"}}],
            "backendRefs": [backend_ref("api")],
        },
    )
    route["kind"] = "GRPCRoute"
    docs = _https(listener("grpc", port=443, protocol="HTTPS", hostname="grpc.example.com"))
    report = _run(aws, "apply", *docs[:-1], route, service("api", "shop", node_port=None))
    assert report.ok, [
        str(e) for o in report.outcomes for e in (o.build.problems if o.build else [])
    ]
    c: AwsClients = aws.clients  # type: ignore[assignment]
    [tg] = c.elbv2.describe_target_groups()["TargetGroups"]
    assert tg["ProtocolVersion"] == "GRPC"
    assert tg["Matcher"] == {"GrpcCode": "12"}
    assert tg["HealthCheckPath"] == "/AWS.ALB/healthcheck"
    table = _table(aws)
    r = route_call(table, "https://grpc.example.com/shop.Cart/Add")
    assert r == "forward shop/api:80"
    assert route_call(table, "https://grpc.example.com/shop.Cart/Remove") == "fixed 404"


def route_call(table: Any, url: str) -> str:
    return _where(table, "POST", url, "content-type: application/grpc")


def test_a_gateway_that_cannot_be_built_keeps_its_load_balancer_serving(aws: AwsEnv) -> None:
    _run(aws, "apply", *_docs())
    before = _table(aws)
    broken = [d for d in _docs() if d["kind"] != "Gateway"]
    broken.append(gateway("gw", "infra", listener("tcp", protocol="TCP")))
    report = _run(aws, "apply", *broken)
    [o] = report.outcomes
    assert not o.ok and o.build is not None and o.build.group_error is not None
    assert "spec.listeners" in str(o.build.group_error)
    assert o.plan.changes == []  # nothing of the stack touched
    after = _table(aws)
    assert after == before
    assert _where(after, "GET", "http://shop.example.com/api") == "forward shop/api:80,shop/web:80"
