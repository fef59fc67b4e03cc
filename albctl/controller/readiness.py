"""Pod readiness gates: queue key ``p:<target group name>``.

A pod with the readiness gate ``target-health.albctl.io/<target group>`` (injected by the
mutating webhook, or written by hand) is not Ready until albctl sets that condition True through
``pods/status``. For one target group, the pods whose gate is not True yet are handled together:

* a pod that is no longer a target of the group (no Service selecting it sends it there any more,
  the Ingress or binding is gone, the target group was renamed) gets the condition True with
  reason ``NotATarget``, so it never stays NotReady because of albctl;
* a pod whose address is registered in the target group is looked up with one
  DescribeTargetHealth call for all such pods: True once healthy, False with the target's state
  and reason otherwise (initial, unhealthy, draining, unused);
* a pod whose containers are not ready (its ``ContainersReady`` condition is not True) is not
  registered: its condition says False, reason ``Target.NotRegistered`` (no AWS call); the
  change of that condition queues the key again;
* a pod that will be a target but is not registered yet waits (no AWS call): registering it
  (an EndpointSlice or pod change, or a full reconcile) queues the key again.

While a registered pod's gate is not True the key comes back with backoff (``initial`` seconds,
times ``factor`` per poll, at most ``maximum``; back to ``initial`` when a new target joins).
Nothing is polled when every gate is True. Only the leader processes these keys.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from albctl.aws.health import TargetHealthReader
from albctl.config import Settings
from albctl.controller.metrics import Metrics
from albctl.controller.reconciler import NotLeaderError
from albctl.controller.snapshot import Snapshotter
from albctl.kube.events import now_rfc3339
from albctl.kube.informer import Obj
from albctl.kube.writer import KubeWriter
from albctl.logs import log_event
from albctl.model.binding import TargetKey
from albctl.model.objects import Pod
from albctl.model.readiness import (
    GATE_PREFIX,
    GateCondition,
    GateTarget,
    TargetHealth,
    containers_not_ready_condition,
    containers_ready,
    gate_targets,
    gate_type,
    gated_target_groups,
    health_condition,
    not_a_target_condition,
)

log = logging.getLogger(__name__)

PREFIX = "p:"


@dataclass(frozen=True)
class Registered:
    """A target group as registered by albctl: its ARN and the targets it was given."""

    arn: str
    targets: frozenset[TargetKey]


@dataclass(frozen=True)
class _Poll:
    interval: float
    due: float
    polled: frozenset[TargetKey]


def trim_pod(obj: Obj) -> Obj | None:
    """What the controller keeps of a pod (informer transform): pods without albctl's gates
    are not cached at all; the others without their containers, volumes and the like."""
    spec = obj.get("spec") or {}
    gates = [
        g
        for g in spec.get("readinessGates") or []
        if str(g.get("conditionType", "")).startswith(GATE_PREFIX)
    ]
    if not gates:
        return None
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    keep_meta = ("name", "namespace", "uid", "labels", "resourceVersion", "deletionTimestamp")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {k: meta[k] for k in keep_meta if k in meta},
        "spec": {"readinessGates": gates},
        "status": {k: status[k] for k in ("podIP", "podIPs", "phase", "conditions") if k in status},
    }


def _fingerprint(obj: Obj | None) -> Any:
    """What, in a pod, can change the gates' outcome (not the gate conditions themselves)."""
    if obj is None:
        return None
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    others = sorted(
        (c.get("type"), c.get("status"))
        for c in status.get("conditions") or []
        if not str(c.get("type", "")).startswith(GATE_PREFIX)
    )
    return (
        sorted((meta.get("labels") or {}).items()),
        status.get("podIP"),
        [p.get("ip") for p in status.get("podIPs") or []],
        others,
        meta.get("deletionTimestamp"),
    )


def registration_state(obj: Obj | None) -> tuple[bool, bool] | None:
    """What, in a cached (gated) pod, decides whether its not-ready endpoint is registered
    (:func:`albctl.model.readiness.pod_gates`): its ``ContainersReady`` condition and whether
    it is being deleted. None for no pod."""
    if obj is None:
        return None
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ready = any(
        c.get("type") == "ContainersReady" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return ready, bool(meta.get("deletionTimestamp"))


def _pending(pod: Pod, name: str) -> bool:
    cond = pod.condition(gate_type(name))
    return not pod.metadata.deletion_timestamp and (cond is None or cond.status != "True")


class ReadinessGates:
    def __init__(
        self,
        settings: Settings,
        snapshots: Snapshotter,
        writer: KubeWriter,
        reader: TargetHealthReader,
        metrics: Metrics,
        is_leader: Callable[[], bool],
        registered: Callable[[str], Registered | None],
        binding_types: Callable[[], Mapping[str, str]] = dict,
        initial: float = 1.0,
        factor: float = 1.5,
        maximum: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.snapshots = snapshots
        self.writer = writer
        self.reader = reader
        self.metrics = metrics
        self.is_leader = is_leader
        self.registered = registered
        self.binding_types = binding_types
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        self.clock = clock
        self._polls: dict[str, _Poll] = {}
        self._lock = threading.Lock()

    # --- routing ------------------------------------------------------------------------------

    def on_pod(self, old: Obj | None, new: Obj | None) -> set[str]:
        """Target group names to look at after a pod changed."""
        if new is None or _fingerprint(old) == _fingerprint(new):
            return set()
        try:
            pod = Pod.model_validate(new)
        except ValueError:
            return set()
        return {n for n in gated_target_groups(pod) if _pending(pod, n)}

    def pending_names(self, names: Iterable[str] | None = None) -> set[str]:
        """Of ``names`` (default: all), the target groups some pod's gate still waits on."""
        wanted = None if names is None else set(names)
        out: set[str] = set()
        for pod in self.snapshots.objects().pods:
            for n in gated_target_groups(pod):
                if (wanted is None or n in wanted) and _pending(pod, n):
                    out.add(n)
        return out

    # --- the sync -----------------------------------------------------------------------------

    def sync(self, name: str) -> float | None:
        """Handle the pods waiting on the gate of target group ``name``; the delay after which
        to look again, or None when nothing is left to poll."""
        if not self.is_leader():
            raise NotLeaderError("not the leader")
        objs = self.snapshots.objects()
        pending = [p for p in objs.pods if name in gated_target_groups(p) and _pending(p, name)]
        if not pending:
            self._forget(name)
            return None
        types = self.binding_types()
        wanted_by_labels: dict[tuple[str, frozenset[tuple[str, str]]], dict[str, GateTarget]] = {}
        reg = self.registered(name)
        to_poll: dict[TargetKey, Pod] = {}
        for pod in pending:
            labels_key = (pod.metadata.namespace, frozenset(pod.metadata.labels.items()))
            if labels_key not in wanted_by_labels:
                wanted_by_labels[labels_key] = gate_targets(
                    pod.metadata.namespace,
                    pod.metadata.labels,
                    objs,
                    self.settings.build_settings(),
                    types,
                )
            if name not in wanted_by_labels[labels_key]:
                why = "no Ingress or TargetGroupBinding of albctl registers it there any more"
                self._write(pod, name, not_a_target_condition(name, why))
                continue
            if not containers_ready(pod):
                # not registered until its containers are ready (model.readiness.pod_gates)
                self._write(pod, name, containers_not_ready_condition(name, pod.ips))
                continue
            if reg is None:
                continue  # not registered yet: a registration queues the key again
            for key in reg.targets:
                if key[0] in pod.ips:
                    to_poll[key] = pod
        if reg is None or not to_poll:
            self._forget(name)
            return None
        now = self.clock()
        with self._lock:
            state = self._polls.get(name)
        new = frozenset(to_poll) - (state.polled if state else frozenset())
        if state is not None and not new and now < state.due - 0.05:
            return state.due - now  # woken early (a pod event, our own write): not due yet
        health = self.reader.read(reg.arn, sorted(to_poll))
        self.metrics.readiness_polls.inc()
        by_pod: dict[str, list[GateCondition]] = {}
        pods: dict[str, Pod] = {}
        for key, pod in to_poll.items():
            h = health.get(key) or TargetHealth(key[0], key[1], "unused", "Target.NotRegistered")
            by_pod.setdefault(pod.key, []).append(health_condition(name, h))
            pods[pod.key] = pod
        waiting = False
        for pkey, conds in by_pod.items():
            cond = next((c for c in conds if c.status != "True"), conds[0])
            self._write(pods[pkey], name, cond)
            waiting = waiting or cond.status != "True"
        if not waiting:
            self._forget(name)
            return None
        if state is None or new:
            interval = self.initial
        else:
            interval = min(state.interval * self.factor, self.maximum)
        with self._lock:
            self._polls[name] = _Poll(interval, now + interval, frozenset(to_poll))
        return interval

    def _forget(self, name: str) -> None:
        with self._lock:
            self._polls.pop(name, None)

    def _write(self, pod: Pod, name: str, cond: GateCondition) -> None:
        ctype = gate_type(name)
        cur = pod.condition(ctype)
        if (
            cur is not None
            and cur.status == cond.status
            and (cur.reason or "") == cond.reason
            and (cur.message or "") == cond.message
        ):
            return
        if not self.is_leader():
            raise NotLeaderError("not the leader")
        transition = (
            cur.last_transition_time
            if cur is not None and cur.status == cond.status and cur.last_transition_time
            else now_rfc3339()
        )
        body = {
            "type": ctype,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message[:1024],
            "lastProbeTime": None,
            "lastTransitionTime": transition,
        }
        if self.writer.set_pod_conditions(pod.metadata.namespace, pod.metadata.name, [body]):
            self.metrics.readiness_updates.labels(cond.status).inc()
            log_event(
                log,
                "readiness gate set",
                pod=pod.key,
                target_group=name,
                status=cond.status,
                reason=cond.reason,
            )
