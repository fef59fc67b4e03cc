"""``albctl run --take-over-lbc``: the controller's side of adopting LBC's stacks.

Before a group with no albctl stack adopts LBC's stack, LBC's leader Lease
(``aws-load-balancer-controller-leader`` in ``--lbc-namespace``) is read: while it is held and
renewed LBC runs, and the takeover is refused (a Warning Event ``TakeoverRefused``), not fought
over. A Lease albctl may not read (RBAC) or that does not exist does not block.

After the adoption, LBC's claims in Kubernetes are released: the finalizer of LBC's
TargetGroupBindings (``elbv2.k8s.aws``) on the adopted target groups, then LBC's finalizers on
the member Ingresses (albctl's own finalizer was added before anything was written to AWS).
LBC's finalizers on a member are the mark that this is still to do, so a release cut short is
finished by the next reconcile.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from albctl.aws.clients import AwsClients
from albctl.aws.lbc import LbcStacks
from albctl.aws.observe import TagCache
from albctl.config import Settings
from albctl.kube.api import INGRESS, LBC_TARGET_GROUP_BINDING, LEASE, KubeError, NotFound
from albctl.kube.writer import KubeWriter
from albctl.logs import log_event
from albctl.model.adopt import LbcBackend, TakeoverRefusedError
from albctl.model.desired import Stack
from albctl.model.lbc import (
    LBC_BINDING_FINALIZER,
    LBC_LEASE,
    lbc_finalizers,
    lease_held,
)
from albctl.model.objects import Ingress
from albctl.model.observed import ObservedStack

log = logging.getLogger(__name__)


class Takeover:
    def __init__(
        self, settings: Settings, clients: AwsClients, writer: KubeWriter, tag_cache: TagCache
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.stacks = LbcStacks(clients, settings.cluster_name, tag_cache)

    def stack(self, gid: str, observed: ObservedStack) -> ObservedStack | None:
        """LBC's stack of ``gid`` when albctl has none; raises while LBC still runs."""
        if not self.settings.take_over_lbc or not observed.empty:
            return None
        lbc = self.stacks.observe({gid}).get(gid)
        if lbc is not None:
            self.refuse_while_running(gid)
        return lbc

    def gateway_stack(self, gid: str, observed: ObservedStack) -> ObservedStack | None:
        """LBC's stack of the Gateway ``gid`` when albctl has none; raises while LBC runs."""
        if not self.settings.take_over_lbc or not observed.empty:
            return None
        lbc = self.stacks.observe_gateways({gid}).get(gid)
        if lbc is not None:
            self.refuse_while_running(gid)
        return lbc

    def refuse_while_running(self, gid: str) -> None:
        ns = self.settings.lbc_namespace
        try:
            lease = self.writer.api.get(LEASE, LBC_LEASE, ns)
        except NotFound:
            return
        except KubeError as exc:
            if exc.status in (401, 403):
                log_event(log, "LBC's Lease not readable", logging.WARNING, error=str(exc))
                return
            raise
        now = datetime.datetime.now(datetime.UTC)
        if lease_held(lease, now):
            holder = (lease.get("spec") or {}).get("holderIdentity")
            raise TakeoverRefusedError(
                f"not taking over LBC's load balancer of group {gid}: the AWS Load Balancer "
                f"Controller still runs (Lease {ns}/{LBC_LEASE} held by {holder}); scale it to "
                "zero replicas first (docs/migrate.md, From LBC)"
            )

    def backend(self, stack: Stack, lbc: ObservedStack, have: str | None) -> LbcBackend | None:
        s = self.settings
        return self.stacks.backend_to_adopt(stack, lbc, have, s.enable_backend_sg, s.backend_sg)

    def release(self, members: Iterable[Ingress], target_group_arns: set[str]) -> None:
        """Release LBC's finalizers: on its bindings of these target groups, then on the
        members (only where some remain; LBC stopped)."""
        if not self.settings.take_over_lbc:
            return
        holding = [m for m in members if lbc_finalizers(m.metadata.finalizers)]
        if not holding:
            return
        self.refuse_while_running(holding[0].key)
        self._release_bindings(target_group_arns)
        for ing in holding:
            ns, name = ing.metadata.namespace, ing.metadata.name
            self.writer.remove_finalizers(INGRESS, ns, name, lambda f: bool(lbc_finalizers([f])))

    def _release_bindings(self, arns: set[str]) -> None:
        try:
            items = self.writer.api.list(LBC_TARGET_GROUP_BINDING).get("items") or []
        except NotFound:
            return  # LBC's CRD is not installed
        for b in items:
            meta = b.get("metadata") or {}
            if (b.get("spec") or {}).get("targetGroupARN") not in arns:
                continue
            if LBC_BINDING_FINALIZER in (meta.get("finalizers") or []):
                self.writer.remove_finalizers(
                    LBC_TARGET_GROUP_BINDING,
                    meta["namespace"],
                    meta["name"],
                    lambda f: f == LBC_BINDING_FINALIZER,
                )
