"""Target groups: create, replace (an immutable field changed), update, and their targets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from albctl.model.desired import TargetGroup
from albctl.model.ingress.inputs import MAX_TAGS
from albctl.model.observed import ObservedTargetGroup
from albctl.model.plan.changes import Change, Update, attr_diff, is_frozen
from albctl.model.tags import (
    TARGETS_RECORD_PREFIX,
    recorded_targets,
    target_hash,
    targets_record,
)

# immutable target group fields: a change means a new target group
TG_IMMUTABLE = ("port", "protocol", "protocol_version", "target_type", "ip_address_type")


@dataclass
class TargetGroupChanges:
    changes: list[Change] = field(default_factory=list)
    targets: list[Change] = field(default_factory=list)  # applied after rules
    deletes: list[Change] = field(default_factory=list)
    replaced: set[str] = field(default_factory=set)  # ids of target groups made anew


def diff_target_groups(
    desired: Iterable[TargetGroup], observed: Iterable[ObservedTargetGroup], frozen: set[str]
) -> TargetGroupChanges:
    out = TargetGroupChanges()
    obs_tgs: dict[str, list[ObservedTargetGroup]] = {}
    for otg in observed:
        obs_tgs.setdefault(otg.resource_id, []).append(otg)
    desired_ids = set()
    for tg in desired:
        desired_ids.add(tg.id)
        candidates = obs_tgs.get(tg.id, [])
        cur = next(
            (o for o in candidates if o.name == tg.name), candidates[0] if candidates else None
        )
        for extra in candidates:
            if extra is not cur:
                out.deletes.append(
                    Change("delete", "TargetGroup", tg.id, {"name": extra.name}, observed=extra)
                )
        if cur is None:
            out.changes.append(Change("create", "TargetGroup", tg.id, _details(tg), desired=tg))
            out.targets += _register_all(tg)
        elif not _replace(tg, cur, out):
            _update(tg, cur, out)
    for rid, tgs in obs_tgs.items():
        if rid not in desired_ids:
            out.deletes += [
                Change("delete", "TargetGroup", rid, {"name": o.name}, observed=o)
                for o in tgs
                if not is_frozen(o.tags, frozen)
            ]
    return out


def _record(tg: TargetGroup) -> dict[str, str]:
    """The record of the targets albctl registers in a multi-cluster target group."""
    free = MAX_TAGS - len(tg.tags)
    return targets_record(((t.id, t.port) for t in tg.targets), free)


def _register_all(tg: TargetGroup) -> list[Change]:
    if not tg.targets:
        return []
    details: dict[str, Any] = {"register": [f"{t.id}:{t.port}" for t in tg.targets]}
    if tg.multi_cluster:
        details["record"] = _record(tg)
    return [Change("update", "Targets", tg.id, details, desired=tg, ops=("register",))]


def _replace(tg: TargetGroup, cur: ObservedTargetGroup, out: TargetGroupChanges) -> bool:
    """Replace ``cur`` when an immutable field differs; False when it can be updated."""
    immutable = {
        f: (getattr(cur, f), getattr(tg, f))
        for f in TG_IMMUTABLE
        if getattr(cur, f) != getattr(tg, f)
    }
    if not immutable:
        return False
    out.replaced.add(tg.id)
    changed = {k: {"from": a, "to": b} for k, (a, b) in immutable.items()}
    out.changes.append(
        Change(
            "replace",
            "TargetGroup",
            tg.id,
            {"name": tg.name, "changed": changed},
            desired=tg,
            observed=cur,
        )
    )
    out.deletes.append(
        Change("delete", "TargetGroup", tg.id, {"name": cur.name, "replaced": True}, observed=cur)
    )
    out.targets += _register_all(tg)
    return True


def _update(tg: TargetGroup, cur: ObservedTargetGroup, out: TargetGroupChanges) -> None:
    u = Update("TargetGroup", tg.id, tg, cur)
    if cur.health_check != tg.health_check:
        u.ops.append("health_check")
        u.details["health_check"] = {
            k: v
            for k, v in tg.health_check.model_dump().items()
            if getattr(cur.health_check, k) != v
        }
    attrs = attr_diff(tg.attributes, cur.attributes)
    if attrs:
        u.ops.append("attributes")
        u.details["attributes"] = attrs
    u.tags(tg.tags, cur.tags)
    out.changes += u.changes()
    out.targets += _target_changes(tg, cur)


def _target_changes(tg: TargetGroup, cur: ObservedTargetGroup) -> list[Change]:
    """Register what is missing; deregister what is no longer wanted, which in a multi-cluster
    target group is only what albctl registered itself (other clusters' targets stay)."""
    want = {(t.id, t.port) for t in tg.targets}
    have = {(t.id, t.port) for t in cur.targets}
    reg, dereg = sorted(want - have), sorted(have - want)
    d: dict[str, Any] = {}
    if tg.multi_cluster:
        ours = recorded_targets(cur.tags)
        dereg = [t for t in dereg if target_hash(*t) in ours]
        record = _record(tg)
        have_record = {k: v for k, v in cur.tags.items() if k.startswith(TARGETS_RECORD_PREFIX)}
        if record != have_record:
            d["record"] = record
    if not reg and not dereg and not d:
        return []
    if reg:
        d["register"] = [f"{i}:{p}" for i, p in reg]
    if dereg:
        d["deregister"] = [f"{i}:{p}" for i, p in dereg]
    return [Change("update", "Targets", tg.id, d, desired=tg, observed=cur, ops=("targets",))]


def _details(tg: TargetGroup) -> dict[str, Any]:
    return {
        "name": tg.name,
        "service": tg.service,
        "port": tg.port,
        "protocol": tg.protocol,
        "target_type": tg.target_type,
        "targets": len(tg.targets),
    }
