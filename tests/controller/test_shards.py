"""Sharding: the stable hash of group ids, the fair share, and shard Leases on the sandbox."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from albctl.kube.api import LEASE, KubeApi
from albctl.kube.leader import LeaderElector, LeaseLock, lease_state
from albctl.kube.shards import (
    Callbacks,
    ShardElector,
    member_lease_name,
    shard_lease_name,
    sharded_holder,
)
from albctl.model.shards import fair_share, plan_shards, shard_of
from albctl.sandbox import SandboxServer

# --- the hash --------------------------------------------------------------------------------


def test_shard_of_is_the_sha256_of_the_group_id_and_stable_across_processes() -> None:
    # fixed values: Python's hash() of a str changes with every process (PYTHONHASHSEED)
    assert [shard_of(g, 3) for g in ("web", "shop/front", "checkout")] == [0, 1, 2]
    assert shard_of("web", 1) == 0


def test_shard_of_spreads_groups_evenly() -> None:
    counts = [0] * 4
    for i in range(4000):
        counts[shard_of(f"ns{i % 17}/ingress-{i}", 4)] += 1
    assert all(900 < c < 1100 for c in counts), counts


# --- the fair share --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shards", "live", "share"),
    [(1, 1, 1), (3, 1, 3), (3, 2, 2), (3, 3, 1), (3, 5, 1), (8, 3, 3), (4, 0, 4)],
)
def test_fair_share_is_the_ceiling(shards: int, live: int, share: int) -> None:
    assert fair_share(shards, live) == share


def test_a_replica_over_its_share_releases_the_highest_shards() -> None:
    plan = plan_shards(identity="a", shards=4, held={0, 1, 2, 3}, free=set(), live_replicas=3)
    assert plan.share == 2
    assert plan.release == (3, 2)
    assert plan.take == ()


def test_a_replica_under_its_share_takes_free_shards_up_to_it() -> None:
    plan = plan_shards(identity="a", shards=6, held={1}, free={0, 2, 3, 4}, live_replicas=2)
    assert plan.release == ()
    assert len(plan.take) == 2
    assert set(plan.take) <= {0, 2, 3, 4}


def test_replicas_prefer_different_free_shards() -> None:
    firsts = {
        plan_shards(identity=f"r{i}", shards=8, held=(), free=range(8), live_replicas=8).take[0]
        for i in range(8)
    }
    assert len(firsts) > 2  # not everyone racing for the same Lease


def test_every_shard_is_covered_when_replicas_take_their_share() -> None:
    held: dict[str, set[int]] = {"a": set(), "b": set(), "c": set()}
    for _ in range(3):
        for r in held:
            taken = set().union(*held.values())
            free = set(range(5)) - taken
            plan = plan_shards(identity=r, shards=5, held=held[r], free=free, live_replicas=3)
            held[r] |= set(plan.take)
    assert set().union(*held.values()) == set(range(5))
    assert max(len(h) for h in held.values()) <= 2


# --- shard Leases on the sandbox API server ---------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[KubeApi]:
    server = SandboxServer(bookmark_interval=0.5)
    server.start()
    try:
        yield KubeApi(str(server.write_kubeconfig(tmp_path / "kubeconfig")))
    finally:
        server.stop()


def elector(api: KubeApi, identity: str, shards: int = 3, **cb: object) -> ShardElector:
    return ShardElector(
        api,
        "default",
        "albctl-leader",
        identity,
        shards,
        lease_duration=1,
        renew_deadline=0.7,
        retry_period=0.1,
        callbacks=Callbacks(**cb),  # type: ignore[arg-type]
    )


def holder(api: KubeApi, shard: int) -> str | None:
    lease = api.get(LEASE, shard_lease_name("albctl-leader", shard), "default")
    return lease["spec"].get("holderIdentity")


def test_one_replica_takes_every_shard_and_a_second_gets_its_share(api: KubeApi) -> None:
    acquired: list[int] = []
    a = elector(api, "a", acquired=acquired.append)
    a.round()
    assert a.held() == {0, 1, 2}
    assert sorted(acquired) == [0, 1, 2]
    assert [holder(api, s) for s in range(3)] == ["a", "a", "a"]
    b = elector(api, "b")
    b.round()  # a holds everything: b only registers
    assert b.held() == set()
    lost: list[int] = []
    a.cb.lost = lost.append
    a.round()  # two live replicas: a's share is 2, it gives shard 2 up
    assert a.held() == {0, 1}
    assert lost == [2]
    a.round()  # nothing in flight: released
    assert holder(api, 2) is None
    b.round()
    assert b.held() == {2}
    assert b.owns_group("checkout") and not a.owns_group("checkout")  # shard 2


def test_a_draining_shard_is_released_only_when_its_work_is_done(api: KubeApi) -> None:
    busy = {2}
    a = elector(api, "a", busy=lambda s: s in busy)
    a.round()
    elector(api, "b").round()
    a.round()
    assert not a.holds(2)  # no new work for it at once
    a.round()
    assert holder(api, 2) == "a"  # still in flight: not released, still renewed
    busy.clear()
    a.round()
    assert holder(api, 2) is None


def test_a_dead_replicas_shards_are_taken_after_the_lease_duration(api: KubeApi) -> None:
    a, b = elector(api, "a"), elector(api, "b")
    a.round()
    b.round()
    a.round()
    a.round()
    b.round()
    assert a.held() | b.held() == {0, 1, 2} and not a.held() & b.held()
    dead = a.held()
    b.round()
    assert b.held() & dead == set()  # still live: not taken
    time.sleep(1.2)  # a stops renewing (killed)
    b.round()
    assert b.held() == {0, 1, 2}
    # a's member Lease expired: deleted, so it no longer counts as a replica
    names = {i["metadata"]["name"] for i in api.list(LEASE, "default")["items"]}
    assert member_lease_name("albctl-leader", "a") not in names


def test_a_shard_not_renewed_stops_counting_before_it_expires(api: KubeApi) -> None:
    lost: list[int] = []
    a = elector(api, "a", shards=2, lost=lost.append)
    a.round()
    assert a.held() == {0, 1}
    time.sleep(0.75)  # past the renew deadline (0.7 s), before the lease duration (1 s)
    assert a.held() == set()
    a._expire()
    assert sorted(lost) == [0, 1]


def test_stop_releases_every_shard_and_the_member_lease(api: KubeApi) -> None:
    a = elector(api, "a")
    a.round()
    a.stop(release=True)
    assert [holder(api, s) for s in range(3)] == [None, None, None]
    names = {i["metadata"]["name"] for i in api.list(LEASE, "default")["items"]}
    assert member_lease_name("albctl-leader", "a") not in names
    b = elector(api, "b")
    b.round()
    assert b.held() == {0, 1, 2}


def test_no_shard_is_taken_while_replicas_with_another_shard_count_hold_leases(
    api: KubeApi,
) -> None:
    old = elector(api, "old", shards=2)
    old.round()
    new = elector(api, "new", shards=3)
    new.round()
    assert new.held() == set()
    assert not [
        i for i in api.list(LEASE, "default")["items"] if i["metadata"]["name"] == "albctl-leader-2"
    ]  # not even the shard the old replicas do not have
    old.stop(release=True)
    new.round()
    assert new.held() == {0, 1, 2}


def test_single_leader_and_sharded_replicas_exclude_each_other(api: KubeApi) -> None:
    leader = LeaseLock(api, "default", "leader", 1)
    assert leader.acquire_or_renew("albctl-leader", None)
    sharded = elector(api, "s")
    sharded.round()
    assert sharded.held() == set()
    assert leader.release("albctl-leader")
    sharded.round()
    assert sharded.held() == {0, 1, 2}
    assert sharded_holder(api, "default", "albctl-leader") is not None


def test_replicas_of_the_old_shard_count_keep_covering_their_shards_during_a_rollout(
    api: KubeApi,
) -> None:
    a, b = elector(api, "a", shards=2), elector(api, "b", shards=2)
    a.round()
    b.round()
    a.round()
    a.round()
    b.round()
    assert a.held() == {0} and b.held() == {1}
    new = elector(api, "new", shards=3)
    new.round()  # a member of another count: it takes nothing
    assert new.held() == set()
    b.stop(release=True)  # b goes first: a takes its shard, new replicas do not count
    a.round()
    assert a.held() == {0, 1}
    assert new.held() == set()


# --- renewals that reach the API server late --------------------------------------------------


def expired_for_others(api: KubeApi, name: str, timeout: float = 5) -> None:
    """Wait until ``name`` has expired as another replica reads it (it may be taken)."""
    deadline = time.monotonic() + timeout
    while lease_state(api.get(LEASE, name, "default"), datetime.datetime.now(datetime.UTC)).live:
        assert time.monotonic() < deadline, f"{name} still live"
        time.sleep(0.01)


def late(monkeypatch: pytest.MonkeyPatch, api: KubeApi, seconds: float) -> None:
    """Lease writes reach the API server ``seconds`` after they are made (and succeed)."""
    for verb in ("create", "replace"):
        real = getattr(api, verb)

        def slow(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            time.sleep(seconds)
            return _real(*args, **kwargs)

        monkeypatch.setattr(api, verb, slow)


def test_a_shard_renewed_late_is_not_held_past_the_expiry_the_others_see(
    api: KubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the deadline counts from when the renewal was made (its renewTime), not from its answer:
    # counted from the answer, a 0.6 s late renewal would keep the shard 1.3 s after its
    # renewTime while the others may take it after 1 s
    a = elector(api, "a", shards=1)
    a.round()
    assert a.held() == {0}
    late(monkeypatch, api, 0.6)
    a.round()  # the renewal succeeds, 0.6 s after it was made
    monkeypatch.undo()
    assert a.held() == {0}
    expired_for_others(api, shard_lease_name("albctl-leader", 0))
    assert not a.holds(0)
    b = elector(api, "b", shards=1)
    b.round()
    assert b.held() == {0}


def test_a_leader_renewed_late_does_not_lead_past_the_expiry_the_others_see(
    api: KubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    late(monkeypatch, api, 0.6)
    leader = LeaderElector(
        api, "default", "lead", "a", lease_duration=1, renew_deadline=0.7, retry_period=10
    )
    leader.start()  # one acquisition, 0.6 s late; no renewal after it
    try:
        deadline = time.monotonic() + 5
        while not leader.is_leader():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        expired_for_others(api, "lead")
        assert not leader.is_leader()
    finally:
        monkeypatch.undo()
        leader.stop(release=False)
