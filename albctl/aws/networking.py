"""Around the apply of one stack: the backend security group and the targets' rules.

``prepare`` runs before the stack's plan is applied (find or create the backend group; revoke
rules from a managed frontend group that is about to go); ``finish`` runs after it (authorize
what the stack's targets need, revoke what no stack needs, delete the backend group when no
load balancer uses it any more).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.backend_sg import BackendRules, BackendSecurityGroup, RulesReport, needs_of
from albctl.aws.clients import AwsClients, aws_error, paginate
from albctl.aws.enis import EniResolver
from albctl.aws.observe import Observer
from albctl.model.backend_rules import PortsBySG, merge
from albctl.model.desired import BACKEND_SG_ID, MANAGED_SG_ID, Stack
from albctl.model.observed import ObservedStack


@dataclass(frozen=True)
class NetworkingSettings:
    enabled: bool = True  # --enable-backend-security-group
    user_sg: str | None = None  # --backend-security-group


class TargetNetworking:
    def __init__(
        self,
        clients: AwsClients,
        cluster: str,
        vpc_id: str | None,
        settings: NetworkingSettings,
        resolver: EniResolver | None = None,
    ) -> None:
        self.c = clients
        self.cluster = cluster
        self.settings = settings
        self.backend = BackendSecurityGroup(clients, cluster, vpc_id, settings.user_sg)
        self.rules = BackendRules(clients, cluster, resolver or EniResolver(clients))

    def prepare(self, stack: Stack | None, observed: ObservedStack, create: bool) -> ObservedStack:
        """``observed`` with the backend group's id; revoke rules of a leaving frontend group."""
        backend: str | None = None
        if self.settings.enabled:
            wants = stack is not None and stack.backend_rules_source == BACKEND_SG_ID
            # the observer saw our backend group already (one call less); else look it up
            backend = self.settings.user_sg or observed.backend_security_group
            if backend is None:
                backend = self.backend.ensure() if (wants and create) else self.backend.find()
        obs_sg = next((s for s in observed.security_groups if s.resource_id == MANAGED_SG_ID), None)
        source = stack.backend_rules_source if stack else None
        # the frontend group was the source only if the ALB had no backend group: then its
        # rules go before the group may (deletion) or must (new source) stop being used
        frontend_before = not (backend and self._used_by(observed, backend))
        if create and obs_sg is not None and source != MANAGED_SG_ID and frontend_before:
            self.rules.sync(obs_sg.group_id, {}, lambda: {})
        return observed.model_copy(update={"backend_security_group": backend})

    def finish(
        self,
        stack: Stack | None,
        observed: ObservedStack,
        managed_sg: str | None,
        instance_of: Mapping[str, str],
        others: Callable[[], PortsBySG | None],
        dry_run: bool = False,
    ) -> RulesReport:
        """Rules after the apply; ``observed`` is what ``prepare`` returned. ``dry_run``: what
        would change, nothing changed (for plans)."""
        backend = observed.backend_security_group
        source = stack.backend_rules_source if stack else None
        report = RulesReport()
        if stack is not None and source == MANAGED_SG_ID and managed_sg:
            want = self.rules.desired(stack.target_groups, instance_of)
            report = self.rules.sync(managed_sg, want.ports, lambda: {}, dry_run)
            report.warnings = want.warnings
            report.desired = want.ports
        elif stack is not None and source == BACKEND_SG_ID and backend:
            want = self.rules.desired(stack.target_groups, instance_of)
            report = self.rules.sync(backend, want.ports, others, dry_run)
            report.warnings = want.warnings
            report.desired = want.ports
        elif backend and (
            self._used_by(observed, backend) or (stack is None and not observed.load_balancers)
        ):
            # the stack stopped using the backend group (deleted, or explicit groups now); or
            # a delete that was cut short after its load balancer went: the group may be the
            # last use of the backend group
            report = self.rules.sync(backend, {}, others, dry_run)
            if not dry_run and not self.in_use(backend):
                self.backend.delete(backend, self.rules)
        return report

    @staticmethod
    def _used_by(observed: ObservedStack, sg_id: str) -> bool:
        return any(sg_id in lb.security_groups for lb in observed.load_balancers)

    def in_use(self, sg_id: str) -> bool:
        """Whether any load balancer of the account (ours or not) still uses ``sg_id``."""
        try:
            return any(
                sg_id in lb.get("SecurityGroups", [])
                for lb in paginate(self.c.elbv2.describe_load_balancers, "LoadBalancers")
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "listing load balancers") from exc

    def others_from_aws(
        self,
        observer: Observer,
        skip: str | Callable[[str], bool],
        backend: str | None,
        instance_of: Mapping[str, str],
    ) -> Callable[[], PortsBySG]:
        """What every other stack (not ``skip``: a group id, or a test of one) whose ALB uses
        the backend group needs, read from AWS once."""
        memo: list[PortsBySG] = []
        skipped = skip if callable(skip) else (lambda g: g == skip)

        def compute() -> PortsBySG:
            if not memo:
                tgs = []
                for gid, obs in observer.observe(None).items():
                    if skipped(gid) or backend is None:
                        continue
                    if any(backend in lb.security_groups for lb in obs.load_balancers):
                        tgs += list(obs.target_groups)
                memo.append(merge(needs_of(self.rules, tgs, instance_of)))
            return memo[0]

        return compute


class StackNeeds:
    """What each stack of the cluster needs from the backend group, for one one-shot run.

    Read from AWS once, the first time a group's revocations need it (every stack of the
    cluster observed), then kept up to date with what the run applied: a run over N groups
    observes the cluster once, not once a group.
    """

    def __init__(
        self, networking: TargetNetworking, observer: Observer, instance_of: Mapping[str, str]
    ) -> None:
        self.networking = networking
        self.observer = observer
        self.instance_of = instance_of
        self._read: dict[str, PortsBySG] | None = None
        self._applied: dict[str, PortsBySG] = {}

    def applied(self, group_id: str, report: RulesReport, backend: str | None) -> None:
        """What ``group_id`` needs from ``backend`` now that the run has applied it."""
        self._applied[group_id] = report.desired if backend and report.source == backend else {}

    def others(self, group_id: str, backend: str | None) -> Callable[[], PortsBySG | None]:
        """What every other stack whose ALB uses ``backend`` needs."""

        def compute() -> PortsBySG | None:
            if backend is None:
                return {}
            if self._read is None:
                self._read = {
                    gid: needs_of(self.networking.rules, obs.target_groups, self.instance_of)
                    for gid, obs in self.observer.observe(None).items()
                    if any(backend in lb.security_groups for lb in obs.load_balancers)
                }
            parts = {**self._read, **self._applied}
            return merge(*(p for gid, p in parts.items() if gid != group_id))

        return compute
