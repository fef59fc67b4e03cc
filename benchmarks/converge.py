"""Benchmark: time and AWS calls from Ingress creation to a converged ALB, live loop vs one-shot.

Each run starts a fresh moto server and sandbox API server in this process, runs the
controller, creates the example app through the Kubernetes API and waits until every Ingress
has its hostname and the group is Ready. The baseline, measured in the same run on the same
moto server, is ``albctl apply`` of the same manifests (no Kubernetes at all). Also measured:
the AWS calls of one EndpointSlice change (fast path) against a full reconcile of the group.

    python benchmarks/converge.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albctl.aws.clients import AwsClients, is_mutating  # noqa: E402
from albctl.aws.seed import node_manifests, seed  # noqa: E402
from albctl.config import Settings  # noqa: E402
from albctl.controller.engine import Engine  # noqa: E402
from albctl.demo import (  # noqa: E402
    CERTS,
    CLUSTER,
    REGION,
    _create,
    _docs,
    _fake_credentials,
    _moto_server,
    _pod_ips,
    _wait,
    embedded,
    ingresses_converged,
)
from albctl.kube.api import ENDPOINT_SLICE  # noqa: E402
from albctl.manifests import ObjectSet, parse_documents  # noqa: E402


def one_shot(src: Path) -> dict[str, Any]:
    with _moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        clients = AwsClients(region=REGION, user_agent="bench")
        seeded = seed(clients, CLUSTER, instances=3, certificates=CERTS, pod_ips=_pod_ips(src))
        objects = ObjectSet()
        docs = [d for d in _docs(src) if d.get("kind") != "Node"] + node_manifests(
            seeded.instances, REGION
        )
        parse_documents(docs, "bench", objects)
        engine = Engine(Settings(cluster_name=CLUSTER, region=REGION), clients)
        clients.reset_counts()
        start = time.perf_counter()
        report = engine.run(objects, "apply")
        elapsed = time.perf_counter() - start
        assert report.ok
        return {
            "seconds": elapsed,
            "calls": sum(clients.calls.values()),
            "mutating": sum(v for k, v in clients.calls.items() if is_mutating(k[1])),
        }


def live(src: Path) -> dict[str, Any]:
    with embedded(workers=2, resync=600, pod_ips=_pod_ips(src)) as env:
        controller, api = env.controller, env.api
        docs = [d for d in _docs(src) if d.get("kind") != "Node"] + node_manifests(
            env.seeded.instances, REGION
        )
        ingresses = [d for d in docs if d["kind"] == "Ingress"]
        controller.clients.reset_counts()
        start = time.perf_counter()
        for d in docs:
            _create(api, d)

        _wait("convergence", lambda: ingresses_converged(api, ingresses))
        elapsed = time.perf_counter() - start
        _wait("idle", env.idle)
        calls = Counter(controller.clients.calls)
        # one EndpointSlice change: the fast path
        controller.clients.reset_counts()
        sl = next(d for d in docs if d["kind"] == "EndpointSlice")
        cur = api.get(ENDPOINT_SLICE, sl["metadata"]["name"], sl["metadata"]["namespace"])
        cur["endpoints"].append({"addresses": ["10.0.9.9"], "conditions": {"ready": True}})
        api.replace(ENDPOINT_SLICE, cur)
        _wait(
            "target registered",
            lambda: controller.clients.calls.get(("elbv2", "RegisterTargets"), 0) >= 1,
        )
        _wait("idle", env.idle)
        time.sleep(0.5)
        fast = Counter(controller.clients.calls)
        # a full reconcile of the same group, for comparison
        controller.clients.reset_counts()
        controller.reconciler.reconcile("shop")
        full = Counter(controller.clients.calls)
        return {
            "seconds": elapsed,
            "calls": sum(calls.values()),
            "mutating": sum(v for k, v in calls.items() if is_mutating(k[1])),
            "endpoint_change_calls": dict(sorted((f"{s}:{o}", n) for (s, o), n in fast.items())),
            "full_reconcile_calls": sum(full.values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--examples", type=Path, default=ROOT / "examples")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _fake_credentials()
    tracemalloc.start()
    base = [one_shot(args.examples) for _ in range(args.runs)]
    runs = [live(args.examples) for _ in range(args.runs)]
    _, peak = tracemalloc.get_traced_memory()
    b = statistics.median(r["seconds"] for r in base)
    v = statistics.median(r["seconds"] for r in runs)
    fast_calls = sum(runs[-1]["endpoint_change_calls"].values())
    result = {
        "runs": args.runs,
        "one_shot_apply_seconds_median": round(b, 3),
        "live_creation_to_converged_seconds_median": round(v, 3),
        "live_over_one_shot_ratio": round(v / b, 2),
        "one_shot_calls": base[-1]["calls"],
        "live_calls_until_converged": runs[-1]["calls"],
        "live_mutating_calls": runs[-1]["mutating"],
        "one_shot_mutating_calls": base[-1]["mutating"],
        "endpoint_change_calls": runs[-1]["endpoint_change_calls"],
        "full_reconcile_calls": runs[-1]["full_reconcile_calls"],
        "endpoint_change_over_full_reconcile_ratio": round(
            fast_calls / runs[-1]["full_reconcile_calls"], 3
        ),
        "peak_traced_memory_mib": round(peak / 2**20, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
