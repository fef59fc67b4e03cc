"""Reconcile one IngressGroup of a live cluster, and the fast path for targets.

Full reconcile: finalizers on members first, then build (pure) → observe → diff (pure) →
apply; then Ingress status, Events, the LoadBalancerGroup status, and finalizers removed from
members that left. The fast path (EndpointSlice/Node changes) registers and deregisters
targets of the affected target groups only.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from albctl.aws.apply import Applier
from albctl.aws.certificates import with_certificates
from albctl.aws.clients import AwsClients, error_code, is_mutating
from albctl.aws.consistency import Recent, unlisted
from albctl.aws.discover import DiscoveryCache, discover_inventory
from albctl.aws.observe import Observer, TagCache
from albctl.config import Settings
from albctl.controller.engine import needs_of
from albctl.controller.handover import adopter_of, release_handed_over
from albctl.controller.indexes import build_indexes
from albctl.controller.metrics import Metrics
from albctl.controller.networking import ControllerNetworking
from albctl.controller.snapshot import Snapshotter
from albctl.controller.takeover import Takeover
from albctl.errors import AlbctlError, GuardRailError, InvalidInputError
from albctl.kube.api import KubeError
from albctl.kube.events import EventRecorder, ObjectRef, now_rfc3339
from albctl.kube.secrets import SecretReader
from albctl.kube.writer import FINALIZER, KubeWriter
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.adopt import (
    TakeoverRefusedError,
    adopt_stack,
    check_adoptable,
    gateway_ref,
    gateway_target_group_ids,
)
from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.desired import MANAGED_SG_ID, Stack
from albctl.model.diff import Change, Plan, diff_stack
from albctl.model.groups import Group, group_ingresses
from albctl.model.inventory import Inventory
from albctl.model.objects import Ingress, Secret, Service
from albctl.model.observed import ObservedStack, with_existing_load_balancer
from albctl.model.secret_refs import secrets_named, service_keys
from albctl.model.tags import INGRESS_TAG

log = logging.getLogger(__name__)

HISTORY_LIMIT = 20
THROTTLED = (
    "AWS throttled albctl's API calls while reconciling this group; they were retried with "
    "backoff (the albctl_aws_throttles_total metric counts them by operation)"
)


class NotLeaderError(AlbctlError):
    """This replica lost the leader lease: no write may happen."""


def lbg_name(group_id: str) -> str:
    """LoadBalancerGroup name: the explicit group name, or ``<namespace>.<name>``."""
    return group_id.replace("/", ".")


def summarize(changes: list[Change]) -> str:
    if not changes:
        return "no changes"
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.action] = counts.get(c.action, 0) + 1
    verbs = {
        "adopt": "adopted",
        "create": "created",
        "update": "updated",
        "replace": "replaced",
        "delete": "deleted",
    }
    head = ", ".join(f"{n} {verbs[a]}" for a, n in sorted(counts.items()))
    items = ", ".join(f"{c.action} {c.kind} {c.id}" for c in changes[:6])
    more = f" (+{len(changes) - 6} more)" if len(changes) > 6 else ""
    return f"{head}: {items}{more}"


def _record_action(change: Change) -> str:
    """The action in the LoadBalancerGroup's records (the CRD's enum: create, update, replace,
    delete, adopt)."""
    return change.action


def _certificate_miss(build: BuildResult) -> bool:
    """Whether a host found no issued ACM certificate (a warning or a left-out member)."""
    missed = any("no issued ACM certificate" in msg for _, msg in build.warnings)
    return missed or any("needs a certificate" in str(e) for e in build.invalid.values())


@dataclass
class _IngressIndex:
    by_key: dict[str, Ingress]
    by_group: dict[str, set[str]]  # group id -> keys of its Ingresses (valid or not)
    by_hostname: dict[str, set[str]]  # load balancer hostname in status -> keys


def _hostnames(raw: dict[str, Any] | None) -> set[str]:
    """The load balancer hostnames in an Ingress's status."""
    lbs = (((raw or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return {str(x["hostname"]) for x in lbs if isinstance(x, dict) and x.get("hostname")}


def _fingerprint(stack: Stack | None, invalid: list[str]) -> str:
    data = json.dumps(
        [stack.model_dump(mode="json") if stack else None, sorted(invalid)], sort_keys=True
    )
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass
class GroupMemory:
    """What the controller remembers of a group between reconciles (lost on restart)."""

    tg_arns: dict[str, str] = field(default_factory=dict)
    lb_arn: str | None = None  # described even before the tagging API lists it
    tg_names: dict[str, str] = field(default_factory=dict)
    targets: dict[str, frozenset[tuple[str, int]]] = field(default_factory=dict)
    fingerprint: str | None = None
    inventory: Inventory | None = None
    secrets: dict[str, Secret] = field(default_factory=dict)  # TLS Secrets last read


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        writer: KubeWriter,
        recorder: EventRecorder,
        snapshots: Snapshotter,
        metrics: Metrics,
        is_leader: Callable[[], bool],
        tag_ttl: float = 300.0,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.writer = writer
        self.recorder = recorder
        self.snapshots = snapshots
        self.metrics = metrics
        self.is_leader = is_leader
        self.memory: dict[str, GroupMemory] = {}
        self.member_of: dict[str, str] = {}
        self._grouped: tuple[tuple[Any, ...], tuple[dict[str, Group], dict[str, str]]] | None = None
        self.cert_count = 0
        self.tag_cache = TagCache(ttl=tag_ttl)
        # what this process created lately: a read that does not list it yet is stale
        self.recent = Recent()
        self.networking = ControllerNetworking(
            settings, clients, self.tag_cache, all_groups=self.group_ids
        )
        self.discovery = DiscoveryCache()  # subnets and ACM certificates between reconciles
        # the cluster's backend security group once seen (forgotten when a reconcile fails:
        # it may have been deleted by hand)
        self.backend_sg: str | None = None
        self.secret_reader = SecretReader(writer.api)
        self.takeover = Takeover(settings, clients, writer, self.tag_cache)
        self._local = threading.local()
        self._lock = threading.Lock()
        # called with the names of target groups whose registered targets may have changed
        # (pod readiness gates look at them again)
        self.on_target_groups: Callable[[set[str]], None] = lambda names: None
        # stacks of other kinds (Gateways: albctl.controller.gateways) by id prefix: their
        # reconcile (the same outcome as an IngressGroup's) and the ids of their stacks
        self.kinds: dict[str, tuple[Callable[[str], Any], Callable[[], set[str]]]] = {}
        clients.hooks.append(self._on_aws_call)
        clients.guards.append(self._guard)
        clients.throttle_hooks.append(self._on_throttle)

    # --- AWS call accounting and the leader guard ------------------------------------------

    def _on_aws_call(self, service: str, operation: str) -> None:
        self.metrics.aws_calls.labels(service, operation).inc()
        n = getattr(self._local, "calls", None)
        if n is not None:
            self._local.calls = n + 1

    def _guard(self, service: str, operation: str) -> None:
        """Before every attempt of an AWS call, retries included: a write is sent only while
        this replica is the leader (with shards: holds the shard of the work in hand)."""
        if is_mutating(operation) and not self.is_leader():
            raise NotLeaderError(f"not the leader: refusing {service}:{operation}")

    def _on_throttle(self, service: str, operation: str) -> None:
        self.metrics.aws_throttles.labels(service, operation).inc()
        n = getattr(self._local, "throttles", None)
        if n is not None:
            self._local.throttles = n + 1

    def memory_of(self, gid: str) -> GroupMemory:
        with self._lock:
            return self.memory.setdefault(gid, GroupMemory())

    # --- grouping ------------------------------------------------------------------------

    def _groups(self, objs: ObjectSet) -> tuple[dict[str, Group], dict[str, str]]:
        """Groups of the Ingresses that are not being deleted, and the group of every Ingress
        of ours (deleting ones included); computed once per snapshot."""
        hit: tuple[dict[str, Group], dict[str, str]] | None = objs.derived.get("groups")
        if hit is not None:
            return hit
        # the grouping depends on the Ingresses and classes only: an EndpointSlice change (a
        # new object set) does not regroup the cluster
        revisions = objs.derived.get("revisions") or {}
        key = tuple(revisions.get(k) for k in ("Ingress", "IngressClass", "IngressClassParams"))
        with self._lock:
            last = self._grouped
        if revisions and last is not None and last[0] == key:
            hit = last[1]
        else:
            hit = self._grouping(objs)
            if revisions:
                with self._lock:
                    self._grouped = (key, hit)
        objs.derived["groups"] = hit
        return hit

    def _grouping(self, objs: ObjectSet) -> tuple[dict[str, Group], dict[str, str]]:
        bs = self.settings.build_settings()
        live = [i for i in objs.ingresses if not i.metadata.deletion_timestamp]
        grouping = group_ingresses(live, objs.ingress_classes, objs.ingress_class_params, bs)
        every = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, bs)
        where: dict[str, str] = {}
        for gid, g in every.groups.items():
            for m in g.members:
                where[m.key] = gid
            for k in g.invalid:
                where[k] = gid
        return grouping.groups, where

    def group_ids(self) -> set[str]:
        objs = self.snapshots.objects()
        _, where = self._groups(objs)
        out = set(where.values())
        for _, ids in self.kinds.values():
            out |= ids()
        return out

    # --- the full reconcile ----------------------------------------------------------------

    def reconcile(self, gid: str) -> None:
        if not self.is_leader():
            raise NotLeaderError("not the leader")
        start = time.monotonic()
        self._local.calls = 0
        self._local.throttles = 0
        result = "Failed"
        plan: Plan | None = None
        build: BuildResult | None = None
        lb: dict[str, Any] | None = None
        error: str | None = None
        members: list[Ingress] = []
        leaving: list[Ingress] = []
        try:
            other = next((fn for p, (fn, _) in self.kinds.items() if gid.startswith(p)), None)
            run = other or self._reconcile
            plan, build, lb, members, leaving, result = run(gid)
        except NotLeaderError:
            raise
        except TakeoverRefusedError as exc:
            error = str(exc)
            self._local.reason = "TakeoverRefused"
            members = self._members(gid)
            self.metrics.reconcile_errors.labels(type(exc).__name__).inc()
            log_event(log, "takeover refused", logging.WARNING, group=gid, error=error)
            raise
        except AlbctlError as exc:
            error = str(exc)
            self.backend_sg = None
            self.metrics.reconcile_errors.labels(type(exc).__name__).inc()
            log_event(log, "reconcile failed", logging.WARNING, group=gid, error=error)
            raise
        except Exception as exc:
            error = repr(exc)
            self.backend_sg = None
            self.metrics.reconcile_errors.labels(type(exc).__name__).inc()
            log.exception("reconcile crashed", extra={"group": gid})
            raise
        finally:
            duration = time.monotonic() - start
            calls = int(getattr(self._local, "calls", 0) or 0)
            throttles = int(getattr(self._local, "throttles", 0) or 0)
            self._local.calls = self._local.throttles = None
            self.metrics.reconcile_total.labels(result).inc()
            self.metrics.reconcile_duration.observe(duration)
            if result != "Failed":
                self.metrics.last_success.labels(gid).set(time.time())
            if self.is_leader():
                self._report(
                    gid,
                    result,
                    plan,
                    build,
                    lb,
                    members,
                    leaving,
                    error,
                    duration,
                    calls,
                    throttles,
                )

    def _members(self, gid: str) -> list[Ingress]:
        group = self._groups(self.snapshots.objects())[0].get(gid)
        return [m.ingress for m in group.members] if group else []

    def _reconcile(
        self, gid: str
    ) -> tuple[Plan, BuildResult | None, dict[str, Any] | None, list[Ingress], list[Ingress], str]:
        objs = self.snapshots.objects()
        groups, where = self._groups(objs)
        group = groups.get(gid)
        members = [m.ingress for m in group.members] if group else []
        observer = Observer(
            self.clients,
            self.settings.cluster_name,
            self.tag_cache,
            read_attributes=False,
            backend_security_group=self.backend_sg,
        )
        observed = self.read_stack(gid, observer)
        adopter = adopter_of(objs, gid, self.settings.build_settings())
        if adopter is not None:
            released = release_handed_over(self.writer, objs, where, gid, observed, adopter)
            return Plan(group_id=gid), None, None, [], released, "Succeeded"
        # --take-over-lbc: LBC's stack of a group albctl has none for (refused while LBC runs)
        lbc = self.takeover.stack(gid, observed) if group and group.members else None
        leaving = self._leaving(gid, objs, where, group, observed)
        # finalizers before anything is created in AWS
        self._add_finalizers(members, set(group.invalid) if group else set())
        plan, build, observed = self._plan(gid, group, objs, observed, observer, leaving, lbc)
        mem = self.memory_of(gid)
        fp = _fingerprint(build.stack if build else None, sorted(build.invalid) if build else [])
        drift = bool(plan.changes) and mem.fingerprint == fp
        lb_info, arns, managed_sg = self.apply_plan(plan, build, observed)
        if build is None or build.stack is not None:
            stack = build.stack if build else None
            vpc = self.settings.vpc_id or (mem.inventory.vpc_id if mem.inventory else None)
            rules = self.networking.finish(gid, stack, observed, managed_sg, objs, vpc)
            self._report_rules(rules.warnings, members)
        if drift:
            self._report_drift(gid, plan, members)
        mem.fingerprint = fp
        mem.lb_arn = lb_info["arn"] if lb_info else None
        self.remember(gid, build.stack if build else None, arns)
        for ing in members:
            self.member_of[ing.key] = gid
        # after AWS: status, then finalizers of members that left
        self._publish(gid, members, leaving, where, lb_info)
        self.takeover.release(members, {t.arn for t in observed.target_groups} | set(arns.values()))
        res = "PartiallyApplied" if build and (build.invalid or build.group_error) else "Succeeded"
        log_event(
            log,
            "reconciled",
            group=gid,
            changes=len(plan.changes),
            result=res,
            members=len(members),
            leaving=len(leaving),
        )
        return plan, build, lb_info, members, leaving, res

    def _leaving(
        self,
        gid: str,
        objs: ObjectSet,
        where: Mapping[str, str],
        group: Group | None,
        observed: ObservedStack,
    ) -> list[Ingress]:
        """Ingresses under our finalizer that leave the group: deleted, or moved out while
        readable. Raises when every Ingress left its class at once (a class mistake)."""
        tagged = {r.tags.get(INGRESS_TAG) for r in observed.rules} | {
            t.tags.get(INGRESS_TAG) for t in observed.target_groups
        }
        dns = {lb.dns_name for lb in observed.load_balancers if lb.dns_name}
        index = self._ingress_index(objs, where)
        # the Ingresses that can concern this group, not the whole cluster's (a resync of N
        # groups stays linear in N)
        was_here = {k for k, g in list(self.member_of.items()) if g == gid}
        was_here |= {k for k in tagged if k} | {
            k for h in dns for k in index.by_hostname.get(h, ())
        }
        leaving: list[Ingress] = []
        for key in sorted(was_here | index.by_group.get(gid, set())):
            ing = index.by_key.get(key)
            if ing is None or FINALIZER not in ing.metadata.finalizers:
                continue
            now_in = where.get(key)
            deleting = bool(ing.metadata.deletion_timestamp)
            here = key in was_here
            if (
                (deleting and now_in == gid)
                or (not deleting and now_in != gid and here)
                or (deleting and now_in is None and here)
            ):
                leaving.append(ing)
        # every Ingress of ours left albctl at once while still readable: an IngressClass (or
        # --ingress-class) mistake rather than many users leaving together; only deletions
        # (finalizer-observed) release their load balancers then
        departed = (
            [
                i.key
                for i in objs.ingresses
                if FINALIZER in i.metadata.finalizers and not i.metadata.deletion_timestamp
            ]
            if not where
            else []
        )
        if not where and len(departed) > 1:
            held = [i.key for i in leaving if not i.metadata.deletion_timestamp]
            leaving = [i for i in leaving if i.metadata.deletion_timestamp]
            if held and group is None and not leaving and not observed.empty:
                raise GuardRailError(
                    f"every Ingress albctl served ({len(departed)}, {', '.join(sorted(departed)[:5])}) "
                    f"left its class at once: refusing to delete load balancer group {gid} (an "
                    "IngressClass or --ingress-class mistake is more likely than all of them "
                    "leaving together); delete the Ingresses to release their load balancers"
                )
        return leaving

    def _group_input(
        self, group: Group, objs: ObjectSet, inventory: Inventory, secrets: Mapping[str, Secret]
    ) -> GroupInput:
        """One group's build input; what every group's build reads of the cluster (Services
        by key, slices by Service, pod gates) is indexed once per object set."""
        ix = build_indexes(objs)
        return GroupInput(
            group,
            ix.services,
            objs.endpoint_slices,
            objs.nodes,
            inventory,
            self.settings.build_settings(),
            secrets=secrets,
            now=datetime.datetime.now(datetime.UTC),
            pod_gates=ix.pod_gates,
            slices_index=ix.slices,
        )

    def _ingress_index(self, objs: ObjectSet, where: Mapping[str, str]) -> _IngressIndex:
        """Ingresses by key, by group and by the load balancer hostname in their status,
        computed once per object set."""
        hit: _IngressIndex | None = objs.derived.get("ingress_index")
        if hit is None:
            hit = _IngressIndex({i.key: i for i in objs.ingresses}, {}, {})
            for key, g in where.items():
                hit.by_group.setdefault(g, set()).add(key)
            for key in hit.by_key:
                for h in _hostnames(self.snapshots.raw("Ingress", key)):
                    hit.by_hostname.setdefault(h, set()).add(key)
            objs.derived["ingress_index"] = hit
        return hit

    def _add_finalizers(self, members: list[Ingress], invalid_keys: set[str]) -> None:
        for ing in members:
            if FINALIZER not in ing.metadata.finalizers:
                self.writer.add_finalizer(ing.metadata.namespace, ing.metadata.name)
        for k in invalid_keys:
            ns, _, name = k.partition("/")
            raw = self.snapshots.raw("Ingress", k)
            if (
                raw is not None
                and FINALIZER not in (raw["metadata"].get("finalizers") or [])
                and not raw["metadata"].get("deletionTimestamp")
            ):
                self.writer.add_finalizer(ns, name)

    def _plan(
        self,
        gid: str,
        group: Group | None,
        objs: ObjectSet,
        observed: ObservedStack,
        observer: Observer,
        leaving: list[Ingress],
        lbc: ObservedStack | None = None,
    ) -> tuple[Plan, BuildResult | None, ObservedStack]:
        """The group's build and plan (a delete of the whole stack when it has no member);
        with ``lbc``, LBC's stack adopted first."""
        build: BuildResult | None = None
        if group is not None and (group.members or group.invalid):
            ours = observed
            inventory, observed, build = self._desired(gid, group, objs, lbc or observed)
            adopted: list[Change] = []
            if lbc is not None and build.stack is not None:
                observed, adopted = self._adopt(gid, build, observed, ours)
            if build.stack is not None:
                vpc = self.settings.vpc_id or inventory.vpc_id
                observed = self.networking.prepare(build.stack, observed, None, vpc)
                self.backend_sg = observed.backend_security_group or self.backend_sg
                observed = observer.for_desired(observed, build.stack)
            frozen = set(build.invalid)
            if build.group_error is not None:
                frozen |= {m.key for m in group.members}
            plan = diff_stack(build.stack, observed, frozen)
            plan.changes[:0] = adopted
        else:
            if not observed.empty and not leaving:
                # deletes only follow an Ingress deleted under our finalizer, or one that left
                # the group while readable: an Ingress albctl cannot see (not listed: RBAC,
                # --watch-namespace, an informer not synced) never takes its stack along
                raise GuardRailError(
                    f"stack {gid} exists in AWS, but no Ingress albctl can read is leaving it "
                    f"({len(objs.ingresses)} Ingress(es) listed): refusing to delete it (Ingresses "
                    "that cannot be listed are more likely than a deletion albctl did not see); "
                    "to remove an orphaned stack use albctl delete -f or albctl apply --prune"
                )
            observed = with_certificates(
                self.clients, self.settings.cluster_name, {gid: observed}, None
            ).get(gid, observed)
            plan = diff_stack(None, observed)
            if plan.changes:
                vpc = self.settings.vpc_id or self.vpc_of(observed)
                observed = self.networking.prepare(None, observed, plan, vpc)
        return plan, build, observed

    def adopt_lbc(
        self,
        gid: str,
        build: BuildResult,
        lbc: ObservedStack,
        ours: ObservedStack,
        gateway: str | None = None,
    ) -> tuple[ObservedStack, list[Change]]:
        """LBC's stack as AWS holds it once adopted, and the adopt changes (``gateway``:
        ``<ns>/<name>`` of a Gateway whose LBC stack it is)."""
        return self._adopt(gid, build, lbc, ours, gateway)

    def _adopt(
        self,
        gid: str,
        build: BuildResult,
        lbc: ObservedStack,
        ours: ObservedStack,
        gateway: str | None = None,
    ) -> tuple[ObservedStack, list[Change]]:
        """LBC's stack as AWS holds it once adopted, and the adopt changes."""
        assert build.stack is not None
        check_adoptable(gid, sorted(build.invalid), build.group_error is not None)
        have = ours.backend_security_group or self.backend_sg
        backend = self.takeover.backend(build.stack, lbc, have)
        ref = gateway_ref(gateway) if gateway else None
        tg_ids = (
            gateway_target_group_ids(lbc.target_groups, build.stack, gateway) if gateway else None
        )
        adoption = adopt_stack(lbc, build.stack, self.settings.cluster_name, backend, ref, tg_ids)
        sg = adoption.observed.backend_security_group or have
        log_event(log, "adopting LBC's stack", group=gid, resources=len(adoption.changes))
        return adoption.observed.model_copy(update={"backend_security_group": sg}), adoption.changes

    def apply_plan(
        self, plan: Plan, build: BuildResult | None, observed: ObservedStack
    ) -> tuple[dict[str, Any] | None, dict[str, str], str | None]:
        """Apply the plan: (load balancer arn, DNS name and scheme; target group ARNs by id;
        the managed security group)."""
        lb_info: dict[str, Any] | None = None
        desired_names = {
            tg.id: tg.name for tg in (build.stack.target_groups if build and build.stack else ())
        }
        arns = {
            t.resource_id: t.arn
            for t in observed.target_groups
            if desired_names.get(t.resource_id) == t.name
        }
        # a target group adopted from LBC keeps LBC's name: the only one of its id
        ids = [t.resource_id for t in observed.target_groups]
        for t in observed.target_groups:
            if t.resource_id in desired_names and ids.count(t.resource_id) == 1:
                arns.setdefault(t.resource_id, t.arn)
        managed_sg = next(
            (s.group_id for s in observed.security_groups if s.resource_id == MANAGED_SG_ID), None
        )
        if plan.changes:
            vpc = self.settings.vpc_id
            applier = Applier(
                self.clients,
                self.settings.cluster_name,
                vpc,
                self.tag_cache,
                materials=build.materials if build else None,
                recent=self.recent,
                client_secrets=build.client_secrets if build else None,
            )
            if build is not None and build.stack is not None and vpc is None:
                applier.vpc_id = self.vpc_of(observed)
            result = applier.apply(plan, observed)
            if any(c.kind == "Certificate" for c in plan.changes):
                self.discovery.invalidate_certificates()  # the new import must be listed
            managed_sg = result.security_group_id
            arns.update(result.target_group_arns)
            if result.load_balancer_arn:
                lb_info = {"arn": result.load_balancer_arn, "dnsName": result.dns_name}
        elif observed.load_balancers:
            o = observed.load_balancers[0]
            lb_info = {"arn": o.arn, "dnsName": o.dns_name}
        if lb_info is not None and build is not None and build.stack is not None:
            lb_info["scheme"] = build.stack.load_balancer.scheme
            if not lb_info.get("dnsName"):
                lb_info["dnsName"] = self._dns_name(lb_info["arn"])
        return lb_info, arns, managed_sg

    def _publish(
        self,
        gid: str,
        members: list[Ingress],
        leaving: list[Ingress],
        where: Mapping[str, str],
        lb_info: dict[str, Any] | None,
    ) -> None:
        """The members' status hostname; the finalizers (and status) of those that left."""
        hostname = lb_info.get("dnsName") if lb_info else None
        for ing in members:
            raw = self.snapshots.raw("Ingress", ing.key)
            cur = ((raw or {}).get("status") or {}).get("loadBalancer", {}).get("ingress") or []
            if hostname and [x.get("hostname") for x in cur] != [hostname]:
                self.writer.set_ingress_hostname(
                    ing.metadata.namespace, ing.metadata.name, hostname
                )
        active = {m.key for m in members}
        for ing in leaving:
            if ing.key in active:
                continue
            still_member_elsewhere = (
                where.get(ing.key) not in (None, gid) and not ing.metadata.deletion_timestamp
            )
            if not still_member_elsewhere:
                if not ing.metadata.deletion_timestamp:
                    self.writer.set_ingress_hostname(
                        ing.metadata.namespace, ing.metadata.name, None
                    )
                self.writer.remove_finalizer(ing.metadata.namespace, ing.metadata.name)
                self.recorder.record(
                    ObjectRef(
                        "Ingress",
                        ing.metadata.name,
                        ing.metadata.namespace,
                        ing.metadata.uid,
                        "networking.k8s.io/v1",
                    ),
                    "Normal",
                    "Deleted",
                    f"removed from load balancer group {gid}",
                )
            self.member_of.pop(ing.key, None)

    def discover(self, gid: str, objs: ObjectSet, observed: ObservedStack) -> Inventory:
        needs = needs_of(objs)
        inventory = discover_inventory(
            self.clients,
            self.settings.vpc_id,
            needs.certificates,
            needs.security_groups,
            needs.target_groups,
            needs.web_acls,
            cluster=self.settings.cluster_name,
            trust_store_names=needs.trust_stores,
            tag_cache=self.tag_cache,
            cache=self.discovery,
        )
        if needs.certificates:
            if not inventory.certificates and self.cert_count > 0:
                raise GuardRailError(
                    f"ACM returned no issued certificate where {self.cert_count} were seen "
                    "before; not touching HTTPS listeners until certificates are listed again"
                )
            self.cert_count = len(inventory.certificates)
        inventory = with_existing_load_balancer(inventory, observed)
        return inventory

    def groups_of(self, objs: ObjectSet) -> tuple[dict[str, Group], dict[str, str]]:
        """The IngressGroups of an object set (and the group of each Ingress)."""
        return self._groups(objs)

    def desired_of(
        self, gid: str, group: Group, objs: ObjectSet, observed: ObservedStack
    ) -> tuple[Inventory, ObservedStack, BuildResult]:
        """A group's discovery and build (for a Gateway that takes the group over)."""
        return self._desired(gid, group, objs, observed)

    def _desired(
        self, gid: str, group: Group, objs: ObjectSet, observed: ObservedStack
    ) -> tuple[Inventory, ObservedStack, BuildResult]:
        """Discover, then build; a host that found no certificate in a cached list rebuilds
        once with a fresh list (a certificate issued a moment ago is then used at once)."""
        services = build_indexes(objs).services
        secrets = self._read_secrets(group, services)
        self.memory_of(gid).secrets = secrets
        needs_certs = needs_of(objs).certificates
        for fresh in (False, True):
            if fresh:
                self.discovery.invalidate_certificates()
            cached = needs_certs and self.discovery.certificates() is not None
            inventory = self.discover(gid, objs, observed)
            build = build_group(self._group_input(group, objs, inventory, secrets))
            if not (cached and _certificate_miss(build)):
                break
        self.memory_of(gid).inventory = inventory
        seen = with_certificates(
            self.clients, self.settings.cluster_name, {gid: observed}, inventory, needs_certs
        )
        return inventory, seen.get(gid, observed), build

    def read_stack(self, gid: str, observer: Observer) -> ObservedStack:
        """The stack as AWS lists it, read again (a few times, with backoff) while something
        this process created for it lately is not listed yet, or something it deleted is
        still listed: AWS's reads are eventually consistent, and a plan made from such a read
        would create a resource twice (or take a deleted stack for one to delete again)."""
        delay = 0.1
        for attempt in range(7):  # about 5 seconds at most
            if attempt:
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
            mem = self.memory_of(gid)
            known = {*mem.tg_arns.values(), *([mem.lb_arn] if mem.lb_arn else [])}
            observed = observer.observe({gid}, known).get(gid) or ObservedStack(
                group_id=gid, backend_security_group=observer.backend_security_group
            )
            missing = unlisted(self.recent, observed)
            if not missing:
                return observed
            log_event(
                log,
                "stale read: created resources not listed or deleted ones still listed, reading again",
                group=gid,
                missing=len(missing),
            )
        # gone for good (deleted by hand), or back (made again by hand): plan with what is
        log_event(log, "AWS still lists a stale view, planning from it", logging.WARNING, group=gid)
        self.recent.discard(missing)
        self.recent.forget_deleted(missing)
        return observed

    def _read_secrets(self, group: Group, services: Mapping[str, Service]) -> dict[str, Secret]:
        """GET the Secrets the group's Ingresses name: TLS Secrets and OIDC client Secrets
        (no list or watch of Secrets)."""
        ingresses = [m.ingress for m in group.members]
        for key in group.invalid:
            raw = self.snapshots.raw("Ingress", key)
            if raw is not None:
                ingresses.append(Ingress.model_validate(raw))
        out: dict[str, Secret] = {}
        for ing in ingresses:
            backends = {k: services[k] for k in service_keys(ing) if k in services}
            names = secrets_named(ing, backends, self.settings.import_tls_secrets)
            for key in names:
                ns, _, name = key.partition("/")
                if key not in out and (raw := self.secret_reader.get(ns, name)) is not None:
                    out[key] = Secret.model_validate(raw)
        return out

    def vpc_of(self, observed: ObservedStack) -> str | None:
        if observed.load_balancers and observed.load_balancers[0].vpc_id:
            return observed.load_balancers[0].vpc_id
        inv = discover_inventory(self.clients, None, False)
        return inv.vpc_id

    def _dns_name(self, arn: str) -> str | None:
        try:
            lbs = self.clients.elbv2.describe_load_balancers(LoadBalancerArns=[arn])[
                "LoadBalancers"
            ]
            return str(lbs[0]["DNSName"]) if lbs else None
        except Exception as exc:
            if error_code(exc) == "LoadBalancerNotFound":
                return None
            raise

    def remember(self, gid: str, stack: Stack | None, arns: dict[str, str]) -> None:
        """Target group ARNs and targets as applied, for the fast path (no AWS call)."""
        mem = self.memory_of(gid)
        before = set(mem.tg_names.values())
        if stack is None:
            mem.tg_arns.clear()
            mem.targets.clear()
            mem.tg_names.clear()
        else:
            mem.tg_arns = {tg.id: arns[tg.id] for tg in stack.target_groups if tg.id in arns}
            mem.tg_names = {tg.id: tg.name for tg in stack.target_groups if tg.id in arns}
            mem.targets = {
                tg.id: frozenset((t.id, t.port) for t in tg.targets) for tg in stack.target_groups
            }
        names = before | set(mem.tg_names.values())
        if names:
            self.on_target_groups(names)

    def registered_target_group(self, name: str) -> tuple[str, frozenset[tuple[str, int]]] | None:
        """(ARN, targets registered) of a target group of ours by name, as last applied."""
        with self._lock:
            mems = list(self.memory.values())
        for mem in mems:
            for tid, n in list(mem.tg_names.items()):
                arn = mem.tg_arns.get(tid)
                if n == name and arn is not None:
                    return arn, mem.targets.get(tid, frozenset())
        return None

    def group_of_target_group(self, name: str) -> str | None:
        """The group whose target group ``name`` is, as last applied (None: unknown here)."""
        with self._lock:
            mems = list(self.memory.items())
        for gid, mem in mems:
            if name in mem.tg_names.values():
                return gid
        return None

    def forget(self, which: Callable[[str], bool]) -> None:
        """Drop what is remembered of the groups ``which`` selects (their shard moved away
        or came back: the next reconcile starts from AWS, as after a restart)."""
        with self._lock:
            gone = [g for g in self.memory if which(g)]
            for g in gone:
                del self.memory[g]
            for k, g in list(self.member_of.items()):
                if which(g):
                    del self.member_of[k]
        for g in gone:
            self.networking.forget(g)

    # --- the fast path: targets only ---------------------------------------------------------

    def sync_targets(self, gid: str) -> bool:
        """Register/deregister targets of the group's target groups whose targets changed.

        Returns False when a full reconcile is needed instead (unknown target group).
        """
        if not self.is_leader():
            raise NotLeaderError("not the leader")
        objs = self.snapshots.objects()
        groups, _ = self._groups(objs)
        group = groups.get(gid)
        mem = self.memory_of(gid)
        if group is None or not mem.tg_arns or mem.inventory is None:
            return self._full_needed(gid, "group or target groups unknown")
        # no AWS discovery on the fast path: the inventory of the last full reconcile serves
        build = build_group(self._group_input(group, objs, mem.inventory, mem.secrets))
        if build.stack is None and not build.invalid:
            return self._full_needed(gid, "no desired stack")
        stack_tgs = {tg.id: tg for tg in (build.stack.target_groups if build.stack else ())}
        changed = 0
        changed_names: set[str] = set()
        for tid, tg in stack_tgs.items():
            want = frozenset((t.id, t.port) for t in tg.targets)
            if mem.targets.get(tid) == want:
                continue
            if tg.multi_cluster:
                # only recorded targets may be deregistered: the full path reads the record
                return self._full_needed(gid, f"target group {tg.name} is multi-cluster")
            arn = mem.tg_arns.get(tid)
            if arn is None or mem.tg_names.get(tid) != tg.name:
                return self._full_needed(gid, f"target group {tg.name} is new or replaced")
            reg, dereg = self._register(arn, want)
            mem.targets[tid] = want
            changed += 1
            changed_names.add(tg.name)
            log_event(
                log,
                "targets synced",
                group=gid,
                target_group=tg.name,
                registered=len(reg),
                deregistered=len(dereg),
            )
        if changed and build.stack is not None:
            report = self.networking.sync_fast(gid, build.stack, objs)
            if report is not None:
                self._report_rules(report.warnings, [m.ingress for m in group.members])
        self.metrics.target_syncs.labels("changed" if changed else "unchanged").inc()
        if changed_names:
            self.on_target_groups(changed_names)
        return True

    def _full_needed(self, gid: str, reason: str) -> bool:
        """The fast target path gives way to a full reconcile (always False)."""
        log_event(log, "targets: full reconcile needed", group=gid, reason=reason)
        return False

    def _register(
        self, arn: str, want: frozenset[tuple[str, int]]
    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Make the target group's (non-draining) targets ``want``; what was (de)registered."""
        health = self.clients.elbv2.describe_target_health(TargetGroupArn=arn)[
            "TargetHealthDescriptions"
        ]
        have = {
            (h["Target"]["Id"], int(h["Target"]["Port"]))
            for h in health
            if h.get("TargetHealth", {}).get("State") != "draining"
        }
        reg, dereg = sorted(want - have), sorted(have - want)
        for i in range(0, len(reg), 500):
            self.clients.elbv2.register_targets(
                TargetGroupArn=arn, Targets=[{"Id": a, "Port": p} for a, p in reg[i : i + 500]]
            )
        for i in range(0, len(dereg), 500):
            self.clients.elbv2.deregister_targets(
                TargetGroupArn=arn,
                Targets=[{"Id": a, "Port": p} for a, p in dereg[i : i + 500]],
            )
        return reg, dereg

    # --- reporting: Events and the LoadBalancerGroup ----------------------------------------

    def _lbg_ref(self, gid: str, lbg: dict[str, Any] | None) -> ObjectRef:
        uid = (lbg or {}).get("metadata", {}).get("uid", "")
        return ObjectRef("LoadBalancerGroup", lbg_name(gid), "", uid, "albctl.io/v1beta1")

    @staticmethod
    def _ing_ref(ing: Ingress) -> ObjectRef:
        return ObjectRef(
            "Ingress",
            ing.metadata.name,
            ing.metadata.namespace,
            ing.metadata.uid,
            "networking.k8s.io/v1",
        )

    def _report_rules(self, warnings: list[str], members: list[Ingress]) -> None:
        for w in warnings:
            log_event(log, "security group rule skipped", logging.WARNING, reason=w)
            for ing in members:
                self.recorder.record(self._ing_ref(ing), "Warning", "SecurityGroupRuleSkipped", w)

    def _report_drift(self, gid: str, plan: Plan, members: list[Ingress]) -> None:
        for c in plan.changes:
            fields = ", ".join(sorted(c.details)) if c.action == "update" else c.action
            msg = f"{c.kind} {c.id} was changed outside albctl and put back ({fields})"
            log_event(
                log,
                "drift corrected",
                logging.WARNING,
                group=gid,
                kind=c.kind,
                id=c.id,
                fields=fields,
            )
            lbg = self.writer.get_lbg(lbg_name(gid))
            self.recorder.record(self._lbg_ref(gid, lbg), "Warning", "DriftCorrected", msg)
            for ing in members:
                self.recorder.record(self._ing_ref(ing), "Warning", "DriftCorrected", msg)

    def _report(self, *args: Any) -> None:
        """Events and LoadBalancerGroup status; a failure to write them never fails the reconcile."""
        try:
            self._report_inner(*args)
        except KubeError as exc:
            log_event(log, "status not written", logging.WARNING, group=args[0], error=str(exc))

    def _report_inner(
        self,
        gid: str,
        result: str,
        plan: Plan | None,
        build: BuildResult | None,
        lb: dict[str, Any] | None,
        members: list[Ingress],
        leaving: list[Ingress],
        error: str | None,
        duration: float,
        calls: int,
        throttles: int = 0,
    ) -> None:
        name = lbg_name(gid)
        changes = plan.changes if plan else []
        gone = result != "Failed" and not members and not (build and build.invalid) and lb is None
        if gone:
            lbg = self.writer.get_lbg(name)
            if lbg is not None:
                self.writer.delete_lbg(name)
                log_event(log, "load balancer group deleted", group=gid)
            return
        lbg = self.writer.ensure_lbg(name, gid)
        ref = self._lbg_ref(gid, lbg)
        if throttles:
            # one Event per group, its count going up: the message names no number
            self.recorder.record(ref, "Warning", "AWSThrottled", THROTTLED)
        invalid: dict[str, InvalidInputError] = dict(build.invalid) if build else {}
        if build and build.group_error:
            for m in members:
                invalid.setdefault(m.key, build.group_error)
        summary = summarize(changes)
        self._record_events(ref, error, bool(changes), summary, members, invalid, build)
        self.metrics.invalid_ingresses.labels(gid).set(len(invalid))

        now = now_rfc3339()
        record = {
            "time": now,
            "result": result,
            "durationSeconds": round(duration, 3),
            "awsCalls": calls,
            "changes": [{"action": _record_action(c), "kind": c.kind, "id": c.id} for c in changes],
        }
        if error:
            record["message"] = error[:1024]
        status = dict(lbg.get("status") or {})
        history = list(status.get("history") or [])
        if changes or result == "Failed":
            history = [record, *history][:HISTORY_LIMIT]
        member_rows = (
            build.member_rows
            if build is not None and build.member_rows is not None
            else _member_rows(members, leaving, invalid)
        )
        new_status: dict[str, Any] = {
            "groupID": gid,
            "loadBalancer": lb or (status.get("loadBalancer") if result == "Failed" else None),
            "memberCount": len(member_rows),
            "members": member_rows,
            "conditions": _conditions(status, now, lb, result, error, summary, len(invalid)),
            "lastReconcile": record,
            "history": history,
        }
        self.writer.set_lbg_status(name, new_status)

    def _record_events(
        self,
        ref: ObjectRef,
        error: str | None,
        changed: bool,
        summary: str,
        members: list[Ingress],
        invalid: Mapping[str, InvalidInputError],
        build: BuildResult | None,
    ) -> None:
        """Events of one reconcile, on the load balancer group and on the Ingresses."""
        if error:
            # TakeoverRefused: LBC still runs; FailedDeploy otherwise
            reason = getattr(self._local, "reason", None) or "FailedDeploy"
            self._local.reason = None
            msg = f"reconcile failed: {error}"
            self.recorder.record(ref, "Warning", reason, msg)
            for ing in members:
                self.recorder.record(self._ing_ref(ing), "Warning", reason, msg)
        elif changed:
            self.recorder.record(ref, "Normal", "Reconciled", summary)
            for ing in members:
                if ing.key not in invalid:
                    self.recorder.record(self._ing_ref(ing), "Normal", "Reconciled", summary)
        for key, exc in invalid.items():
            self.recorder.record(self._ing_ref_of(key), "Warning", "InvalidIngress", str(exc))
            self.recorder.record(ref, "Warning", "InvalidIngress", str(exc))
        for err in build.secret_errors if build else []:
            ing_ref = self._ing_ref_of(err.obj.removeprefix("Ingress/"))
            self.recorder.record(ing_ref, "Warning", "InvalidTLSSecret", str(err))
            self.recorder.record(ref, "Warning", "InvalidTLSSecret", str(err))
        for obj, msg in build.warnings if build else []:
            ing_ref = self._ing_ref_of(obj.removeprefix("Ingress/"))
            self.recorder.record(ing_ref, "Warning", "CertificateNotFound", msg)

    def _ing_ref_of(self, key: str) -> ObjectRef:
        """The Event reference of the Ingress ``ns/name`` (its uid from the cache, if any)."""
        ns, _, nm = key.partition("/")
        raw = self.snapshots.raw("Ingress", key)
        uid = (raw or {}).get("metadata", {}).get("uid", "")
        return ObjectRef("Ingress", nm, ns, uid, "networking.k8s.io/v1")


def _member_rows(
    members: list[Ingress], leaving: list[Ingress], invalid: Mapping[str, InvalidInputError]
) -> list[dict[str, str]]:
    """The members of a load balancer group's status: active, invalid and leaving ones."""
    member_rows: list[dict[str, str]] = []
    for ing in members:
        bad = invalid.get(ing.key)
        member_rows.append(
            {
                "namespace": ing.metadata.namespace,
                "name": ing.metadata.name,
                "state": "Invalid" if bad else "Active",
                "message": str(bad) if bad else "",
            }
        )
    listed = {m.key for m in members} | set(invalid)
    for ing in leaving:
        if ing.key not in listed:
            member_rows.append(
                {
                    "namespace": ing.metadata.namespace,
                    "name": ing.metadata.name,
                    "state": "Deleting",
                    "message": "leaving the group: its rules and target groups are removed",
                }
            )
    for key, exc in invalid.items():
        if key not in {m.key for m in members}:
            ns, _, nm = key.partition("/")
            member_rows.append(
                {"namespace": ns, "name": nm, "state": "Invalid", "message": str(exc)}
            )
    member_rows.sort(key=lambda r: (r["namespace"], r["name"]))
    return member_rows


def _conditions(
    status: Mapping[str, Any],
    now: str,
    lb: Mapping[str, Any] | None,
    result: str,
    error: str | None,
    summary: str,
    invalid: int,
) -> list[dict[str, Any]]:
    """The Ready and Synced conditions (a transition time moves only when the status does)."""
    prev = {c["type"]: c for c in status.get("conditions") or []}

    def cond(type_: str, ok: bool, reason: str, message: str) -> dict[str, Any]:
        s = "True" if ok else "False"
        old = prev.get(type_)
        ts = old["lastTransitionTime"] if old and old.get("status") == s else now
        return {
            "type": type_,
            "status": s,
            "reason": reason,
            "message": message[:1024],
            "lastTransitionTime": ts,
        }

    ready = lb is not None and result != "Failed"
    synced = result == "Succeeded"
    return [
        cond(
            "Ready",
            ready,
            "LoadBalancerActive" if ready else ("ReconcileFailed" if error else "NoLoadBalancer"),
            f"load balancer {lb['dnsName']} serves every valid member"
            if ready and lb
            else (error or "no load balancer"),
        ),
        cond(
            "Synced",
            synced,
            "Succeeded" if synced else result,
            summary if synced else (error or f"{invalid} member(s) invalid and left out"),
        ),
    ]
