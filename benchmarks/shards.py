"""Benchmark: ``albctl run --shards N`` — failover time and throughput with 1, 2 and 3 replicas.

A moto server and the sandbox API server run in this process; every replica is a separate
``albctl run`` process (``--shards 3`` by default).

Throughput: for 1, 2 and 3 replicas (same run, AWS and the API server reset in between), the
replicas are started and hold their shards first; then ``--groups`` Ingresses (one group each,
scale.py's objects) are created and the time until every Ingress has its hostname is measured.

Failover: with 3 replicas and the groups converged, ``--kills`` times: change an Ingress of a
group in the shard of a replica, kill -9 that replica, and measure the time from the kill to
(a) another replica holding the shard's Lease, (b) the change being in AWS (the new holder
reconciled the group). A replacement replica is started after each kill and the shards
rebalanced before the next one.

    python benchmarks/shards.py --groups 30 --kills 10 --lease-duration 15s
    python benchmarks/shards.py --groups 60 --kills 0 --aws-latency-ms 50

``--aws-latency-ms`` serves AWS from ``benchmarks/motoserver.py`` in its own process, holding
each request that long (a real endpoint's round trip): throughput bound by AWS latency rather
than by the 2 cores the replicas share here, as with one replica per node. The same run also
times one replica with 3x the workers, to tell sharding from plain concurrency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import documents, layout, pod_ip  # noqa: E402

from albctl.aws.clients import AwsClients  # noqa: E402
from albctl.aws.seed import seed  # noqa: E402
from albctl.demo import REGION, _create, _fake_credentials, _moto_server, _wait  # noqa: E402
from albctl.kube.api import INGRESS, LEASE, KubeApi, NotFound  # noqa: E402
from albctl.model.shards import shard_of  # noqa: E402
from albctl.sandbox import SandboxServer  # noqa: E402

CLUSTER = "shards"
LEASE_NAME = "albctl-leader"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, endpoint: str, tmp: Path, args: argparse.Namespace) -> None:
        self.endpoint = endpoint
        self.tmp = tmp
        self.args = args
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: dict[subprocess.Popen[bytes], Path] = {}
        self.started = 0

    def reset(self) -> None:
        """Fresh AWS (moto reset, seeded again) and a fresh API server."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        self.clients = AwsClients(region=REGION)
        pods = {pod_ip(n): n for n in range(self.args.groups)}  # one endpoint a group
        self.seeded = seed(self.clients, CLUSTER, instances=3, pod_ips=pods)
        self.sandbox = SandboxServer(bookmark_interval=1.0)
        self.sandbox.start()
        self.kubeconfig = self.sandbox.write_kubeconfig(self.tmp / f"kc-{time.monotonic_ns()}")
        self.api = KubeApi(str(self.kubeconfig))

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
        self.logs = {}
        self.sandbox.stop()

    def replica(self) -> subprocess.Popen[bytes]:
        self.started += 1
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ALBCTL_CLUSTER_NAME": CLUSTER}
        env["ALBCTL_VPC_ID"] = self.seeded.vpc_id
        path = self.tmp / f"replica-{self.started}.log"
        cmd = [sys.executable, "-m", "albctl.cli", "run", "--kubeconfig", str(self.kubeconfig)]
        cmd += ["--metrics-bind-address", f"127.0.0.1:{_free_port()}"]
        cmd += ["--health-probe-bind-address", "0", "--webhook-bind-address", "0"]
        cmd += [
            "--workers",
            str(self.args.workers),
            "--resync-period",
            "1h",
            "--log-format",
            "json",
        ]
        cmd += ["--leader-elect", "--leader-election-namespace", "default"]
        cmd += ["--lease-duration", self.args.lease_duration, "--shards", str(self.args.shards)]
        with path.open("wb") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.logs[proc] = path
        return proc

    def holders(self) -> dict[int, str | None]:
        out: dict[int, str | None] = {}
        for s in range(self.args.shards):
            try:
                lease = self.api.get(LEASE, f"{LEASE_NAME}-{s}", "default")
                out[s] = lease["spec"].get("holderIdentity")
            except NotFound:
                out[s] = None
        return out

    def balanced(self, replicas: int) -> bool:
        """Every shard held, and nobody over the fair share."""
        held = self.holders()
        if None in held.values():
            return False
        counts = [list(held.values()).count(h) for h in set(held.values())]
        share = -(-self.args.shards // replicas)
        return len(counts) == min(replicas, self.args.shards) and max(counts) <= share

    def hostnames(self) -> int:
        items = self.api.list(INGRESS)["items"]
        return sum(
            1 for i in items if ((i.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        )


def docs_for(groups: int, instances: list[str]) -> list[dict[str, Any]]:
    """scale.py's objects: ``groups`` implicit groups, one endpoint each."""
    return documents(layout(groups, groups, 0.0), instances)


def throughput(bench: Bench, replicas: int) -> float:
    bench.reset()
    try:
        for _ in range(replicas):
            bench.replica()
        _wait("shards held", lambda: bench.balanced(replicas), timeout=120)
        docs = docs_for(bench.args.groups, bench.seeded.instances)
        start = time.perf_counter()
        for d in docs:
            _create(bench.api, d)
        _wait("convergence", lambda: bench.hostnames() == bench.args.groups, timeout=900)
        return time.perf_counter() - start
    finally:
        bench.stop_all()


def _target_group_of(bench: Bench, gid: str) -> str:
    elb = bench.clients.elbv2
    for tg in elb.describe_target_groups()["TargetGroups"]:
        tags = elb.describe_tags(ResourceArns=[tg["TargetGroupArn"]])["TagDescriptions"][0]
        if {"Key": "albctl.io/stack", "Value": gid} in tags["Tags"]:
            return str(tg["TargetGroupArn"])
    raise LookupError(gid)


def _health_path(bench: Bench, arn: str) -> str:
    tgs = bench.clients.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    return str(tgs[0].get("HealthCheckPath"))


def _set_health_path(bench: Bench, gid: str, path: str) -> None:
    ns, name = gid.split("/")
    patch = {"metadata": {"annotations": {"alb.ingress.kubernetes.io/healthcheck-path": path}}}
    bench.api.merge_patch(INGRESS, name, patch, ns)


def failover(bench: Bench) -> list[dict[str, float]]:
    args = bench.args
    bench.reset()
    out = []
    try:
        for _ in range(3):
            bench.replica()
        _wait("shards held", lambda: bench.balanced(3), timeout=120)
        for d in docs_for(args.groups, bench.seeded.instances):
            _create(bench.api, d)
        _wait("convergence", lambda: bench.hostnames() == args.groups, timeout=900)
        for k in range(args.kills):
            out.append(_kill_one(bench, k))
            print(json.dumps({"kill": k, **out[-1]}), file=sys.stderr)
            bench.replica()
        return out
    finally:
        bench.stop_all()


def _kill_one(bench: Bench, k: int) -> dict[str, float]:
    """kill -9 the holder of a shard (each in turn), then change a group of that shard."""
    shards = bench.args.shards
    _wait("balanced", lambda: bench.balanced(3), timeout=120)
    groups = [f"team-{i}/web" for i in range(bench.args.groups)]
    used = sorted({shard_of(g, shards) for g in groups})
    shard = used[k % len(used)]
    gid = next(g for g in groups if shard_of(g, shards) == shard)
    arn = _target_group_of(bench, gid)
    victim_id = bench.holders()[shard]
    victim = _wait("the holder's log", lambda: _identities(bench).get(str(victim_id)))
    path = f"/failover-{k}"
    killed = time.perf_counter()
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    bench.procs.remove(victim)
    _set_health_path(bench, gid, path)  # after the kill: only a new holder can apply it
    _wait("lease taken", lambda: bench.holders()[shard] not in (None, victim_id), 120)
    taken = time.perf_counter() - killed
    _wait("group reconciled", lambda: _health_path(bench, arn) == path, 120)
    reconciled = time.perf_counter() - killed
    return {"shard": shard, "lease_taken_s": round(taken, 2), "reconciled_s": round(reconciled, 2)}


def _identities(bench: Bench) -> dict[str, subprocess.Popen[bytes]]:
    """identity -> live replica process, from each replica's "caches synced" log line."""
    out = {}
    for proc, log in bench.logs.items():
        if proc.poll() is not None:
            continue
        for line in log.read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("msg") == "caches synced":
                out[str(json.loads(line)["identity"])] = proc
    return out


@contextlib.contextmanager
def _latency_server(latency_ms: float) -> Iterator[str]:
    """benchmarks/motoserver.py in its own process, each AWS request held ``latency_ms``."""
    port = _free_port()
    cmd = [sys.executable, str(ROOT / "benchmarks/motoserver.py"), f"--port={port}"]
    proc = subprocess.Popen(
        [*cmd, f"--latency-ms={latency_ms}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait("the moto server", lambda: _reachable(url), 60)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/_bench/calls?since=0", timeout=2).read()
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease-duration", default="15s")
    parser.add_argument("--aws-latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _fake_credentials()
    server = _latency_server(args.aws_latency_ms) if args.aws_latency_ms else _moto_server()
    with server as endpoint, tempfile.TemporaryDirectory(prefix="albctl-shards-") as tmp:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        bench = Bench(endpoint, Path(tmp), args)
        converge = {str(r): round(throughput(bench, r), 2) for r in (1, 2, 3)}
        if args.aws_latency_ms:
            workers = args.workers
            args.workers = workers * 3
            converge[f"1 ({args.workers} workers)"] = round(throughput(bench, 1), 2)
            args.workers = workers
        kills = failover(bench) if args.kills else []
    result: dict[str, Any] = {
        "groups": args.groups,
        "shards": args.shards,
        "workers_per_replica": args.workers,
        "lease_duration": args.lease_duration,
        "aws_latency_ms": args.aws_latency_ms,
        "seconds_to_converge_all_by_replicas": converge,
        "kills": len(kills),
    }
    if kills:
        result["failover_lease_taken_median_s"] = statistics.median(
            x["lease_taken_s"] for x in kills
        )
        result["failover_reconciled_median_s"] = statistics.median(x["reconciled_s"] for x in kills)
        result["failover_reconciled_max_s"] = max(x["reconciled_s"] for x in kills)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
