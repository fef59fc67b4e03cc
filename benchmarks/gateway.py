"""Benchmark: AWS calls and wall time of a Gateway with N HTTPRoutes, against the same routes
as an IngressGroup of N Ingresses (the baseline, measured in the same run).

One-shot (``albctl apply`` through the engine, moto in-process): the cold apply and a steady
apply (nothing to change). Controller (the embedded moto server, sandbox API server and
controller): the cold convergence through the Kubernetes API, then one steady reconcile of
the stack (``Reconciler.reconcile``), counted by the controller's own call counters.

    python benchmarks/gateway.py --routes 10
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import moto_fidelity  # noqa: E402
from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route, path  # noqa: E402
from tests.helpers import (  # noqa: E402
    REGION,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    objects,
    rule,
    service,
)


def _services(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        out.append(service(f"svc{i}", "shop", node_port=None, target_port=8080))
        out.append(endpoint_slice(f"svc{i}", [f"10.0.1.{10 + i}"], "shop", port=8080))
    return out


def gateway_docs(n: int) -> list[dict[str, Any]]:
    routes = [
        http_route(
            f"r{i}",
            "shop",
            {"matches": [path(f"/app{i}")], "backendRefs": [backend_ref(f"svc{i}")]},
            parents=[{"name": "gw"}],
            hostnames=["shop.example.com"],
        )
        for i in range(n)
    ]
    return [gateway_class(), gateway("gw", "shop"), *_services(n), *routes]


def ingress_docs(n: int) -> list[dict[str, Any]]:
    ings = [
        ingress(
            f"r{i}",
            "shop",
            group_name="shop",
            target_type="ip",
            rules=[rule("shop.example.com", (f"/app{i}", "Prefix", backend(f"svc{i}", 80)))],
        )
        for i in range(n)
    ]
    return [ingress_class(), *_services(n), *ings]


def _calls(before: Counter[tuple[str, str]], after: Counter[tuple[str, str]]) -> dict[str, int]:
    diff = after - before
    mutating = sum(
        v for (_, op), v in diff.items() if not op.startswith(("Describe", "Get", "List"))
    )
    return {"total": sum(diff.values()), "mutating": mutating}


def oneshot(kind: str, n: int) -> dict[str, Any]:
    from moto import mock_aws

    from albctl.aws.clients import AwsClients
    from albctl.aws.seed import seed
    from albctl.config import Settings
    from albctl.controller.engine import Engine

    docs = gateway_docs(n) if kind == "gateway" else ingress_docs(n)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        clients = AwsClients(region=REGION)
        seed(clients, "bench", instances=3, certificates={"*.example.com": []})
        settings = Settings(cluster_name="bench", region=REGION, default_target_type="ip")
        engine = Engine(settings, clients)
        out: dict[str, Any] = {}
        for phase in ("cold", "steady"):
            before = Counter(clients.calls)
            start = time.perf_counter()
            report = engine.run(objects(*docs), "apply")
            assert report.ok, [o.error for o in report.outcomes]
            out[phase] = {
                **_calls(before, Counter(clients.calls)),
                "seconds": round(time.perf_counter() - start, 3),
            }
    return out


def controller(kind: str, n: int) -> dict[str, Any]:
    from albctl.demo import _create, _wait, embedded

    docs = gateway_docs(n) if kind == "gateway" else ingress_docs(n)
    gid = "gateway/shop/gw" if kind == "gateway" else "shop"
    with embedded(workers=2, resync=600, overrides={"default_target_type": "ip"}) as env:
        ctl = env.controller
        for d in [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, *docs]:
            d["metadata"].pop("uid", None)
            _create(env.api, d)
        start = time.perf_counter()
        before = Counter(ctl.clients.calls)
        _wait(
            "the stack",
            lambda: (
                gid in ctl.reconciler.memory
                and len(ctl.reconciler.memory[gid].tg_arns) == n
                and env.idle()
            ),
            timeout=180,
        )
        cold = {
            **_calls(before, Counter(ctl.clients.calls)),
            "seconds": round(time.perf_counter() - start, 3),
        }
        before = Counter(ctl.clients.calls)
        start = time.perf_counter()
        ctl.reconciler.reconcile(gid)
        steady = {
            **_calls(before, Counter(ctl.clients.calls)),
            "seconds": round(time.perf_counter() - start, 3),
        }
    return {"cold": cold, "steady": steady}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routes", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    moto_fidelity.install()
    result: dict[str, Any] = {"routes": args.routes}
    for mode, fn in (("oneshot", oneshot), ("controller", controller)):
        g, i = fn("gateway", args.routes), fn("ingress", args.routes)
        result[mode] = {
            "gateway": g,
            "ingress_group_baseline": i,
            "calls_ratio": {
                p: round(g[p]["total"] / max(1, i[p]["total"]), 2) for p in ("cold", "steady")
            },
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
