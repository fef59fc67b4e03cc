"""A Gateway taking over an IngressGroup's load balancer (pure): design.md section 11,
annotation ``albctl.io/adopt-ingress-group: <group id>`` on the Gateway.

Input: the group's stack as AWS holds it (albctl's tags, the group's resource ids) and the
Gateway's desired stack. Output: ``adopt`` changes that rewrite albctl's ownership tags of each
resource to the Gateway's stack (``albctl.io/stack``, ``albctl.io/resource``,
``albctl.io/ingress``), ordered before any other change, and the stack as AWS holds it once they
are applied, under the Gateway's resource ids, which the ordinary diff then compares with the
desired state. The load balancer, its security group and listeners keep their ids; a target
group goes to the Gateway's target group of the same Service port (the route named like the
Ingress first); a rule to the Gateway's rule with the same conditions on the same listener,
else to the one at its priority (re-written in place). What is left over is deleted by the
diff after everything else, so no request that had a rule is ever without one.
"""

from __future__ import annotations

from collections.abc import Mapping

from albctl.errors import GuardRailError
from albctl.model.adopt import (
    Adoption,
    adopt_change,
    match_rules,
    ownership_tags,
    remap_forward,
)
from albctl.model.desired import Stack
from albctl.model.observed import ObservedRule, ObservedStack, ObservedTargetGroup
from albctl.model.plan.changes import Change
from albctl.model.tags import INGRESS_TAG, SERVICE_TAG

ADOPT_ANNOTATION = "albctl.io/adopt-ingress-group"
LEFTOVER = "adopted:"  # the id of a resource the Gateway does not want (then deleted)
# the member of a rule the Gateway does not want: held (its priority kept, so no new rule
# collides with it) while the diff places the Gateway's rules, deleted after them
LEFTOVER_MEMBER = "adopted:leftover"


class AdoptionRefusedError(GuardRailError):
    """A Gateway does not take an IngressGroup's load balancer over (nothing is created)."""


def check_scheme(group: ObservedStack, desired: Stack, annotation_obj: str) -> None:
    """A scheme change replaces the load balancer: never as part of an adoption."""
    for lb in group.load_balancers:
        if lb.scheme != desired.load_balancer.scheme:
            raise AdoptionRefusedError(
                f"{annotation_obj}: annotation {ADOPT_ANNOTATION}: the load balancer of group "
                f"{group.group_id} is {lb.scheme}, the Gateway's would be "
                f"{desired.load_balancer.scheme}; adopting would replace it (set scheme: "
                f"{lb.scheme} in its LoadBalancerConfiguration)"
            )


def adopt_group_stack(group: ObservedStack, desired: Stack, cluster: str) -> Adoption:
    gid = desired.group_id
    tg_ids = _target_group_ids(group.target_groups, desired)
    changes: list[Change] = []
    want_tgs = {tg.id: tg for tg in desired.target_groups}
    sgs = []
    for sg in group.security_groups:
        want = desired.security_group if desired.security_group else None
        tags = ownership_tags(cluster, gid, sg.resource_id, want.tags if want else {})
        changes.append(adopt_change("SecurityGroup", sg.resource_id, sg, sg.tags, tags))
        sgs.append(sg.model_copy(update={"tags": {**sg.tags, **tags}}))
    tgs = []
    for tg in group.target_groups:
        rid = tg_ids.get(tg.resource_id, LEFTOVER + tg.resource_id)
        w = want_tgs.get(rid)
        tags = _member(
            ownership_tags(cluster, gid, rid, w.tags if w else {}), w.ingress if w else None
        )
        changes.append(adopt_change("TargetGroup", rid, tg, tg.tags, tags))
        tgs.append(tg.model_copy(update={"resource_id": rid, "tags": {**tg.tags, **tags}}))
    lbs = []
    for lb in group.load_balancers:
        tags = ownership_tags(cluster, gid, lb.resource_id, desired.load_balancer.tags)
        changes.append(adopt_change("LoadBalancer", lb.resource_id, lb, lb.tags, tags))
        lbs.append(lb.model_copy(update={"tags": {**lb.tags, **tags}}))
    want_li = {li.id: li for li in desired.listeners}
    listeners = []
    for li in group.listeners:
        w_li = want_li.get(li.resource_id)
        tags = ownership_tags(cluster, gid, li.resource_id, w_li.tags if w_li else {})
        changes.append(adopt_change("Listener", li.resource_id, li, li.tags, tags))
        action = remap_forward(li.default_action, tg_ids)
        listeners.append(
            li.model_copy(update={"tags": {**li.tags, **tags}, "default_action": action})
        )
    rules = _rules(group, desired, cluster, tg_ids, changes)
    observed = group.model_copy(
        update={
            "group_id": gid,
            "security_groups": tuple(sgs),
            "target_groups": tuple(tgs),
            "load_balancers": tuple(lbs),
            "listeners": tuple(listeners),
            "rules": tuple(rules),
        }
    )
    return Adoption(observed=observed, changes=changes)


def handover_order(changes: list[Change], observed: ObservedStack) -> list[Change]:
    """The plan of a handover (diffed with ``LEFTOVER_MEMBER`` held), ordered so that no
    request that had a rule is ever without one: the Gateway's rules created and updated
    first; then a listener's new default action (a group's ssl-redirect or defaultBackend
    became a catch-all route rule); then the group's rules the Gateway does not want deleted;
    then the other deletes."""
    moved = [c for c in changes if c.kind == "Listener" and c.action == "update"]
    rest = [c for c in changes if not (c.kind == "Listener" and c.action == "update")]
    first_delete = next((i for i, c in enumerate(rest) if c.action == "delete"), len(rest))
    leftovers = [
        Change("delete", "ListenerRule", r.resource_id, {"priority": r.priority}, observed=r)
        for r in observed.rules
        if r.tags.get(INGRESS_TAG) == LEFTOVER_MEMBER
    ]
    return rest[:first_delete] + moved + leftovers + rest[first_delete:]


def _member(tags: dict[str, str], member: str | None) -> dict[str, str]:
    """The Gateway's member (route) of a resource replaces the Ingress it belonged to."""
    if member:
        tags[INGRESS_TAG] = member
    return tags


def _target_group_ids(tgs: tuple[ObservedTargetGroup, ...], desired: Stack) -> dict[str, str]:
    """The group's target group id -> the Gateway's serving the same Service port (the route
    named like the Ingress first, then any other not taken)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for preferred in (True, False):
        for tg in tgs:
            if tg.resource_id in out:
                continue
            service = _service(tg)
            member = tg.tags.get(INGRESS_TAG, "")
            for want in desired.target_groups:
                if want.id in taken or want.service != service:
                    continue
                if preferred and not want.ingress.endswith("/" + member):
                    continue
                out[tg.resource_id] = want.id
                taken.add(want.id)
                break
    return out


def _service(tg: ObservedTargetGroup) -> str | None:
    """``ns/name:port`` of the Service a group's target group serves: its service tag, else
    from its id ``<ns>/<ingress>-<service>:<port>`` and its member tag ``<ns>/<ingress>``."""
    if SERVICE_TAG in tg.tags:
        return tg.tags[SERVICE_TAG]
    member = tg.tags.get(INGRESS_TAG, "")
    rid = tg.resource_id
    if not member or not rid.startswith(member + "-") or ":" not in rid:
        return None
    name, _, port = rid[len(member) + 1 :].rpartition(":")
    return f"{member.partition('/')[0]}/{name}:{port}"


def _rules(
    group: ObservedStack,
    desired: Stack,
    cluster: str,
    tg_ids: Mapping[str, str],
    changes: list[Change],
) -> list[ObservedRule]:
    gid = desired.group_id
    ports = {li.arn: li.resource_id for li in group.listeners}
    want = {d.id: d for d in desired.rules}
    ours = [r for r in group.rules if r.resource_id and r.listener_arn in ports]
    ids = match_rules(ours, desired, ports)
    out: list[ObservedRule] = []
    for r in group.rules:
        if r not in ours:
            out.append(r)
            continue
        rid = ids.get(r.arn, LEFTOVER + r.resource_id)
        w = want.get(rid)
        tags = _member(
            ownership_tags(cluster, gid, rid, w.tags if w else {}),
            w.ingress if w else LEFTOVER_MEMBER,
        )
        changes.append(adopt_change("ListenerRule", rid, r, r.tags, tags))
        update = {
            "resource_id": rid,
            "tags": {**r.tags, **tags},
            "action": remap_forward(r.action, tg_ids),
        }
        out.append(r.model_copy(update=update))
    return out
