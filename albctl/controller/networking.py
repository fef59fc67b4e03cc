"""The controller's side of the targets' security group rules.

Full reconcile: ``prepare`` before the plan is applied and ``finish`` after it (see
:mod:`albctl.aws.networking`). Fast path: ``sync_fast`` authorizes the rules new targets need
(and revokes what none needs) with what the last full reconcile learnt, without observing
the stack again.

Rules from the shared backend group serve every group of the cluster, so a rule is revoked
only when no group needs it. Unsharded, what the other groups need is known from memory once
each has been reconciled. With shards (``owns`` set) a replica only knows its own groups, so a
group's reconcile only authorizes rules from the shared group; ``revoke_unneeded`` (run by the
holder of shard 0, at its resyncs) reads what every stack in AWS needs, the targets registered
in their target groups, and revokes the rest. Targets are registered before their rules are
authorized, so a rule another replica has just authorized is already backed by a registered
target that this read sees.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from albctl.aws.apply import Applier
from albctl.aws.backend_sg import RulesReport
from albctl.aws.clients import AwsClients
from albctl.aws.enis import EniResolver
from albctl.aws.networking import NetworkingSettings, TargetNetworking
from albctl.aws.observe import Observer, TagCache
from albctl.config import Settings
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.backend_rules import PortsBySG, instance_hints, merge
from albctl.model.desired import BACKEND_SG_ID, MANAGED_SG_ID, Stack
from albctl.model.diff import Plan
from albctl.model.observed import ObservedStack

log = logging.getLogger(__name__)


@dataclass
class _Source:
    rules_source: str | None
    group_id: str | None  # the security group id the rules come from


def _hints(objs: ObjectSet) -> dict[str, str]:
    """Pod IP -> instance of its node, once per object set."""
    hit: dict[str, str] | None = objs.derived.get("instance_hints")
    if hit is None:
        hit = objs.derived["instance_hints"] = instance_hints(objs.endpoint_slices, objs.nodes)
    return hit


class ControllerNetworking:
    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        tag_cache: TagCache,
        all_groups: Callable[[], set[str]] = set,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.tag_cache = tag_cache
        self.resolver = EniResolver(clients)
        self.all_groups = all_groups  # the groups of the cluster as the caches see them
        self._sources: dict[str, _Source] = {}
        # what each group's targets needed from the backend group at its last reconcile
        self._needs: dict[str, PortsBySG] = {}
        self._lock = threading.Lock()
        # sharded: which groups this replica reconciles (the others' needs are read from AWS)
        self.owns: Callable[[str], bool] | None = None

    def _net(self, vpc_id: str | None) -> TargetNetworking:
        return TargetNetworking(
            self.clients,
            self.settings.cluster_name,
            vpc_id or self.settings.vpc_id,
            NetworkingSettings(self.settings.enable_backend_sg, self.settings.backend_sg),
            self.resolver,
        )

    def prepare(
        self, stack: Stack | None, observed: ObservedStack, plan: Plan | None, vpc_id: str | None
    ) -> ObservedStack:
        """Before the diff (stack given) or before applying a delete plan (stack None)."""
        if stack is None and plan is not None and plan.changes:
            Applier(self.clients, self.settings.cluster_name, vpc_id).check_deletion_protection(
                plan
            )
        return self._net(vpc_id).prepare(stack, observed, create=True)

    def finish(
        self,
        gid: str,
        stack: Stack | None,
        observed: ObservedStack,
        managed_sg: str | None,
        objs: ObjectSet,
        vpc_id: str | None,
    ) -> RulesReport:
        net = self._net(vpc_id)
        hints = _hints(objs)
        backend = observed.backend_security_group
        others = self._others(gid, backend, hints)
        report = net.finish(stack, observed, managed_sg, hints, others)
        source = stack.backend_rules_source if stack else None
        sg = {BACKEND_SG_ID: backend, MANAGED_SG_ID: managed_sg}.get(source or "")
        with self._lock:
            self._sources[gid] = _Source(source, sg)
            self._needs[gid] = report.desired if source == BACKEND_SG_ID else {}
        return report

    def sync_fast(self, gid: str, stack: Stack, objs: ObjectSet) -> RulesReport | None:
        """Rules for the targets of ``stack`` after a fast-path target change."""
        with self._lock:
            src = self._sources.get(gid)
        if src is None or src.group_id is None or src.rules_source != stack.backend_rules_source:
            return None
        net = self._net(None)
        hints = _hints(objs)
        want = net.rules.desired(stack.target_groups, hints)
        if src.rules_source == MANAGED_SG_ID:
            report = net.rules.sync(src.group_id, want.ports, lambda: {})
        else:
            others = self._others(gid, src.group_id, hints)
            report = net.rules.sync(src.group_id, want.ports, others)
        report.warnings = want.warnings
        with self._lock:
            self._needs[gid] = want.ports if src.rules_source == BACKEND_SG_ID else {}
        if report.changed:
            log_event(log, "backend rules synced on the fast path", group=gid)
        return report

    def forget(self, gid: str) -> None:
        with self._lock:
            self._sources.pop(gid, None)
            self._needs.pop(gid, None)

    def _others(
        self, gid: str, backend: str | None, hints: dict[str, str]
    ) -> Callable[[], PortsBySG | None]:
        """What the other groups need, from memory (no AWS call). Until every group of the
        cluster (of the held shards, sharded) has been reconciled since start it is unknown
        (None): revocations wait for that, so a rule another group still needs is never taken
        away. Sharded: unknown (None) here, see ``revoke_unneeded``."""

        def compute() -> PortsBySG | None:
            others = self.all_groups() - {gid}
            with self._lock:
                known = {g: self._needs[g] for g in others if g in self._needs}
            if len(known) < len(others):
                log_event(
                    log,
                    "backend rule revocations wait",
                    logging.DEBUG,
                    group=gid,
                    groups_not_reconciled=len(others) - len(known),
                )
                return None
            return merge(*known.values())

        if self.owns is not None:
            return lambda: None  # sharded: revoke_unneeded does it, for the whole cluster
        return compute

    def revoke_unneeded(self, objs: ObjectSet) -> RulesReport | None:
        """Sharded: revoke the rules from the shared backend group that no stack in AWS needs
        (read fresh: the registered targets of every stack whose ALB uses the group)."""
        if not self.settings.enable_backend_sg:
            return None
        net = self._net(None)
        backend = net.backend.find()
        if backend is None:
            return None
        hints = instance_hints(objs.endpoint_slices, objs.nodes)
        observer = Observer(self.clients, self.settings.cluster_name, self.tag_cache)
        needed = net.others_from_aws(observer, lambda g: False, backend, hints)()
        report = net.rules.sync(backend, {}, lambda: needed)
        log_event(
            log,
            "backend rules checked for the cluster",
            security_group=backend,
            revoked=sum(len(p) for p in report.revoked.values()),
        )
        return report
