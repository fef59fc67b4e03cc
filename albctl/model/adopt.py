"""Taking over a stack the AWS Load Balancer Controller made (pure).

Input: the stack as LBC tracks it (read by LBC's tags, with LBC's resource ids) and the desired
stack of the same group. Output: the ``adopt`` changes (albctl's ownership tags added to each
resource, ordered before any other change of the plan) and the stack as AWS will hold it once
they are applied, under albctl's resource ids, which the ordinary diff then compares with the
desired state: same load balancer, listeners kept, target groups kept where they serve the
same Service port, rules matched by their conditions (else re-written in place).

LBC's resource ids: ``LoadBalancer``, ``ManagedLBSecurityGroup``, listeners ``<port>``, rules
``<port>:<n>``, target groups ``<ns>/<ingress>-<service>:<port>`` (port number or name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from albctl.errors import GuardRailError
from albctl.model.desired import (
    BACKEND_SG_ID,
    MANAGED_SG_ID,
    Action,
    Condition,
    ForwardTarget,
    Stack,
)
from albctl.model.lbc import LBC_CLUSTER_TAG, LBC_RESOURCE_TAG, LBC_STACK_TAG
from albctl.model.observed import (
    ObservedListener,
    ObservedRule,
    ObservedStack,
    ObservedTargetGroup,
)
from albctl.model.plan.changes import Change
from albctl.model.tags import (
    BACKEND_SG_RESOURCE,
    CLUSTER_TAG,
    OIDC_SECRET_TAG,
    RESOURCE_TAG,
    STACK_TAG,
    TARGETS_RECORD_PREFIX,
)


class TakeoverRefusedError(GuardRailError):
    """A stack of LBC's is not taken over (LBC still runs, or the group is not whole)."""


@dataclass(frozen=True)
class LbcBackend:
    """LBC's shared backend security group of this cluster and the rules LBC added from it
    (single-port TCP, on the targets' security groups)."""

    group_id: str
    tags: Mapping[str, str]
    rules: tuple[tuple[str, int], ...] = ()  # (security group, port)


@dataclass
class Adoption:
    observed: ObservedStack  # as AWS holds it after the adopt changes, under albctl's ids
    changes: list[Change] = field(default_factory=list)


def _tags(cluster: str, gid: str, rid: str, desired: Mapping[str, str]) -> dict[str, str]:
    """albctl's ownership tags, plus the desired resource's own tags (not the OIDC digest, nor
    a targets record: those follow what albctl itself wrote)."""
    extra = {
        k: v
        for k, v in desired.items()
        if k != OIDC_SECRET_TAG and not k.startswith(TARGETS_RECORD_PREFIX)
    }
    return {**extra, CLUSTER_TAG: cluster, STACK_TAG: gid, RESOURCE_TAG: rid}


def _added(tags: Mapping[str, str], have: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if have.get(k) != v}


def check_adoptable(gid: str, invalid: list[str], group_error: bool) -> None:
    """albctl adopts only a group whose every member builds: LBC's rules carry no member, so
    the rules of a member left out could not be told apart (and kept)."""
    if invalid or group_error:
        which = ", ".join(invalid) or "the group"
        raise TakeoverRefusedError(
            f"not taking over LBC's stack {gid}: {which} cannot be built; fix the Ingress "
            "first (albctl adopts a group only when all of its members are valid)"
        )


def adopt_stack(
    lbc: ObservedStack,
    desired: Stack,
    cluster: str,
    backend: LbcBackend | None = None,
) -> Adoption:
    """The adoption of LBC's stack ``lbc`` (resource ids LBC's) for ``desired``."""
    gid = desired.group_id
    out = Adoption(observed=lbc)
    tg_ids = _target_group_ids(lbc.target_groups, desired)
    sgs = []
    for sg in lbc.security_groups:
        sg_want = desired.security_group if sg.resource_id == MANAGED_SG_ID else None
        tags = _tags(cluster, gid, sg.resource_id, sg_want.tags if sg_want else {})
        out.changes.append(_change("SecurityGroup", sg.resource_id, sg, sg.tags, tags))
        sgs.append(sg.model_copy(update={"tags": {**sg.tags, **tags}}))
    if backend is not None:
        tags = {CLUSTER_TAG: cluster, RESOURCE_TAG: BACKEND_SG_RESOURCE}
        details: dict[str, Any] = {"id": backend.group_id, "tags": _added(tags, backend.tags)}
        if backend.rules:
            details["rules"] = [f"{sg}:{port}" for sg, port in backend.rules]
        out.changes.append(Change("adopt", "SecurityGroup", BACKEND_SG_ID, details, None, backend))
    by_tg = {tg.id: tg for tg in desired.target_groups}
    tgs = []
    for tg in lbc.target_groups:
        rid = tg_ids.get(tg.resource_id, tg.resource_id)
        want = by_tg.get(rid)
        tags = _tags(cluster, gid, rid, want.tags if want else {})
        out.changes.append(_change("TargetGroup", rid, tg, tg.tags, tags))
        tgs.append(tg.model_copy(update={"resource_id": rid, "tags": {**tg.tags, **tags}}))
    lbs = []
    for lb in lbc.load_balancers:
        tags = _tags(cluster, gid, lb.resource_id, desired.load_balancer.tags)
        out.changes.append(_change("LoadBalancer", lb.resource_id, lb, lb.tags, tags))
        lbs.append(lb.model_copy(update={"tags": {**lb.tags, **tags}}))
    listeners, ports = _listeners(lbc, desired, cluster, tg_ids, out.changes)
    rules = _rules(lbc, desired, cluster, tg_ids, ports, out.changes)
    out.observed = lbc.model_copy(
        update={
            "security_groups": tuple(sgs),
            "target_groups": tuple(tgs),
            "load_balancers": tuple(lbs),
            "listeners": tuple(listeners),
            "rules": tuple(rules),
            "backend_security_group": backend.group_id if backend else lbc.backend_security_group,
        }
    )
    return out


def _change(
    kind: Any, rid: str, obs: Any, have: Mapping[str, str], tags: Mapping[str, str]
) -> Change:
    arn = str(getattr(obs, "arn", None) or getattr(obs, "group_id", ""))
    details = {"arn" if ":" in arn else "id": arn, "tags": _added(tags, have)}
    lbc_id = have.get(LBC_RESOURCE_TAG)
    if lbc_id and lbc_id != rid:
        details["lbcId"] = lbc_id
    return Change("adopt", kind, rid, details, observed=obs)


def _target_group_ids(tgs: tuple[ObservedTargetGroup, ...], desired: Stack) -> dict[str, str]:
    """LBC's target group id -> albctl's, for those that serve the same Service port.

    Both ids are ``<ns>/<ingress>-<service>:<port>``; LBC writes the port as the Ingress names
    it (a number or a port name), albctl the number: a name matches when exactly one desired
    target group of that Ingress and Service is left."""
    wanted = {tg.id for tg in desired.target_groups}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for tg in tgs:
        if tg.resource_id in wanted:
            out[tg.resource_id] = tg.resource_id
            taken.add(tg.resource_id)
    for tg in tgs:
        if tg.resource_id in out:
            continue
        prefix = tg.resource_id.rpartition(":")[0] + ":"
        same = [t for t in sorted(wanted - taken) if t.startswith(prefix)]
        if len(same) == 1:
            out[tg.resource_id] = same[0]
            taken.add(same[0])
    return out


def _remap(action: Action, tg_ids: Mapping[str, str]) -> Action:
    if not action.forward:
        return action
    forward = tuple(
        ForwardTarget(target_group=tg_ids.get(f.target_group, f.target_group), weight=f.weight)
        for f in action.forward
    )
    return action.model_copy(update={"forward": forward})


def _listeners(
    lbc: ObservedStack,
    desired: Stack,
    cluster: str,
    tg_ids: Mapping[str, str],
    changes: list[Change],
) -> tuple[list[ObservedListener], dict[str, str]]:
    """The listeners of LBC's load balancer that LBC's tags do not give to someone else;
    their ARNs -> listener id (the port)."""
    gid = desired.group_id
    lb_arns = {lb.arn for lb in lbc.load_balancers}
    wanted = {li.id: li for li in desired.listeners}
    out: list[ObservedListener] = []
    ports: dict[str, str] = {}
    for li in lbc.listeners:
        if li.load_balancer_arn not in lb_arns or not _lbcs(li.tags, cluster, gid):
            out.append(li)
            continue
        rid = str(li.port)
        want = wanted.get(rid)
        tags = _tags(cluster, gid, rid, want.tags if want else {})
        changes.append(_change("Listener", rid, li, li.tags, tags))
        action = _remap(li.default_action, tg_ids)
        out.append(
            li.model_copy(
                update={"resource_id": rid, "tags": {**li.tags, **tags}, "default_action": action}
            )
        )
        ports[li.arn] = rid
    return out, ports


def _lbcs(tags: Mapping[str, str], cluster: str, gid: str) -> bool:
    """LBC's tags name this cluster and stack, or (LBC before it tagged listeners) none."""
    if LBC_CLUSTER_TAG not in tags:
        return True
    return tags.get(LBC_CLUSTER_TAG) == cluster and tags.get(LBC_STACK_TAG) == gid


def _rules(
    lbc: ObservedStack,
    desired: Stack,
    cluster: str,
    tg_ids: Mapping[str, str],
    ports: Mapping[str, str],
    changes: list[Change],
) -> list[ObservedRule]:
    """LBC's rules of this stack on the adopted listeners, each under the id of the desired
    rule with the same conditions, else of the desired rule at its priority, else its own
    (then deleted as not desired). Rules without LBC's tags stay foreign."""
    gid = desired.group_id
    by_conditions: dict[tuple[str, frozenset[Condition]], str] = {}
    by_priority: dict[tuple[str, int], str] = {}
    tags_of = {d.id: d.tags for d in desired.rules}
    for d in desired.rules:
        by_conditions.setdefault((d.listener, frozenset(d.conditions)), d.id)
        by_priority[(d.listener, d.priority)] = d.id
    mine = [
        r
        for r in lbc.rules
        if r.listener_arn in ports
        and r.resource_id
        and r.tags.get(LBC_CLUSTER_TAG) == cluster
        and r.tags.get(LBC_STACK_TAG) == gid
    ]
    mine_arns = {r.arn for r in mine}
    ids: dict[str, str] = {}
    for r in mine:  # the same conditions first
        rid = by_conditions.get((ports[r.listener_arn], frozenset(r.conditions)))
        if rid is not None and rid not in ids.values():
            ids[r.arn] = rid
    for r in mine:  # then the same priority (re-written in place)
        rid = by_priority.get((ports[r.listener_arn], r.priority))
        if r.arn not in ids and rid is not None and rid not in ids.values():
            ids[r.arn] = rid
    out: list[ObservedRule] = []
    for r in lbc.rules:
        if r.arn not in mine_arns:
            out.append(r.model_copy(update={"resource_id": ""}))
            continue
        rid = ids.get(r.arn, f"lbc:{r.resource_id}")
        tags = _tags(cluster, gid, rid, tags_of.get(rid, {}))
        changes.append(_change("ListenerRule", rid, r, r.tags, tags))
        update = {
            "resource_id": rid,
            "tags": {**r.tags, **tags},
            "action": _remap(r.action, tg_ids),
        }
        out.append(r.model_copy(update=update))
    return out


# shared with the adoption of an IngressGroup's stack by a Gateway (albctl.model.adopt_group)
ownership_tags = _tags
adopt_change = _change
remap_forward = _remap
