"""Target groups: one per (Ingress, Service, port), with ip or instance targets."""

from __future__ import annotations

import ipaddress
from typing import Literal

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.annotations import Annotations
from albctl.model.desired import Target, TargetGroup
from albctl.model.endpoints import endpoint_is_target, is_gated
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.health_check import health_check
from albctl.model.ingress.inputs import MAX_TARGETS_PER_TG
from albctl.model.ingress.tags import member_tags, service_tags
from albctl.model.names import target_group_name
from albctl.model.objects import Endpoint, Service, ServicePort

EXCLUDE_NODE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _protocols(ctx: MemberContext, ann: Annotations) -> tuple[str, str, str]:
    """(target type, protocol, protocol version) of a backend."""
    target_type = ann.choice("target-type", ("instance", "ip"), service_override=True)
    if ctx.spec and ctx.spec.target_type:
        target_type = ctx.spec.target_type
    target_type = target_type or ctx.inp.settings.default_target_type
    protocol = ann.choice("backend-protocol", ("HTTP", "HTTPS"), service_override=True) or "HTTP"
    version = (
        ann.choice("backend-protocol-version", ("HTTP1", "HTTP2", "GRPC"), service_override=True)
        or "HTTP1"
    )
    return target_type, protocol, version


def build_target_group(ctx: MemberContext, svc_name: str, port: int | str, where: str) -> str:
    """Build (once) the target group of a Service port for this member; its id."""
    svc = ctx.service(svc_name, where)
    sp = ctx.service_port(svc, port, where)
    sobj = f"Service/{svc.key}"
    ann = ctx.ann.with_service(sobj, svc.metadata.annotations)
    target_type, protocol, version = _protocols(ctx, ann)
    ip_type: Literal["ipv4", "ipv6"] = "ipv6" if svc.spec.ip_families[:1] == ("IPv6",) else "ipv4"
    if target_type == "instance":
        tg_port, targets = _instance_targets(ctx, ann, sobj, sp)
        waiting: list[tuple[Target, Endpoint]] = []
    else:
        tg_port, targets, waiting = _ip_targets(ctx, svc, sp, ip_type)
    hc = health_check(ann, svc, sp, target_type, protocol, version)
    attrs = ann.string_map("target-group-attributes", service_override=True) or {}
    tags = member_tags(ctx)
    tags.update(service_tags(sobj, svc))
    ref = str(sp.port)
    tg_id = f"{ctx.ing.key}-{svc_name}:{ref}"
    identity = (
        ctx.inp.settings.cluster_name,
        ctx.inp.group.id,
        ctx.ing.key,
        svc.metadata.uid or svc.key,
        ref,
        str(tg_port),
        target_type,
        protocol,
        version,
        ip_type,
    )
    name = target_group_name(ctx.ns, svc_name, *identity)
    # endpoints of pods that wait on albctl's readiness gate for this target group
    targets += [t for t, ep in waiting if is_gated(ep, ctx.ns, name, ctx.inp.pod_gates)]
    targets = sorted(set(targets), key=lambda t: (t.id, t.port))
    if len(targets) > MAX_TARGETS_PER_TG:
        raise QuotaExceededError(
            sobj, "targets", f"{len(targets)} targets; a target group allows {MAX_TARGETS_PER_TG}"
        )
    ctx.target_groups[tg_id] = TargetGroup(
        id=tg_id,
        name=name,
        ingress=ctx.ing.key,
        service=f"{svc.key}:{ref}",
        port=tg_port,
        protocol=protocol,
        protocol_version=version,
        target_type=target_type,
        ip_address_type=ip_type,
        health_check=hc,
        attributes=attrs,
        tags=tags,
        targets=tuple(targets),
        multi_cluster=_multi_cluster(ctx, ann),
    )
    return tg_id


def _multi_cluster(ctx: MemberContext, ann: Annotations) -> bool:
    """multi-cluster-target-group: true on the Ingress or on the Service makes it true."""
    on_ingress = ctx.ann.boolean("multi-cluster-target-group")
    on_service = ann.boolean("multi-cluster-target-group", service_override=True)
    return bool(on_ingress or on_service)


def _instance_targets(
    ctx: MemberContext, ann: Annotations, sobj: str, sp: ServicePort
) -> tuple[int, list[Target]]:
    """(node port, the ready nodes' instances that match target-node-labels)."""
    if sp.node_port is None:
        raise InvalidInputError(
            sobj,
            f"spec.ports[{sp.name or sp.port}].nodePort",
            "target-type instance needs a Service of type NodePort or LoadBalancer "
            "(or set alb.ingress.kubernetes.io/target-type: ip)",
        )
    selector = ann.string_map("target-node-labels", service_override=True) or {}
    targets = [
        Target(id=iid, port=sp.node_port)
        for n in ctx.inp.nodes
        if n.ready
        and not n.spec.unschedulable
        and EXCLUDE_NODE_LABEL not in n.metadata.labels
        and all(n.metadata.labels.get(k) == v for k, v in selector.items())
        and (iid := n.instance_id) is not None
    ]
    return sp.node_port, targets


def _ip_targets(
    ctx: MemberContext, svc: Service, sp: ServicePort, ip_type: str
) -> tuple[int, list[Target], list[tuple[Target, Endpoint]]]:
    """(target group port, targets, not-ready endpoints that are targets only if their pod
    waits on the readiness gate of this target group with its containers ready). Only addresses of the target group's family
    (IPv6 slices for an ipv6 target group, IPv4 for ipv4) are targets."""
    family = "IPv6" if ip_type == "ipv6" else "IPv4"
    slices = ctx.inp.slices_of(ctx.ns, svc.metadata.name)
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
