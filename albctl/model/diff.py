"""Diff a desired stack against what AWS has, into an ordered plan (pure).

Order (design.md): security group → target groups → load balancer → listeners → rules →
targets, then deletes in reverse. Resources that belong to a member left out of this build
(``frozen`` members: invalid Ingresses) are neither changed nor deleted. Only resources carrying
our ownership tags ever reach this module, so a delete here is always a delete of our own.
Each resource kind is compared in its own module of ``albctl.model.plan``.
"""

from __future__ import annotations

from collections.abc import Iterable

from albctl.model.desired import LB_ID, MANAGED_SG_ID, Stack
from albctl.model.observed import ObservedListener, ObservedRule, ObservedStack
from albctl.model.plan.changes import Change, ChangeAction, Kind, Plan, is_frozen
from albctl.model.plan.listeners import diff_listener
from albctl.model.plan.load_balancer import (
    delete_certificate,
    diff_certificates,
    diff_load_balancer,
    diff_security_group,
)
from albctl.model.plan.rules import diff_rules
from albctl.model.plan.target_groups import TG_IMMUTABLE, diff_target_groups

__all__ = ["TG_IMMUTABLE", "Change", "ChangeAction", "Kind", "Plan", "diff_stack"]

# deletes run in reverse of the apply order
_DELETE_ORDER = {
    "Listener": 0,
    "LoadBalancer": 1,
    "TargetGroup": 2,
    "SecurityGroup": 3,
    "Certificate": 4,
}


def diff_stack(
    desired: Stack | None,
    observed: ObservedStack,
    frozen_members: Iterable[str] = (),
) -> Plan:
    """Changes that make AWS match ``desired``; ``None`` deletes everything of the stack."""
    frozen = set(frozen_members)
    plan = Plan(group_id=observed.group_id)
    if desired is None:
        if not frozen:  # every member invalid: keep everything as it is
            plan.changes = _delete_stack(observed)
        return plan
    ch = plan.changes
    deletes: list[Change] = []
    obs_lbs = list(observed.load_balancers)
    obs_lb = next(
        (lb for lb in obs_lbs if lb.resource_id == LB_ID), obs_lbs[0] if obs_lbs else None
    )
    obs_sg = next((s for s in observed.security_groups if s.resource_id == MANAGED_SG_ID), None)
    if desired.security_group is not None:
        diff_security_group(desired.security_group, obs_sg, ch)
    for sg in observed.security_groups:
        if desired.security_group is None or sg is not obs_sg:
            deletes.append(
                Change("delete", "SecurityGroup", sg.resource_id, {"id": sg.group_id}, observed=sg)
            )
    # certificates imported from TLS Secrets, before the listeners that use them
    diff_certificates(desired, observed, ch, deletes, bool(frozen))
    tgs = diff_target_groups(desired.target_groups, observed.target_groups, frozen)
    ch += tgs.changes
    deletes += tgs.deletes
    lb_replaced = diff_load_balancer(desired.load_balancer, observed, obs_lb, obs_sg, ch, deletes)
    lb_arn = obs_lb.arn if (obs_lb and not lb_replaced) else None
    _diff_listeners(desired, observed, lb_arn, frozen, tgs.replaced, ch, deletes)
    ch += tgs.targets
    deletes.sort(key=lambda c: _DELETE_ORDER.get(c.kind, 9))
    ch += deletes
    return plan


def _delete_stack(observed: ObservedStack) -> list[Change]:
    deletes = [
        Change("delete", "ListenerRule", r.resource_id, {"arn": r.arn}, observed=r)
        for r in observed.rules
    ]
    deletes += [
        Change("delete", "Listener", li.resource_id, {"arn": li.arn}, observed=li)
        for li in observed.listeners
    ]
    deletes += [
        Change("delete", "LoadBalancer", lb.resource_id, {"name": lb.name}, observed=lb)
        for lb in observed.load_balancers
    ]
    deletes += [
        Change("delete", "TargetGroup", tg.resource_id, {"name": tg.name}, observed=tg)
        for tg in observed.target_groups
    ]
    deletes += [
        Change("delete", "SecurityGroup", sg.resource_id, {"id": sg.group_id}, observed=sg)
        for sg in observed.security_groups
    ]
    deletes += [delete_certificate(c) for c in observed.certificates]
    if observed.load_balancers:  # listeners and rules go with their load balancer
        return [d for d in deletes if d.kind not in ("ListenerRule", "Listener")]
    return deletes


def _diff_listeners(
    desired: Stack,
    observed: ObservedStack,
    lb_arn: str | None,
    frozen: set[str],
    replaced: set[str],
    ch: list[Change],
    deletes: list[Change],
) -> None:
    """Listeners and their rules on the current load balancer (none when it is replaced)."""
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
    cert_arns = {c.resource_id: c.arn for c in observed.certificates}
    for li in desired.listeners:
        li = li.model_copy(
            update={"certificates": tuple(cert_arns.get(c, c) for c in li.certificates)}
        )
        diff_listener(li, obs_listeners.get(li.id), replaced, ch)
    ch += diff_rules(
        desired.rules,
        obs_listeners,
        rules_by_listener,
        frozen,
        replaced,
        stable=desired.stable_priorities,
    )

    def keeps_rules(oli: ObservedListener) -> bool:
        """A listener still holding rules of a left-out member or not ours stays."""
        held = rules_by_listener.get(oli.arn, [])
        return any(not r.resource_id or is_frozen(r.tags, frozen) for r in held)

    wanted = {li.id for li in desired.listeners}
    for lid, oli in obs_listeners.items():
        if lid not in wanted and not keeps_rules(oli):
            deletes.append(Change("delete", "Listener", lid, {"port": oli.port}, observed=oli))
    for oli in extra_listeners:
        if not keeps_rules(oli):
            details = {"port": oli.port, "duplicate": True}
            deletes.append(Change("delete", "Listener", oli.resource_id, details, observed=oli))
