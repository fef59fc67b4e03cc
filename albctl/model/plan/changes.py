"""A plan: the ordered changes that make AWS match the desired stack, and the field
comparisons every resource kind shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from albctl.model.desired import Action
from albctl.model.lbc import LBC_TRACKING_KEYS
from albctl.model.tags import INGRESS_TAG, OWNERSHIP_KEYS, TARGETS_RECORD_PREFIX

# adopt: albctl's ownership tags added to a resource another controller made (LBC's)
ChangeAction = Literal["adopt", "create", "update", "replace", "delete"]
Kind = Literal[
    "SecurityGroup",
    "Certificate",
    "TargetGroup",
    "LoadBalancer",
    "Listener",
    "ListenerRule",
    "Targets",
    "SecurityGroupRules",  # rules on a target's security group (plans only; applied after)
]


@dataclass
class Change:
    action: ChangeAction
    kind: Kind
    id: str
    details: dict[str, Any] = field(default_factory=dict)
    desired: Any = None
    observed: Any = None
    ops: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "id": self.id, "details": self.details}


@dataclass
class Plan:
    group_id: str
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_json(self) -> dict[str, Any]:
        return {"changes": [c.to_json() for c in self.changes]}


def tag_diff(desired: Mapping[str, str], observed: Mapping[str, str]) -> dict[str, Any]:
    add = {k: v for k, v in desired.items() if observed.get(k) != v}
    remove = sorted(
        k
        for k in observed
        if k not in desired
        and not k.startswith(("aws:", TARGETS_RECORD_PREFIX))
        and k not in OWNERSHIP_KEYS
        and k not in LBC_TRACKING_KEYS
    )
    out: dict[str, Any] = {}
    if add:
        out["add"] = add
    if remove:
        out["remove"] = remove
    return out


def attr_diff(desired: Mapping[str, str], observed: Mapping[str, str]) -> dict[str, str]:
    """Only keys albctl sets are compared: dropping a key does not revert it (as LBC)."""
    return {k: v for k, v in desired.items() if observed.get(k) != v}


def action_refs(action: Action) -> set[str]:
    return {f.target_group for f in action.forward}


def is_frozen(tags: Mapping[str, str], frozen: set[str]) -> bool:
    """True for a resource of a member left out of this build (kept as it is)."""
    return tags.get(INGRESS_TAG, "") in frozen


class Update:
    """The operations and details of one resource's update, collected field by field."""

    def __init__(self, kind: Kind, resource_id: str, desired: Any, observed: Any) -> None:
        self.kind, self.id = kind, resource_id
        self.desired, self.observed = desired, observed
        self.ops: list[str] = []
        self.details: dict[str, Any] = {}

    def add(self, op: str, key: str, value: Any) -> None:
        self.ops.append(op)
        self.details[key] = value

    def tags(self, desired: Mapping[str, str], observed: Mapping[str, str]) -> None:
        diff = tag_diff(desired, observed)
        if diff:
            self.add("tags", "tags", diff)

    def changes(self) -> list[Change]:
        """The update, if any field differs."""
        if not self.ops:
            return []
        ops = tuple(dict.fromkeys(self.ops))
        return [
            Change("update", self.kind, self.id, self.details, self.desired, self.observed, ops=ops)
        ]
