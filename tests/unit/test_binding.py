"""TargetGroupBinding, the pure part: which targets, and every reason a binding is refused."""

from __future__ import annotations

from typing import Any

import pytest

from albctl.errors import InvalidBindingError
from albctl.manifests import ObjectSet
from albctl.model.binding import (
    BindingInput,
    BindingResult,
    TargetGroupInfo,
    holder,
    name_from_arn,
    plan_binding,
    selector_matches,
    target_changes,
)
from albctl.model.objects import LabelSelector
from tests.helpers import endpoint_slice, node, objects, service, target_group_binding

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tf-web/0123456789abcdef"
VPC = "vpc-1"


def tg(target_type: str = "ip", **kw: Any) -> TargetGroupInfo:
    return TargetGroupInfo(
        arn=ARN, name="tf-web", vpc_id=kw.pop("vpc_id", VPC), target_type=target_type, **kw
    )


def plan(
    objs: ObjectSet,
    info: TargetGroupInfo | None,
    vpc: str | None = VPC,
    index: int = 0,
) -> BindingResult:
    return plan_binding(
        BindingInput(
            objs.target_group_bindings[index],
            info,
            {s.key: s for s in objs.services},
            objs.endpoint_slices,
            objs.nodes,
            vpc,
            objs.target_group_bindings,
        )
    )


def error_of(result: BindingResult) -> InvalidBindingError:
    assert result.error is not None, result
    return result.error


def web(**spec: Any) -> dict[str, Any]:
    return target_group_binding("web", "shop", "web", spec.pop("port", 80), arn=ARN, **spec)


# --- ip targets ------------------------------------------------------------------------------


def test_ip_targets_are_ready_endpoints_at_the_endpoint_port() -> None:
    terminating = endpoint_slice(
        "web", ["10.0.1.10", "10.0.1.11"], "shop", port=8080, not_ready=["10.0.1.12"]
    )
    serving_but_terminating = {
        "addresses": ["10.0.1.13"],
        "conditions": {"ready": True, "terminating": True},
    }
    terminating["endpoints"].append(serving_but_terminating)
    other_port = endpoint_slice("web", ["10.0.9.9"], "shop", port=9090, port_name="metrics")
    other_port["metadata"]["name"] = "web-metrics"
    objs = objects(
        service("web", "shop", node_port=None),
        terminating,
        other_port,
        endpoint_slice("other", ["10.0.5.5"], "shop", port=8080),
        endpoint_slice("web", ["10.0.7.7"], "elsewhere", port=8080),
        web(),
    )
    result = plan(objs, tg("ip"))
    assert result.ok and result.target_type == "ip"
    assert result.targets == {("10.0.1.10", 8080), ("10.0.1.11", 8080)}


def test_ip_targets_by_named_port_and_address_family() -> None:
    v6 = endpoint_slice("web", ["fd00::1"], "shop", port=8080, suffix="v6")
    v6["addressType"] = "IPv6"
    objs = objects(
        service("web", "shop", node_port=None),
        endpoint_slice("web", ["10.0.1.10"], "shop", port=8080),
        v6,
        web(port="http"),
    )
    assert plan(objs, tg("ip")).targets == {("10.0.1.10", 8080)}
    assert plan(objs, tg("ip", ip_address_type="ipv6")).targets == {("fd00::1", 8080)}


def test_no_endpoints_is_an_empty_target_set_not_an_error() -> None:
    objs = objects(service("web", "shop", node_port=None), web())
    result = plan(objs, tg("ip"))
    assert result.ok and result.targets == frozenset()


# --- instance targets ----------------------------------------------------------------------


def _nodes() -> list[dict[str, Any]]:
    ok = node("n1", "i-1")
    ok["metadata"]["labels"] = {"pool": "web"}
    other_pool = node("n2", "i-2")
    other_pool["metadata"]["labels"] = {"pool": "batch"}
    not_ready = node("n3", "i-3", ready=False)
    cordoned = node("n4", "i-4")
    cordoned["spec"]["unschedulable"] = True
    excluded = node("n5", "i-5")
    excluded["metadata"]["labels"] = {
        "node.kubernetes.io/exclude-from-external-load-balancers": "true"
    }
    fargate = node("n6", "i-6")
    fargate["metadata"]["labels"] = {"eks.amazonaws.com/compute-type": "fargate"}
    no_instance = node("n7", "i-7")
    no_instance["spec"]["providerID"] = "kind://docker/n7"
    return [ok, other_pool, not_ready, cordoned, excluded, fargate, no_instance]


def test_instance_targets_are_ready_schedulable_nodes_at_the_node_port() -> None:
    objs = objects(service("web", "shop", node_port=30080), *_nodes(), web())
    result = plan(objs, tg("instance"))
    assert result.ok and result.target_type == "instance"
    assert result.targets == {("i-1", 30080), ("i-2", 30080)}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"matchLabels": {"pool": "web"}}, {"i-1"}),
        ({"matchExpressions": [{"key": "pool", "operator": "In", "values": ["batch"]}]}, {"i-2"}),
        ({"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["web"]}]}, {"i-2"}),
        ({"matchExpressions": [{"key": "pool", "operator": "Exists"}]}, {"i-1", "i-2"}),
        ({"matchExpressions": [{"key": "pool", "operator": "DoesNotExist"}]}, set()),
    ],
)
def test_node_selector_narrows_instance_targets(
    selector: dict[str, Any], expected: set[str]
) -> None:
    objs = objects(service("web", "shop"), *_nodes(), web(nodeSelector=selector))
    assert {i for i, _ in plan(objs, tg("instance")).targets} == expected


def test_selector_semantics() -> None:
    sel = LabelSelector.model_validate(
        {
            "matchLabels": {"a": "1"},
            "matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["x"]}],
        }
    )
    assert selector_matches({"a": "1"}, sel)
    assert selector_matches({"a": "1", "b": "y"}, sel)
    assert not selector_matches({"a": "1", "b": "x"}, sel)
    assert not selector_matches({"b": "y"}, sel)
    assert selector_matches({}, None)


def test_a_bad_selector_operator_names_the_field() -> None:
    bad = {"matchExpressions": [{"key": "pool", "operator": "Gt", "values": ["1"]}]}
    objs = objects(service("web", "shop"), *_nodes(), web(nodeSelector=bad))
    err = error_of(plan(objs, tg("instance")))
    assert err.field == "spec.nodeSelector.matchExpressions[0].operator"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objs", "info", "vpc", "reason", "field", "text"),
    [
        (
            objects(service("web", "shop"), web()),
            None,
            VPC,
            "TargetGroupNotFound",
            "spec.targetGroupARN",
            f"target group {ARN} not found",
        ),
        (
            objects(service("web", "shop"), web()),
            tg("ip", vpc_id="vpc-other"),
            VPC,
            "VpcMismatch",
            "spec.targetGroupARN",
            "is in VPC vpc-other, not in the cluster's VPC vpc-1",
        ),
        (
            objects(service("web", "shop"), web()),
            tg("ip"),
            None,
            "VpcUnknown",
            "spec.targetGroupARN",
            "--vpc-id",
        ),
        (
            objects(service("web", "shop"), web(targetType="instance")),
            tg("ip"),
            VPC,
            "TargetTypeMismatch",
            "spec.targetType",
            "instance contradicts target group tf-web, whose target type is ip",
        ),
        (
            objects(service("web", "shop"), web()),
            tg("lambda"),
            VPC,
            "UnsupportedTargetGroup",
            "spec.targetGroupARN",
            "only instance and ip target groups",
        ),
        (
            objects(service("web", "shop"), web()),
            tg("ip", albctl_stack="shop/web"),
            VPC,
            "TargetGroupManagedByAlbctl",
            "spec.targetGroupARN",
            "managed by albctl for Ingress group shop/web",
        ),
        (
            objects(service("web", "shop"), web(ipAddressType="ipv6")),
            tg("ip"),
            VPC,
            "IpAddressTypeMismatch",
            "spec.ipAddressType",
            "ipv6 contradicts",
        ),
        (
            objects(web()),
            tg("ip"),
            VPC,
            "ServiceNotFound",
            "spec.serviceRef.name",
            "Service shop/web not found",
        ),
        (
            objects(service("web", "shop"), web(port=8443)),
            tg("ip"),
            VPC,
            "PortNotFound",
            "spec.serviceRef.port",
            "Service shop/web has no port 8443",
        ),
        (
            objects(service("web", "shop"), web(port="https")),
            tg("ip"),
            VPC,
            "PortNotFound",
            "spec.serviceRef.port",
            "has no port 'https'",
        ),
        (
            objects(service("web", "shop", node_port=None), web()),
            tg("instance"),
            VPC,
            "NodePortMissing",
            "spec.serviceRef.port",
            "instance targets need a nodePort",
        ),
        (
            objects(service("web", "shop"), target_group_binding("web", "shop")),
            tg("ip"),
            VPC,
            "InvalidSpec",
            "spec.targetGroupARN",
            "neither is set",
        ),
        (
            objects(
                service("web", "shop"), target_group_binding("web", "shop", arn=ARN, tg_name="x")
            ),
            tg("ip"),
            VPC,
            "InvalidSpec",
            "spec.targetGroupARN",
            "both are set",
        ),
        (
            objects(service("web", "shop"), target_group_binding("web", "shop", arn="arn:x")),
            tg("ip"),
            VPC,
            "InvalidSpec",
            "spec.targetGroupARN",
            "is not a target group ARN",
        ),
    ],
)
def test_refusals_name_the_object_field_and_reason(
    objs: ObjectSet,
    info: TargetGroupInfo | None,
    vpc: str | None,
    reason: str,
    field: str,
    text: str,
) -> None:
    result = plan(objs, info, vpc)
    err = error_of(result)
    assert (err.reason, err.field) == (reason, field)
    assert text in err.message
    assert str(err).startswith("TargetGroupBinding/shop/web: ")
    assert result.targets == frozenset()


def test_target_group_by_name_and_inferred_type() -> None:
    objs = objects(
        service("web", "shop"),
        endpoint_slice("web", ["10.0.1.10"], "shop"),
        target_group_binding("web", "shop", tg_name="tf-web"),
    )
    result = plan(objs, tg("ip"))
    assert result.ok and result.target_type == "ip" and result.targets == {("10.0.1.10", 8080)}


def test_too_many_targets_is_refused() -> None:
    ips = [f"10.0.{i // 250}.{i % 250}" for i in range(1001)]
    objs = objects(service("web", "shop"), endpoint_slice("web", ips, "shop"), web())
    assert error_of(plan(objs, tg("ip"))).reason == "TooManyTargets"


# --- one holder per target group ---------------------------------------------------------------


def _aged(doc: dict[str, Any], ts: str) -> dict[str, Any]:
    doc["metadata"]["creationTimestamp"] = ts
    return doc


def test_the_older_binding_keeps_the_target_group_the_newer_registers_nothing() -> None:
    objs = objects(
        service("web", "shop"),
        service("api", "shop"),
        endpoint_slice("web", ["10.0.1.10"], "shop"),
        endpoint_slice("api", ["10.0.2.20"], "shop"),
        _aged(target_group_binding("z-old", "shop", "web", arn=ARN), "2026-01-01T00:00:00Z"),
        # the same target group by name, one second later
        _aged(
            target_group_binding("a-new", "shop", "api", tg_name="tf-web"), "2026-01-01T00:00:01Z"
        ),
    )
    old, new = plan(objs, tg("ip"), index=0), plan(objs, tg("ip"), index=1)
    assert old.ok and old.targets == {("10.0.1.10", 8080)}
    err = error_of(new)
    assert err.reason == "TargetGroupInUse" and err.field == "spec.targetGroupName"
    assert "already bound by TargetGroupBinding/shop/z-old" in err.message
    assert new.targets == frozenset()


def test_same_creation_time_the_name_decides() -> None:
    ts = "2026-01-01T00:00:00Z"
    objs = objects(
        service("web", "shop"),
        _aged(target_group_binding("b", "shop", arn=ARN), ts),
        _aged(target_group_binding("a", "team", arn=ARN), ts),
    )
    first = holder("tf-web", objs.target_group_bindings)
    assert first is not None and first.key == "team/a"
    assert error_of(plan(objs, tg("ip"), index=0)).reason == "TargetGroupInUse"


# --- small helpers -------------------------------------------------------------------------


def test_name_from_arn() -> None:
    assert name_from_arn(ARN) == "tf-web"
    assert name_from_arn("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/y") is None
    assert name_from_arn("tf-web") is None


def test_target_changes_are_sorted_differences() -> None:
    reg, dereg = target_changes({("b", 1), ("a", 1), ("c", 2)}, {("c", 2), ("d", 1)})
    assert reg == [("a", 1), ("b", 1)] and dereg == [("d", 1)]


def test_an_invalid_networking_spec_refuses_the_binding() -> None:
    bad = {"ingress": [{"from": [{"ipBlock": {"cidr": "nope"}}]}]}
    objs = objects(
        service("web", "shop"), endpoint_slice("web", ["10.0.1.10"], "shop"), web(networking=bad)
    )
    result = plan(objs, tg("ip"))
    err = error_of(result)
    assert (err.reason, err.field) == (
        "InvalidSpec",
        "spec.networking.ingress[0].from[0].ipBlock.cidr",
    )
    assert result.targets == frozenset()
