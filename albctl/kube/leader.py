"""Leader election on a coordination.k8s.io/v1 Lease.

The official client only ships a ConfigMap lock, so this is our own. :class:`LeaseLock` is
the Lease arithmetic (acquire when free or expired, renew, release), shared by the single
leader lease here and the shard leases of :mod:`albctl.kube.shards`. :class:`LeaderElector`:
acquire, renew every ``retry_period``; ``is_leader`` turns false as soon as a renewal has not
succeeded for ``renew_deadline``, so a leader that cannot renew stops writing at once, before
another replica can take over (after ``lease_duration``).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from albctl.kube.api import LEASE, Conflict, KubeApi, KubeError, NotFound
from albctl.logs import log_event

log = logging.getLogger(__name__)


def _micro(ts: datetime.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(ts: str | None) -> datetime.datetime | None:
    if not ts:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(ts, fmt).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    return None


# every Lease albctl writes carries these, so the replicas of one deployment find each other's
# shard and member Leases with one label-selected list
GROUP_LABEL = "albctl.io/lease-group"
ROLE_LABEL = "albctl.io/lease-role"
SHARDS_ANNOTATION = "albctl.io/shards"


@dataclass(frozen=True)
class LeaseState:
    """What a Lease says, read at ``now``."""

    name: str
    holder: str | None
    live: bool  # held, and renewed within its duration
    shards: int | None  # the --shards of the replica that wrote it (None: not albctl's)
    role: str | None


def lease_state(lease: dict[str, Any], now: datetime.datetime) -> LeaseState:
    meta, spec = lease.get("metadata", {}), lease.get("spec") or {}
    holder = spec.get("holderIdentity") or None
    renew = _parse(spec.get("renewTime"))
    duration = float(spec.get("leaseDurationSeconds") or 0)
    live = bool(holder and renew and (now - renew).total_seconds() < duration)
    raw = (meta.get("annotations") or {}).get(SHARDS_ANNOTATION)
    try:
        shards = int(raw) if raw is not None else None
    except ValueError:
        shards = None
    role = (meta.get("labels") or {}).get(ROLE_LABEL)
    return LeaseState(meta.get("name", ""), holder, live, shards, role)


class LeaseLock:
    """Acquire, renew and release Leases of one namespace for one identity."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        identity: str,
        lease_duration: float,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.labels = labels or {}
        self.annotations = annotations or {}

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.api.get(LEASE, name, self.namespace)
        except NotFound:
            return None

    def list(self, selector: str) -> list[dict[str, Any]]:
        items = self.api.list(LEASE, self.namespace, labelSelector=selector).get("items") or []
        return [i for i in items if isinstance(i, dict)]

    def acquire_or_renew(
        self, name: str, lease: dict[str, Any] | None, labels: dict[str, str] | None = None
    ) -> bool:
        """Take or renew ``name``; ``lease`` is its current object (None: absent). False when
        another identity holds it and it has not expired, or a concurrent writer won (409)."""
        now = datetime.datetime.now(datetime.UTC)
        spec: dict[str, Any] = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "renewTime": _micro(now),
        }
        want_labels = {**self.labels, **(labels or {})}
        if lease is None:
            spec["acquireTime"] = _micro(now)
            spec["leaseTransitions"] = 0
            meta: dict[str, Any] = {"name": name, "namespace": self.namespace}
            if want_labels:
                meta["labels"] = want_labels
            if self.annotations:
                meta["annotations"] = dict(self.annotations)
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": meta,
                "spec": spec,
            }
            try:
                self.api.create(LEASE, body, self.namespace)
                return True
            except Conflict:
                return False
        cur = lease.get("spec") or {}
        holder = cur.get("holderIdentity")
        if holder and holder != self.identity and lease_state(lease, now).live:
            return False
        if holder != self.identity:
            spec["acquireTime"] = _micro(now)
            spec["leaseTransitions"] = int(cur.get("leaseTransitions") or 0) + 1
        else:
            spec["acquireTime"] = cur.get("acquireTime") or _micro(now)
            spec["leaseTransitions"] = int(cur.get("leaseTransitions") or 0)
        lease = {**lease, "apiVersion": "coordination.k8s.io/v1", "kind": "Lease"}
        meta = dict(lease.get("metadata") or {})
        if want_labels:
            meta["labels"] = {**(meta.get("labels") or {}), **want_labels}
        if self.annotations:
            meta["annotations"] = {**(meta.get("annotations") or {}), **self.annotations}
        lease["metadata"] = meta
        lease["spec"] = spec
        try:
            self.api.replace(LEASE, lease)  # resourceVersion from the read: a race loses (409)
            return True
        except Conflict:
            return False

    def release(self, name: str) -> bool:
        """Give ``name`` up at once (holder and renew time cleared) if this identity holds it."""
        try:
            lease = self.api.get(LEASE, name, self.namespace)
            if lease.get("spec", {}).get("holderIdentity") != self.identity:
                return False
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["renewTime"] = None
            self.api.replace(LEASE, lease)
            return True
        except KubeError as exc:
            log_event(log, "lease release failed", logging.WARNING, lease=name, error=str(exc))
            return False

    def delete(self, name: str) -> None:
        with contextlib.suppress(NotFound):  # deleted by another replica first
            self.api.delete(LEASE, name, self.namespace)


class LeaderElector:
    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
        on_started: Callable[[], None] | None = None,
        on_stopped: Callable[[], None] | None = None,
        blocked: Callable[[], str | None] | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started = on_started
        self.on_stopped = on_stopped
        # why not to take the lease now (None: take it): replicas sharding the same work
        self.blocked = blocked
        self.lock = LeaseLock(api, namespace, identity, lease_duration)
        self._last_renew = 0.0
        self._leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blocked_by: str | None = None

    def is_leader(self) -> bool:
        return self._leading and (time.monotonic() - self._last_renew) < self.renew_deadline

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self, release: bool = True) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if release and self._leading:
            self._release()
        self._set_leading(False)

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        log_event(
            log,
            "leadership " + ("acquired" if leading else "lost"),
            identity=self.identity,
            lease=f"{self.namespace}/{self.name}",
        )
        cb = self.on_started if leading else self.on_stopped
        if cb:
            cb()

    def _run(self) -> None:
        while not self._stop.is_set():
            # a renewal counts from before its request (when the Lease's renewTime is set):
            # a slow or late request must not extend the lease past what the others see
            started = time.monotonic()
            try:
                ok = self._try_acquire_or_renew()
            except KubeError as exc:
                log_event(log, "lease renewal failed", logging.WARNING, error=str(exc))
                ok = False
            if ok:
                self._last_renew = started
                self._set_leading(True)
            elif self._leading and not self.is_leader():
                self._set_leading(False)
            self._stop.wait(self.retry_period)

    def _try_acquire_or_renew(self) -> bool:
        if not self._leading and self.blocked is not None:
            why = self.blocked()
            if why != self._blocked_by:
                self._blocked_by = why
                if why:
                    log_event(log, "not taking the leader lease", lease=self.name, reason=why)
            if why:
                return False
        return self.lock.acquire_or_renew(self.name, self.lock.get(self.name))

    def _release(self) -> None:
        if self.lock.release(self.name):
            log_event(log, "lease released", identity=self.identity)
