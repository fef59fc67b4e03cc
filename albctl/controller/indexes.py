"""What every group build reads of the cluster, indexed once per object set.

A reconcile builds one group from the whole cluster's objects; looking its Services and
EndpointSlices up in indexes (rather than scanning every object) keeps a resync of N groups
linear in N. The indexes live in the object set (``ObjectSet.derived``), which the snapshotter
replaces when an object changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from albctl.manifests import ObjectSet
from albctl.model.ingress.inputs import slices_by_service
from albctl.model.objects import EndpointSlice, Service
from albctl.model.readiness import pod_gates


@dataclass(frozen=True)
class BuildIndexes:
    services: dict[str, Service]  # ns/name -> Service
    slices: dict[tuple[str, str], list[EndpointSlice]]  # (ns, service) -> its slices
    pod_gates: Mapping[str, frozenset[str]]


def build_indexes(objs: ObjectSet) -> BuildIndexes:
    """The object set's Services, slices and pod gates, indexed (computed once per set)."""
    hit: BuildIndexes | None = objs.derived.get("build_indexes")
    if hit is None:
        hit = BuildIndexes(
            {s.key: s for s in objs.services},
            slices_by_service(objs.endpoint_slices),
            pod_gates(objs.pods),
        )
        objs.derived["build_indexes"] = hit
    return hit
