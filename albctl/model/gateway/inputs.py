"""What one Gateway build reads (pure data), and its view as a group input for the pieces it
shares with the Ingress builder (subnets, load balancer, security groups, targets)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

from albctl.model.gateway.config.objects import ConfigObject
from albctl.model.gateway.objects import Gateway, GatewayClass, HTTPRoute, ReferenceGrant
from albctl.model.groups import Group
from albctl.model.ingress.inputs import GroupInput
from albctl.model.inventory import Inventory
from albctl.model.objects import EndpointSlice, Node, Secret, Service
from albctl.model.settings import BuildSettings

STACK_PREFIX = "gateway/"


def stack_id(gateway: Gateway) -> str:
    """The Gateway's stack id (``albctl.io/stack``): cannot collide with an IngressGroup's."""
    return f"{STACK_PREFIX}{gateway.metadata.namespace}/{gateway.metadata.name}"


@dataclass(frozen=True)
class GatewayInput:
    gateway: Gateway
    gateway_class: GatewayClass | None
    routes: Sequence[HTTPRoute]  # every HTTPRoute of the cluster (attachment decides)
    grants: Sequence[ReferenceGrant]
    namespaces: Mapping[str, Mapping[str, str]]  # namespace -> its labels
    services: Mapping[str, Service]
    endpoint_slices: Sequence[EndpointSlice]
    nodes: Sequence[Node]
    inventory: Inventory
    settings: BuildSettings
    _: KW_ONLY
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    now: datetime.datetime | None = None
    pod_gates: Mapping[str, frozenset[str]] = field(default_factory=dict)
    slices_index: Mapping[tuple[str, str], Sequence[EndpointSlice]] | None = None
    # LBC's gateway.k8s.aws objects by ``Kind/namespace/name``
    configs: Mapping[str, ConfigObject] = field(default_factory=dict)

    @property
    def stack_id(self) -> str:
        return stack_id(self.gateway)

    @property
    def obj(self) -> str:
        return f"Gateway/{self.gateway.key}"

    def group_input(self) -> GroupInput:
        """The same inputs as a group's (an explicit group named by the stack id)."""
        return GroupInput(
            Group(id=self.stack_id, explicit=True),
            self.services,
            self.endpoint_slices,
            self.nodes,
            self.inventory,
            self.settings,
            secrets=self.secrets,
            now=self.now,
            pod_gates=self.pod_gates,
            slices_index=self.slices_index,
        )
