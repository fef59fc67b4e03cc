"""TargetGroupBinding: which targets a binding puts into its target group, or why it cannot (pure).

A binding names a target group albctl does not own (by ARN or by name) and a Service port. The
target group itself is described by the AWS adapter into a :class:`TargetGroupInfo`; from that,
the Service, its EndpointSlices and the Nodes, :func:`plan_binding` computes the target set or
the first problem, as an :class:`InvalidBindingError` naming the field and carrying a stable
reason code. A binding holds its target group's whole target list (targets not backed by the
Service are deregistered); when several bindings name one target group, the oldest
(creationTimestamp, then name) holds it and the others are in error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from albctl.errors import InvalidBindingError
from albctl.model.binding_networking import rules_of
from albctl.model.endpoints import endpoint_is_target, is_gated
from albctl.model.objects import (
    EndpointSlice,
    LabelSelector,
    Node,
    Service,
    ServicePort,
    TargetGroupBinding,
)

FINALIZER = "albctl.io/target-group-binding"
MAX_TARGETS = 1000  # targets per target group (AWS default quota)
TARGET_TYPES = ("instance", "ip")
IP_ADDRESS_TYPES = ("ipv4", "ipv6")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

# Nodes never registered as instance targets (LBC's default node selector; the binding's own
# nodeSelector narrows it further)
EXCLUDED_NODE_LABELS = (
    "node.kubernetes.io/exclude-from-external-load-balancers",
    "alpha.service-controller.kubernetes.io/exclude-balancer",
    "node-role.kubernetes.io/master",
)
COMPUTE_TYPE_LABEL = "eks.amazonaws.com/compute-type"

TargetKey = tuple[str, int]  # (instance id or IP address, port)


class TargetGroupInfo(BaseModel):
    """What albctl reads of a target group it does not own (never changed by albctl)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    arn: str
    name: str
    vpc_id: str | None = None
    target_type: str = "instance"  # instance | ip | lambda | alb
    ip_address_type: str = "ipv4"
    port: int | None = None
    protocol: str | None = None
    # the albctl.io/stack tag when albctl itself manages the target group (for an Ingress)
    albctl_stack: str | None = None


@dataclass(frozen=True)
class BindingInput:
    binding: TargetGroupBinding
    target_group: TargetGroupInfo | None
    services: Mapping[str, Service]
    endpoint_slices: Sequence[EndpointSlice]
    nodes: Sequence[Node]
    vpc_id: str | None
    bindings: Sequence[TargetGroupBinding] = ()  # every binding, for the one-holder rule
    # pod key -> target group names of its albctl readiness gates (see model.readiness)
    pod_gates: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingResult:
    key: str
    target_group: TargetGroupInfo | None
    target_type: str | None = None
    targets: frozenset[TargetKey] = frozenset()
    error: InvalidBindingError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def object_name(b: TargetGroupBinding) -> str:
    return f"TargetGroupBinding/{b.key}"


def _error(b: TargetGroupBinding, field: str, message: str, reason: str) -> InvalidBindingError:
    return InvalidBindingError(object_name(b), field, message, reason)


# --- which target group --------------------------------------------------------------------


def name_from_arn(arn: str) -> str | None:
    """``arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>`` → name."""
    _, _, resource = arn.rpartition(":")
    parts = resource.split("/")
    if len(parts) == 3 and parts[0] == "targetgroup" and parts[1]:
        return parts[1]
    return None


def target_group_ref(b: TargetGroupBinding) -> tuple[str, str]:
    """``("arn", value)`` or ``("name", value)``; exactly one of the two fields must be set."""
    arn, name = b.spec.target_group_arn, b.spec.target_group_name
    if bool(arn) == bool(name):
        which = "both are set" if arn else "neither is set"
        raise _error(
            b,
            "spec.targetGroupARN",
            f"set exactly one of targetGroupARN and targetGroupName ({which})",
            "InvalidSpec",
        )
    if arn:
        if name_from_arn(arn) is None:
            raise _error(
                b, "spec.targetGroupARN", f"{arn!r} is not a target group ARN", "InvalidSpec"
            )
        return ("arn", arn)
    assert name is not None
    return ("name", name)


def target_group_key(b: TargetGroupBinding) -> str | None:
    """The target group's name (unique per account and region), whichever field names it."""
    if b.spec.target_group_arn and not b.spec.target_group_name:
        return name_from_arn(b.spec.target_group_arn)
    if b.spec.target_group_name and not b.spec.target_group_arn:
        return b.spec.target_group_name
    return None


def _age(b: TargetGroupBinding) -> tuple[str, str, str]:
    return (b.metadata.creation_timestamp or "", b.metadata.name, b.metadata.namespace)


def holder(tg_name: str, bindings: Iterable[TargetGroupBinding]) -> TargetGroupBinding | None:
    """The binding that holds a target group: the oldest of those naming it."""
    naming = [b for b in bindings if target_group_key(b) == tg_name]
    return min(naming, key=_age) if naming else None


def _conflict(b: TargetGroupBinding, bindings: Sequence[TargetGroupBinding]) -> None:
    tg_name = target_group_key(b)
    first = holder(tg_name, [*bindings, b]) if tg_name else None
    if first is not None and first.key != b.key:
        raise _error(
            b,
            "spec.targetGroupARN" if b.spec.target_group_arn else "spec.targetGroupName",
            f"target group {tg_name} is already bound by TargetGroupBinding/{first.key} "
            "(the older binding keeps it; nothing is registered for this one)",
            "TargetGroupInUse",
        )


# --- the target group against the binding -------------------------------------------------


def check_target_group(inp: BindingInput) -> str:
    """The effective target type, or raise why this target group cannot be bound."""
    b, tg = inp.binding, inp.target_group
    kind, ref = target_group_ref(b)
    field = "spec.targetGroupARN" if kind == "arn" else "spec.targetGroupName"
    _conflict(b, inp.bindings)
    if tg is None:
        raise _error(b, field, f"target group {ref} not found", "TargetGroupNotFound")
    if inp.vpc_id is None:
        raise _error(
            b,
            field,
            "cannot tell the cluster's VPC to check the target group against "
            "(set --vpc-id, or tag the cluster's subnets for load balancers)",
            "VpcUnknown",
        )
    if tg.vpc_id != inp.vpc_id:
        raise _error(
            b,
            field,
            f"target group {tg.name} is in VPC {tg.vpc_id}, not in the cluster's VPC {inp.vpc_id}",
            "VpcMismatch",
        )
    if tg.albctl_stack is not None:
        raise _error(
            b,
            field,
            f"target group {tg.name} is managed by albctl for Ingress group {tg.albctl_stack}; "
            "bind only target groups made outside albctl",
            "TargetGroupManagedByAlbctl",
        )
    if tg.target_type not in TARGET_TYPES:
        raise _error(
            b,
            field,
            f"target group {tg.name} has target type {tg.target_type}; "
            "only instance and ip target groups can be bound",
            "UnsupportedTargetGroup",
        )
    want = b.spec.target_type
    if want is not None and want not in TARGET_TYPES:
        raise _error(b, "spec.targetType", f"{want!r}: must be instance or ip", "InvalidSpec")
    if want is not None and want != tg.target_type:
        raise _error(
            b,
            "spec.targetType",
            f"{want} contradicts target group {tg.name}, whose target type is {tg.target_type}",
            "TargetTypeMismatch",
        )
    ip_type = b.spec.ip_address_type
    if ip_type is not None and ip_type not in IP_ADDRESS_TYPES:
        raise _error(b, "spec.ipAddressType", f"{ip_type!r}: must be ipv4 or ipv6", "InvalidSpec")
    if ip_type is not None and ip_type != tg.ip_address_type:
        raise _error(
            b,
            "spec.ipAddressType",
            f"{ip_type} contradicts target group {tg.name}, whose IP address type is "
            f"{tg.ip_address_type}",
            "IpAddressTypeMismatch",
        )
    return tg.target_type


# --- targets -------------------------------------------------------------------------------


def _requirement_holds(labels: Mapping[str, str], key: str, op: str, values: Sequence[str]) -> bool:
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    return key not in labels  # DoesNotExist


def selector_matches(labels: Mapping[str, str], selector: LabelSelector | None) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions, ANDed)."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    return all(
        _requirement_holds(labels, r.key, r.operator, r.values) for r in selector.match_expressions
    )


def _check_selector(b: TargetGroupBinding) -> None:
    for i, r in enumerate(b.spec.node_selector.match_expressions if b.spec.node_selector else ()):
        if r.operator not in SELECTOR_OPERATORS:
            raise _error(
                b,
                f"spec.nodeSelector.matchExpressions[{i}].operator",
                f"{r.operator!r}: must be one of {', '.join(SELECTOR_OPERATORS)}",
                "InvalidSpec",
            )
        if (r.operator in ("In", "NotIn")) != bool(r.values):
            raise _error(
                b,
                f"spec.nodeSelector.matchExpressions[{i}].values",
                f"operator {r.operator} "
                + ("needs values" if r.operator in ("In", "NotIn") else "takes no values"),
                "InvalidSpec",
            )


def node_targets(
    nodes: Iterable[Node], selector: LabelSelector | None, port: int
) -> frozenset[TargetKey]:
    """Ready, schedulable nodes that may take load-balancer traffic and match the selector."""
    out: set[TargetKey] = set()
    for n in nodes:
        labels = n.metadata.labels
        if (
            not n.ready
            or n.spec.unschedulable
            or any(k in labels for k in EXCLUDED_NODE_LABELS)
            or labels.get(COMPUTE_TYPE_LABEL) == "fargate"
            or not selector_matches(labels, selector)
        ):
            continue
        iid = n.instance_id
        if iid is not None:
            out.add((iid, port))
    return frozenset(out)


def endpoint_targets(
    slices: Iterable[EndpointSlice],
    svc: Service,
    sp: ServicePort,
    ip_address_type: str,
    target_group: str = "",
    pod_gates: Mapping[str, frozenset[str]] | None = None,
) -> frozenset[TargetKey]:
    """Ready, non-terminating endpoint addresses of the Service port, at the endpoint's port;
    also not-ready ones of pods that wait on albctl's readiness gate for ``target_group`` with
    their containers ready (:func:`albctl.model.endpoints.endpoint_is_target`)."""
    family = "IPv6" if ip_address_type == "ipv6" else "IPv4"
    out: set[TargetKey] = set()
    for s in slices:
        if (
            s.metadata.namespace != svc.metadata.namespace
            or s.service_name != svc.metadata.name
            or s.address_type != family
        ):
            continue
        port = next(
            (p.port for p in s.ports or () if (p.name or "") == (sp.name or "") and p.port),
            None,
        )
        if port is None:
            continue
        for ep in s.endpoints:
            gated = is_gated(ep, s.metadata.namespace, target_group, pod_gates or {})
            if endpoint_is_target(ep, gated):
                out.update((a, port) for a in ep.addresses)
    return frozenset(out)


def _service_port(inp: BindingInput) -> tuple[Service, ServicePort]:
    b = inp.binding
    ref = b.spec.service_ref
    svc = inp.services.get(f"{b.metadata.namespace}/{ref.name}")
    if svc is None:
        raise _error(
            b,
            "spec.serviceRef.name",
            f"Service {b.metadata.namespace}/{ref.name} not found",
            "ServiceNotFound",
        )
    for sp in svc.spec.ports:
        if (isinstance(ref.port, int) and sp.port == ref.port) or (
            isinstance(ref.port, str) and sp.name == ref.port
        ):
            return svc, sp
    raise _error(
        b, "spec.serviceRef.port", f"Service {svc.key} has no port {ref.port!r}", "PortNotFound"
    )


def _targets(inp: BindingInput, target_type: str) -> frozenset[TargetKey]:
    b = inp.binding
    svc, sp = _service_port(inp)
    if target_type == "ip":
        assert inp.target_group is not None
        tg = inp.target_group
        targets = endpoint_targets(
            inp.endpoint_slices, svc, sp, tg.ip_address_type, tg.name, inp.pod_gates
        )
    else:
        if sp.node_port is None:
            raise _error(
                b,
                "spec.serviceRef.port",
                f"instance targets need a nodePort, and port {sp.name or sp.port} of Service "
                f"{svc.key} has none (use a Service of type NodePort or LoadBalancer, or an ip "
                "target group)",
                "NodePortMissing",
            )
        _check_selector(b)
        targets = node_targets(inp.nodes, b.spec.node_selector, sp.node_port)
    if len(targets) > MAX_TARGETS:
        raise _error(
            b,
            "spec.serviceRef",
            f"{len(targets)} targets; a target group allows {MAX_TARGETS}",
            "TooManyTargets",
        )
    return targets


def plan_binding(inp: BindingInput) -> BindingResult:
    """The targets the binding's target group must hold, or the first problem."""
    b = inp.binding
    try:
        target_type = check_target_group(inp)
        rules_of(b)  # a bad spec.networking refuses the binding as a whole
        targets = _targets(inp, target_type)
    except InvalidBindingError as exc:
        return BindingResult(b.key, inp.target_group, error=exc)
    return BindingResult(b.key, inp.target_group, target_type, targets)


def target_changes(
    want: Iterable[TargetKey], have: Iterable[TargetKey]
) -> tuple[list[TargetKey], list[TargetKey]]:
    """(to register, to deregister), sorted."""
    w, h = set(want), set(have)
    return sorted(w - h), sorted(h - w)
