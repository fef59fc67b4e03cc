"""Reconcile IngressGroups: build (pure) → observe AWS → diff (pure) → apply.

Used by the one-shot CLI (plan/apply/delete from manifest files). One group's failure never
stops the others; an invalid member is left out and its AWS resources are kept as they are.
TargetGroupBindings in the files register (apply) or deregister (delete) their targets with the
same model and AWS code as the controller; an invalid binding changes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from albctl.aws.apply import Applier, ApplyResult
from albctl.aws.backend_sg import RulesReport
from albctl.aws.binding import cluster_vpc
from albctl.aws.certificates import with_certificates
from albctl.aws.clients import AwsClients
from albctl.aws.discover import discover_inventory
from albctl.aws.enis import EniResolver
from albctl.aws.lbc import LbcStacks
from albctl.aws.networking import NetworkingSettings, StackNeeds, TargetNetworking
from albctl.aws.observe import Observer
from albctl.config import Settings
from albctl.controller.handover import adopted_group, take_group
from albctl.controller.indexes import build_indexes
from albctl.controller.oneshot_bindings import BindingOutcome, run_bindings
from albctl.errors import AlbctlError, GuardRailError, InvalidInputError
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.adopt import (
    Adoption,
    LbcBackend,
    adopt_stack,
    check_adoptable,
    gateway_ref,
    gateway_target_group_ids,
)
from albctl.model.adopt_group import ADOPT_ANNOTATION, LEFTOVER_MEMBER, handover_order
from albctl.model.annotations import PREFIX, ci_get
from albctl.model.backend_rules import instance_hints
from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.desired import MANAGED_SG_ID, Stack
from albctl.model.diff import Change, Plan, diff_stack
from albctl.model.gateway.build import build_gateway
from albctl.model.gateway.objects import Gateway
from albctl.model.gateway.select import gateway_input, our_gateways
from albctl.model.gateway.status import GatewayStatus
from albctl.model.groups import Group, Grouping, group_ingresses
from albctl.model.inventory import Inventory
from albctl.model.observed import ObservedStack, with_existing_load_balancer

log = logging.getLogger(__name__)

Mode = Literal["plan", "apply", "delete"]


@dataclass
class GroupOutcome:
    group_id: str
    plan: Plan
    build: BuildResult | None = None
    result: ApplyResult | None = None
    error: str | None = None
    pruned: bool = False
    duration: float = 0.0
    networking: RulesReport | None = None
    gateway: GatewayStatus | None = None  # a Gateway's status, as the model decided it

    @property
    def invalid(self) -> dict[str, InvalidInputError]:
        return self.build.invalid if self.build else {}

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and not self.invalid
            and not (self.build and (self.build.group_error or self.build.problems))
        )


@dataclass
class Report:
    outcomes: list[GroupOutcome] = field(default_factory=list)
    bindings: list[BindingOutcome] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aws_calls: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and all(b.ok for b in self.bindings)

    @property
    def has_changes(self) -> bool:
        return any(o.plan.changes for o in self.outcomes) or any(b.changes for b in self.bindings)

    def plan_json(self) -> dict[str, Any]:
        return {
            "changes": [
                c.to_json() | {"group": o.group_id} for o in self.outcomes for c in o.plan.changes
            ]
            + [c for b in self.bindings for c in b.changes]
        }


@dataclass
class Needs:
    """What the builder will look up in the AWS inventory for these objects."""

    certificates: bool = False
    security_groups: set[str] = field(default_factory=set)
    target_groups: set[str] = field(default_factory=set)
    web_acls: set[str] = field(default_factory=set)
    trust_stores: set[str] = field(default_factory=set)


def _trust_store_names(value: str) -> set[str]:
    """Trust store names (not ARNs) in a mutual-authentication annotation."""
    try:
        entries = json.loads(value)
    except json.JSONDecodeError:
        return set()  # the model reports it
    names = set()
    for e in entries if isinstance(entries, list) else []:
        store = ci_get(e, "trustStore") if isinstance(e, dict) else None
        if isinstance(store, str) and store and not store.startswith("arn:"):
            names.add(store)
    return names


def needs_of(objects: ObjectSet) -> Needs:
    """The certificates, security group, target group and web ACL names to discover (once
    per object set)."""
    hit: Needs | None = objects.derived.get("needs")
    if hit is None:
        hit = objects.derived["needs"] = _needs_of(objects)
    return hit


def _needs_of(objects: ObjectSet) -> Needs:
    certs = False
    sg_names: set[str] = set()
    tg_names: set[str] = set()
    trust_stores: set[str] = set()
    acl_names: set[str] = {
        p.spec.wafv2_acl_name for p in objects.ingress_class_params if p.spec.wafv2_acl_name
    }

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            name = ci_get(value, "targetGroupName")
            if isinstance(name, str):
                tg_names.add(name)
            for v in value.values():
                scan(v)
        elif isinstance(value, list):
            for v in value:
                scan(v)

    for ing in objects.ingresses:
        ann = ing.metadata.annotations
        if (
            "HTTPS" in ann.get(PREFIX + "listen-ports", "")
            and PREFIX + "certificate-arn" not in ann
        ) or (any(t.secret_name for t in ing.spec.tls) and PREFIX + "certificate-arn" not in ann):
            certs = True
        trust_stores |= _trust_store_names(ann.get(PREFIX + "mutual-authentication", "[]"))
        if ann.get(PREFIX + "wafv2-acl-name"):
            acl_names.add(ann[PREFIX + "wafv2-acl-name"].strip())
        for s in ann.get(PREFIX + "security-groups", "").split(","):
            if s.strip() and not s.strip().startswith("sg-"):
                sg_names.add(s.strip())
        for k, v in ann.items():
            if k.startswith(PREFIX + "actions."):
                with contextlib.suppress(json.JSONDecodeError):
                    scan(json.loads(v))
    if any(li.protocol == "HTTPS" for g in objects.gateways for li in g.spec.listeners):
        certs = True  # discovery by listener hostname, and the certificates imported earlier
    return Needs(certs, sg_names, tg_names, acl_names, trust_stores)


class Engine:
    def __init__(
        self, settings: Settings, clients: AwsClients, resolver: EniResolver | None = None
    ) -> None:
        self.settings = settings
        self.clients = clients
        # network interface lookups; kept between runs when given (a long-lived engine)
        self.resolver = resolver

    def group(self, objects: ObjectSet) -> Grouping:
        return group_ingresses(
            objects.ingresses,
            objects.ingress_classes,
            objects.ingress_class_params,
            self.settings.build_settings(),
        )

    def run(
        self, objects: ObjectSet, mode: Mode, prune: bool = False, only: Iterable[str] | None = None
    ) -> Report:
        before = Counter(self.clients.calls)
        grouping = self.group(objects)
        groups = grouping.groups
        if only is not None:
            wanted = set(only)
            groups = {k: g for k, g in groups.items() if k in wanted or g.resource_name in wanted}
        gateways = our_gateways(objects, self.settings.build_settings())
        if only is not None:
            gateways = {
                k: g for k, g in gateways.items() if k in wanted or k.replace("/", ".") in wanted
            }
        report = Report(ignored=grouping.ignored, notes=list(objects.notes))
        for key, reason in grouping.ignored:
            log_event(log, "ingress ignored", ingress=key, reason=reason)
        if prune and not objects.ingresses and not objects.gateways:
            raise GuardRailError(
                "the files hold no Ingress at all; refusing to prune every load balancer of "
                f"cluster {self.settings.cluster_name} (use albctl delete for that)"
            )
        needs = needs_of(objects)
        observer = Observer(self.clients, self.settings.cluster_name, read_attributes=False)
        # Gateways taking an IngressGroup's load balancer over (albctl.io/adopt-ingress-group)
        adopting = {
            gid: src
            for gid, gw in gateways.items()
            if (src := adopted_group(gw.metadata.annotations))
        }
        wanted_stacks = set(groups) | set(gateways) | set(adopting.values())
        observed = observer.observe(None if prune else wanted_stacks)
        inventory = self._inventory(needs) if mode != "delete" else None
        observed = with_certificates(
            self.clients, self.settings.cluster_name, observed, inventory, needs.certificates
        )
        run = _Run(self, objects, mode, observer, inventory)
        lbc = self._lbc_stacks(set(groups), observed, mode)
        lbc_gateways = self._lbc_stacks(set(gateways) - set(adopting), observed, mode, True)
        empty = ObservedStack(group_id="", backend_security_group=observer.backend_security_group)
        handed = {src: gid for gid, src in adopting.items()}
        for gid, group in sorted(groups.items()):
            if gid in handed:
                report.notes.append(
                    f"IngressGroup {gid}: its load balancer is Gateway {handed[gid]}'s "
                    f"({ADOPT_ANNOTATION}); its Ingresses are not reconciled"
                )
                continue
            obs = observed.get(gid, empty.model_copy(update={"group_id": gid}))
            report.outcomes.append(run.group(gid, group, obs, lbc.get(gid)))
        for gid, gw in sorted(gateways.items()):
            obs = observed.get(gid, empty.model_copy(update={"group_id": gid}))
            src = adopting.get(gid) if obs.empty else None
            source = (src, observed.get(src), grouping.groups.get(src)) if src else None
            report.outcomes.append(run.gateway(gid, gw, obs, source, lbc_gateways.get(gid)))
        if prune:
            all_gateways = our_gateways(objects, self.settings.build_settings())
            keep = set(grouping.groups) | set(all_gateways) | set(adopting.values())
            for gid in sorted(set(observed) - keep):
                log_event(log, "pruning stack", group=gid)
                report.outcomes.append(run.delete(gid, observed[gid], pruned=True))
        if only is None and objects.target_group_bindings:
            vpc = inventory.vpc_id if inventory else cluster_vpc(self.clients, self.settings.vpc_id)
            report.bindings = run_bindings(
                self.clients, objects, mode, vpc, self.settings.cluster_name
            )
        report.aws_calls = Counter(self.clients.calls) - before
        return report

    def _inventory(self, needs: Needs) -> Inventory:
        return discover_inventory(
            self.clients,
            self.settings.vpc_id,
            needs.certificates,
            needs.security_groups,
            needs.target_groups,
            needs.web_acls,
            cluster=self.settings.cluster_name,
            trust_store_names=needs.trust_stores,
        )

    def _lbc_stacks(
        self, gids: set[str], observed: dict[str, ObservedStack], mode: Mode, gateways: bool = False
    ) -> dict[str, ObservedStack]:
        """With --take-over-lbc: LBC's stacks of the groups (or Gateways) albctl has no stack
        for yet."""
        if not self.settings.take_over_lbc or mode == "delete":
            return {}
        missing = {g for g in gids if g not in observed or observed[g].empty}
        stacks = LbcStacks(self.clients, self.settings.cluster_name)
        return stacks.observe_gateways(missing) if gateways else stacks.observe(missing)

    def _build(
        self,
        group: Group,
        objects: ObjectSet,
        services: dict[str, Any],
        inventory: Any,
        obs: ObservedStack,
        bs: Any,
    ) -> BuildResult:
        inventory = with_existing_load_balancer(inventory, obs)
        ix = build_indexes(objects)
        return build_group(
            GroupInput(
                group=group,
                services=services,
                endpoint_slices=objects.endpoint_slices,
                nodes=objects.nodes,
                inventory=inventory,
                settings=bs,
                secrets={s.key: s for s in objects.secrets},
                now=datetime.datetime.now(datetime.UTC),
                pod_gates=ix.pod_gates,
                slices_index=ix.slices,
            )
        )


class _Run:
    """One run of the engine over the groups of a set of files."""

    def __init__(
        self,
        engine: Engine,
        objects: ObjectSet,
        mode: Mode,
        observer: Observer,
        inventory: Inventory | None,
    ) -> None:
        self.e = engine
        self.settings = engine.settings
        self.objects = objects
        self.mode = mode
        self.observer = observer
        self.inventory = inventory
        vpc = inventory.vpc_id if inventory else self.settings.vpc_id
        self.vpc = vpc
        self.net = TargetNetworking(
            engine.clients,
            self.settings.cluster_name,
            vpc,
            NetworkingSettings(self.settings.enable_backend_sg, self.settings.backend_sg),
            engine.resolver,
        )
        self.hints = instance_hints(objects.endpoint_slices, objects.nodes)
        self.services = {s.key: s for s in objects.services}
        # what the cluster's stacks need from the backend group (revocations): read once
        self.needs = StackNeeds(self.net, observer, self.hints)

    def group(
        self, gid: str, group: Group, obs: ObservedStack, lbc: ObservedStack | None = None
    ) -> GroupOutcome:
        def build(o: ObservedStack) -> BuildResult:
            assert self.inventory is not None
            return self.e._build(
                group,
                self.objects,
                self.services,
                self.inventory,
                o,
                self.settings.build_settings(),
            )

        return self._unit(gid, obs, build, {m.key for m in group.members}, lbc)

    def gateway(
        self,
        gid: str,
        gw: Gateway,
        obs: ObservedStack,
        source: tuple[str, ObservedStack | None, Group | None] | None = None,
        lbc: ObservedStack | None = None,
    ) -> GroupOutcome:
        """A Gateway's stack; ``source``: the IngressGroup whose load balancer it adopts (its
        id, its stack in AWS, its Ingresses in the files); ``lbc``: LBC's stack of the same
        Gateway, taken over (--take-over-lbc)."""

        def build(o: ObservedStack) -> BuildResult:
            assert self.inventory is not None
            ix = build_indexes(self.objects)
            got = build_gateway(
                gateway_input(
                    self.objects,
                    gw,
                    with_existing_load_balancer(self.inventory, o),
                    self.settings.build_settings(),
                    now=datetime.datetime.now(datetime.UTC),
                    pod_gates=ix.pod_gates,
                    slices_index=ix.slices,
                )
            )
            statuses.append(got.status)
            return got.result

        def handover(stack: Stack) -> Adoption:
            assert source is not None
            src, group_obs, group = source
            ingress_stack = None
            if group is not None and group.members and self.inventory is not None:
                got = self.e._build(
                    group,
                    self.objects,
                    self.services,
                    self.inventory,
                    group_obs or obs,
                    self.settings.build_settings(),
                )
                ingress_stack = got.stack
            cluster = self.settings.cluster_name
            return take_group(f"Gateway/{gw.key}", src, stack, group_obs, ingress_stack, cluster)

        statuses: list[GatewayStatus] = []
        outcome = self._unit(
            gid,
            obs,
            build,
            {f"Gateway/{gw.key}"},
            lbc,
            adopt=handover if source is not None else None,
            build_from=source[1] if source is not None else None,
            gateway_key=gw.key,
        )
        outcome.gateway = statuses[0] if statuses else None
        return outcome

    def _unit(
        self,
        gid: str,
        obs: ObservedStack,
        build_fn: Callable[[ObservedStack], BuildResult],
        members: set[str],
        lbc: ObservedStack | None = None,
        adopt: Callable[[Stack], Adoption] | None = None,
        build_from: ObservedStack | None = None,
        gateway_key: str | None = None,
    ) -> GroupOutcome:
        """``lbc``: LBC's stack to take over; ``adopt``: the adoption of an IngressGroup's
        stack (built from ``build_from``, its load balancer as it is)."""
        if self.mode == "delete":
            return self.delete(gid, obs)
        start = time.monotonic()
        outcome = GroupOutcome(group_id=gid, plan=Plan(group_id=gid))
        try:
            build = build_fn(lbc or build_from or obs)
            outcome.build = build
            _log_build(gid, build)
            stack = build.stack
            frozen = set(build.invalid)
            if build.group_error is not None:
                frozen |= members
            adopted: list[Change] = []
            if lbc is not None and stack is not None:
                check_adoptable(gid, sorted(build.invalid), build.group_error is not None)
                adoption = adopt_stack(
                    lbc,
                    stack,
                    self.settings.cluster_name,
                    self._lbc_backend(stack, lbc, obs),
                    gateway_ref(gateway_key) if gateway_key else None,
                    gateway_target_group_ids(lbc.target_groups, stack, gateway_key)
                    if gateway_key
                    else None,
                )
                backend = adoption.observed.backend_security_group or obs.backend_security_group
                obs = adoption.observed.model_copy(update={"backend_security_group": backend})
                adopted = adoption.changes
            if adopt is not None and stack is not None:
                adoption = adopt(stack)
                backend = obs.backend_security_group
                obs = adoption.observed.model_copy(update={"backend_security_group": backend})
                adopted = adoption.changes
                frozen.add(LEFTOVER_MEMBER)  # held while placing, deleted last
            if stack is not None:
                obs = self.net.prepare(stack, obs, create=self.mode == "apply")
                obs = self.observer.for_desired(obs, stack)
            outcome.plan = diff_stack(stack, obs, frozen)
            outcome.plan.changes[:0] = adopted
            if adopt is not None:
                outcome.plan.changes = handover_order(outcome.plan.changes, obs)
            # every member invalid: no stack, and nothing of the group is touched
            self._apply(outcome, stack, obs, networking=stack is not None)
        except AlbctlError as exc:
            outcome.error = str(exc)
            log_event(log, "group failed", logging.ERROR, group=gid, error=str(exc))
        outcome.duration = time.monotonic() - start
        return outcome

    def _lbc_backend(
        self, stack: Stack, lbc: ObservedStack, obs: ObservedStack
    ) -> LbcBackend | None:
        s = self.settings
        return LbcStacks(self.e.clients, s.cluster_name).backend_to_adopt(
            stack, lbc, obs.backend_security_group, s.enable_backend_sg, s.backend_sg
        )

    def delete(self, gid: str, obs: ObservedStack, pruned: bool = False) -> GroupOutcome:
        start = time.monotonic()
        outcome = GroupOutcome(group_id=gid, plan=diff_stack(None, obs), pruned=pruned)
        try:
            if self.mode != "plan" and outcome.plan.changes:
                Applier(
                    self.e.clients, self.settings.cluster_name, self.vpc
                ).check_deletion_protection(outcome.plan)
                obs = self.net.prepare(None, obs, create=True)
            self._apply(outcome, None, obs, networking=self.mode != "plan")
        except AlbctlError as exc:
            outcome.error = str(exc)
            log_event(log, "group failed", logging.ERROR, group=gid, error=str(exc))
        outcome.duration = time.monotonic() - start
        return outcome

    def _apply(
        self, outcome: GroupOutcome, stack: Stack | None, obs: ObservedStack, networking: bool
    ) -> None:
        gid = outcome.group_id
        log_event(log, "planned", group=gid, changes=len(outcome.plan.changes))
        managed_sg = next(
            (s.group_id for s in obs.security_groups if s.resource_id == MANAGED_SG_ID), None
        )
        if self.mode != "plan" and outcome.plan.changes:
            build = outcome.build
            applier = Applier(
                self.e.clients,
                self.settings.cluster_name,
                self.vpc,
                materials=build.materials if build else None,
                client_secrets=build.client_secrets if build else None,
            )
            outcome.result = applier.apply(outcome.plan, obs)
            managed_sg = outcome.result.security_group_id
        elif obs.load_balancers:
            lb = obs.load_balancers[0]
            outcome.result = ApplyResult(
                group_id=gid, load_balancer_arn=lb.arn, dns_name=lb.dns_name
            )
        if not networking:
            return
        backend = obs.backend_security_group
        dry = self.mode == "plan"
        others = self.needs.others(gid, backend)
        rules = self.net.finish(stack, obs, managed_sg, self.hints, others, dry_run=dry)
        if not dry:
            self.needs.applied(gid, rules, backend)
        outcome.networking = rules
        if dry:
            outcome.plan.changes += rule_changes(_without_adopted(rules, outcome.plan))
        for w in rules.warnings:
            log_event(log, "security group rule skipped", logging.WARNING, group=gid, reason=w)


def _without_adopted(rules: RulesReport, plan: Plan) -> RulesReport:
    """A plan's rules without those LBC added, which the adoption of its backend group
    describes as albctl's (kept, not authorized again)."""
    adopted = {
        (sg, port)
        for c in plan.changes
        if c.action == "adopt" and isinstance(c.observed, LbcBackend)
        for sg, port in c.observed.rules
    }
    if not adopted:
        return rules
    authorized = {
        sg: frozenset(p for p in ports if (sg, p) not in adopted)
        for sg, ports in rules.authorized.items()
    }
    authorized = {sg: ports for sg, ports in authorized.items() if ports}
    return dataclasses.replace(rules, authorized=authorized)


def rule_changes(rules: RulesReport) -> list[Change]:
    """Planned rule changes on the targets' security groups, one change per group."""
    out = []
    for sg in sorted(set(rules.authorized) | set(rules.revoked)):
        details: dict[str, Any] = {"source": rules.source}
        if sg in rules.authorized:
            details["authorize"] = [f"tcp/{p}" for p in sorted(rules.authorized[sg])]
        if sg in rules.revoked:
            details["revoke"] = [f"tcp/{p}" for p in sorted(rules.revoked[sg])]
        out.append(Change("update", "SecurityGroupRules", sg, details))
    return out


def _log_build(gid: str, build: BuildResult) -> None:
    for member, err in build.invalid.items():
        log_event(
            log,
            "invalid ingress left out",
            logging.WARNING,
            group=gid,
            ingress=member,
            error=str(err),
        )
    for obj, msg in build.warnings:
        log_event(log, "warning", logging.WARNING, group=gid, object=obj, message=msg)
    if build.group_error is not None:
        log_event(log, "group not built", logging.WARNING, group=gid, error=str(build.group_error))
