"""What one group build reads, and ALB quotas the model enforces."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

from albctl.model.groups import Group
from albctl.model.inventory import Inventory
from albctl.model.objects import EndpointSlice, Node, Secret, Service
from albctl.model.settings import BuildSettings

# ALB quotas (AWS defaults)
MAX_RULES_PER_LISTENER = 100
MAX_CONDITION_VALUES_PER_RULE = 5
MAX_CERTS_PER_LISTENER = 25
MAX_TARGETS_PER_TG = 1000
MAX_LISTENERS = 50
MAX_TAGS = 50


@dataclass(frozen=True)
class GroupInput:
    group: Group
    services: Mapping[str, Service]
    endpoint_slices: Sequence[EndpointSlice]
    nodes: Sequence[Node]
    inventory: Inventory
    settings: BuildSettings
    _: KW_ONLY
    secrets: Mapping[str, Secret] = field(default_factory=dict)  # ns/name -> TLS Secret
    now: datetime.datetime | None = None  # for certificate validity; None: no import
    # pod key -> target group names of its albctl readiness gates (see model.readiness)
    pod_gates: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # (namespace, service name) -> its slices, when the caller indexed them once for many
    # builds (see slices_by_service); None: the slices are searched
    slices_index: Mapping[tuple[str, str], Sequence[EndpointSlice]] | None = None

    def slices_of(self, namespace: str, service: str) -> Sequence[EndpointSlice]:
        """The EndpointSlices of one Service."""
        if self.slices_index is not None:
            return self.slices_index.get((namespace, service), ())
        return [
            s
            for s in self.endpoint_slices
            if s.metadata.namespace == namespace and s.service_name == service
        ]


def slices_by_service(
    slices: Sequence[EndpointSlice],
) -> dict[tuple[str, str], list[EndpointSlice]]:
    """EndpointSlices by (namespace, service name), for GroupInput.slices_index."""
    out: dict[tuple[str, str], list[EndpointSlice]] = {}
    for s in slices:
        if s.service_name:
            out.setdefault((s.metadata.namespace, s.service_name), []).append(s)
    return out
