"""Shard leases for ``albctl run --shards N``: which shards this replica may work on.

Each shard has a Lease ``<name>-<shard>``; each replica also keeps a member Lease
``<name>-member-<digest of its identity>``, renewed like the shard leases, so that every
replica counts the live replicas (member Leases not expired) and so its fair share,
ceil(N / live). All of albctl's Leases of one deployment carry the label
``albctl.io/lease-group=<name>``: one list a round reads them all.

Every ``retry_period`` a round: renew the member Lease and the shards held; give up shards over
the fair share (they stop counting as held at once, the Lease is released when no work of
theirs is in flight); try free or expired shards up to the share. A shard whose renewal has not
succeeded for ``renew_deadline`` stops counting as held before anyone else can take it (after
``lease_duration``), as the leader lease does. Both count from the same moment: a renewal's
deadline runs from when its request was sent (its renewTime), not from when the answer came,
so a renewal that reaches the API server late does not stretch the deadline past the expiry.

Replicas of another shard count (a rollout changing ``--shards``) hash groups differently: while
any live shard Lease of the group was written with another shard count, or the single leader
Lease ``<name>`` is held, no shard is taken. Nothing here knows about IngressGroups beyond
:func:`albctl.model.shards.shard_of`.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from albctl.kube.api import KubeApi, KubeError
from albctl.kube.leader import (
    GROUP_LABEL,
    ROLE_LABEL,
    SHARDS_ANNOTATION,
    LeaseLock,
    LeaseState,
    lease_state,
)
from albctl.logs import log_event
from albctl.model.shards import plan_shards, shard_of

log = logging.getLogger(__name__)


def shard_lease_name(name: str, shard: int) -> str:
    return f"{name}-{shard}"


def member_lease_name(name: str, identity: str) -> str:
    # identities (hostname_suffix, pod names) are not always valid object names
    return f"{name}-member-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def sharded_holder(api: KubeApi, namespace: str, name: str) -> str | None:
    """Why a single leader (``--shards 1``) must not take ``name`` now: shard 0 of a sharded
    deployment of the same lease name is live (a rollout from ``--shards N``)."""
    lock = LeaseLock(api, namespace, "", 0)
    lease = lock.get(shard_lease_name(name, 0))
    if lease is None:
        return None
    st = lease_state(lease, datetime.datetime.now(datetime.UTC))
    if st.live and (st.shards or 1) > 1:
        return f"shard lease {st.name} is held by {st.holder} (--shards {st.shards})"
    return None


@dataclass
class _Held:
    last_renew: float
    draining_since: float | None = None  # over the share: released once no work is in flight


@dataclass
class Callbacks:
    """What the controller does when shards come and go (called from the lease thread)."""

    acquired: Callable[[int], None] = lambda shard: None
    lost: Callable[[int], None] = lambda shard: None
    busy: Callable[[int], bool] = lambda shard: False  # work of the shard in flight
    transition: Callable[[int, str], None] = lambda shard, what: None
    held_count: Callable[[int], None] = lambda n: None


@dataclass
class _Round:
    """What one list of the lease group says."""

    leases: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: dict[str, LeaseState] = field(default_factory=dict)
    live_members: int = 1
    blocked: str | None = None


class ShardElector:
    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        name: str,
        identity: str,
        shards: int,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.shards = shards
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.cb = callbacks or Callbacks()
        self.lock = LeaseLock(
            api,
            namespace,
            identity,
            lease_duration,
            labels={GROUP_LABEL: name},
            annotations={SHARDS_ANNOTATION: str(shards)},
        )
        self.member = member_lease_name(name, identity)
        self._held: dict[int, _Held] = {}
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blocked: str | None = None

    # --- what may be worked on (any thread) ---------------------------------------------------

    def holds(self, shard: int) -> bool:
        with self._mutex:
            h = self._held.get(shard)
            if h is None or h.draining_since is not None:
                return False
            return (time.monotonic() - h.last_renew) < self.renew_deadline

    def owns_group(self, group_id: str) -> bool:
        return self.holds(shard_of(group_id, self.shards))

    def held(self) -> set[int]:
        return {s for s in range(self.shards) if self.holds(s)}

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shard-leases", daemon=True)
        self._thread.start()

    def stop(self, release: bool = True) -> None:
        """Stop the rounds; with ``release`` give every shard and the member Lease up at once."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        with self._mutex:
            shards = sorted(self._held)
            self._held.clear()
        for s in shards:
            self.cb.lost(s)
            if release and self.lock.release(shard_lease_name(self.name, s)):
                log_event(log, "shard released", shard=s, identity=self.identity, reason="stop")
                self.cb.transition(s, "released")
        self.cb.held_count(0)
        if release:
            try:
                self.lock.delete(self.member)
            except KubeError as exc:
                log_event(log, "member lease not deleted", logging.WARNING, error=str(exc))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
            except KubeError as exc:
                log_event(log, "shard lease round failed", logging.WARNING, error=str(exc))
            self._expire()
            self._stop.wait(self.retry_period)

    # --- one round ----------------------------------------------------------------------------

    def round(self) -> None:
        """Read the lease group, renew, give up what is over the share, take what is free."""
        seen = self._read()
        self._renew_member(seen)
        self._renew_held(seen)
        self._finish_draining()
        with self._mutex:
            held = {s for s, h in self._held.items() if h.draining_since is None}
        plan = plan_shards(
            identity=self.identity,
            shards=self.shards,
            held=held,
            free=self._free(seen, held),
            live_replicas=seen.live_members,
        )
        for s in plan.release:
            self._drain(s, share=plan.share)
        if seen.blocked:
            if seen.blocked != self._blocked:
                log_event(log, "not taking shards", reason=seen.blocked, identity=self.identity)
            self._blocked = seen.blocked
            return
        self._blocked = None
        for s in plan.take:
            self._take(s, seen, plan.share)
        self.cb.held_count(len(self.held()))

    def _free(self, seen: _Round, held: set[int]) -> set[int]:
        """Shards with no live holder (or still in this replica's name) not held now."""
        out = set()
        for s in range(self.shards):
            st = seen.states.get(shard_lease_name(self.name, s))
            if s not in held and (st is None or not st.live or st.holder == self.identity):
                out.add(s)
        return out

    def _read(self) -> _Round:
        now = datetime.datetime.now(datetime.UTC)
        items = self.lock.list(f"{GROUP_LABEL}={self.name}")
        seen = _Round()
        members = {self.identity}
        for lease in items:
            st = lease_state(lease, now)
            seen.leases[st.name] = lease
            seen.states[st.name] = st
            if not st.live or st.holder == self.identity:
                if st.role == "member" and not st.live and st.name != self.member:
                    self._collect(st.name)
                continue
            if st.shards is not None and st.shards != self.shards:
                # replicas of another shard count: their shards block ours (they hash groups
                # differently); their members hold nothing of ours and do not count
                if st.role != "member":
                    seen.blocked = f"lease {st.name} of {st.holder} uses --shards {st.shards}"
            elif st.role == "member":
                members.add(st.holder or "")
        legacy = self.lock.get(self.name)  # the single leader lease (--shards 1)
        if legacy is not None:
            st = lease_state(legacy, now)
            if st.live:
                seen.blocked = f"leader lease {self.name} is held by {st.holder} (--shards 1)"
        seen.live_members = len(members)
        return seen

    def _collect(self, name: str) -> None:
        """A member Lease that expired: its replica is gone (a live one writes it again)."""
        try:
            self.lock.delete(name)
            log_event(log, "expired member lease deleted", lease=name)
        except KubeError as exc:
            log_event(log, "expired member lease not deleted", logging.DEBUG, error=str(exc))

    def _renew_member(self, seen: _Round) -> None:
        if not self.lock.acquire_or_renew(
            self.member, seen.leases.get(self.member), {ROLE_LABEL: "member"}
        ):
            log_event(log, "member lease not renewed", logging.WARNING, lease=self.member)

    def _renew_held(self, seen: _Round) -> None:
        with self._mutex:
            shards = sorted(self._held)
        for s in shards:
            name = shard_lease_name(self.name, s)
            # the renewal counts from before the request: the Lease's renewTime is written
            # then, and others count its expiry from it however late the request arrives
            started = time.monotonic()
            ok = self.lock.acquire_or_renew(name, seen.leases.get(name), {ROLE_LABEL: "shard"})
            if ok:
                with self._mutex:
                    if s in self._held:
                        self._held[s].last_renew = started
            else:
                log_event(log, "shard lease not renewed", logging.WARNING, shard=s)

    def _take(self, shard: int, seen: _Round, share: int) -> None:
        name = shard_lease_name(self.name, shard)
        started = time.monotonic()
        if not self.lock.acquire_or_renew(name, seen.leases.get(name), {ROLE_LABEL: "shard"}):
            return
        with self._mutex:
            self._held[shard] = _Held(started)
        log_event(
            log,
            "shard acquired",
            shard=shard,
            identity=self.identity,
            share=share,
            replicas=seen.live_members,
        )
        self.cb.transition(shard, "acquired")
        self.cb.acquired(shard)

    def _drain(self, shard: int, share: int) -> None:
        with self._mutex:
            h = self._held.get(shard)
            if h is None or h.draining_since is not None:
                return
            h.draining_since = time.monotonic()
        log_event(log, "shard over the fair share: draining", shard=shard, share=share)
        self.cb.lost(shard)

    def _finish_draining(self) -> None:
        """Release draining shards once their in-flight work is done (or after the renew
        deadline: a call stuck that long would not be covered by the lease anyway)."""
        now = time.monotonic()
        with self._mutex:
            draining = [s for s, h in self._held.items() if h.draining_since is not None]
        for s in draining:
            with self._mutex:
                since = self._held[s].draining_since or now
            if self.cb.busy(s) and now - since < self.renew_deadline:
                continue
            with self._mutex:
                self._held.pop(s, None)
            if self.lock.release(shard_lease_name(self.name, s)):
                log_event(log, "shard released", shard=s, identity=self.identity, reason="share")
                self.cb.transition(s, "released")

    def _expire(self) -> None:
        """Shards not renewed for ``renew_deadline`` are lost (another replica may take them
        once ``lease_duration`` has passed)."""
        now = time.monotonic()
        with self._mutex:
            gone = [
                s
                for s, h in self._held.items()
                if h.draining_since is None and now - h.last_renew >= self.renew_deadline
            ]
            for s in gone:
                self._held.pop(s)
        for s in gone:
            log_event(log, "shard lost", logging.WARNING, shard=s, identity=self.identity)
            self.cb.transition(s, "lost")
            self.cb.lost(s)
        if gone:
            self.cb.held_count(len(self.held()))
