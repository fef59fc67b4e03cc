"""The backend security group in the model: which ALBs get it, and which rules targets need."""

from __future__ import annotations

from typing import Any

from albctl.model.backend_rules import (
    NetworkInterface,
    choose_security_group,
    desired_rules,
    instance_hints,
    missing,
    target_ports,
)
from albctl.model.builder import GroupInput, build_group
from albctl.model.desired import BACKEND_SG_ID, MANAGED_SG_ID
from albctl.model.groups import group_ingresses
from albctl.model.settings import BuildSettings
from tests.helpers import (
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    inventory,
    node,
    objects,
    rule,
    service,
)


def _build(enable: bool = True, **ann: str) -> Any:
    objs = objects(
        ingress_class(),
        service("api", node_port=None, target_port=9000),
        endpoint_slice("api", ["10.0.200.5", "10.0.201.6"], port=9000),
        ingress(
            "api",
            target_type="ip",
            healthcheck_port="9100",
            rules=[rule(None, ("/", "Prefix", backend("api", 80)))],
            **ann,
        ),
    )
    settings = BuildSettings(cluster_name="c1", enable_backend_sg=enable)
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, [], settings)
    [group] = grouping.groups.values()
    services = {s.key: s for s in objs.services}
    return build_group(
        GroupInput(group, services, objs.endpoint_slices, objs.nodes, inventory(), settings)
    )


def test_managed_frontend_group_brings_the_backend_group() -> None:
    stack = _build().stack
    assert stack.load_balancer.security_groups == (MANAGED_SG_ID, BACKEND_SG_ID)
    assert stack.backend_rules_source == BACKEND_SG_ID


def test_disabled_backend_group_makes_the_frontend_group_the_source() -> None:
    stack = _build(enable=False).stack
    assert stack.load_balancer.security_groups == (MANAGED_SG_ID,)
    assert stack.backend_rules_source == MANAGED_SG_ID


def test_explicit_groups_manage_no_rules_unless_asked() -> None:
    stack = _build(security_groups="sg-1").stack
    assert stack.load_balancer.security_groups == ("sg-1",)
    assert stack.backend_rules_source is None
    stack = _build(security_groups="sg-1", manage_backend_security_group_rules="true").stack
    assert stack.load_balancer.security_groups == ("sg-1", BACKEND_SG_ID)
    assert stack.backend_rules_source == BACKEND_SG_ID


def test_managing_rules_without_the_backend_group_is_an_error_naming_the_annotation() -> None:
    res = _build(False, security_groups="sg-1", manage_backend_security_group_rules="true")
    assert res.stack is None
    assert "manage-backend-security-group-rules" in str(res.group_error)
    assert "--enable-backend-security-group" in str(res.group_error)
    bad = _build(manage_backend_security_group_rules="yes")
    assert "Ingress/default/api" in str(bad.invalid["default/api"])


def test_target_ports_include_a_distinct_health_check_port() -> None:
    stack = _build().stack
    assert target_ports(stack.target_groups) == {
        "10.0.200.5": frozenset({9000, 9100}),
        "10.0.201.6": frozenset({9000, 9100}),
    }


def test_choice_among_several_groups_is_by_the_cluster_tag() -> None:
    one = NetworkInterface(id="eni-1", security_groups=("sg-a",))
    two = NetworkInterface(id="eni-2", security_groups=("sg-a", "sg-b"))
    tags = {"sg-b": {"kubernetes.io/cluster/c1": "owned"}}
    assert choose_security_group(one, {}, "c1") == "sg-a"
    assert choose_security_group(two, tags, "c1") == "sg-b"
    assert choose_security_group(two, {}, "c1") is None
    both = {"sg-a": tags["sg-b"], "sg-b": tags["sg-b"]}
    assert choose_security_group(two, both, "c1") is None


def test_desired_rules_group_ports_per_security_group_and_warn_once_per_interface() -> None:
    enis = {
        "10.0.0.1": NetworkInterface(id="eni-1", security_groups=("sg-a",)),
        "10.0.0.2": NetworkInterface(id="eni-1", security_groups=("sg-a",)),
        "10.0.0.3": NetworkInterface(id="eni-9", security_groups=("sg-x", "sg-y")),
        "10.0.0.4": NetworkInterface(id="eni-9", security_groups=("sg-x", "sg-y")),
        "10.0.0.5": None,
    }
    ports = {k: frozenset({8080}) for k in enis} | {"10.0.0.2": frozenset({9090})}
    got = desired_rules(ports, enis, {}, "c1")
    assert got.ports == {"sg-a": frozenset({8080, 9090})}
    assert len(got.warnings) == 2
    assert "eni-9" in got.warnings[0] and "kubernetes.io/cluster/c1" in got.warnings[0]
    assert "10.0.0.5" in got.warnings[1]


def test_missing_is_per_group_and_drops_empty_groups() -> None:
    want = {"sg-a": frozenset({1, 2}), "sg-b": frozenset({3})}
    have = {"sg-a": frozenset({1}), "sg-b": frozenset({3}), "sg-c": frozenset({4})}
    assert missing(want, have) == {"sg-a": frozenset({2})}
    assert missing(have, want) == {"sg-c": frozenset({4})}


def test_instance_hints_map_pod_ips_to_their_node_instance() -> None:
    slice_ = endpoint_slice("api", ["10.0.0.1", "10.0.0.2"])
    slice_["endpoints"][0]["nodeName"] = "n1"
    objs = objects(slice_, node("n1", "i-0123"))
    assert instance_hints(objs.endpoint_slices, objs.nodes) == {"10.0.0.1": "i-0123"}
