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
from albctl.model.lbc import (
    LBC_CLUSTER_TAG,
    LBC_GATEWAY_RESOURCE_TAG,
    LBC_GATEWAY_TAGS,
    LBC_RESOURCE_TAG,
    LBC_TAGS,
    lbc_gateway_target_group_id,
)
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
    TagScheme,
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


def ownership_tags(cluster: str, gid: str, rid: str, desired: Mapping[str, str]) -> dict[str, str]:
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


@dataclass(frozen=True)
class LbcStackRef:
    """How LBC tracks the stack being adopted: its tag keys and its stack id there (an
    IngressGroup's: the group id; a Gateway's: ``<namespace>/<name>``)."""

    scheme: TagScheme
    stack: str


def adopt_stack(
    lbc: ObservedStack,
    desired: Stack,
    cluster: str,
    backend: LbcBackend | None = None,
    ref: LbcStackRef | None = None,
    tg_ids: Mapping[str, str] | None = None,
) -> Adoption:
    """The adoption of LBC's stack ``lbc`` (resource ids LBC's) for ``desired``; ``ref``: a
    Gateway's LBC tags (default: an IngressGroup's), ``tg_ids``: LBC's target group ids ->
    albctl's (default: by Service port, as an IngressGroup's)."""
    gid = desired.group_id
    ref = ref or LbcStackRef(LBC_TAGS, gid)
    out = Adoption(observed=lbc)
    if tg_ids is None:
        tg_ids = _target_group_ids(lbc.target_groups, desired)
    sgs = []
    for sg in lbc.security_groups:
        sg_want = desired.security_group if sg.resource_id == MANAGED_SG_ID else None
        tags = ownership_tags(cluster, gid, sg.resource_id, sg_want.tags if sg_want else {})
        out.changes.append(adopt_change("SecurityGroup", sg.resource_id, sg, sg.tags, tags))
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
        tags = ownership_tags(cluster, gid, rid, want.tags if want else {})
        out.changes.append(adopt_change("TargetGroup", rid, tg, tg.tags, tags))
        tgs.append(tg.model_copy(update={"resource_id": rid, "tags": {**tg.tags, **tags}}))
    lbs = []
    for lb in lbc.load_balancers:
        tags = ownership_tags(cluster, gid, lb.resource_id, desired.load_balancer.tags)
        out.changes.append(adopt_change("LoadBalancer", lb.resource_id, lb, lb.tags, tags))
        lbs.append(lb.model_copy(update={"tags": {**lb.tags, **tags}}))
    listeners, ports = _listeners(lbc, desired, cluster, tg_ids, out.changes, ref)
    rules = _rules(lbc, desired, cluster, tg_ids, ports, out.changes, ref)
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


def adopt_change(
    kind: Any, rid: str, obs: Any, have: Mapping[str, str], tags: Mapping[str, str]
) -> Change:
    arn = str(getattr(obs, "arn", None) or getattr(obs, "group_id", ""))
    details = {"arn" if ":" in arn else "id": arn, "tags": _added(tags, have)}
    lbc_id = have.get(LBC_RESOURCE_TAG) or have.get(LBC_GATEWAY_RESOURCE_TAG)
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


def gateway_ref(gateway: str) -> LbcStackRef:
    """LBC's stack of the Gateway ``<namespace>/<name>``."""
    return LbcStackRef(LBC_GATEWAY_TAGS, gateway)


def gateway_target_group_ids(
    tgs: tuple[ObservedTargetGroup, ...], desired: Stack, gateway: str
) -> dict[str, str]:
    """LBC's target group ids of a Gateway -> albctl's: the same route, Service and port."""
    have = {tg.resource_id for tg in tgs}
    out: dict[str, str] = {}
    for want in desired.target_groups:
        service, _, port = want.service.rpartition(":")
        lbc_id = lbc_gateway_target_group_id(gateway, want.ingress, service, int(port))
        if lbc_id in have and lbc_id not in out:
            out[lbc_id] = want.id
    return out


def remap_forward(action: Action, tg_ids: Mapping[str, str]) -> Action:
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
    ref: LbcStackRef,
) -> tuple[list[ObservedListener], dict[str, str]]:
    """The listeners of LBC's load balancer that LBC's tags do not give to someone else;
    their ARNs -> listener id (the port)."""
    gid = desired.group_id
    lb_arns = {lb.arn for lb in lbc.load_balancers}
    wanted = {li.id: li for li in desired.listeners}
    out: list[ObservedListener] = []
    ports: dict[str, str] = {}
    for li in lbc.listeners:
        if li.load_balancer_arn not in lb_arns or not _lbcs(li.tags, cluster, ref):
            out.append(li)
            continue
        rid = str(li.port)
        want = wanted.get(rid)
        tags = ownership_tags(cluster, gid, rid, want.tags if want else {})
        changes.append(adopt_change("Listener", rid, li, li.tags, tags))
        action = remap_forward(li.default_action, tg_ids)
        out.append(
            li.model_copy(
                update={"resource_id": rid, "tags": {**li.tags, **tags}, "default_action": action}
            )
        )
        ports[li.arn] = rid
    return out, ports


def _lbcs(tags: Mapping[str, str], cluster: str, ref: LbcStackRef) -> bool:
    """LBC's tags name this cluster and stack, or (LBC before it tagged listeners) none."""
    if LBC_CLUSTER_TAG not in tags:
        return True
    return tags.get(LBC_CLUSTER_TAG) == cluster and tags.get(ref.scheme.stack) == ref.stack


def match_rules(
    observed: list[ObservedRule], desired: Stack, ports: Mapping[str, str]
) -> dict[str, str]:
    """Observed rule ARN -> the desired rule it becomes: the same conditions on the same
    listener first (several alike: in priority order), then the same place in the listener's
    priority order (re-written in place)."""
    alike: dict[tuple[str, frozenset[Condition]], list[str]] = {}
    ranked: dict[str, list[str]] = {}
    for d in sorted(desired.rules, key=lambda d: d.priority):
        alike.setdefault((d.listener, frozenset(d.conditions)), []).append(d.id)
        ranked.setdefault(d.listener, []).append(d.id)
    ids: dict[str, str] = {}
    ordered = sorted(observed, key=lambda r: r.priority)
    for r in ordered:  # the same conditions first
        left = alike.get((ports[r.listener_arn], frozenset(r.conditions)), [])
        if left:
            ids[r.arn] = left.pop(0)
    taken = set(ids.values())
    by_listener: dict[str, list[ObservedRule]] = {}
    for r in ordered:
        by_listener.setdefault(ports[r.listener_arn], []).append(r)
    for lid, rules in by_listener.items():  # then the same place in priority order
        for n, r in enumerate(rules):
            want = ranked.get(lid, [])
            if r.arn not in ids and n < len(want) and want[n] not in taken:
                ids[r.arn] = want[n]
                taken.add(want[n])
    return ids


def _rules(
    lbc: ObservedStack,
    desired: Stack,
    cluster: str,
    tg_ids: Mapping[str, str],
    ports: Mapping[str, str],
    changes: list[Change],
    ref: LbcStackRef,
) -> list[ObservedRule]:
    """LBC's rules of this stack on the adopted listeners, each under the id of the desired
    rule with the same conditions, else of the desired rule at its priority, else its own
    (then deleted as not desired). Rules without LBC's tags stay foreign."""
    gid = desired.group_id
    tags_of = {d.id: d.tags for d in desired.rules}
    mine = [
        r
        for r in lbc.rules
        if r.listener_arn in ports
        and r.resource_id
        and r.tags.get(LBC_CLUSTER_TAG) == cluster
        and r.tags.get(ref.scheme.stack) == ref.stack
    ]
    mine_arns = {r.arn for r in mine}
    ids = match_rules(mine, desired, ports)
    out: list[ObservedRule] = []
    for r in lbc.rules:
        if r.arn not in mine_arns:
            out.append(r.model_copy(update={"resource_id": ""}))
            continue
        rid = ids.get(r.arn, f"lbc:{r.resource_id}")
        tags = ownership_tags(cluster, gid, rid, tags_of.get(rid, {}))
        changes.append(adopt_change("ListenerRule", rid, r, r.tags, tags))
        update = {
            "resource_id": rid,
            "tags": {**r.tags, **tags},
            "action": remap_forward(r.action, tg_ids),
        }
        out.append(r.model_copy(update=update))
    return out
