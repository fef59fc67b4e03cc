"""Pod readiness gates (pure): which target groups a pod will be a target of, and what its
gate conditions say.

A pod created in a namespace labelled ``elbv2.k8s.aws/pod-readiness-gate-inject: enabled`` (the
AWS Load Balancer Controller's label) or ``albctl.io/pod-readiness-gate-inject: enabled`` gets
one readiness gate per target group it will be registered in, condition type
``target-health.albctl.io/<target group name>``: the ip target groups of Services that select
the pod and back an Ingress or a Gateway route of albctl's, or that a TargetGroupBinding
binds. The target group
names are the model's own (:func:`albctl.model.builder.build_group`, built here without AWS), so
the webhook and the controller agree on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from albctl.model.binding import holder, target_group_key
from albctl.model.builder import GroupInput, build_group
from albctl.model.gateway.build import build_gateway
from albctl.model.gateway.select import GatewayObjects, gateway_input, our_gateways
from albctl.model.groups import group_ingresses, services_of
from albctl.model.inventory import Inventory
from albctl.model.objects import (
    Ingress,
    IngressClass,
    IngressClassParams,
    Pod,
    Service,
    TargetGroupBinding,
)
from albctl.model.settings import BuildSettings

GATE_PREFIX = "target-health.albctl.io/"
# a namespace opts in with either label (LBC's is accepted as it is)
INJECT_LABELS = ("elbv2.k8s.aws/pod-readiness-gate-inject", "albctl.io/pod-readiness-gate-inject")
INJECT_VALUE = "enabled"

# target states as DescribeTargetHealth reports them
HEALTHY = "healthy"


class ClusterObjects(GatewayObjects, Protocol):
    """The cached objects the decision needs (``albctl.manifests.ObjectSet`` is one)."""

    @property
    def ingresses(self) -> Sequence[Ingress]: ...
    @property
    def ingress_classes(self) -> Sequence[IngressClass]: ...
    @property
    def ingress_class_params(self) -> Sequence[IngressClassParams]: ...
    @property
    def target_group_bindings(self) -> Sequence[TargetGroupBinding]: ...


def gate_type(target_group: str) -> str:
    """The pod condition type of the readiness gate for one target group."""
    return GATE_PREFIX + target_group


def gated_target_groups(pod: Pod) -> frozenset[str]:
    """Target group names of the pod's albctl readiness gates."""
    return frozenset(
        g.condition_type[len(GATE_PREFIX) :]
        for g in pod.spec.readiness_gates
        if g.condition_type.startswith(GATE_PREFIX) and len(g.condition_type) > len(GATE_PREFIX)
    )


def containers_ready(pod: Pod) -> bool:
    """The pod's ``ContainersReady`` condition is True (the kubelet's: every container's
    readiness probe passes; pkg/kubelet/status ``GenerateContainersReadyCondition``). Unlike
    ``Ready``, it does not wait on readiness gates."""
    cond = pod.condition("ContainersReady")
    return cond is not None and cond.status == "True"


def pod_gates(pods: Iterable[Pod]) -> dict[str, frozenset[str]]:
    """Pod key -> target group names of its albctl gates, for the pods that may be registered
    before they are Ready: gated, containers ready, not being deleted. Their endpoints are
    ``ready: false, serving: false`` until the gate is True (see :mod:`albctl.model.endpoints`);
    a pod whose containers stop being ready drops out, so it is deregistered."""
    out: dict[str, frozenset[str]] = {}
    for p in pods:
        names = gated_target_groups(p)
        if names and containers_ready(p) and not p.metadata.deletion_timestamp:
            out[p.key] = names
    return out


def injection_enabled(namespace_labels: Mapping[str, str]) -> bool:
    return any(namespace_labels.get(k) == INJECT_VALUE for k in INJECT_LABELS)


def selects(svc: Service, namespace: str, labels: Mapping[str, str]) -> bool:
    """Whether the Service's selector picks a pod with these labels (an empty selector picks
    nothing: such a Service's endpoints are managed by hand)."""
    sel = svc.spec.selector
    return (
        svc.metadata.namespace == namespace
        and bool(sel)
        and all(labels.get(k) == v for k, v in sel.items())
    )


@dataclass(frozen=True)
class GateTarget:
    """A target group a pod will be registered in, and why."""

    target_group: str
    service: str  # namespace/name of the Service selecting the pod
    owner: str  # "IngressGroup <id>" or "TargetGroupBinding <namespace>/<name>"


def gate_targets(
    namespace: str,
    labels: Mapping[str, str],
    objs: ClusterObjects,
    settings: BuildSettings,
    binding_target_types: Mapping[str, str] | None = None,
) -> dict[str, GateTarget]:
    """The target groups a pod with these labels will be a target of, by name.

    Ingresses: the ip target groups of every group with a member that references a selecting
    Service (built without AWS; a member the model leaves out contributes nothing).
    TargetGroupBindings: those whose Service selects the pod, that hold their target group
    (the oldest binding naming it), and whose target type is ip (``spec.targetType``, else what
    is known of the target group in ``binding_target_types``, else assumed ip).
    """
    selected = {s.key for s in objs.services if selects(s, namespace, labels)}
    if not selected:
        return {}
    out: dict[str, GateTarget] = {}
    live = [i for i in objs.ingresses if not i.metadata.deletion_timestamp]
    grouping = group_ingresses(live, objs.ingress_classes, objs.ingress_class_params, settings)
    services = {s.key: s for s in objs.services}
    for gid, group in sorted(grouping.groups.items()):
        if not any(services_of(m.ingress) & selected for m in group.members):
            continue
        build = build_group(
            GroupInput(
                group, services, objs.endpoint_slices, objs.nodes, Inventory.unknown(), settings
            )
        )
        for tg in build.stack.target_groups if build.stack else ():
            svc = tg.service.rpartition(":")[0]
            if tg.target_type == "ip" and svc in selected:
                out[tg.name] = GateTarget(tg.name, svc, f"IngressGroup {gid}")
    out.update(_gateway_targets(objs, settings, selected))
    types = binding_target_types or {}
    bindings = [b for b in objs.target_group_bindings if not b.metadata.deletion_timestamp]
    for b in bindings:
        svc = f"{b.metadata.namespace}/{b.spec.service_ref.name}"
        name = target_group_key(b)
        if svc not in selected or name is None:
            continue
        first = holder(name, bindings)
        if first is None or first.key != b.key:
            continue
        if (b.spec.target_type or types.get(name, "ip")) != "ip":
            continue
        out[name] = GateTarget(name, svc, f"TargetGroupBinding {b.key}")
    return out


def _gateway_targets(
    objs: ClusterObjects, settings: BuildSettings, selected: set[str]
) -> dict[str, GateTarget]:
    """The ip target groups of albctl's Gateways that send to a selecting Service (the
    Gateways' routes' backends, built without AWS)."""
    out: dict[str, GateTarget] = {}
    for gw in our_gateways(objs, settings).values():
        stack = build_gateway(gateway_input(objs, gw, Inventory.unknown(), settings)).result.stack
        for tg in stack.target_groups if stack else ():
            svc = tg.service.rpartition(":")[0]
            if tg.target_type == "ip" and svc in selected:
                out[tg.name] = GateTarget(tg.name, svc, f"Gateway {gw.key}")
    return out


# --- conditions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetHealth:
    """One target as DescribeTargetHealth reports it."""

    id: str
    port: int
    state: str  # initial | healthy | unhealthy | unused | draining | unavailable | ...
    reason: str = ""  # e.g. Elb.RegistrationInProgress, Target.FailedHealthChecks
    description: str = ""


@dataclass(frozen=True)
class GateCondition:
    status: str  # "True" | "False"
    reason: str
    message: str


def health_condition(target_group: str, health: TargetHealth) -> GateCondition:
    """True once the target is healthy; False with its state and reason otherwise."""
    where = f"target {health.id}:{health.port} in target group {target_group}"
    if health.state == HEALTHY:
        return GateCondition("True", "TargetHealthy", f"{where} is healthy")
    reason = health.reason or ("Target" + health.state.capitalize())
    detail = f": {health.description}" if health.description else ""
    return GateCondition("False", reason, f"{where} is {health.state}{detail}")


def containers_not_ready_condition(target_group: str, ips: Sequence[str]) -> GateCondition:
    """A pod that will be a target once its containers are ready: not registered yet, as AWS
    names a target it does not hold (``Target.NotRegistered``)."""
    where = f"target {ips[0]}" if ips else "the pod"
    return GateCondition(
        "False",
        "Target.NotRegistered",
        f"{where} is not registered in target group {target_group}: "
        "the pod's containers are not ready",
    )


def not_a_target_condition(target_group: str, why: str) -> GateCondition:
    """A pod that is no longer a target of the group is not held back by its gate."""
    return GateCondition(
        "True", "NotATarget", f"not a target of target group {target_group}: {why}"
    )
