"""Listener rules: placed at the desired priorities around rules that must keep theirs
(those of left-out members and rules albctl does not own), then deleted, re-prioritised,
modified and created, in that order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from albctl.model.desired import Rule
from albctl.model.observed import ObservedListener, ObservedRule
from albctl.model.plan.changes import Change, Update, action_refs, is_frozen
from albctl.model.plan.priorities import stable_priorities


@dataclass
class _RuleChanges:
    delete: list[Change] = field(default_factory=list)
    priority: list[Change] = field(default_factory=list)
    modify: list[Change] = field(default_factory=list)
    create: list[Change] = field(default_factory=list)


def diff_rules(
    rules: Iterable[Rule],
    obs_listeners: Mapping[str, ObservedListener],
    rules_by_listener: Mapping[str, list[ObservedRule]],
    frozen: set[str],
    replaced: set[str],
    stable: bool = False,
) -> list[Change]:
    """``stable``: priorities chosen to move the fewest existing rules (``priorities``),
    rather than renumbered 1..n."""
    by_listener: dict[str, list[Rule]] = {}
    for r in rules:
        by_listener.setdefault(r.listener, []).append(r)
    out = _RuleChanges()
    for lid in sorted(set(by_listener) | set(obs_listeners)):
        oli = obs_listeners.get(lid)
        observed = rules_by_listener.get(oli.arn, []) if oli else []
        # rules of left-out members and rules albctl does not own keep their priorities
        held = {r.priority for r in observed if not r.resource_id or is_frozen(r.tags, frozen)}
        wanted = by_listener.get(lid, [])
        placed = _place_stable(wanted, observed, held) if stable else _place(wanted, held)
        obs_by_id = _observed_by_id(observed, placed)
        out.delete += _stale(observed, obs_by_id, {r.id for r in placed}, frozen)
        for r in placed:
            found = obs_by_id.get(r.id)
            if found is None:
                out.create.append(Change("create", "ListenerRule", r.id, _details(r), desired=r))
            else:
                _update(r, found, replaced, out)
    return out.delete + out.priority + out.modify + out.create


def _place(wanted: list[Rule], held: set[int]) -> list[Rule]:
    """The rules in priority order, renumbered 1.. around the priorities still held."""
    next_free = 1
    placed: list[Rule] = []
    for r in sorted(wanted, key=lambda r: r.priority):
        while next_free in held:
            next_free += 1
        placed.append(
            r.model_copy(update={"priority": next_free}) if r.priority != next_free else r
        )
        next_free += 1
    return placed


def _place_stable(wanted: list[Rule], observed: list[ObservedRule], held: set[int]) -> list[Rule]:
    order = [r.id for r in sorted(wanted, key=lambda r: r.priority)]
    current: dict[str, int] = {}
    for o in sorted(observed, key=lambda o: o.priority):
        if o.resource_id and o.resource_id not in current:
            current[o.resource_id] = o.priority
    at = stable_priorities(order, current, held)
    return [
        r.model_copy(update={"priority": at[r.id]}) if r.priority != at[r.id] else r
        for r in sorted(wanted, key=lambda r: at[r.id])
    ]


def _observed_by_id(observed: list[ObservedRule], placed: list[Rule]) -> dict[str, ObservedRule]:
    """One observed rule per id: the one at its wanted priority, else the first (a second rule
    of ours with the same id, from an answer lost and a create retried, is deleted)."""
    at = {r.id: r.priority for r in placed}
    obs_by_id: dict[str, ObservedRule] = {}
    for o in sorted(observed, key=lambda o: (o.priority != at.get(o.resource_id), o.priority)):
        if o.resource_id and o.resource_id not in obs_by_id:
            obs_by_id[o.resource_id] = o
    return obs_by_id


def _stale(
    observed: list[ObservedRule],
    obs_by_id: Mapping[str, ObservedRule],
    wanted_ids: set[str],
    frozen: set[str],
) -> list[Change]:
    """Deletes of our rules that are duplicates or no longer wanted (not of left-out members)."""
    out: list[Change] = []
    for o in observed:
        if not o.resource_id or is_frozen(o.tags, frozen):
            continue
        if o.resource_id in wanted_ids and obs_by_id.get(o.resource_id) is not o:
            details = {"priority": o.priority, "duplicate": True}
            out.append(Change("delete", "ListenerRule", o.resource_id, details, observed=o))
        if o.resource_id not in wanted_ids:
            details = {"priority": o.priority}
            out.append(Change("delete", "ListenerRule", o.resource_id, details, observed=o))
    return out


def _update(r: Rule, o: ObservedRule, replaced: set[str], out: _RuleChanges) -> None:
    if o.priority != r.priority:
        out.priority.append(
            Change(
                "update",
                "ListenerRule",
                r.id,
                {"priority": {"from": o.priority, "to": r.priority}},
                desired=r,
                observed=o,
                ops=("priority",),
            )
        )
    u = Update("ListenerRule", r.id, r, o)
    if o.conditions != r.conditions:
        u.ops.append("rule")
        u.details["conditions"] = [c.model_dump(exclude_defaults=True) for c in r.conditions]
    if o.action != r.action or action_refs(r.action) & replaced:
        u.ops.append("rule")
        u.details["action"] = r.action.type
    if o.transforms != r.transforms:
        u.ops.append("rule")
        u.details["transforms"] = [t.type for t in r.transforms]
    u.tags(r.tags, o.tags)
    out.modify += u.changes()


def _details(r: Rule) -> dict[str, Any]:
    return {
        "priority": r.priority,
        "ingress": r.ingress,
        "conditions": [c.model_dump(exclude_defaults=True) for c in r.conditions],
        "action": r.action.type,
        **({"transforms": [t.type for t in r.transforms]} if r.transforms else {}),
        **({"authenticate": auth} if (auth := _auth_kind(r)) else {}),
    }


def _auth_kind(r: Rule) -> str | None:
    a = r.action
    return "oidc" if a.oidc else "cognito" if a.cognito else "jwt" if a.jwt else None
