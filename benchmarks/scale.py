"""Benchmark: the controller at scale, in its own process.

Three processes besides this one: a moto server (``benchmarks/motoserver.py``), the sandbox API
server (``albctl sandbox``) and the controller (``albctl run``), so the controller's memory is
its own (VmRSS and VmHWM from /proc/<pid>/status) and its CPU is not shared with moto's in one
interpreter. AWS calls are counted by the controller's own metrics (``/metrics``).

The cluster: ``--ingresses`` Ingresses, a share of them (``--explicit-share``) in explicit
groups of 10 to 50 members, every other one its own implicit group; one Service each, ip
targets, ``--endpoints`` endpoints spread over the Services' EndpointSlices and over nodes
(``--pods-per-node``, 30 by default: pod IPs are secondary addresses of the nodes' interfaces,
as the VPC CNI gives them).

Measured: time from the first object created to every Ingress having its hostname, AWS calls
per group until converged; 50 EndpointSlice changes one after the other, each timed from the
API write to the RegisterTargets call arriving at moto (p50/p99); the controller's RSS; then
the controller is restarted with a resync period, and the first periodic resync of all groups
(nothing to change) is timed with its AWS calls per group: the steady-state reconcile.

    python benchmarks/scale.py --ingresses 30 --explicit-share 0 --endpoints 300
    python benchmarks/scale.py --ingresses 1000 --endpoints 10000
    python benchmarks/scale.py ... --src DIR   # the controller from another checkout
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albctl.aws.clients import AwsClients  # noqa: E402
from albctl.aws.seed import node_manifests, seed  # noqa: E402
from albctl.demo import REGION, _create, _fake_credentials, _free_port  # noqa: E402
from albctl.kube.api import ENDPOINT_SLICE, INGRESS, KubeApi  # noqa: E402

CLUSTER = "scale"
AGENT = "albctl-bench/1"
SIZES = (10, 20, 30, 40, 50)
POD_NET = ipaddress.ip_network("10.0.0.0/17")  # pod IPs, inside the VPC


@dataclass
class Layout:
    """Which Ingress goes in which group, and each Service's endpoints."""

    groups: dict[str, list[int]]  # group id -> Ingress indexes
    endpoints: list[int]  # per Ingress (and Service)


def layout(ingresses: int, endpoints: int, explicit_share: float) -> Layout:
    groups: dict[str, list[int]] = {}
    i, k = 0, 0
    while i + SIZES[k % len(SIZES)] <= ingresses * explicit_share:
        size = SIZES[k % len(SIZES)]
        groups[f"shared-{k}"] = list(range(i, i + size))
        i, k = i + size, k + 1
    for j in range(i, ingresses):
        groups[f"team-{j}/web"] = [j]
    per = [
        endpoints // ingresses + (1 if j < endpoints % ingresses else 0) for j in range(ingresses)
    ]
    return Layout(groups, per)


def pod_ip(n: int) -> str:
    return str(POD_NET.network_address + 256 + n)


def documents(lay: Layout, instances: list[str]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "alb"},
            "spec": {"controller": "albctl.io/alb"},
        },
        *node_manifests(instances, REGION),
    ]
    group_of = {j: g for g, members in lay.groups.items() for j in members}
    ip = 0
    for j, count in enumerate(lay.endpoints):
        ns = f"team-{j}"
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
            }
        )
        docs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": "web-1",
                    "namespace": ns,
                    "labels": {"kubernetes.io/service-name": "web"},
                },
                "addressType": "IPv4",
                "ports": [{"port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {
                        "addresses": [pod_ip(ip + e)],
                        "conditions": {"ready": True},
                        "nodeName": f"node-{(ip + e) % len(instances)}",
                    }
                    for e in range(count)
                ],
            }
        )
        ip += count
        annotations = {
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
        }
        gid = group_of[j]
        if "/" not in gid:
            annotations["alb.ingress.kubernetes.io/group.name"] = gid
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "web", "namespace": ns, "annotations": annotations},
                "spec": {
                    "ingressClassName": "alb",
                    "rules": [
                        {
                            "host": f"t{j}.example.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": p,
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    }
                                    for p in ("/", "/api")
                                ]
                            },
                        }
                    ],
                },
            }
        )
    order = ["IngressClass", "Node", "Namespace", "Service", "EndpointSlice", "Ingress"]
    return sorted(docs, key=lambda d: order.index(d["kind"]))


# --- processes ---------------------------------------------------------------------------


def _until(what: str, fn: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            got = fn()
            if got:
                return got
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return bytes(resp.read())


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """``cwd``: the checkout ``-m albctl.cli`` runs from (it comes first on sys.path)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


class Metrics:
    """The controller's /metrics, summed by name."""

    LINE = re.compile(r"^(\w+)(\{[^}]*\})? ([0-9.eE+-]+)$")

    def __init__(self, port: int) -> None:
        # only the series read here (prometheus_client's name[] filter): rendering every
        # group's series at each poll would cost the controller CPU that grows with the groups
        names = ("albctl_reconcile_total", "albctl_aws_api_calls_total", "albctl_workqueue_depth")
        query = "&".join(f"name[]={n}" for n in names)
        self.url = f"http://127.0.0.1:{port}/metrics?{query}"

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in _get(self.url).decode().splitlines():
            m = self.LINE.match(line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
        return out

    def calls(self) -> float:
        return self.read().get("albctl_aws_api_calls_total", 0.0)

    def reconciles(self) -> float:
        return self.read().get("albctl_reconcile_total", 0.0)

    def idle_after(self, quiet: float, timeout: float) -> tuple[float, dict[str, float]]:
        """Wait until no reconcile and no AWS call happened for ``quiet`` seconds; returns
        the time of the last change and the metrics then."""
        last, seen, changed = self.read(), time.monotonic(), time.time()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.read()
            keys = ("albctl_reconcile_total", "albctl_aws_api_calls_total")
            if any(now.get(k) != last.get(k) for k in keys) or now.get("albctl_workqueue_depth"):
                last, seen, changed = now, time.monotonic(), time.time()
            elif time.monotonic() - seen >= quiet:
                return changed, last
        raise TimeoutError("the controller did not go idle")


class Controller:
    def __init__(self, src: Path, kubeconfig: Path, env: dict[str, str], workdir: Path) -> None:
        self.src, self.kubeconfig, self.env, self.workdir = src, kubeconfig, env, workdir
        self.runs = 0

    @contextlib.contextmanager
    def run(self, resync: str, workers: int) -> Iterator[tuple[int, Metrics]]:
        port = _free_port()
        args = [
            sys.executable,
            "-m",
            "albctl.cli",
            "run",
            f"--kubeconfig={self.kubeconfig}",
            f"--cluster-name={CLUSTER}",
            f"--region={REGION}",
            "--no-leader-elect",
            f"--metrics-bind-address=127.0.0.1:{port}",
            "--health-probe-bind-address=0",
            "--webhook-bind-address=0",
            f"--resync-period={resync}",
            f"--workers={workers}",
            "--log-level=warning",
        ]
        env = {**self.env, "PYTHONPATH": str(self.src)}
        self.runs += 1
        with process(args, env, self.workdir / f"controller-{self.runs}.log", self.src) as proc:
            metrics = Metrics(port)
            _until("the controller's metrics", lambda: metrics.read() is not None, 60)
            yield proc.pid, metrics


# --- measures ----------------------------------------------------------------------------


def converge(api: KubeApi, docs: list[dict[str, Any]], metrics: Metrics, timeout: float) -> Any:
    start = time.perf_counter()
    for d in docs:
        _create(api, d)
    created = time.perf_counter() - start
    count = sum(1 for d in docs if d["kind"] == "Ingress")

    def all_have_hostnames() -> bool:
        items = api.list(INGRESS)["items"]
        return len(items) == count and all(
            ((i.get("status") or {}).get("loadBalancer") or {}).get("ingress") for i in items
        )

    _until("convergence", all_have_hostnames, timeout, every=0.5)
    seconds = time.perf_counter() - start
    _, idle = metrics.idle_after(3.0, timeout)
    return seconds, created, idle


def endpoint_latency(
    api: KubeApi, moto: str, lay: Layout, samples: int, extra_ips: list[str]
) -> list[float]:
    """Add one endpoint to a Service's slice, time until RegisterTargets reaches moto."""
    singles = [m[0] for g, m in lay.groups.items() if len(m) == 1] or [0]
    out: list[float] = []
    for n in range(samples):
        j = singles[(n * 7) % len(singles)]
        cur = api.get(ENDPOINT_SLICE, "web-1", f"team-{j}")
        cur["endpoints"].append(
            {"addresses": [extra_ips[n]], "conditions": {"ready": True}, "nodeName": "node-0"}
        )
        t0 = time.time()
        api.replace(ENDPOINT_SLICE, cur)

        def registered(t0: float = t0) -> float | None:
            calls = json.loads(_get(f"{moto}/_bench/calls?since={t0}"))
            hit = [c[0] for c in calls if c[1] == "RegisterTargets" and "albctl/" in c[2]]
            return min(hit) if hit else None

        out.append(_until("RegisterTargets", registered, 60, every=0.005) - t0)
        time.sleep(0.2)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def moto_time_by_action(moto: str, since: float, groups: int) -> dict[str, float]:
    """Milliseconds moto spent serving each action since ``since``, per group (top 6)."""
    total: dict[str, float] = {}
    for c in json.loads(_get(f"{moto}/_bench/calls?since={since}")):
        total[c[1]] = total.get(c[1], 0.0) + c[3]
    top = sorted(total.items(), key=lambda kv: -kv[1])[:6]
    return {action: round(1000 * sec / groups, 1) for action, sec in top}


def resync(
    metrics: Metrics, groups: int, timeout: float, pids: dict[str, int]
) -> tuple[float, float, dict[str, float]]:
    """Wait for the periodic resync; its duration, AWS calls per group and the CPU seconds
    each process in ``pids`` spent on it (the controller's own work apart from moto's)."""
    base_r, base_c = metrics.reconciles(), metrics.calls()
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = _until("the periodic resync", lambda: metrics.reconciles() > base_r, timeout, 0.1)
    t0 = time.time() - 0.1 if started else time.time()
    _until("every group reconciled", lambda: metrics.reconciles() >= base_r + groups, timeout)
    end, idle = metrics.idle_after(3.0, timeout)
    cpu = {name: round(cpu_seconds(pid) - cpu0[name], 1) for name, pid in pids.items()}
    return end - t0, (idle["albctl_aws_api_calls_total"] - base_c) / groups, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ingresses", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10000)
    parser.add_argument("--explicit-share", type=float, default=0.3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--tagging", default=None, help="ALBCTL_AWS_TAGGING_API for albctl run")
    parser.add_argument("--src", type=Path, default=ROOT, help="checkout albctl run comes from")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--moto-as-is", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the three processes too
    _fake_credentials()
    lay = layout(args.ingresses, args.endpoints, args.explicit_share)
    groups = len(lay.groups)
    extra = [pod_ip(args.endpoints + n) for n in range(args.samples)]
    result: dict[str, Any] = {
        "ingresses": args.ingresses,
        "groups": groups,
        "explicit_groups": sum(1 for g in lay.groups if "/" not in g),
        "endpoints": args.endpoints,
        "workers": args.workers,
        "nodes": max(3, -(-args.endpoints // args.pods_per_node)),
        "tagging_api": args.tagging or "default",
    }
    with tempfile.TemporaryDirectory(prefix="albctl-scale-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALBCTL_")}
        moto_port, kube_port = _free_port(), _free_port()
        moto = f"http://127.0.0.1:{moto_port}"
        env["AWS_ENDPOINT_URL"] = moto
        if args.tagging:
            env["ALBCTL_AWS_TAGGING_API"] = args.tagging
        kubeconfig = work / "kubeconfig"
        moto_args = [sys.executable, str(ROOT / "benchmarks/motoserver.py"), f"--port={moto_port}"]
        sandbox_args = [sys.executable, "-m", "albctl.cli", "sandbox", f"--port={kube_port}"]
        sandbox_args.append(f"--kubeconfig={kubeconfig}")
        with (
            process(
                moto_args + ["--moto-as-is"] * args.moto_as_is, env, work / "moto.log"
            ) as moto_proc,
            process(sandbox_args, {**env, "PYTHONPATH": str(ROOT)}, work / "sandbox.log"),
        ):
            _until("moto", lambda: _get(f"{moto}/_bench/calls?since=0"), 60)
            _until("the sandbox", kubeconfig.exists, 60)
            os.environ["AWS_ENDPOINT_URL"] = moto
            clients = AwsClients(region=REGION, user_agent=AGENT)
            ips = {pod_ip(n): n for n in range(args.endpoints)} | {ip: 0 for ip in extra}
            nodes = max(3, -(-args.endpoints // args.pods_per_node))
            seeded = seed(clients, CLUSTER, instances=nodes, pod_ips=ips)
            api = KubeApi(str(kubeconfig), user_agent=AGENT)
            _until("the sandbox API", lambda: api.list(INGRESS) is not None, 60)
            docs = documents(lay, seeded.instances)
            ctl = Controller(args.src, kubeconfig, env, work)
            with ctl.run("24h", args.workers) as (pid, metrics):
                seconds, created, idle = converge(api, docs, metrics, args.timeout)
                result["seconds_to_converge"] = round(seconds, 1)
                result["seconds_creating_objects"] = round(created, 1)
                calls = idle["albctl_aws_api_calls_total"]
                result["aws_calls_to_converge"] = int(calls)
                result["aws_calls_per_group_to_converge"] = round(calls / groups, 1)
                result["rss_mib_converged"] = memory(pid)
                lat = endpoint_latency(api, moto, lay, args.samples, extra)
                q = statistics.quantiles(lat, n=100, method="inclusive")
                result["endpoint_change_to_register_targets_seconds"] = {
                    "p50": round(statistics.median(lat), 3),
                    "p99": round(q[98], 3),
                    "samples": len(lat),
                }
                result["rss_mib_after_endpoint_changes"] = memory(pid)
            period = max(20.0, seconds + 10)
            with ctl.run(f"{int(period)}s", args.workers) as (pid, metrics):
                restarted = time.time()
                _until("restart reconciles", lambda: metrics.reconciles() >= groups, args.timeout)
                end, _ = metrics.idle_after(3.0, args.timeout)
                result["restart_reconcile_all_seconds"] = round(end - restarted, 1)
                pids = {"controller": pid, "moto": moto_proc.pid}
                t_resync = time.time()
                took, per_group, cpu = resync(metrics, groups, args.timeout + period, pids)
                result["resync_moto_ms_per_group_by_action"] = moto_time_by_action(
                    moto, t_resync, groups
                )
                result["resync_all_seconds"] = round(took, 1)
                result["resync_calls_per_group"] = round(per_group, 1)
                result["resync_cpu_seconds"] = cpu
                result["resync_cpu_ms_per_group"] = {
                    name: round(1000 * sec / groups, 1) for name, sec in cpu.items()
                }
                result["rss_mib_after_resync"] = memory(pid)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
