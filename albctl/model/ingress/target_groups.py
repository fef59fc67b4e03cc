"""Target groups: one per (Ingress, Service, port), with ip or instance targets."""

from __future__ import annotations

from typing import Literal

from albctl.model.annotations import Annotations
from albctl.model.desired import Target, TargetGroup
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.health_check import health_check
from albctl.model.ingress.tags import member_tags, service_tags
from albctl.model.names import target_group_name
from albctl.model.objects import Endpoint
from albctl.model.targets import final_targets, instance_targets, ip_targets


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
        selector = ann.string_map("target-node-labels", service_override=True) or {}
        tg_port, targets = instance_targets(ctx.inp, sobj, sp, selector)
        waiting: list[tuple[Target, Endpoint]] = []
    else:
        tg_port, targets, waiting = ip_targets(ctx.inp, svc, sp, ip_type)
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
    # with the endpoints of pods that wait on albctl's readiness gate for this target group
    final = final_targets(ctx.inp, sobj, ctx.ns, name, targets, waiting)
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
        targets=final,
        multi_cluster=_multi_cluster(ctx, ann),
    )
    return tg_id


def _multi_cluster(ctx: MemberContext, ann: Annotations) -> bool:
    """multi-cluster-target-group: true on the Ingress or on the Service makes it true."""
    on_ingress = ctx.ann.boolean("multi-cluster-target-group")
    on_service = ann.boolean("multi-cluster-target-group", service_override=True)
    return bool(on_ingress or on_service)
