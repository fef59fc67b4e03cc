"""The pure pieces of a Gateway taking an IngressGroup's load balancer over: which of the
group's target groups and rules become which of the Gateway's, and the order of the plan
(the Gateway's rules before the listener's new default, leftovers deleted last)."""

from __future__ import annotations

import pytest

from albctl.model.adopt_group import (
    LEFTOVER,
    LEFTOVER_MEMBER,
    AdoptionRefusedError,
    adopt_group_stack,
    check_scheme,
    handover_order,
)
from albctl.model.desired import (
    Action,
    Condition,
    FixedResponseConfig,
    ForwardTarget,
    HealthCheck,
    Listener,
    LoadBalancer,
    Rule,
    Stack,
    TargetGroup,
)
from albctl.model.observed import (
    ObservedListener,
    ObservedLoadBalancer,
    ObservedRule,
    ObservedStack,
    ObservedTargetGroup,
)
from albctl.model.plan.changes import Change

HC = HealthCheck(
    protocol="HTTP",
    port="traffic-port",
    path="/",
    interval_seconds=15,
    timeout_seconds=5,
    healthy_threshold=2,
    unhealthy_threshold=2,
    http_code="200",
)
F404 = Action(type="fixed-response", fixed_response=FixedResponseConfig(status_code="404"))
LB_ARN = "arn:aws:elasticloadbalancing:r:1:loadbalancer/app/k8s-shop/1"
LI_ARN = "arn:aws:elasticloadbalancing:r:1:listener/app/k8s-shop/1/80"


def _fwd(tg: str) -> Action:
    return Action(type="forward", forward=(ForwardTarget(target_group=tg),))


def _host(h: str) -> tuple[Condition, ...]:
    return (Condition(field="host-header", values=(h,)),)


def _group() -> ObservedStack:
    """The group ``shop`` as AWS holds it: two target groups (their ids and member tags as the
    Ingress model writes them), two rules."""
    tags = {"albctl.io/cluster": "c", "albctl.io/stack": "shop"}
    tgs = tuple(
        ObservedTargetGroup(
            arn=f"arn:tg/{svc}",
            resource_id=f"shop/{ing}-{svc}:80",
            name=svc,
            port=8080,
            protocol="HTTP",
            protocol_version="HTTP1",
            target_type="ip",
            ip_address_type="ipv4",
            health_check=HC,
            attributes={},
            targets=(),
            tags={
                **tags,
                "albctl.io/resource": f"shop/{ing}-{svc}:80",
                "albctl.io/ingress": f"shop/{ing}",
            },
        )
        for ing, svc in (("web", "web"), ("web", "web-api"))
    )
    rules = (
        ObservedRule(
            arn="arn:rule/1",
            listener_arn=LI_ARN,
            resource_id="80:shop/web:1",
            priority=1,
            conditions=_host("api.example.com"),
            action=_fwd("shop/web-web-api:80"),
            tags={**tags, "albctl.io/ingress": "shop/web"},
        ),
        ObservedRule(
            arn="arn:rule/2",
            listener_arn=LI_ARN,
            resource_id="80:shop/web:2",
            priority=2,
            conditions=(*_host("old.example.com"), Condition(field="path-pattern", values=("/*",))),
            action=_fwd("shop/web-web:80"),
            tags={**tags, "albctl.io/ingress": "shop/web"},
        ),
    )
    lb = ObservedLoadBalancer(
        arn=LB_ARN,
        resource_id="LoadBalancer",
        name="k8s-shop",
        dns_name="d",
        scheme="internet-facing",
        ip_address_type="ipv4",
        subnets=(),
        security_groups=(),
        attributes={},
        tags={**tags, "albctl.io/resource": "LoadBalancer"},
    )
    li = ObservedListener(
        arn=LI_ARN,
        load_balancer_arn=LB_ARN,
        resource_id="80",
        port=80,
        ssl_policy=None,
        certificates=(),
        protocol="HTTP",
        default_action=F404,
        tags={**tags, "albctl.io/resource": "80"},
    )
    return ObservedStack(
        group_id="shop", load_balancers=(lb,), listeners=(li,), rules=rules, target_groups=tgs
    )


def _gateway(scheme: str = "internet-facing") -> Stack:
    def tg(route: str, svc: str) -> TargetGroup:
        return TargetGroup(
            id=f"HTTPRoute/shop/{route}:shop/{svc}:80",
            name=svc,
            ingress=f"HTTPRoute/shop/{route}",
            service=f"shop/{svc}:80",
            port=8080,
            protocol="HTTP",
            protocol_version="HTTP1",
            target_type="ip",
            health_check=HC,
            attributes={},
            tags={},
            targets=(),
        )

    tgs = (tg("web", "web"), tg("web", "web-api"))
    return Stack(
        group_id="gateway/shop/shop",
        load_balancer=LoadBalancer(
            name="k8s-shop",
            scheme=scheme,
            ip_address_type="ipv4",
            subnets=(),
            security_groups=(),
            attributes={},
            tags={},
        ),
        security_group=None,
        target_groups=tgs,
        listeners=(Listener(id="80", port=80, protocol="HTTP", default_action=F404, tags={}),),
        rules=(
            Rule(
                id="80:api",
                listener="80",
                ingress="HTTPRoute/shop/web",
                priority=10,
                conditions=_host("api.example.com"),
                action=_fwd(tgs[1].id),
                tags={},
            ),
        ),
        stable_priorities=True,
    )


def test_target_groups_go_to_the_gateways_of_the_same_service_port_and_rules_by_conditions() -> (
    None
):
    got = adopt_group_stack(_group(), _gateway(), "c")
    ids = {tg.arn: tg.resource_id for tg in got.observed.target_groups}
    assert ids == {
        "arn:tg/web": "HTTPRoute/shop/web:shop/web:80",
        "arn:tg/web-api": "HTTPRoute/shop/web:shop/web-api:80",
    }
    rules = {r.arn: r for r in got.observed.rules}
    assert rules["arn:rule/1"].resource_id == "80:api"
    assert rules["arn:rule/1"].action == _fwd("HTTPRoute/shop/web:shop/web-api:80")  # remapped
    assert rules["arn:rule/2"].resource_id == LEFTOVER + "80:shop/web:2"
    assert rules["arn:rule/2"].tags["albctl.io/ingress"] == LEFTOVER_MEMBER
    assert all(c.action == "adopt" for c in got.changes)
    assert {c.details["tags"]["albctl.io/stack"] for c in got.changes} == {"gateway/shop/shop"}


def test_leftover_rules_are_deleted_after_the_new_rules_and_the_listener_default() -> None:
    got = adopt_group_stack(_group(), _gateway(), "c")
    changes = [
        Change("update", "Listener", "80", {}),
        Change("create", "ListenerRule", "80:new", {}),
        Change("delete", "TargetGroup", "x", {}),
    ]
    order = [(c.action, c.kind, c.id) for c in handover_order(changes, got.observed)]
    assert order == [
        ("create", "ListenerRule", "80:new"),
        ("update", "Listener", "80"),
        ("delete", "ListenerRule", LEFTOVER + "80:shop/web:2"),
        ("delete", "TargetGroup", "x"),
    ]


def test_a_scheme_change_is_refused() -> None:
    with pytest.raises(AdoptionRefusedError, match="adopting would replace it"):
        check_scheme(_group(), _gateway("internal"), "Gateway/shop/shop")
