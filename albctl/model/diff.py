"""Diff a desired stack against what AWS has, into an ordered plan (pure).

Order (design.md): security group → target groups → load balancer → listeners → rules →
targets, then deletes in reverse. Resources that belong to a member left out of this build
(``frozen`` members: invalid Ingresses) are neither changed nor deleted. Only resources carrying
our ownership tags ever reach this module, so a delete here is always a delete of our own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from albctl.model.desired import (
    BACKEND_SG_ID,
    LB_ID,
    MANAGED_SG_ID,
    Action,
    Listener,
    LoadBalancer,
    Rule,
    SecurityGroup,
    Stack,
    TargetGroup,
)
from albctl.model.inventory import OwnedCertificate
from albctl.model.observed import (
    ObservedListener,
    ObservedLoadBalancer,
    ObservedRule,
    ObservedSecurityGroup,
    ObservedStack,
    ObservedTargetGroup,
)
from albctl.model.tags import INGRESS_TAG, OWNERSHIP_KEYS

ChangeAction = Literal["create", "update", "replace", "delete"]
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

# immutable target group fields: a change means a new target group
TG_IMMUTABLE = ("port", "protocol", "protocol_version", "target_type", "ip_address_type")


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


def _tag_diff(desired: Mapping[str, str], observed: Mapping[str, str]) -> dict[str, Any]:
    add = {k: v for k, v in desired.items() if observed.get(k) != v}
    remove = sorted(
        k
        for k in observed
        if k not in desired and not k.startswith("aws:") and k not in OWNERSHIP_KEYS
    )
    out: dict[str, Any] = {}
    if add:
        out["add"] = add
    if remove:
        out["remove"] = remove
    return out


def _attr_diff(desired: Mapping[str, str], observed: Mapping[str, str]) -> dict[str, str]:
    """Only keys albctl sets are compared: dropping a key does not revert it (as LBC)."""
    return {k: v for k, v in desired.items() if observed.get(k) != v}


def _action_refs(action: Action) -> set[str]:
    return {f.target_group for f in action.forward}


def _frozen(tags: Mapping[str, str], frozen: set[str]) -> bool:
    return tags.get(INGRESS_TAG, "") in frozen


def diff_stack(
    desired: Stack | None,
    observed: ObservedStack,
    frozen_members: Iterable[str] = (),
) -> Plan:
    """Changes that make AWS match ``desired``; ``None`` deletes everything of the stack."""
    frozen = set(frozen_members)
    plan = Plan(group_id=observed.group_id)
    ch = plan.changes
    deletes: list[Change] = []

    obs_lbs = list(observed.load_balancers)
    obs_lb = next(
        (lb for lb in obs_lbs if lb.resource_id == LB_ID), obs_lbs[0] if obs_lbs else None
    )
    obs_sg = next((s for s in observed.security_groups if s.resource_id == MANAGED_SG_ID), None)

    if desired is None:
        if frozen:
            # every member is invalid: keep everything as it is
            return plan
        for r in observed.rules:
            deletes.append(
                Change("delete", "ListenerRule", r.resource_id, {"arn": r.arn}, observed=r)
            )
        for oli in observed.listeners:
            deletes.append(
                Change("delete", "Listener", oli.resource_id, {"arn": oli.arn}, observed=oli)
            )
        for olb in obs_lbs:
            deletes.append(
                Change("delete", "LoadBalancer", olb.resource_id, {"name": olb.name}, observed=olb)
            )
        for otg in observed.target_groups:
            deletes.append(
                Change("delete", "TargetGroup", otg.resource_id, {"name": otg.name}, observed=otg)
            )
        for osg in observed.security_groups:
            deletes.append(
                Change(
                    "delete", "SecurityGroup", osg.resource_id, {"id": osg.group_id}, observed=osg
                )
            )
        for oc in observed.certificates:
            deletes.append(_delete_cert(oc))
        # listeners and rules go with their load balancer
        plan.changes = (
            [d for d in deletes if d.kind not in ("ListenerRule", "Listener")]
            if obs_lbs
            else deletes
        )
        return plan

    # --- security group ------------------------------------------------------------------
    if desired.security_group is not None:
        _diff_sg(desired.security_group, obs_sg, ch)
    for sg in observed.security_groups:
        if desired.security_group is None or sg is not obs_sg:
            deletes.append(
                Change("delete", "SecurityGroup", sg.resource_id, {"id": sg.group_id}, observed=sg)
            )

    # --- certificates imported from TLS Secrets (before the listeners that use them) ------
    _diff_certificates(desired, observed, ch, deletes, bool(frozen))

    # --- target groups -------------------------------------------------------------------
    obs_tgs: dict[str, list[ObservedTargetGroup]] = {}
    for otg in observed.target_groups:
        obs_tgs.setdefault(otg.resource_id, []).append(otg)
    replaced: set[str] = set()
    current_tg: dict[str, ObservedTargetGroup] = {}
    target_changes: list[Change] = []
    desired_tg_ids = {t.id for t in desired.target_groups}
    for tg in desired.target_groups:
        candidates = obs_tgs.get(tg.id, [])
        cur = next(
            (o for o in candidates if o.name == tg.name), candidates[0] if candidates else None
        )
        for extra in candidates:
            if extra is not cur:
                deletes.append(
                    Change("delete", "TargetGroup", tg.id, {"name": extra.name}, observed=extra)
                )
        if cur is None:
            ch.append(Change("create", "TargetGroup", tg.id, _tg_details(tg), desired=tg))
            if tg.targets:
                target_changes.append(
                    Change(
                        "update",
                        "Targets",
                        tg.id,
                        {"register": [f"{t.id}:{t.port}" for t in tg.targets]},
                        desired=tg,
                        ops=("register",),
                    )
                )
            continue
        immutable = {
            f: (getattr(cur, f), getattr(tg, f))
            for f in TG_IMMUTABLE
            if getattr(cur, f) != getattr(tg, f)
        }
        if immutable:
            replaced.add(tg.id)
            ch.append(
                Change(
                    "replace",
                    "TargetGroup",
                    tg.id,
                    {
                        "name": tg.name,
                        "changed": {k: {"from": a, "to": b} for k, (a, b) in immutable.items()},
                    },
                    desired=tg,
                    observed=cur,
                )
            )
            deletes.append(
                Change(
                    "delete",
                    "TargetGroup",
                    tg.id,
                    {"name": cur.name, "replaced": True},
                    observed=cur,
                )
            )
            if tg.targets:
                target_changes.append(
                    Change(
                        "update",
                        "Targets",
                        tg.id,
                        {"register": [f"{t.id}:{t.port}" for t in tg.targets]},
                        desired=tg,
                        ops=("register",),
                    )
                )
            continue
        current_tg[tg.id] = cur
        ops: list[str] = []
        details: dict[str, Any] = {}
        if cur.health_check != tg.health_check:
            ops.append("health_check")
            details["health_check"] = {
                k: v
                for k, v in tg.health_check.model_dump().items()
                if getattr(cur.health_check, k) != v
            }
        attrs = _attr_diff(tg.attributes, cur.attributes)
        if attrs:
            ops.append("attributes")
            details["attributes"] = attrs
        tags = _tag_diff(tg.tags, cur.tags)
        if tags:
            ops.append("tags")
            details["tags"] = tags
        if ops:
            ch.append(
                Change(
                    "update",
                    "TargetGroup",
                    tg.id,
                    details,
                    desired=tg,
                    observed=cur,
                    ops=tuple(ops),
                )
            )
        want = {(t.id, t.port) for t in tg.targets}
        have = {(t.id, t.port) for t in cur.targets}
        reg, dereg = sorted(want - have), sorted(have - want)
        if reg or dereg:
            d: dict[str, Any] = {}
            if reg:
                d["register"] = [f"{i}:{p}" for i, p in reg]
            if dereg:
                d["deregister"] = [f"{i}:{p}" for i, p in dereg]
            target_changes.append(
                Change("update", "Targets", tg.id, d, desired=tg, observed=cur, ops=("targets",))
            )
    for rid, tgs in obs_tgs.items():
        if rid in desired_tg_ids:
            continue
        for o in tgs:
            if _frozen(o.tags, frozen):
                continue
            deletes.append(Change("delete", "TargetGroup", rid, {"name": o.name}, observed=o))

    # --- load balancer -------------------------------------------------------------------
    lb = desired.load_balancer
    lb_replaced = False
    if obs_lb is None:
        ch.append(Change("create", "LoadBalancer", lb.id, _lb_details(lb), desired=lb))
    elif obs_lb.scheme != lb.scheme:
        lb_replaced = True
        ch.append(
            Change(
                "replace",
                "LoadBalancer",
                lb.id,
                {"name": lb.name, "changed": {"scheme": {"from": obs_lb.scheme, "to": lb.scheme}}},
                desired=lb,
                observed=obs_lb,
            )
        )
    else:
        _diff_lb(lb, obs_lb, obs_sg, ch, observed.backend_security_group)
    for other in obs_lbs:
        if other is not obs_lb:
            deletes.append(
                Change(
                    "delete",
                    "LoadBalancer",
                    other.resource_id,
                    {"name": other.name},
                    observed=other,
                )
            )

    # --- listeners and rules -------------------------------------------------------------
    lb_arn = obs_lb.arn if (obs_lb and not lb_replaced) else None
    obs_listeners: dict[str, ObservedListener] = {}
    extra_listeners: list[ObservedListener] = []  # a second listener of ours on one port
    for oli in observed.listeners:
        if oli.load_balancer_arn == lb_arn:
            if oli.resource_id in obs_listeners:
                extra_listeners.append(oli)
            else:
                obs_listeners[oli.resource_id] = oli
    rules_by_listener: dict[str, list[ObservedRule]] = {}
    for r in observed.rules:
        rules_by_listener.setdefault(r.listener_arn, []).append(r)
    desired_listener_ids = {li.id for li in desired.listeners}
    cert_arns = {c.resource_id: c.arn for c in observed.certificates}
    for li in desired.listeners:
        li = li.model_copy(
            update={"certificates": tuple(cert_arns.get(c, c) for c in li.certificates)}
        )
        _diff_listener(li, obs_listeners.get(li.id), replaced, ch)
    rule_changes = _diff_rules(desired.rules, obs_listeners, rules_by_listener, frozen, replaced)
    ch.extend(rule_changes)
    for lid, oli in obs_listeners.items():
        if lid in desired_listener_ids:
            continue
        if any(
            not r.resource_id or _frozen(r.tags, frozen) for r in rules_by_listener.get(oli.arn, [])
        ):
            continue
        deletes.append(Change("delete", "Listener", lid, {"port": oli.port}, observed=oli))
    for oli in extra_listeners:
        if any(
            not r.resource_id or _frozen(r.tags, frozen) for r in rules_by_listener.get(oli.arn, [])
        ):
            continue
        deletes.append(
            Change(
                "delete",
                "Listener",
                oli.resource_id,
                {"port": oli.port, "duplicate": True},
                observed=oli,
            )
        )
    ch.extend(target_changes)
    order = {
        "Listener": 0,
        "LoadBalancer": 1,
        "TargetGroup": 2,
        "SecurityGroup": 3,
        "Certificate": 4,
    }
    deletes.sort(key=lambda c: order.get(c.kind, 9))
    ch.extend(deletes)
    return plan


def _delete_cert(oc: OwnedCertificate) -> Change:
    return Change("delete", "Certificate", oc.resource_id, {"arn": oc.arn}, observed=oc)


def _diff_certificates(
    desired: Stack, observed: ObservedStack, ch: list[Change], deletes: list[Change], frozen: bool
) -> None:
    have = {c.resource_id: c for c in observed.certificates}
    for c in desired.certificates:
        o = have.get(c.id)
        details: dict[str, Any] = {"secret": c.secret, "domains": list(c.domains)}
        if c.not_after:
            details["notAfter"] = c.not_after
        if o is None:
            ch.append(Change("create", "Certificate", c.id, details, desired=c))
            continue
        tags = _tag_diff(c.tags, o.tags)
        if o.fingerprint != c.fingerprint:
            details["fingerprint"] = {"from": o.fingerprint[:16], "to": c.fingerprint[:16]}
            ch.append(Change("update", "Certificate", c.id, details, c, o, ops=("reimport",)))
        elif tags:
            ch.append(Change("update", "Certificate", c.id, {"tags": tags}, c, o, ops=("tags",)))
    wanted = {c.id for c in desired.certificates}
    if not frozen:
        deletes += [_delete_cert(o) for rid, o in sorted(have.items()) if rid not in wanted]


def _diff_sg(sg: SecurityGroup, obs: ObservedSecurityGroup | None, ch: list[Change]) -> None:
    if obs is None:
        ch.append(
            Change(
                "create",
                "SecurityGroup",
                sg.id,
                {"name": sg.name, "ingress": [f"{r.source}:{r.from_port}" for r in sg.ingress]},
                desired=sg,
            )
        )
        return
    want, have = set(sg.ingress), set(obs.ingress)
    details: dict[str, Any] = {}
    ops: list[str] = []
    if want != have:
        ops.append("ingress")
        if want - have:
            details["authorize"] = sorted(f"{r.source}:{r.from_port}" for r in want - have)
        if have - want:
            details["revoke"] = sorted(f"{r.source}:{r.from_port}" for r in have - want)
    tags = _tag_diff(sg.tags, obs.tags)
    if tags:
        ops.append("tags")
        details["tags"] = tags
    if ops:
        ch.append(
            Change(
                "update", "SecurityGroup", sg.id, details, desired=sg, observed=obs, ops=tuple(ops)
            )
        )


def _diff_lb(
    lb: LoadBalancer,
    obs: ObservedLoadBalancer,
    obs_sg: ObservedSecurityGroup | None,
    ch: list[Change],
    backend_sg: str | None = None,
) -> None:
    ops: list[str] = []
    details: dict[str, Any] = {}
    if tuple(sorted(obs.subnets)) != lb.subnets:
        ops.append("subnets")
        details["subnets"] = {"from": sorted(obs.subnets), "to": list(lb.subnets)}
    refs = {BACKEND_SG_ID: backend_sg, MANAGED_SG_ID: obs_sg.group_id if obs_sg else None}
    want_sgs = [refs.get(s, s) for s in lb.security_groups]
    if None in want_sgs or sorted(str(s) for s in want_sgs) != sorted(obs.security_groups):
        ops.append("security_groups")
        details["security_groups"] = {
            "from": list(obs.security_groups),
            "to": list(lb.security_groups),
        }
    if obs.ip_address_type != lb.ip_address_type:
        ops.append("ip_address_type")
        details["ip_address_type"] = {"from": obs.ip_address_type, "to": lb.ip_address_type}
    attrs = _attr_diff(lb.attributes, obs.attributes)
    if attrs:
        ops.append("attributes")
        details["attributes"] = attrs
    if lb.web_acl is not None and obs.web_acl != lb.web_acl:
        ops.append("web_acl")
        details["web_acl"] = {"from": obs.web_acl or "none", "to": lb.web_acl or "none"}
    tags = _tag_diff(lb.tags, obs.tags)
    if tags:
        ops.append("tags")
        details["tags"] = tags
    if ops:
        ch.append(
            Change(
                "update", "LoadBalancer", lb.id, details, desired=lb, observed=obs, ops=tuple(ops)
            )
        )


def _diff_listener(
    li: Listener, obs: ObservedListener | None, replaced: set[str], ch: list[Change]
) -> None:
    if obs is None:
        ch.append(
            Change(
                "create",
                "Listener",
                li.id,
                {
                    "protocol": li.protocol,
                    "port": li.port,
                    "certificates": len(li.certificates),
                    "default_action": li.default_action.type,
                },
                desired=li,
            )
        )
        return
    ops: list[str] = []
    details: dict[str, Any] = {}
    if obs.protocol != li.protocol or (li.protocol == "HTTPS" and obs.ssl_policy != li.ssl_policy):
        ops.append("listener")
        details["protocol"] = li.protocol
        if li.ssl_policy:
            details["ssl_policy"] = li.ssl_policy
    if obs.default_action != li.default_action or _action_refs(li.default_action) & replaced:
        ops.append("listener")
        details["default_action"] = li.default_action.type
    want_default = li.certificates[:1]
    if tuple(obs.certificates[:1]) != tuple(want_default):
        ops.append("listener")
        details["default_certificate"] = want_default[0] if want_default else None
    # the new default certificate is never removed from the list, even if it was an extra
    want_extra = set(li.certificates[1:]) - set(want_default)
    have_extra = set(obs.certificates[1:]) - set(want_default)
    if want_extra != have_extra:
        ops.append("certificates")
        if want_extra - have_extra:
            details["add_certificates"] = sorted(want_extra - have_extra)
        if have_extra - want_extra:
            details["remove_certificates"] = sorted(have_extra - want_extra)
    tags = _tag_diff(li.tags, obs.tags)
    if tags:
        ops.append("tags")
        details["tags"] = tags
    if ops:
        ch.append(
            Change(
                "update",
                "Listener",
                li.id,
                details,
                desired=li,
                observed=obs,
                ops=tuple(dict.fromkeys(ops)),
            )
        )


def _diff_rules(
    rules: Iterable[Rule],
    obs_listeners: Mapping[str, ObservedListener],
    rules_by_listener: Mapping[str, list[ObservedRule]],
    frozen: set[str],
    replaced: set[str],
) -> list[Change]:
    by_listener: dict[str, list[Rule]] = {}
    for r in rules:
        by_listener.setdefault(r.listener, []).append(r)
    out_delete: list[Change] = []
    out_prio: list[Change] = []
    out_modify: list[Change] = []
    out_create: list[Change] = []
    listener_ids = set(by_listener) | set(obs_listeners)
    for lid in sorted(listener_ids):
        oli = obs_listeners.get(lid)
        observed = rules_by_listener.get(oli.arn, []) if oli else []
        # rules of left-out members and rules albctl does not own keep their priorities
        held = {r.priority for r in observed if not r.resource_id or _frozen(r.tags, frozen)}
        wanted = sorted(by_listener.get(lid, []), key=lambda r: r.priority)
        # skip priorities still held by rules of left-out members
        next_free = 1
        placed: list[Rule] = []
        for r in wanted:
            while next_free in held:
                next_free += 1
            placed.append(
                r.model_copy(update={"priority": next_free}) if r.priority != next_free else r
            )
            next_free += 1
        wanted_ids = {r.id for r in placed}
        # one observed rule per id: the one at its wanted priority, else the first; a second
        # rule of ours with the same id (an answer lost, a create retried) is deleted
        at = {r.id: r.priority for r in placed}
        obs_by_id: dict[str, ObservedRule] = {}
        for o in sorted(observed, key=lambda o: (o.priority != at.get(o.resource_id), o.priority)):
            if o.resource_id and o.resource_id not in obs_by_id:
                obs_by_id[o.resource_id] = o
        for o in observed:
            if (
                o.resource_id in wanted_ids
                and obs_by_id.get(o.resource_id) is not o
                and not _frozen(o.tags, frozen)
            ):
                out_delete.append(
                    Change(
                        "delete",
                        "ListenerRule",
                        o.resource_id,
                        {"priority": o.priority, "duplicate": True},
                        observed=o,
                    )
                )
            if o.resource_id and o.resource_id not in wanted_ids and not _frozen(o.tags, frozen):
                out_delete.append(
                    Change(
                        "delete",
                        "ListenerRule",
                        o.resource_id,
                        {"priority": o.priority},
                        observed=o,
                    )
                )
        for r in placed:
            found = obs_by_id.get(r.id)
            if found is None:
                out_create.append(
                    Change("create", "ListenerRule", r.id, _rule_details(r), desired=r)
                )
                continue
            o = found
            if o.priority != r.priority:
                out_prio.append(
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
            ops: list[str] = []
            details: dict[str, Any] = {}
            if o.conditions != r.conditions:
                ops.append("rule")
                details["conditions"] = [c.model_dump(exclude_defaults=True) for c in r.conditions]
            if o.action != r.action or _action_refs(r.action) & replaced:
                ops.append("rule")
                details["action"] = r.action.type
            tags = _tag_diff(r.tags, o.tags)
            if tags:
                ops.append("tags")
                details["tags"] = tags
            if ops:
                out_modify.append(
                    Change(
                        "update",
                        "ListenerRule",
                        r.id,
                        details,
                        desired=r,
                        observed=o,
                        ops=tuple(dict.fromkeys(ops)),
                    )
                )
    return out_delete + out_prio + out_modify + out_create


def _tg_details(tg: TargetGroup) -> dict[str, Any]:
    return {
        "name": tg.name,
        "service": tg.service,
        "port": tg.port,
        "protocol": tg.protocol,
        "target_type": tg.target_type,
        "targets": len(tg.targets),
    }


def _lb_details(lb: LoadBalancer) -> dict[str, Any]:
    return {"name": lb.name, "scheme": lb.scheme, "subnets": list(lb.subnets)}


def _rule_details(r: Rule) -> dict[str, Any]:
    return {
        "priority": r.priority,
        "ingress": r.ingress,
        "conditions": [c.model_dump(exclude_defaults=True) for c in r.conditions],
        "action": r.action.type,
    }
