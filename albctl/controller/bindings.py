"""Reconcile TargetGroupBindings: queue key ``b:<namespace>/<name>``.

A binding registers the endpoints of a Service port (ip) or the cluster's nodes at its nodePort
(instance) in a target group albctl does not own, and deregisters the targets that left. The
target set is computed by the pure model (:mod:`albctl.model.binding`), AWS is read and changed
by :mod:`albctl.aws.binding` (only RegisterTargets/DeregisterTargets ever change anything), and
the outcome goes into the binding's status (condition ``Ready``) and, on a problem, a Warning
Event ``FailedBinding``. The finalizer ``albctl.io/target-group-binding`` is added before the
first registration; on delete every target is deregistered before it is removed.

EndpointSlice, Service and Node changes enqueue the bindings they concern; when the computed
targets equal those last synced, no AWS call is made (the periodic resync forces a fresh read,
which puts back targets changed by hand).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from albctl.aws.binding import (
    TargetGroupGone,
    TargetSync,
    cluster_vpc,
    deregister_all,
    find_target_group,
)
from albctl.aws.binding import sync_targets as aws_sync_targets
from albctl.aws.binding_networking import RuleChanges, apply_permissions, target_enis
from albctl.aws.clients import AwsClients
from albctl.config import Settings
from albctl.controller.metrics import Metrics
from albctl.controller.reconciler import NotLeaderError
from albctl.controller.snapshot import Snapshotter
from albctl.errors import InvalidBindingError
from albctl.kube.events import EventRecorder, ObjectRef, now_rfc3339
from albctl.kube.writer import BINDING_FINALIZER, KubeWriter
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.binding import (
    BindingInput,
    BindingResult,
    TargetGroupInfo,
    TargetKey,
    check_target_group,
    holder,
    name_from_arn,
    plan_binding,
    target_group_key,
    target_group_ref,
)
from albctl.model.binding_networking import NetworkingEntry, NetworkingPlan, desired_permissions
from albctl.model.objects import TargetGroupBinding
from albctl.model.readiness import pod_gates

log = logging.getLogger(__name__)

KIND = "TargetGroupBinding"
API_VERSION = "albctl.io/v1beta1"
# problems that may go away without any Kubernetes object changing: retried with backoff
RETRY_REASONS = frozenset({"TargetGroupNotFound", "VpcUnknown"})

Obj = dict[str, Any]


@dataclass(frozen=True)
class _Synced:
    """The targets last made to hold, for a binding at one generation."""

    generation: int
    arn: str
    targets: frozenset[TargetKey]


@dataclass(frozen=True)
class _Refs:
    """What a binding points at, for routing informer events to it."""

    service: str  # namespace/name
    target_group: str | None  # target group name


def _key(obj: Obj) -> str:
    m = obj["metadata"]
    return f"{m.get('namespace', '')}/{m['name']}"


def _refs_of(obj: Obj) -> _Refs:
    spec = obj.get("spec") or {}
    ns = obj["metadata"].get("namespace", "")
    arn, name = spec.get("targetGroupARN"), spec.get("targetGroupName")
    tg = name_from_arn(arn) if isinstance(arn, str) and not name else name
    svc = (spec.get("serviceRef") or {}).get("name", "")
    return _Refs(f"{ns}/{svc}", tg if isinstance(tg, str) else None)


def _same_inputs(old: Obj, new: Obj) -> bool:
    """An update that changes nothing the binding's reconcile reads (its own status, ...)."""
    fields = ("generation", "finalizers", "deletionTimestamp")
    om, nm = old.get("metadata", {}), new.get("metadata", {})
    return all(om.get(f) == nm.get(f) for f in fields) and old.get("spec") == new.get("spec")


def _ref(obj: Obj) -> ObjectRef:
    m = obj["metadata"]
    return ObjectRef(KIND, m["name"], m.get("namespace", ""), m.get("uid", ""), API_VERSION)


class BindingController:
    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        writer: KubeWriter,
        recorder: EventRecorder,
        snapshots: Snapshotter,
        metrics: Metrics,
        is_leader: Callable[[], bool],
        tg_ttl: float = 300.0,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.writer = writer
        self.recorder = recorder
        self.snapshots = snapshots
        self.metrics = metrics
        self.is_leader = is_leader
        self.tg_ttl = tg_ttl
        self._lock = threading.Lock()
        self._synced: dict[str, _Synced] = {}
        self._refs: dict[str, _Refs] = {}
        self._tgs: dict[tuple[str, str], tuple[float, TargetGroupInfo]] = {}
        self._vpc: str | None = settings.vpc_id
        # networking: the (generation, targets) each binding with rules had when last noted;
        # a change calls on_networking (the controller queues the one networking key)
        self.on_networking: Callable[[], None] = lambda: None
        # called with the name of a target group whose targets this controller changed
        self.on_target_groups: Callable[[set[str]], None] = lambda names: None
        self._net_state: dict[str, tuple[int, frozenset[TargetKey]]] = {}
        self._net_lock = threading.Lock()

    # --- routing: which bindings an informer event concerns --------------------------------

    def on_binding(self, old: Obj | None, new: Obj | None) -> set[str]:
        """Keys to reconcile after a binding changed: itself, and the bindings naming the same
        target group (one of them may now hold it)."""
        obj = new or old
        assert obj is not None
        key = _key(obj)
        if old is not None and new is not None and _same_inputs(old, new):
            return set()
        had_rules = False
        with self._lock:
            before = self._refs.pop(key, None)
            if new is not None:
                self._refs[key] = _refs_of(new)
            else:
                self._synced.pop(key, None)
                had_rules = self._net_state.pop(key, None) is not None
            tgs = {r.target_group for r in (before, self._refs.get(key)) if r and r.target_group}
            peers = {k for k, r in self._refs.items() if r.target_group in tgs}
        if had_rules:  # gone without its finalizer being honoured: revoke what it needed
            self.on_networking()
        return ({key} if new is not None else set()) | peers

    def keys_for_service(self, service_key: str) -> set[str]:
        with self._lock:
            return {k for k, r in self._refs.items() if r.service == service_key}

    def binding_keys(self) -> set[str]:
        with self._lock:
            return set(self._refs)

    def registered_target_group(self, name: str) -> tuple[str, frozenset[TargetKey]] | None:
        """(ARN, targets registered) of a bound target group by name, as last synced."""
        with self._lock:
            synced = list(self._synced.values())
        for s in synced:
            if name_from_arn(s.arn) == name:
                return s.arn, s.targets
        return None

    def target_types(self) -> dict[str, str]:
        """Target types of the bound target groups read from AWS so far, by name."""
        with self._lock:
            return {info.name: info.target_type for _, info in self._tgs.values()}

    def expire(self, key: str) -> None:
        """Forget what was synced, so the next reconcile reads AWS (drift correction)."""
        with self._lock:
            self._synced.pop(key, None)

    # --- the reconcile ----------------------------------------------------------------------

    def reconcile(self, key: str) -> bool:
        """Reconcile one binding; False when it should be retried later (with backoff)."""
        if not self.is_leader():
            raise NotLeaderError("not the leader")
        raw = self.snapshots.raw(KIND, key)
        if raw is None:
            self.expire(key)
            return True
        try:
            b = TargetGroupBinding.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"])
            self._report_error(
                raw, InvalidBindingError(f"{KIND}/{key}", field, first["msg"], "InvalidSpec")
            )
            return True
        objs = self.snapshots.objects()
        if b.metadata.deletion_timestamp:
            self._finalize(b, objs)
            return True
        result = self._plan(b, objs)
        if result.error is not None:
            self._report_error(raw, result.error)
            return result.error.reason not in RETRY_REASONS
        assert result.target_group is not None
        self._release_previous(b, result.target_group.arn, objs)
        if BINDING_FINALIZER not in b.metadata.finalizers:
            self.writer.add_binding_finalizer(b.metadata.namespace, b.metadata.name)
        self._sync(b, result)
        self._report_ready(raw, b, result)
        self._note_networking(b, result.targets)
        return True

    def _target_group(self, kind: str, ref: str) -> TargetGroupInfo | None:
        """Target groups are read at most every ``tg_ttl`` seconds (their VPC and type never
        change); a missing one is looked up again on every reconcile."""
        now = time.monotonic()
        with self._lock:
            hit = self._tgs.get((kind, ref))
        if hit and now - hit[0] < self.tg_ttl:
            return hit[1]
        info = find_target_group(self.clients, kind, ref)
        with self._lock:
            if info is None:
                self._tgs.pop((kind, ref), None)
            else:
                self._tgs[(kind, ref)] = (now, info)
        return info

    def _cluster_vpc(self) -> str | None:
        if self._vpc is None:
            self._vpc = cluster_vpc(self.clients, None)
        return self._vpc

    def _plan(self, b: TargetGroupBinding, objs: ObjectSet) -> BindingResult:
        try:
            kind, ref = target_group_ref(b)
        except InvalidBindingError as exc:
            return BindingResult(b.key, None, error=exc)
        inp = BindingInput(
            b,
            self._target_group(kind, ref),
            {s.key: s for s in objs.services},
            objs.endpoint_slices,
            objs.nodes,
            self._cluster_vpc(),
            objs.target_group_bindings,
            pod_gates(objs.pods),
        )
        return plan_binding(inp)

    def _sync(self, b: TargetGroupBinding, result: BindingResult) -> TargetSync | None:
        """Register and deregister; None when nothing changed since the last sync (no AWS call)."""
        assert result.target_group is not None
        want = _Synced(b.metadata.generation, result.target_group.arn, result.targets)
        with self._lock:
            if self._synced.get(b.key) == want:
                self.metrics.binding_syncs.labels("unchanged").inc()
                return None
        try:
            sync = aws_sync_targets(self.clients, want.arn, want.targets)
        except TargetGroupGone:
            with self._lock:  # look it up again: the retry reports TargetGroupNotFound
                self._tgs = {k: v for k, v in self._tgs.items() if v[1].arn != want.arn}
            raise
        with self._lock:
            self._synced[b.key] = want
        self.metrics.binding_syncs.labels("changed" if sync.changed else "unchanged").inc()
        self.on_target_groups({result.target_group.name})
        log_event(
            log,
            "binding synced",
            binding=b.key,
            target_group=result.target_group.name,
            targets=len(want.targets),
            registered=len(sync.registered),
            deregistered=len(sync.deregistered),
        )
        return sync

    # --- releasing a target group: delete, or the spec now names another one ----------------

    def _held_arn(self, b: TargetGroupBinding, objs: ObjectSet) -> str | None:
        """The target group whose targets this binding keeps, if no other binding holds it."""
        held = b.status.target_group_arn
        name = name_from_arn(held) if held else target_group_key(b)
        if name is None:
            return None
        first = holder(name, objs.target_group_bindings)
        if first is not None and first.key != b.key:
            return None
        if held:
            return held
        if first is None:
            return None
        # no status yet (stopped between the finalizer and the first status write): the
        # target group of the spec, if it is one the binding could have registered into
        kind, ref = target_group_ref(b)
        info = self._target_group(kind, ref)
        inp = BindingInput(b, info, {}, (), (), self._cluster_vpc(), objs.target_group_bindings)
        check_target_group(inp)
        return info.arn if info else None

    def _finalize(self, b: TargetGroupBinding, objs: ObjectSet) -> None:
        if BINDING_FINALIZER not in b.metadata.finalizers:
            self.expire(b.key)
            return
        try:
            arn = self._held_arn(b, objs)
        except InvalidBindingError:
            arn = None  # it never named a usable target group, so it registered nothing
        released = deregister_all(self.clients, arn) if arn else None
        self.writer.remove_binding_finalizer(b.metadata.namespace, b.metadata.name)
        self.expire(b.key)
        with self._lock:
            had_rules = self._net_state.pop(b.key, None) is not None
        if had_rules or b.spec.networking:
            self.on_networking()  # its rules are revoked once no other binding needs them
        self.metrics.binding_syncs.labels("released").inc()
        log_event(
            log,
            "binding deleted",
            binding=b.key,
            target_group=arn or "",
            deregistered=len(released.deregistered) if released else 0,
        )

    def _release_previous(self, b: TargetGroupBinding, arn: str, objs: ObjectSet) -> None:
        old = b.status.target_group_arn
        if not old or old == arn:
            return
        name = name_from_arn(old)
        if name is not None and holder(name, objs.target_group_bindings) is None:
            deregister_all(self.clients, old)
            log_event(log, "binding moved", binding=b.key, released=old, target_group=arn)

    # --- status and Events --------------------------------------------------------------------

    def _status(
        self, raw: Obj, ok: bool, reason: str, message: str, arn: str | None
    ) -> dict[str, Any]:
        prev = raw.get("status") or {}
        old = next((c for c in prev.get("conditions") or [] if c.get("type") == "Ready"), None)
        status = "True" if ok else "False"
        generation = raw["metadata"].get("generation")
        cond = {
            "type": "Ready",
            "status": status,
            "reason": reason,
            "message": message[:1024],
            "observedGeneration": generation,
            "lastTransitionTime": (
                old["lastTransitionTime"]
                if old and old.get("status") == status and old.get("lastTransitionTime")
                else now_rfc3339()
            ),
        }
        out: dict[str, Any] = {"observedGeneration": generation, "conditions": [cond]}
        if arn:
            out["targetGroupARN"] = arn
        return out

    def _write_status(self, raw: Obj, status: dict[str, Any]) -> bool:
        """Write the status when it differs from the current one; True when written."""
        if (raw.get("status") or {}) == status:
            return False
        m = raw["metadata"]
        self.writer.set_binding_status(m.get("namespace", ""), m["name"], status)
        return True

    def _report_error(self, raw: Obj, err: InvalidBindingError) -> None:
        self.metrics.binding_syncs.labels("invalid").inc()
        log_event(
            log, "binding invalid", logging.WARNING, binding=_key(raw), reason=err.reason, error=err
        )
        held = (raw.get("status") or {}).get("targetGroupARN")
        message = f"{err.field}: {err.message}"
        if self._write_status(raw, self._status(raw, False, err.reason, message, held)):
            # once per new problem (the status says it already otherwise): Node and
            # EndpointSlice churn re-checks every binding
            self.recorder.record(_ref(raw), "Warning", "FailedBinding", str(err))

    def _report_ready(self, raw: Obj, b: TargetGroupBinding, result: BindingResult) -> None:
        tg = result.target_group
        assert tg is not None
        ref = b.spec.service_ref
        message = (
            f"{len(result.targets)} {result.target_type} target(s) of Service "
            f"{b.metadata.namespace}/{ref.name} port {ref.port} registered in target group "
            f"{tg.name}"
        )
        was_ready = any(c.type == "Ready" and c.status == "True" for c in b.status.conditions) and (
            b.status.observed_generation == b.metadata.generation
        )
        status = self._status(raw, True, "TargetsRegistered", message, tg.arn)
        self._write_status(raw, status)
        if not was_ready:  # first success, or back from an error: one Normal Event
            self.recorder.record(_ref(raw), "Normal", "Reconciled", message)

    # --- networking: rules on the targets' security groups (a separate step, one queue key) ---

    def _note_networking(self, b: TargetGroupBinding, targets: frozenset[TargetKey]) -> None:
        has_rules = bool(b.spec.networking and b.spec.networking.ingress)
        with self._lock:
            if has_rules:
                state = (b.metadata.generation, targets)
                changed = self._net_state.get(b.key) != state
                self._net_state[b.key] = state
            else:
                changed = self._net_state.pop(b.key, None) is not None
        if changed:
            self.on_networking()

    def _networking_entries(self, objs: ObjectSet) -> tuple[list[NetworkingEntry], list[str]]:
        """Bindings whose rules are wanted, and those whose targets are unknown (invalid)."""
        entries: list[NetworkingEntry] = []
        unsure: list[str] = []
        for b in objs.target_group_bindings:
            if b.metadata.deletion_timestamp or not (
                b.spec.networking and b.spec.networking.ingress
            ):
                continue
            result = self._plan(b, objs)
            if result.ok:
                entries.append(NetworkingEntry(b, result.targets, result.target_type or "ip"))
            elif result.error is not None and result.error.reason != "TargetGroupInUse":
                unsure.append(b.key)  # it registered nothing, so it needs nothing
        return entries, unsure

    def reconcile_networking(self) -> bool:
        """Authorize every binding's rules on its targets' security groups and revoke albctl's
        rules no binding needs. Revocations wait while a binding's targets are unknown (invalid
        binding, ENI not found). False when it should be retried later."""
        if not self.is_leader():
            raise NotLeaderError("not the leader")
        informer = self.snapshots.informers.get(KIND)
        if informer is None or not informer.synced:
            return False  # never revoke from an empty cache
        objs = self.snapshots.objects()
        with self._net_lock:
            entries, unsure = self._networking_entries(objs)
            plan = self._desired_rules(entries)
            revoke = plan.complete and not unsure
            changes = apply_permissions(
                self.clients, self.settings.cluster_name, plan.permissions, revoke
            )
        self._report_networking(objs, plan, changes, unsure)
        return True

    def _desired_rules(self, entries: list[NetworkingEntry]) -> NetworkingPlan:
        if not entries:
            return NetworkingPlan()
        vpc = self._cluster_vpc()
        assert vpc is not None  # valid bindings were checked against it
        ips = {t for e in entries if e.target_type == "ip" for t, _ in e.targets}
        instances = {t for e in entries if e.target_type == "instance" for t, _ in e.targets}
        enis = target_enis(self.clients, vpc, ips, instances)
        return desired_permissions(entries, enis, self.settings.cluster_name)

    def _report_networking(
        self, objs: ObjectSet, plan: NetworkingPlan, changes: RuleChanges, unsure: list[str]
    ) -> None:
        quiet = not changes.changed and plan.complete and not unsure
        log_event(
            log,
            "binding networking synced",
            logging.DEBUG if quiet else logging.INFO,
            rules=len(plan.permissions),
            added=len(changes.added),
            revoked=len(changes.revoked),
            existing_not_ours=len(changes.foreign),
            revocations_held=not (plan.complete and not unsure),
        )
        for key, problems in sorted(plan.problems.items()):
            raw = self.snapshots.raw(KIND, key)
            if raw is None:
                continue
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            message = (
                f"spec.networking: not authorized for {len(problems)} target(s): "
                + "; ".join(problems[:3])
                + more
            )
            log_event(
                log, "binding networking incomplete", logging.WARNING, binding=key, error=message
            )
            self.recorder.record(_ref(raw), "Warning", "FailedNetworking", message)
