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


# --- as written to the API (pure: the caller gives the time) ---------------------------------


def conditions_json(
    conds: dict[str, Cond], generation: int, previous: list[dict[str, Any]] | None, now: str
) -> list[dict[str, Any]]:
    """Conditions as Kubernetes shapes them: ``lastTransitionTime`` moves only when the status
    does; conditions of other types already there are kept (gateway-api: implementations
    preserve conditions they do not own)."""
    prev = {c.get("type"): c for c in previous or []}
    out = []
    for c in conds.values():
        j = c.to_json(generation)
        old = prev.get(c.type)
        j["lastTransitionTime"] = (
            old["lastTransitionTime"]
            if old and old.get("status") == j["status"] and old.get("lastTransitionTime")
            else now
        )
        out.append(j)
    out += [c for t, c in prev.items() if t not in conds]
    return out


def gateway_status_json(
    st: GatewayStatus,
    generation: int,
    dns_name: str | None,
    previous: dict[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """The Gateway's ``status``: conditions, addresses, one entry per listener."""
    prev = previous or {}
    prev_listeners = {li.get("name"): li for li in prev.get("listeners") or []}
    return {
        "conditions": conditions_json(st.conditions, generation, prev.get("conditions"), now),
        "addresses": [{"type": "Hostname", "value": dns_name}] if dns_name else [],
        "listeners": [
            {
                "name": ls.name,
                "supportedKinds": [{"group": g, "kind": k} for g, k in ls.supported_kinds],
                "attachedRoutes": ls.attached_routes,
                "conditions": conditions_json(
                    ls.conditions,
                    generation,
                    (prev_listeners.get(ls.name) or {}).get("conditions"),
                    now,
                ),
            }
            for ls in st.listeners
        ],
    }


def parent_ref_json(ps: ParentStatus) -> dict[str, Any]:
    ns, _, name = ps.gateway.partition("/")
    ref: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "namespace": ns,
        "name": name,
    }
    if ps.section_name is not None:
        ref["sectionName"] = ps.section_name
    if ps.port is not None:
        ref["port"] = ps.port
    return ref


def _same_parent(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("namespace", "name", "sectionName", "port")
    return all(a.get(k) == b.get(k) for k in keys) and a.get("kind", "Gateway") == b.get(
        "kind", "Gateway"
    )


def route_parents_json(
    previous: list[dict[str, Any]] | None,
    gateway: str,
    ours: list[ParentStatus],
    controller: str,
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """A route's ``status.parents`` after this Gateway's reconcile: the entries of other
    controllers and of albctl for other Gateways as they were; this Gateway's as decided."""
    ns, _, name = gateway.partition("/")
    kept = []
    old_ours: dict[int, dict[str, Any]] = {}
    for p in previous or []:
        ref = p.get("parentRef") or {}
        mine = p.get("controllerName") == controller
        if mine and ref.get("namespace") == ns and ref.get("name") == name:
            for i, ps in enumerate(ours):
                if _same_parent(ref, parent_ref_json(ps)):
                    old_ours[i] = p
            continue
        kept.append(p)
    for i, ps in enumerate(ours):
        kept.append(
            {
                "parentRef": parent_ref_json(ps),
                "controllerName": controller,
                "conditions": conditions_json(
                    ps.conditions, generation, (old_ours.get(i) or {}).get("conditions"), now
                ),
            }
        )
    return kept
