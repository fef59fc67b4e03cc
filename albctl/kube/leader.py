"""Leader election on a coordination.k8s.io/v1 Lease.

The official client only ships a ConfigMap lock, so this is our own: acquire when the lease
is free or expired, renew every ``retry_period``; ``is_leader`` turns false as soon as a
renewal has not succeeded for ``renew_deadline``, so a leader that cannot renew stops
writing at once, before another replica can take over (after ``lease_duration``).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

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
        self._last_renew = 0.0
        self._leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
            try:
                ok = self._try_acquire_or_renew()
            except KubeError as exc:
                log_event(log, "lease renewal failed", logging.WARNING, error=str(exc))
                ok = False
            if ok:
                self._last_renew = time.monotonic()
                self._set_leading(True)
            elif self._leading and not self.is_leader():
                self._set_leading(False)
            self._stop.wait(self.retry_period)

    def _try_acquire_or_renew(self) -> bool:
        now = datetime.datetime.now(datetime.UTC)
        spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "renewTime": _micro(now),
        }
        try:
            lease = self.api.get(LEASE, self.name, self.namespace)
        except NotFound:
            spec["acquireTime"] = _micro(now)
            spec["leaseTransitions"] = 0
            try:
                self.api.create(
                    LEASE,
                    {
                        "apiVersion": "coordination.k8s.io/v1",
                        "kind": "Lease",
                        "metadata": {"name": self.name, "namespace": self.namespace},
                        "spec": spec,
                    },
                    self.namespace,
                )
                return True
            except Conflict:
                return False
        cur = lease.get("spec", {})
        holder = cur.get("holderIdentity")
        renew = _parse(cur.get("renewTime"))
        duration = float(cur.get("leaseDurationSeconds") or self.lease_duration)
        if (
            holder
            and holder != self.identity
            and renew
            and (now - renew).total_seconds() < duration
        ):
            return False
        if holder != self.identity:
            spec["acquireTime"] = _micro(now)
            spec["leaseTransitions"] = int(cur.get("leaseTransitions") or 0) + 1
        else:
            spec["acquireTime"] = cur.get("acquireTime") or _micro(now)
            spec["leaseTransitions"] = int(cur.get("leaseTransitions") or 0)
        lease["spec"] = spec
        try:
            self.api.replace(LEASE, lease)  # resourceVersion from the GET: a race loses with 409
            return True
        except Conflict:
            return False

    def _release(self) -> None:
        try:
            lease = self.api.get(LEASE, self.name, self.namespace)
            if lease.get("spec", {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["renewTime"] = None
            self.api.replace(LEASE, lease)
            log_event(log, "lease released", identity=self.identity)
        except KubeError as exc:
            log_event(log, "lease release failed", logging.WARNING, error=str(exc))
