"""Benchmark: pod readiness gates during a rollout.

Everything runs in this process: a moto server, the sandbox API server, the controller, and a
simulated kubelet and EndpointSlice controller (``tests/e2e/kubelet.py``). One Ingress (ip
targets) in front of a Service; pods carrying the readiness gate of its target group are rolled
out in waves (like a Deployment with ``maxSurge``), each pod's containers ready at once; its
endpoint says ``ready: false, serving: false`` until the gate is True (Kubernetes derives both
from the pod's Ready condition), and albctl registers it from the pod's ``ContainersReady``. AWS is made to report each new target
``initial`` for a warm-up drawn between ``--min-warmup`` and ``--max-warmup`` seconds (as a real
ALB does until the health checks pass), then ``healthy``: the target-health reader is wrapped in
process, DescribeTargetHealth is still called on moto every time.

Measured per pod: the time from the moment AWS reports the target healthy to the moment albctl
writes the pod's gate condition True (the write to pods/status); and the DescribeTargetHealth
calls the readiness step made, divided by the pods.

    python benchmarks/readiness.py --pods 20 --wave 5
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albctl.aws.health import TargetHealthReader  # noqa: E402
from albctl.demo import REGION, _create, _fake_credentials, _wait, embedded  # noqa: E402
from albctl.kube.api import POD  # noqa: E402
from albctl.model.binding import TargetKey  # noqa: E402
from albctl.model.readiness import TargetHealth, gate_targets, gate_type  # noqa: E402
from tests.e2e.kubelet import Kubelet  # noqa: E402
from tests.helpers import backend, ingress, ingress_class, rule, service  # noqa: E402


class WarmingUp(TargetHealthReader):
    """What AWS says, except that a target is ``initial`` until its ``healthy_at`` time."""

    def __init__(self, inner: TargetHealthReader) -> None:
        super().__init__(inner.clients)
        self.healthy_at: dict[str, float] = {}
        self.lock = threading.Lock()
        self.calls = 0

    def read(self, arn: str, targets: Sequence[TargetKey]) -> dict[TargetKey, TargetHealth]:
        out = super().read(arn, targets)
        now = time.monotonic()
        with self.lock:
            self.calls += 1
            for key in list(out):
                at = self.healthy_at.get(key[0])
                if at is None or now < at:
                    out[key] = TargetHealth(key[0], key[1], "initial", "Elb.InitialHealthChecking")
        return out


def run(pods: int, wave: int, min_warmup: float, max_warmup: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    ips = [f"10.0.{1 + i % 3}.{10 + i}" for i in range(pods)]
    with embedded(workers=4, resync=600, pod_ips={ip: i % 3 for i, ip in enumerate(ips)}) as env:
        ctl, api = env.controller, env.api
        reader = WarmingUp(ctl.readiness.reader)
        ctl.readiness.reader = reader
        true_at: dict[str, float] = {}
        write = ctl.writer.set_pod_conditions

        def recording(ns: str, name: str, conditions: list[dict[str, Any]]) -> bool:
            ok = write(ns, name, conditions)
            if ok and any(c["status"] == "True" for c in conditions):
                true_at.setdefault(name, time.monotonic())
            return ok

        ctl.writer.set_pod_conditions = recording  # type: ignore[method-assign]
        svc = service("web", "shop", node_port=None, target_port=8080)
        svc["spec"]["selector"] = {"app": "web"}
        docs = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            ingress_class(),
            svc,
            ingress(
                "web",
                "shop",
                scheme="internet-facing",
                target_type="ip",
                rules=[rule("shop.example.com", ("/", "Prefix", backend("web", 80)))],
            ),
        ]
        for d in docs:
            d["metadata"].pop("uid", None)
            _create(api, d)

        def tg_name() -> str | None:
            objs = ctl.snapshots.objects()
            names = gate_targets("shop", {"app": "web"}, objs, ctl.settings.build_settings())
            return next((n for n in names if ctl.reconciler.registered_target_group(n)), None)

        name = _wait("the target group", tg_name)
        kubelet = Kubelet(api, tick=0.1)
        kubelet.track_service("shop", "web", {"app": "web"}, 8080)
        kubelet.start()
        polls_before = reader.calls
        calls_before = ctl.clients.calls.get(("elbv2", "DescribeTargetHealth"), 0)
        healthy_at: dict[str, float] = {}
        started = time.monotonic()
        try:
            for w in range(0, pods, wave):
                batch = list(range(w, min(w + wave, pods)))
                for i in batch:
                    body = {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": f"web-{i}",
                            "namespace": "shop",
                            "labels": {"app": "web"},
                        },
                        "spec": {
                            "containers": [{"name": "app", "image": "nginx"}],
                            "readinessGates": [{"conditionType": gate_type(name)}],
                        },
                    }
                    api.create(POD, body, "shop")
                    kubelet.start_pod("shop", f"web-{i}", ips[i])
                    at = time.monotonic() + rng.uniform(min_warmup, max_warmup)
                    healthy_at[f"web-{i}"] = at
                    with reader.lock:
                        reader.healthy_at[ips[i]] = at
                _wait(
                    "the wave Ready",
                    lambda b=batch: all(f"web-{i}" in true_at for i in b),
                    timeout=120,
                )
        finally:
            kubelet.stop()
        elapsed = time.monotonic() - started
        time.sleep(2)  # nothing may be polled once every gate is True
        polls = reader.calls - polls_before
        time.sleep(3)
        idle_polls = reader.calls - polls_before - polls
        calls = ctl.clients.calls.get(("elbv2", "DescribeTargetHealth"), 0) - calls_before
        lat = sorted(true_at[p] - healthy_at[p] for p in healthy_at)
        return {
            "pods": pods,
            "wave": wave,
            "warmup_seconds": [min_warmup, max_warmup],
            "healthy_to_condition_true_seconds": {
                "median": round(statistics.median(lat), 2),
                "max": round(max(lat), 2),
                "min": round(min(lat), 2),
            },
            "readiness_describe_target_health_calls": int(polls),
            "readiness_calls_per_pod": round(polls / pods, 2),
            "describe_target_health_calls_all": calls,
            "polls_while_every_gate_true": int(idle_polls),
            "rollout_seconds": round(elapsed, 1),
            "region": REGION,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--wave", type=int, default=5, help="pods created at once (maxSurge)")
    parser.add_argument("--min-warmup", type=float, default=2.0)
    parser.add_argument("--max-warmup", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _fake_credentials()
    print(
        json.dumps(run(args.pods, args.wave, args.min_warmup, args.max_warmup, args.seed), indent=2)
    )


if __name__ == "__main__":
    main()
