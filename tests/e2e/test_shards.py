"""``albctl run --shards 3``: three replicas share six IngressGroups; one is killed, or cut off
the API server (through a TCP forwarder) for longer than the lease and then let back.

Every AWS call of the replicas goes through the recording proxy of tests/faults, each replica
signing with its own access key, so every mutating call is attributed to a replica and, by
the ARNs, names and ownership tags it carries, to a group. A sampler reads the shard Leases
every 0.1 s. The test asserts that every mutating call for a group was made by the replica
holding the Lease of the group's shard at that time: groups are never written by two
replicas at once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from albctl.aws.seed import node_manifests
from albctl.kube.api import INGRESS, LEASE, KubeApi, NotFound
from albctl.model.shards import shard_of
from tests.e2e.conftest import owned
from tests.e2e.test_controller import (
    Live,
    _free_port,
    live,  # noqa: F401 (the fixture)
    wait_for,
)
from tests.faults.forwarder import TcpForwarder
from tests.faults.proxy import Call, FaultProxy
from tests.helpers import REGION, backend, ingress, ingress_class, rule, service

pytestmark = pytest.mark.e2e

SHARDS = 3
# two groups per shard: shard_of(g, 3) is 2, 1, 0, 1, 2, 0
GROUPS = ("alpha", "bravo", "charlie", "delta", "echo", "golf")
LEASE_NAME = "albctl-leader"
LEASE_SECONDS = 3.0
RENEW_DEADLINE = LEASE_SECONDS * 2 / 3  # what albctl run derives from --lease-duration


def docs(lv: Live, changed: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shards"}},
        ingress_class(),
        *node_manifests(lv.e2e.seeded.instances, REGION),
        service("web", "shards", node_port=30200),
    ]
    for g in GROUPS:
        ann = {"healthcheck_path": (changed or {}).get(g, "/healthz")}
        out.append(
            ingress(
                g,
                "shards",
                group_name=g,
                scheme="internet-facing",
                rules=[rule(f"{g}.example.com", ("/", "Prefix", backend("web", 80)))],
                **ann,
            )
        )
    return out


@dataclass
class Sampler:
    """The holder of every shard Lease, read every 0.1 s: [(monotonic time, {shard: holder})]."""

    api: KubeApi
    samples: list[tuple[float, dict[int, str | None]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            seen: dict[int, str | None] = {}
            for s in range(SHARDS):
                try:
                    lease = self.api.get(LEASE, f"{LEASE_NAME}-{s}", "default")
                    seen[s] = lease["spec"].get("holderIdentity")
                except NotFound:
                    seen[s] = None
            self.samples.append((time.monotonic(), seen))
            self.stop.wait(0.1)

    def holders_around(self, t: float, shard: int) -> set[str | None]:
        before = [h for ts, h in self.samples if ts <= t]
        after = [h for ts, h in self.samples if ts >= t]
        return {x[shard] for x in (before[-1:] + after[:1])}


def start_replica(
    lv: Live, proxy: FaultProxy, n: int, kubeconfig: Path | None = None
) -> subprocess.Popen[str]:
    """Replica ``n``: signs its AWS calls with ``AKIDREPLICA<n>``; talks to the API server
    through ``kubeconfig`` (the sandbox's own by default)."""
    log = lv.e2e.tmp / f"replica-{n}.log"
    lv.logs.append(log)
    env = {
        **lv.e2e.env,
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_ACCESS_KEY_ID": f"AKIDREPLICA{n}",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    cmd = [
        sys.executable,
        "-m",
        "albctl.cli",
        "run",
        "--kubeconfig",
        str(kubeconfig or lv.kubeconfig),
        "--metrics-bind-address",
        f"127.0.0.1:{_free_port()}",
        "--health-probe-bind-address",
        "0",
        "--webhook-bind-address",
        "0",
        "--resync-period",
        "20s",
        "--workers",
        "2",
        "--log-format",
        "json",
        "--leader-elect",
        "--leader-election-namespace",
        "default",
        "--lease-duration",
        f"{LEASE_SECONDS:g}s",
        "--shards",
        str(SHARDS),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
    lv.procs.append(proc)
    return proc


def identity_of(lv: Live, n: int) -> str | None:
    for line in (lv.e2e.tmp / f"replica-{n}.log").read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("msg") == "caches synced":
            return str(rec["identity"])
    return None


def wait_for_every_alb(lv: Live) -> None:
    wait_for(
        "every group's ALB",
        lambda: (
            len(owned(lv.e2e)["lbs"]) == len(GROUPS)
            and all(
                (lv.api.get(INGRESS, g, "shards").get("status") or {}).get("loadBalancer")
                for g in GROUPS
            )
        ),
        timeout=40,
    )


def logged_shards_lost(lv: Live, n: int) -> set[int]:
    """Shards replica ``n`` logged as lost so far."""
    out: set[int] = set()
    for line in (lv.e2e.tmp / f"replica-{n}.log").read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("msg") == "shard lost":
            out.add(int(rec["shard"]))
    return out


def group_index(lv: Live) -> dict[str, str]:
    """Id fragments (ARNs, 'app/<name>/<id>', security group ids) -> group, from AWS tags."""
    elb = lv.e2e.clients.elbv2
    out: dict[str, str] = {}
    arns = [x["LoadBalancerArn"] for x in owned(lv.e2e)["lbs"]]
    arns += [x["TargetGroupArn"] for x in owned(lv.e2e)["tgs"]]
    for i in range(0, len(arns), 20):
        for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            tags = {t["Key"]: t["Value"] for t in d["Tags"]}
            if "albctl.io/stack" in tags:
                arn = d["ResourceArn"]
                key = arn.split("loadbalancer/", 1)[1] if ":loadbalancer/" in arn else arn
                out[key] = tags["albctl.io/stack"]
    for sg in owned(lv.e2e)["sgs"]:
        tags = {t["Key"]: t["Value"] for t in sg.get("Tags", [])}
        if "albctl.io/stack" in tags:
            out[sg["GroupId"]] = tags["albctl.io/stack"]
    return out


def group_of(call: Call, index: dict[str, str]) -> str | None:
    for k, v in call.params.items():
        if v == "albctl.io/stack" and isinstance(k, str) and k.endswith("Key"):
            return str(call.params.get(k[: -len("Key")] + "Value"))
    for v in call.values():
        for frag, g in index.items():
            if frag in v:
                return g
    return None  # cluster-wide: the shared backend group and its rules on node groups


def assert_group_writes_by_holders(
    proxy: FaultProxy, sampler: Sampler, index: dict[str, str], ids: list[str]
) -> tuple[dict[str, set[str]], int]:
    """Every mutating call for a group that the proxy received (forwarded to AWS or not) came
    from the replica holding the Lease of the group's shard at that time. Returns the writers of
    each group and the number of calls checked."""
    who = {f"AKIDREPLICA{n}": ids[n] for n in range(len(ids))}
    writers: dict[str, set[str]] = {}
    checked = 0
    for call in list(proxy.calls):
        if not call.mutating or call.access_key not in who:
            continue
        g = group_of(call, index)
        if g is None:
            continue
        replica = who[call.access_key]
        holders = sampler.holders_around(call.time, shard_of(g, SHARDS))
        assert replica in holders, (call.operation, g, replica, holders)
        writers.setdefault(g, set()).add(replica)
        checked += 1
    return writers, checked


@pytest.fixture
def proxy(live: Live) -> Iterator[FaultProxy]:  # noqa: F811
    p = FaultProxy(live.e2e.endpoint, seed=1).start()
    try:
        yield p
    finally:
        p.stop()


def test_three_replicas_share_the_groups_and_a_killed_ones_shards_move(
    live: Live,  # noqa: F811
    proxy: FaultProxy,
) -> None:
    assert sorted({shard_of(g, SHARDS) for g in GROUPS}) == [0, 1, 2]
    live.apply(*docs(live))
    sampler = Sampler(KubeApi(str(live.kubeconfig), user_agent="albctl-tests/0.1"))
    threading.Thread(target=sampler.run, daemon=True).start()
    procs = [start_replica(live, proxy, n) for n in range(3)]
    ids = [wait_for(f"replica {n} synced", lambda n=n: identity_of(live, n)) for n in range(3)]
    wait_for_every_alb(live)
    wait_for(
        "one shard per replica",
        lambda: sorted(str(h) for h in sampler.samples[-1][1].values()) == sorted(ids),
        timeout=20,
    )
    # kill -9 the holder of alpha's shard: the others take the shard over
    moved = shard_of("alpha", SHARDS)
    victim = ids.index(str(sampler.samples[-1][1][moved]))
    killed_at = time.monotonic()
    procs[victim].send_signal(signal.SIGKILL)
    procs[victim].wait(timeout=10)
    new_holder = wait_for(
        "alpha's shard taken over",
        lambda: (h := sampler.samples[-1][1][moved]) not in (None, ids[victim]) and h,
        timeout=10,
    )
    failover = time.monotonic() - killed_at
    assert new_holder in ids and failover < LEASE_SECONDS + 3  # lease duration + a round or two
    live.apply(*docs(live, changed={"alpha": "/moved"}))
    index = group_index(live)
    alpha_tgs = [t for t in owned(live.e2e)["tgs"] if index.get(t["TargetGroupArn"]) == "alpha"]
    assert alpha_tgs
    wait_for(
        "alpha updated by the new holder",
        lambda: (
            live.e2e.clients.elbv2.describe_target_groups(
                TargetGroupArns=[alpha_tgs[0]["TargetGroupArn"]]
            )["TargetGroups"][0]["HealthCheckPath"]
            == "/moved"
        ),
        timeout=15,
    )
    sampler.stop.set()
    # every mutating call for a group came from the holder of its shard's Lease at that time
    writers, checked = assert_group_writes_by_holders(proxy, sampler, index, ids)
    assert set(writers) == set(GROUPS)
    assert new_holder in writers["alpha"]
    assert checked >= 5 * len(GROUPS)  # create LB, SG, TG, listener, targets... per group
    print(f"failover {failover:.2f}s; {checked} writes checked; writers {writers}")


# --- a replica cut off the API server ---------------------------------------------------------

CUT_SECONDS = 8.0  # longer than the lease: the cut replica's Leases expire


@pytest.fixture
def forwarder(live: Live) -> Iterator[TcpForwarder]:  # noqa: F811
    f = TcpForwarder(live.sandbox.host, live.sandbox.port).start()
    try:
        yield f
    finally:
        f.stop()


def kubeconfig_via(lv: Live, fwd: TcpForwarder) -> Path:
    """A kubeconfig for the sandbox whose server is the forwarder."""
    config = lv.sandbox.kubeconfig()
    config["clusters"][0]["cluster"]["server"] = fwd.url
    path = lv.e2e.tmp / "kubeconfig-forwarded"
    path.write_text(yaml.safe_dump(config))
    return path


def one_shard_each(sampler: Sampler, ids: list[str]) -> bool:
    return sorted(str(h) for h in sampler.samples[-1][1].values()) == sorted(ids)


def test_a_replica_cut_off_the_api_server_stops_writing_its_shards_move_and_it_rejoins(
    live: Live,  # noqa: F811
    proxy: FaultProxy,
    forwarder: TcpForwarder,
) -> None:
    """Replica 2 reaches the API server through a TCP forwarder; the others directly. It is
    cut off for longer than the lease duration in the middle of writing one of its groups
    (that write held by the AWS proxy until another replica has its shard, then failed: a
    retry of it must not go out). Its shard moves, a change made during the cut reaches AWS
    through the new holder, and once restored it rejoins: one shard per replica again."""
    live.apply(*docs(live))
    sampler = Sampler(KubeApi(str(live.kubeconfig), user_agent="albctl-tests/0.1"))
    threading.Thread(target=sampler.run, daemon=True).start()
    via = kubeconfig_via(live, forwarder)
    for n in range(3):
        start_replica(live, proxy, n, kubeconfig=via if n == 2 else None)
    ids = [wait_for(f"replica {n} synced", lambda n=n: identity_of(live, n)) for n in range(3)]
    victim, victim_key = ids[2], "AKIDREPLICA2"
    wait_for_every_alb(live)
    wait_for("one shard per replica", lambda: one_shard_each(sampler, ids), timeout=20)
    index = group_index(live)
    tg = {g: arn for arn, g in index.items() if ":targetgroup/" in arn}
    assert set(tg) == set(GROUPS)

    def health_path(g: str) -> str:
        elb = live.e2e.clients.elbv2
        return str(
            elb.describe_target_groups(TargetGroupArns=[tg[g]])["TargetGroups"][0][
                "HealthCheckPath"
            ]
        )

    def writes(g: str, key: str, after: float, before: float = float("inf")) -> list[Call]:
        """Mutating calls for group ``g`` signed with ``key`` that reached AWS."""
        return [
            c
            for c in list(proxy.calls)
            if c.mutating
            and c.access_key == key
            and c.status == 200
            and after < c.time < before
            and group_of(c, index) == g
        ]

    lost = next(s for s, h in sampler.samples[-1][1].items() if h == victim)
    x, y = (g for g in GROUPS if shard_of(g, SHARDS) == lost)
    # the victim's first write for x (after x changes) is held: it is cut off mid-reconcile
    seam = proxy.hang(
        access_keys={victim_key},
        mutating_only=True,
        predicate=lambda c: group_of(c, index) == x,
        times=1,
    )
    live.apply(*docs(live, changed={x: "/x-cut"}))
    assert seam.hit.wait(15), "the victim never started writing x"
    cut_at = time.monotonic()
    forwarder.cut()
    live.apply(*docs(live, changed={x: "/x-cut", y: "/y-cut"}))  # unseen by the victim
    new_holder = wait_for(
        "the cut replica's shard taken over",
        lambda: (h := sampler.samples[-1][1][lost]) not in (None, victim) and h,
        timeout=LEASE_SECONDS + 5,
    )
    failover = time.monotonic() - cut_at
    assert new_holder in ids and failover < LEASE_SECONDS + 3  # lease duration + a round or two
    assert failover > RENEW_DEADLINE  # not before the victim stopped counting the shard as held
    # the victim's held write fails now, while another replica holds x's shard: botocore
    # would retry it; the victim's ownership check must stop the retry before it is sent
    seam.release()
    new_key = f"AKIDREPLICA{ids.index(str(new_holder))}"
    wait_for(
        "x and y written by the new holder",
        lambda: health_path(x) == "/x-cut" and health_path(y) == "/y-cut",
        timeout=15,
    )
    assert writes(x, new_key, cut_at) and writes(y, new_key, cut_at)
    time.sleep(max(0.0, cut_at + CUT_SECONDS - time.monotonic()))  # let the cut last
    assert forwarder.is_cut and forwarder.blackholed > 0  # the victim kept trying the API
    # its Lease requests time out at the renew deadline: the loss is reported during the cut
    assert lost in logged_shards_lost(live, 2), "the cut replica never reported its shard lost"
    restored_at = time.monotonic()
    forwarder.restore()

    wait_for("one shard per replica again", lambda: one_shard_each(sampler, ids), timeout=20)
    rejoin = time.monotonic() - restored_at
    assert rejoin < 4 * LEASE_SECONDS
    regained = next(s for s, h in sampler.samples[-1][1].items() if h == victim)
    z = next(g for g in GROUPS if shard_of(g, SHARDS) == regained)
    changed = {x: "/x-cut", y: "/y-cut"}
    changed[z] = "/z-rejoined"
    live.apply(*docs(live, changed=changed))
    wait_for("z written by the rejoined replica", lambda: health_path(z) == "/z-rejoined")
    assert writes(z, victim_key, restored_at)
    sampler.stop.set()

    # from its renew deadline (its last renewal was before the cut) to the end of the cut, the
    # victim sent AWS no write at all, not even one that AWS then refused
    late = [
        (c.operation, round(c.time - cut_at, 2), c.fault)
        for c in list(proxy.calls)
        if c.access_key == victim_key
        and c.mutating
        and cut_at + RENEW_DEADLINE + 0.5 < c.time < restored_at
    ]
    assert late == []
    # and every write for a group, before, during and after the cut, came from the holder of
    # its shard's Lease at that time
    writers, checked = assert_group_writes_by_holders(proxy, sampler, index, ids)
    assert set(writers) == set(GROUPS)
    assert checked >= 5 * len(GROUPS)
    print(
        f"failover {failover:.2f}s; rejoin {rejoin:.2f}s; {checked} writes checked; "
        f"shard {lost} -> {new_holder}; victim regained shard {regained}"
    )
