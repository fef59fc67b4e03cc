"""Pod readiness gates in the model: which endpoints are targets, which target groups a pod
gets a gate for, what a gate condition says."""

from __future__ import annotations

from typing import Any

from albctl.manifests import ObjectSet
from albctl.model.binding import BindingInput, TargetGroupInfo, plan_binding
from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.endpoints import endpoint_is_target, endpoint_pod
from albctl.model.groups import group_ingresses
from albctl.model.inventory import Inventory
from albctl.model.objects import Endpoint, EndpointSlice, Pod
from albctl.model.readiness import (
    TargetHealth,
    gate_targets,
    gate_type,
    gated_target_groups,
    health_condition,
    injection_enabled,
    not_a_target_condition,
    pod_gates,
)
from albctl.model.settings import BuildSettings
from tests.helpers import (
    backend,
    ingress,
    ingress_class,
    inventory,
    objects,
    rule,
    service,
    target_group_binding,
)

SETTINGS = BuildSettings(cluster_name="c1")
ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tf-web/0123456789abcdef"


def ep(ready: bool | None, serving: bool | None = None, terminating: bool = False) -> Endpoint:
    return Endpoint.model_validate(
        {
            "addresses": ["10.0.1.5"],
            "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
            "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
        }
    )


def test_which_endpoints_are_targets() -> None:
    assert endpoint_is_target(ep(True, serving=True), gated=False)
    assert endpoint_is_target(ep(None), gated=False)  # readiness unknown: as before
    # not ready: only when the pod waits on our gate with its containers ready (``gated``);
    # Kubernetes says ``serving: false`` for such a pod (serving = pod Ready), so it is not read
    assert not endpoint_is_target(ep(False, serving=False), gated=False)
    assert endpoint_is_target(ep(False, serving=False), gated=True)
    # terminating: never, whatever it says about serving
    assert not endpoint_is_target(ep(False, serving=True, terminating=True), gated=True)
    assert not endpoint_is_target(ep(True, terminating=True), gated=False)
    assert endpoint_pod(ep(True), "shop") == "shop/web-1"
    no_ref = Endpoint.model_validate({"addresses": ["10.0.1.5"]})
    assert endpoint_pod(no_ref, "shop") is None


def _pod(
    name: str,
    *gates: str,
    ns: str = "shop",
    containers_ready: bool = True,
    deleting: bool = False,
    **labels: str,
) -> dict[str, Any]:
    """A pod as the kubelet reports it: ``ContainersReady`` from its containers, ``Ready`` only
    when every readiness gate is True too (none of these gates is True yet)."""
    cr = "True" if containers_ready else "False"
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"readinessGates": [{"conditionType": g} for g in gates]},
        "status": {
            "conditions": [
                {"type": "ContainersReady", "status": cr},
                {"type": "Ready", "status": "True" if cr == "True" and not gates else "False"},
            ]
        },
    }


# what Kubernetes' EndpointSlice controller writes (pkg/controller/endpointslice podToEndpoint):
# serving = pod Ready (gates included), ready = serving and not terminating
READY = {"ready": True, "serving": True, "terminating": False}
NOT_READY = {"ready": False, "serving": False, "terminating": False}
LEAVING = {"ready": False, "serving": False, "terminating": True}


def _slice(*endpoints: tuple[str, str, dict[str, Any]], name: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-x",
            "namespace": "shop",
            "labels": {"kubernetes.io/service-name": name},
        },
        "ports": [{"name": "http", "port": 8080}],
        "endpoints": [
            {
                "addresses": [ip],
                "conditions": conds,
                "targetRef": {"kind": "Pod", "name": pod, "namespace": "shop"},
            }
            for ip, pod, conds in endpoints
        ],
    }


def _web_service(name: str = "web", node_port: int | None = None) -> dict[str, Any]:
    svc = service(name, "shop", node_port=node_port, target_port=8080)
    svc["spec"]["selector"] = {"app": name}
    return svc


def _web_ingress(name: str = "web", target_type: str = "ip", **ann: str) -> dict[str, Any]:
    return ingress(
        name,
        "shop",
        target_type=target_type,
        rules=[rule(f"{name}.example.com", ("/", "Prefix", backend(name, 80)))],
        **ann,
    )


def _build(objs: ObjectSet, inv: Inventory | None = None) -> BuildResult:
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, [], SETTINGS)
    [group] = grouping.groups.values()
    return build_group(
        GroupInput(
            group,
            {s.key: s for s in objs.services},
            objs.endpoint_slices,
            objs.nodes,
            inv or inventory(),
            SETTINGS,
            pod_gates=pod_gates(objs.pods),
        )
    )


def test_gated_pods_with_ready_containers_are_registered_in_their_target_group_only() -> None:
    base = objects(ingress_class(), _web_service(), _web_ingress())
    [tg] = _build(base).stack.target_groups  # type: ignore[union-attr]
    gate = gate_type(tg.name)
    objs = objects(
        ingress_class(),
        _web_service(),
        _web_ingress(),
        _pod("ready"),
        _pod("gated", gate),
        _pod("other-gate", gate_type("k8s-shop-other-0123456789")),
        _pod("gated-starting", gate, containers_ready=False),
        _pod("gated-leaving", gate, deleting=True),
        _pod("plain-starting", containers_ready=False),
        _slice(
            ("10.0.1.1", "ready", READY),
            ("10.0.1.2", "gated", NOT_READY),
            ("10.0.1.3", "other-gate", NOT_READY),
            ("10.0.1.4", "gated-starting", NOT_READY),
            ("10.0.1.5", "gated-leaving", LEAVING),
            ("10.0.1.6", "plain-starting", NOT_READY),
            ("10.0.1.7", "not-cached", NOT_READY),  # a pod albctl does not know: not gated
        ),
    )
    [built] = _build(objs).stack.target_groups  # type: ignore[union-attr]
    assert built.name == tg.name
    assert {t.id for t in built.targets} == {"10.0.1.1", "10.0.1.2"}
    # the gated pod's containers stop being ready: it is deregistered
    objs = objects(
        ingress_class(),
        _web_service(),
        _web_ingress(),
        _pod("gated", gate, containers_ready=False),
        _slice(("10.0.1.2", "gated", NOT_READY)),
    )
    [built] = _build(objs).stack.target_groups  # type: ignore[union-attr]
    assert built.targets == ()


def test_binding_registers_gated_pods_with_ready_containers_for_its_target_group() -> None:
    info = TargetGroupInfo(arn=ARN, name="tf-web", vpc_id="vpc-1", target_type="ip")
    objs = objects(
        _web_service(),
        target_group_binding("web", "shop", "web", 80, arn=ARN),
        _pod("gated", gate_type("tf-web")),
        _pod("plain", containers_ready=False),
        _pod("gated-starting", gate_type("tf-web"), containers_ready=False),
        _slice(
            ("10.0.1.2", "gated", NOT_READY),
            ("10.0.1.3", "plain", NOT_READY),
            ("10.0.1.4", "gated-starting", NOT_READY),
        ),
    )
    result = plan_binding(
        BindingInput(
            objs.target_group_bindings[0],
            info,
            {s.key: s for s in objs.services},
            objs.endpoint_slices,
            objs.nodes,
            "vpc-1",
            objs.target_group_bindings,
            pod_gates(objs.pods),
        )
    )
    assert result.targets == frozenset({("10.0.1.2", 8080)})


def test_gate_targets_are_the_ip_target_groups_of_selecting_services() -> None:
    objs = objects(
        ingress_class(),
        _web_service(),
        _web_service("api"),
        _web_service("front", node_port=30080),
        _web_ingress(),
        _web_ingress("api"),
        _web_ingress("front", target_type="instance"),
        target_group_binding("bound", "shop", "web", 80, arn=ARN),
        target_group_binding("later", "shop", "web", 80, arn=ARN),  # not the holder
    )
    alone = _build(objects(ingress_class(), _web_service(), _web_ingress())).stack
    assert alone is not None
    [tg] = alone.target_groups
    got = gate_targets("shop", {"app": "web", "pod-template-hash": "x"}, objs, SETTINGS)
    assert set(got) == {tg.name, "tf-web"}
    assert got[tg.name].service == "shop/web" and got[tg.name].owner == "IngressGroup shop/web"
    assert got["tf-web"].owner == "TargetGroupBinding shop/bound"
    # instance targets are nodes, not pods: no gate
    assert gate_targets("shop", {"app": "front"}, objs, SETTINGS) == {}
    # another namespace, no matching labels: nothing
    assert gate_targets("other", {"app": "web"}, objs, SETTINGS) == {}
    assert gate_targets("shop", {"app": "nope"}, objs, SETTINGS) == {}
    # a binding on an instance target group (known from AWS): no gate
    got = gate_targets("shop", {"app": "web"}, objs, SETTINGS, {"tf-web": "instance"})
    assert set(got) == {tg.name}


def test_a_service_without_selector_selects_no_pod() -> None:
    svc = service("web", "shop", node_port=None)
    objs = objects(ingress_class(), svc, _web_ingress())
    assert gate_targets("shop", {"app": "web"}, objs, SETTINGS) == {}


def test_gate_names_are_the_names_the_real_build_gives() -> None:
    objs = objects(ingress_class(), _web_service(), _web_ingress(certificate_arn="arn:aws:acm:x"))
    real = {t.name for t in _build(objs).stack.target_groups}  # type: ignore[union-attr]
    assert set(gate_targets("shop", {"app": "web"}, objs, SETTINGS)) == real


def test_a_build_without_aws_skips_what_only_aws_knows() -> None:
    objs = objects(
        ingress_class(),
        _web_service(),
        _web_ingress(
            listen_ports='[{"HTTPS": 443}]',
            security_groups="corp-frontend",
            wafv2_acl_name="corp",
            subnets="public-a,public-b",
        ),
    )
    result = _build(objs, Inventory.unknown())
    assert result.invalid == {} and result.group_error is None
    assert result.stack is not None
    # the same with AWS's answers: each lookup fails
    assert _build(objs).invalid


def test_pod_gates_and_opt_in() -> None:
    objs = objects(
        _pod("a", gate_type("tg-1"), gate_type("tg-2"), "example.com/other"),
        _pod("b", "example.com/other"),
        _pod("c", gate_type("tg-1"), containers_ready=False),
        _pod("d", gate_type("tg-1"), deleting=True),
    )
    [a, b, c, _] = objs.pods
    assert gated_target_groups(a) == {"tg-1", "tg-2"}
    # only pods whose containers are ready and that are not being deleted may be registered
    assert pod_gates(objs.pods) == {"shop/a": frozenset({"tg-1", "tg-2"})}
    assert gated_target_groups(c) == {"tg-1"}
    assert gated_target_groups(b) == frozenset()
    assert injection_enabled({"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"})
    assert injection_enabled({"albctl.io/pod-readiness-gate-inject": "enabled"})
    assert not injection_enabled({"albctl.io/pod-readiness-gate-inject": "disabled"})


def test_pod_ips() -> None:
    pod = Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": "n"},
            "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]},
        }
    )
    assert pod.ips == ("10.0.0.1", "fd00::1")


def test_gate_conditions() -> None:
    healthy = health_condition("tg", TargetHealth("10.0.1.5", 8080, "healthy"))
    assert healthy.status == "True" and healthy.reason == "TargetHealthy"
    assert healthy.message == "target 10.0.1.5:8080 in target group tg is healthy"
    for state, reason in (
        ("initial", "Elb.RegistrationInProgress"),
        ("unhealthy", "Target.FailedHealthChecks"),
        ("draining", "Target.DeregistrationInProgress"),
        ("unused", "Target.NotRegistered"),
    ):
        cond = health_condition(
            "tg", TargetHealth("10.0.1.5", 8080, state, reason, "Health checks failed")
        )
        assert cond.status == "False" and cond.reason == reason
        assert cond.message == (
            f"target 10.0.1.5:8080 in target group tg is {state}: Health checks failed"
        )
    bare = health_condition("tg", TargetHealth("10.0.1.5", 8080, "unavailable"))
    assert bare.reason == "TargetUnavailable"
    gone = not_a_target_condition("tg", "why")
    assert gone.status == "True" and gone.reason == "NotATarget"


def test_endpoint_slice_target_ref_parses() -> None:
    s = EndpointSlice.model_validate(_slice(("10.0.1.2", "gated", {"ready": True})))
    ref = s.endpoints[0].target_ref
    assert ref is not None and ref.name == "gated" and ref.kind == "Pod"


def test_gate_targets_include_the_ip_target_groups_of_gateway_routes() -> None:
    from albctl.model.gateway.build import build_gateway
    from albctl.model.gateway.select import gateway_input, our_gateways
    from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route

    ip = BuildSettings(cluster_name="c1", default_target_type="ip")
    objs = objects(
        gateway_class(),
        gateway("gw", "shop"),
        _web_service(),
        http_route(
            "web",
            "shop",
            {"backendRefs": [backend_ref("web")]},
            parents=[{"name": "gw"}],
        ),
    )
    [gw] = our_gateways(objs, ip).values()
    stack = build_gateway(gateway_input(objs, gw, inventory(), ip)).result.stack
    assert stack is not None
    [tg] = stack.target_groups
    got = gate_targets("shop", {"app": "web"}, objs, ip)
    assert set(got) == {tg.name}  # the name the real build gives
    assert got[tg.name].owner == "Gateway shop/gw" and got[tg.name].service == "shop/web"
    # instance targets are nodes: no gate
    assert gate_targets("shop", {"app": "web"}, objs, SETTINGS) == {}
