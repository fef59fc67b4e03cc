"""Which shard an IngressGroup belongs to, and how many shards a replica should hold.

Pure decisions for ``albctl run --shards N``: the shard of a group is a stable hash of its id
(the same in every process and every Python version, unlike ``hash()``), and a replica's plan
for one round of lease work is computed from what it sees of the shard Leases. No clock, no
I/O: the Lease reading and writing is in :mod:`albctl.kube.shards`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


def shard_of(group_id: str, shards: int) -> int:
    """The shard (0..shards-1) of a group id: the first 8 bytes of its SHA-256, modulo N."""
    if shards <= 1:
        return 0
    digest = hashlib.sha256(group_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def fair_share(shards: int, live_replicas: int) -> int:
    """ceil(shards / live replicas): the most shards one replica should hold."""
    live = max(live_replicas, 1)
    return -(-shards // live)


def _preference(identity: str, shard: int) -> str:
    # every replica tries free shards in its own order, so that replicas starting together
    # mostly go for different Leases instead of all racing for shard 0
    return hashlib.sha256(f"{identity}/{shard}".encode()).hexdigest()


@dataclass(frozen=True)
class ShardPlan:
    """One round of lease work: shards to give up (over the fair share) and to try to take."""

    share: int
    release: tuple[int, ...]
    take: tuple[int, ...]


def plan_shards(
    *,
    identity: str,
    shards: int,
    held: Iterable[int],
    free: Iterable[int],
    live_replicas: int,
) -> ShardPlan:
    """What a replica holding ``held`` should do when ``free`` shards (no holder, or an
    expired one) are there to take and ``live_replicas`` replicas (itself included) run.

    Over the share: release the highest-numbered shards first (shard 0 carries the
    cluster-wide work, so it moves least). Under it: try free shards up to the share.
    """
    share = fair_share(shards, live_replicas)
    mine = sorted(set(held))
    if len(mine) > share:
        return ShardPlan(share, tuple(sorted(mine[share:], reverse=True)), ())
    room = share - len(mine)
    candidates = sorted(set(free) - set(mine), key=lambda s: _preference(identity, s))
    return ShardPlan(share, (), tuple(candidates[:room]))
