"""Status of Gateway API objects as the model decides it (pure): conditions with the reasons
of gateway-api ``apis/v1/gateway_types.go`` and ``shared_types.go``. The controller writes them
with ``observedGeneration`` and ``lastTransitionTime``; the one-shot commands print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCEPTED = "Accepted"
PROGRAMMED = "Programmed"
RESOLVED_REFS = "ResolvedRefs"
CONFLICTED = "Conflicted"
PARTIALLY_INVALID = "PartiallyInvalid"


@dataclass(frozen=True)
class Cond:
    type: str
    status: bool
    reason: str
    message: str = ""

    def to_json(self, generation: int) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": "True" if self.status else "False",
            "reason": self.reason,
            "message": self.message,
            "observedGeneration": generation,
        }


@dataclass
class ListenerStatus:
    name: str
    supported_kinds: list[tuple[str, str]] = field(default_factory=list)
    attached_routes: int = 0
    conditions: dict[str, Cond] = field(default_factory=dict)

    def set(self, cond: Cond) -> None:
        self.conditions[cond.type] = cond

    @property
    def valid(self) -> bool:
        """Routes may attach: accepted, not conflicted, references resolved."""
        c = self.conditions
        return c[ACCEPTED].status and not c[CONFLICTED].status and c[RESOLVED_REFS].status


@dataclass
class ParentStatus:
    """One entry of a route's ``status.parents``."""

    parent_index: int  # index in spec.parentRefs
    gateway: str  # namespace/name
    section_name: str | None
    port: int | None
    conditions: dict[str, Cond] = field(default_factory=dict)

    def set(self, cond: Cond) -> None:
        self.conditions[cond.type] = cond


@dataclass
class GatewayStatus:
    conditions: dict[str, Cond] = field(default_factory=dict)
    listeners: list[ListenerStatus] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    # route key (Kind/ns/name) -> its parent entries for this Gateway
    routes: dict[str, list[ParentStatus]] = field(default_factory=dict)

    def set(self, cond: Cond) -> None:
        self.conditions[cond.type] = cond
