"""An IngressGroup's load balancer handed over to the Gateway that names it in
``albctl.io/adopt-ingress-group`` (design.md section 11), for the one-shot engine and the
controller alike: refused (nothing created, nothing changed) when the group has no load balancer
in this cluster, when the Gateway's would have another scheme (a replacement), or when the
group's Ingresses, still there, would route a request differently from the Gateway's routes."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from albctl.kube.writer import FINALIZER, KubeWriter
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.adopt import Adoption
from albctl.model.adopt_group import (
    ADOPT_ANNOTATION,
    AdoptionRefusedError,
    adopt_group_stack,
    check_scheme,
)
from albctl.model.desired import Stack
from albctl.model.gateway.select import our_gateways
from albctl.model.objects import Ingress
from albctl.model.observed import ObservedStack
from albctl.model.route_compare import differences
from albctl.model.settings import BuildSettings

log = logging.getLogger(__name__)


def adopted_group(annotations: Mapping[str, str]) -> str | None:
    """The group id a Gateway's annotation names, if any."""
    value = annotations.get(ADOPT_ANNOTATION, "").strip()
    return value or None


def take_group(
    obj: str,
    group_id: str,
    stack: Stack,
    group: ObservedStack | None,
    ingress_stack: Stack | None,
    cluster: str,
) -> Adoption:
    where = f"{obj}: annotation {ADOPT_ANNOTATION}"
    if group is None or group.empty:
        raise AdoptionRefusedError(
            f"{where}: no load balancer of IngressGroup {group_id!r} in cluster {cluster} "
            "(albctl's tags); nothing is created"
        )
    check_scheme(group, stack, obj)
    if ingress_stack is not None:
        diffs = differences(ingress_stack, stack)
        if diffs:
            more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
            raise AdoptionRefusedError(
                f"{where}: the Gateway's routes would serve requests differently from the "
                f"group's Ingresses: {diffs[0][1]}{more}; fix the routes (albctl migrate --to "
                "gateway shows the differences) or delete the Ingresses first"
            )
    return adopt_group_stack(group, stack, cluster)


def adopter_of(objs: ObjectSet, gid: str, settings: BuildSettings) -> str | None:
    """The Gateway of albctl's that names group ``gid`` in albctl.io/adopt-ingress-group."""
    for gw in our_gateways(objs, settings).values():
        if adopted_group(gw.metadata.annotations) == gid:
            return f"Gateway/{gw.key}"
    return None


def release_handed_over(
    writer: KubeWriter,
    objs: ObjectSet,
    where: Mapping[str, str],
    gid: str,
    observed: ObservedStack,
    adopter: str,
) -> list[Ingress]:
    """A group a Gateway takes over is not reconciled (nothing is created or changed for it);
    once its stack is the Gateway's (nothing of it left under the group's tags), its Ingresses
    lose albctl's finalizer: deleting them removes nothing of the load balancer. The
    Ingresses released."""
    released: list[Ingress] = []
    if observed.empty:
        for ing in objs.ingresses:
            if where.get(ing.key) == gid and FINALIZER in ing.metadata.finalizers:
                writer.remove_finalizer(ing.metadata.namespace, ing.metadata.name)
                released.append(ing)
    log_event(
        log,
        "group handed over",
        group=gid,
        gateway=adopter,
        adopted=observed.empty,
        released=len(released),
    )
    return released
