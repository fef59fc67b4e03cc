"""LBC's gateway.k8s.aws kinds through the one-shot engine against moto: what they ask for is
what AWS holds after apply (read back with boto3), a second apply changes nothing, and an
invalid TargetGroupConfiguration leaves its route serving as it did."""

from __future__ import annotations

from typing import Any

from albctl.aws.clients import AwsClients
from albctl.model.router import parse_request, route
from tests.aws.test_gateway import _run, _table, _where
from tests.conftest import AwsEnv
from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route, listener, path
from tests.helpers import endpoint_slice, service

CFG = "gateway.k8s.aws/v1"


def _cfg(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "shop"}
    return {"apiVersion": CFG, "kind": kind, "metadata": meta, "spec": spec}


def _ext(name: str) -> dict[str, Any]:
    ref = {"group": "gateway.k8s.aws", "kind": "ListenerRuleConfiguration", "name": name}
    return {"type": "ExtensionRef", "extensionRef": ref}


def _docs(interval: int = 10) -> list[dict[str, Any]]:
    gw = gateway("gw", "shop", listener("http"))
    gw["spec"]["infrastructure"] = {
        "parametersRef": {
            "group": "gateway.k8s.aws",
            "kind": "LoadBalancerConfiguration",
            "name": "lb",
        }
    }
    return [
        gateway_class(),
        gw,
        _cfg(
            "LoadBalancerConfiguration",
            "lb",
            {
                "loadBalancerAttributes": [{"key": "idle_timeout.timeout_seconds", "value": "120"}],
                "tags": {"team": "shop"},
                "sourceRanges": ["10.0.0.0/8"],
            },
        ),
        _cfg(
            "TargetGroupConfiguration",
            "web",
            {
                "targetReference": {"name": "web"},
                "defaultConfiguration": {
                    "healthCheckConfig": {
                        "healthCheckPath": "/healthz",
                        "healthCheckInterval": interval,
                    },
                    "targetGroupAttributes": [
                        {"key": "deregistration_delay.timeout_seconds", "value": "30"}
                    ],
                },
            },
        ),
        _cfg(
            "ListenerRuleConfiguration",
            "closed",
            {"actions": [{"type": "fixed-response", "fixedResponseConfig": {"statusCode": 503}}]},
        ),
        _cfg(
            "ListenerRuleConfiguration",
            "sticky-office",
            {
                "actions": [
                    {
                        "type": "forward",
                        "forwardConfig": {"targetGroupStickinessConfig": {"enabled": True}},
                    }
                ],
                "conditions": [
                    {"field": "source-ip", "sourceIPConfig": {"values": ["192.0.2.0/24"]}}
                ],
            },
        ),
        service("web", "shop", node_port=None, target_port=8080),
        service("api", "shop", node_port=None, target_port=9000),
        endpoint_slice("web", ["10.0.1.10"], "shop", port=8080),
        endpoint_slice("api", ["10.0.1.20"], "shop", port=9000),
        http_route(
            "web",
            "shop",
            {"matches": [path("/closed")], "filters": [_ext("closed")]},
            {
                "matches": [path("/office")],
                "filters": [_ext("sticky-office")],
                "backendRefs": [backend_ref("web")],
            },
            {"backendRefs": [backend_ref("web")]},
            parents=[{"name": "gw"}],
        ),
        http_route(
            "api",
            "shop",
            {"matches": [path("/api")], "backendRefs": [backend_ref("api")]},
            parents=[{"name": "gw"}],
        ),
    ]


def test_the_configuration_kinds_reach_aws(aws: AwsEnv) -> None:
    report = _run(aws, "apply", *_docs())
    assert report.ok, [
        str(e) for o in report.outcomes for e in (o.build.problems if o.build else [])
    ]
    c: AwsClients = aws.clients  # type: ignore[assignment]
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    arn = lb["LoadBalancerArn"]
    attrs = c.elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    assert {a["Key"]: a["Value"] for a in attrs}["idle_timeout.timeout_seconds"] == "120"
    tags = c.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    assert {"Key": "team", "Value": "shop"} in tags
    [sg_id] = [s for s in lb["SecurityGroups"] if s not in _backend_sgs(c)]
    [sg] = c.ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in sg["IpPermissions"]] == [
        (80, ["10.0.0.0/8"])
    ]
    tgs = {t["HealthCheckPath"]: t for t in c.elbv2.describe_target_groups()["TargetGroups"]}
    web = tgs["/healthz"]
    assert web["HealthCheckIntervalSeconds"] == 10
    tg_attrs = c.elbv2.describe_target_group_attributes(TargetGroupArn=web["TargetGroupArn"])
    assert {a["Key"]: a["Value"] for a in tg_attrs["Attributes"]}[
        "deregistration_delay.timeout_seconds"
    ] == "30"
    assert tgs["/"]["HealthCheckIntervalSeconds"] == 15  # api: LBC's Gateway defaults
    table = _table(aws)
    assert _where(table, "GET", "http://lb/closed") == "fixed 503"
    assert _where(table, "GET", "http://lb/api/x") == "forward shop/api:80"
    office = route(table, parse_request("GET", "http://lb/office", [], "192.0.2.7"))
    assert [c.field for c in office.conditions] == ["path-pattern", "source-ip"]
    elsewhere = route(table, parse_request("GET", "http://lb/office", [], "198.51.100.7"))
    assert elsewhere.conditions == ()  # the catch-all rule
    assert office.action.stickiness_enabled and office.action.stickiness_duration == 3600
    again = _run(aws, "apply", *_docs())
    assert not again.has_changes, [ch.to_json() for o in again.outcomes for ch in o.plan.changes]


def _backend_sgs(c: AwsClients) -> set[str]:
    got = c.ec2.describe_security_groups(
        Filters=[{"Name": "tag:albctl.io/resource", "Values": ["backend-sg"]}]
    )["SecurityGroups"]
    return {s["GroupId"] for s in got}


def test_an_invalid_target_group_configuration_leaves_its_route_serving(aws: AwsEnv) -> None:
    _run(aws, "apply", *_docs())
    before = _table(aws)
    report = _run(aws, "apply", *_docs(interval=3))
    [o] = report.outcomes
    assert not report.ok
    assert o.build is not None
    err = o.build.invalid["HTTPRoute/shop/web"]
    assert err.obj == "TargetGroupConfiguration/shop/web"
    assert err.field == "spec.defaultConfiguration.healthCheckConfig.healthCheckInterval"
    assert o.plan.changes == []  # the route's rules and target group stay; nothing else changed
    assert _table(aws) == before
    assert _where(before, "GET", "http://lb/closed") == "fixed 503"
