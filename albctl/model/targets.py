"""The targets of a Service port (pure), shared by the Ingress and Gateway builders: ip targets
from its EndpointSlices (see :mod:`albctl.model.endpoints` for which endpoints), instance
targets from the cluster's ready nodes at the port's nodePort."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.binding import selector_matches
from albctl.model.desired import Target
from albctl.model.endpoints import endpoint_is_target, is_gated
from albctl.model.ingress.inputs import MAX_TARGETS_PER_TG, GroupInput
from albctl.model.objects import Endpoint, LabelSelector, Service, ServicePort

EXCLUDE_NODE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def instance_targets(
    inp: GroupInput,
    sobj: str,
    sp: ServicePort,
    selector: Mapping[str, str] | LabelSelector,
    hint: str = "(or set alb.ingress.kubernetes.io/target-type: ip)",
) -> tuple[int, list[Target]]:
    """(node port, the ready nodes' instances whose labels match ``selector``)."""
    if sp.node_port is None:
        raise InvalidInputError(
            sobj,
            f"spec.ports[{sp.name or sp.port}].nodePort",
            f"target-type instance needs a Service of type NodePort or LoadBalancer {hint}",
        )
    targets = [
        Target(id=iid, port=sp.node_port)
        for n in inp.nodes
        if n.ready
        and not n.spec.unschedulable
        and EXCLUDE_NODE_LABEL not in n.metadata.labels
        and _selects(selector, n.metadata.labels)
        and (iid := n.instance_id) is not None
    ]
    return sp.node_port, targets


def ip_targets(
    inp: GroupInput, svc: Service, sp: ServicePort, ip_type: str
) -> tuple[int, list[Target], list[tuple[Target, Endpoint]]]:
    """(target group port, targets, not-ready endpoints that are targets only if their pod
    waits on the readiness gate of this target group with its containers ready). Only
    addresses of the target group's family (IPv6 slices for an ipv6 target group, IPv4 for
    ipv4) are targets."""
    family = "IPv6" if ip_type == "ipv6" else "IPv4"
    slices = inp.slices_of(svc.metadata.namespace, svc.metadata.name)
    tg_port = sp.target_port if isinstance(sp.target_port, int) else None
    if sp.target_port is None:
        tg_port = sp.port
    targets: list[Target] = []
    waiting: list[tuple[Target, Endpoint]] = []
    for s in slices:
        if s.address_type != family:
            continue  # FQDN slices name no IP target; the other family cannot be registered
        ports = [
            p
            for p in (s.ports or ())
            if p.name == sp.name or (sp.name is None and p.name in (None, ""))
        ]
        if not ports or ports[0].port is None or not 0 < ports[0].port < 65536:
            continue
        eport = ports[0].port
        if tg_port is None:
            tg_port = eport
        for ep in s.endpoints:
            if endpoint_is_target(ep, gated=False):
                # only addresses AWS can register (a slice written otherwise must not fail the group)
                targets += [Target(id=a, port=eport) for a in ep.addresses if _is_ip(a)]
            elif endpoint_is_target(ep, gated=True):
                waiting += [(Target(id=a, port=eport), ep) for a in ep.addresses if _is_ip(a)]
    return (tg_port or 1), targets, waiting


def final_targets(
    inp: GroupInput,
    sobj: str,
    namespace: str,
    name: str,
    targets: list[Target],
    waiting: list[tuple[Target, Endpoint]],
) -> tuple[Target, ...]:
    """The targets plus the gated endpoints waiting on target group ``name``, sorted, within
    the target group quota."""
    targets = targets + [t for t, ep in waiting if is_gated(ep, namespace, name, inp.pod_gates)]
    out = sorted(set(targets), key=lambda t: (t.id, t.port))
    if len(out) > MAX_TARGETS_PER_TG:
        raise QuotaExceededError(
            sobj, "targets", f"{len(out)} targets; a target group allows {MAX_TARGETS_PER_TG}"
        )
    return tuple(out)


def _selects(selector: Mapping[str, str] | LabelSelector, labels: Mapping[str, str]) -> bool:
    if isinstance(selector, LabelSelector):
        return selector_matches(labels, selector)
    return all(labels.get(k) == v for k, v in selector.items())
