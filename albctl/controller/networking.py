"""The controller's side of the targets' security group rules.

Full reconcile: ``prepare`` before the plan is applied and ``finish`` after it (see
:mod:`albctl.aws.networking`). Fast path: ``sync_fast`` authorizes the rules new targets need
(and revokes what none needs) with what the last full reconcile learnt, without observing
the stack again.
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
from albctl.model.backend_rules import instance_hints
from albctl.model.desired import BACKEND_SG_ID, MANAGED_SG_ID, Stack
from albctl.model.diff import Plan
from albctl.model.observed import ObservedStack

log = logging.getLogger(__name__)


@dataclass
class _Source:
    rules_source: str | None
    group_id: str | None  # the security group id the rules come from


class ControllerNetworking:
    def __init__(self, settings: Settings, clients: AwsClients, tag_cache: TagCache) -> None:
        self.settings = settings
        self.clients = clients
        self.tag_cache = tag_cache
        self.resolver = EniResolver(clients)
        self._sources: dict[str, _Source] = {}
        self._lock = threading.Lock()

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
        hints = instance_hints(objs.endpoint_slices, objs.nodes)
        backend = observed.backend_security_group
        others = self._others(net, gid, backend, hints)
        report = net.finish(stack, observed, managed_sg, hints, others)
        source = stack.backend_rules_source if stack else None
        sg = {BACKEND_SG_ID: backend, MANAGED_SG_ID: managed_sg}.get(source or "")
        with self._lock:
            self._sources[gid] = _Source(source, sg)
        return report

    def sync_fast(self, gid: str, stack: Stack, objs: ObjectSet) -> RulesReport | None:
        """Rules for the targets of ``stack`` after a fast-path target change."""
        with self._lock:
            src = self._sources.get(gid)
        if src is None or src.group_id is None or src.rules_source != stack.backend_rules_source:
            return None
        net = self._net(None)
        hints = instance_hints(objs.endpoint_slices, objs.nodes)
        want = net.rules.desired(stack.target_groups, hints)
        if src.rules_source == MANAGED_SG_ID:
            report = net.rules.sync(src.group_id, want.ports, lambda: {})
        else:
            report = net.rules.sync(
                src.group_id, want.ports, self._others(net, gid, src.group_id, hints)
            )
        report.warnings = want.warnings
        if report.changed:
            log_event(log, "backend rules synced on the fast path", group=gid)
        return report

    def forget(self, gid: str) -> None:
        with self._lock:
            self._sources.pop(gid, None)

    def _others(
        self, net: TargetNetworking, gid: str, backend: str | None, hints: dict[str, str]
    ) -> Callable[[], dict[str, frozenset[int]] | None]:
        observer = Observer(
            self.clients, self.settings.cluster_name, self.tag_cache, read_attributes=False
        )
        return net.others_from_aws(observer, gid, backend, hints)
