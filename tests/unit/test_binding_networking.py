"""TargetGroupBinding networking, the pure part: which rules on which security groups."""

from __future__ import annotations

from typing import Any

import pytest

from albctl.errors import InvalidBindingError
from albctl.model.binding_networking import (
    Eni,
    NetworkingEntry,
    Permission,
    desired_permissions,
    rules_of,
    target_security_group,
)
from albctl.model.objects import TargetGroupBinding
from tests.helpers import objects, target_group_binding

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tf-web/0123456789abcdef"
CLUSTER = "prod"


def binding(name: str = "web", *ingress: dict[str, Any]) -> TargetGroupBinding:
    doc = target_group_binding(name, "shop", arn=ARN, networking={"ingress": list(ingress)})
    return objects(doc).target_group_bindings[0]


def eni(eni_id: str, *groups: str, tagged: str | None = None) -> Eni:
    return Eni(
        id=eni_id,
        security_groups=tuple(
            (g, ((f"kubernetes.io/cluster/{CLUSTER}", "owned"),) if g == tagged else ())
            for g in groups
        ),
    )


FROM_LB = {"securityGroup": {"groupID": "sg-lb"}}
FROM_VPN = {"ipBlock": {"cidr": "10.8.0.1/16"}}


def test_rules_every_source_times_every_port() -> None:
    b = binding(
        "web",
        {"from": [FROM_LB, FROM_VPN], "ports": [{"port": 8080}, {"protocol": "UDP", "port": 53}]},
    )
    assert rules_of(b) == [
        ("tcp", 8080, 8080, "sg-lb", None),
        ("udp", 53, 53, "sg-lb", None),
        ("tcp", 8080, 8080, None, "10.8.0.0/16"),  # normalised
        ("udp", 53, 53, None, "10.8.0.0/16"),
    ]


def test_no_ports_means_every_tcp_port_and_no_port_every_port_of_the_protocol() -> None:
    assert rules_of(binding("web", {"from": [FROM_LB]})) == [("tcp", 0, 65535, "sg-lb", None)]
    assert rules_of(binding("web", {"from": [FROM_LB], "ports": [{"protocol": "UDP"}]})) == [
        ("udp", 0, 65535, "sg-lb", None)
    ]


@pytest.mark.parametrize(
    ("rule", "field", "text"),
    [
        ({"from": []}, "spec.networking.ingress[0].from", "at least one source"),
        ({"from": [{}]}, "spec.networking.ingress[0].from[0]", "exactly one of"),
        (
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]},
            "spec.networking.ingress[0].from[0].ipBlock.cidr",
            "not a CIDR block",
        ),
        (
            {"from": [FROM_LB], "ports": [{"port": "http"}]},
            "spec.networking.ingress[0].ports[0].port",
            "named ports are not supported",
        ),
        (
            {"from": [FROM_LB], "ports": [{"protocol": "ICMP"}]},
            "spec.networking.ingress[0].ports[0].protocol",
            "must be TCP or UDP",
        ),
        (
            {"from": [FROM_LB], "ports": [{"port": 70000}]},
            "spec.networking.ingress[0].ports[0].port",
            "1-65535",
        ),
    ],
)
def test_invalid_networking_names_the_field(rule: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(InvalidBindingError) as info:
        rules_of(binding("web", rule))
    assert info.value.field == field and text in info.value.message
    assert info.value.reason == "InvalidSpec"


def test_which_security_group_of_an_eni() -> None:
    assert target_security_group(eni("eni-1", "sg-a"), CLUSTER) == ("sg-a", "")
    assert target_security_group(eni("eni-1", "sg-a", "sg-b", tagged="sg-b"), CLUSTER) == (
        "sg-b",
        "",
    )
    group, why = target_security_group(eni("eni-1", "sg-a", "sg-b"), CLUSTER)
    assert group is None and "2 security groups and none tagged kubernetes.io/cluster/prod" in why


def test_desired_permissions_are_the_union_over_bindings_and_targets() -> None:
    web = binding("web", {"from": [FROM_LB], "ports": [{"port": 8080}]})
    api = binding("api", {"from": [FROM_LB], "ports": [{"port": 8080}]})  # the same rule
    enis = {
        "10.0.1.10": eni("eni-1", "sg-pods"),
        "10.0.1.11": eni("eni-2", "sg-pods"),
        "10.0.2.20": eni("eni-3", "sg-pods", "sg-extra", tagged="sg-pods"),
        "10.0.3.30": eni("eni-4", "sg-x", "sg-y"),
    }
    plan = desired_permissions(
        [
            NetworkingEntry(web, frozenset({("10.0.1.10", 8080), ("10.0.1.11", 8080)})),
            NetworkingEntry(
                api, frozenset({("10.0.2.20", 8080), ("10.0.3.30", 8080), ("10.0.4.40", 8080)})
            ),
        ],
        enis,
        CLUSTER,
    )
    assert plan.permissions == {
        Permission(
            group_id="sg-pods", protocol="tcp", from_port=8080, to_port=8080, source_group="sg-lb"
        )
    }
    assert not plan.complete
    assert plan.problems == {
        "shop/api": [
            "target 10.0.3.30: network interface eni-4 has 2 security groups and none tagged "
            "kubernetes.io/cluster/prod",
            "no network interface found for target 10.0.4.40",
        ]
    }


def test_permission_describe() -> None:
    p = Permission(group_id="sg-1", protocol="tcp", from_port=0, to_port=65535, cidr="10.0.0.0/8")
    assert p.describe() == "sg-1 tcp/all from 10.0.0.0/8"
