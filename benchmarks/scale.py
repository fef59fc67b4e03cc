"""Benchmark: N IngressGroups on the live loop — time to converge, and AWS calls per reconcile.

Runs the controller (in this process) against the sandbox API server and a moto server,
creates N namespaces with one Service and one Ingress each, and waits until every Ingress has
its hostname. Then it measures the AWS calls of one steady-state reconcile with the tag cache
warm against the same reconcile with the cache emptied (the baseline, same run), and of a
whole resync of all N groups.

    python benchmarks/scale.py --groups 30
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albctl.aws.clients import is_mutating  # noqa: E402
from albctl.aws.observe import TagCache  # noqa: E402
from albctl.aws.seed import node_manifests  # noqa: E402
from albctl.demo import REGION, _create, _fake_credentials, _wait, embedded  # noqa: E402
from albctl.kube.api import INGRESS  # noqa: E402

CLUSTER = "scale"


def docs_for(n: int, instances: list[str]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "alb"},
            "spec": {"controller": "albctl.io/alb"},
        },
        *node_manifests(instances, REGION),
    ]
    for i in range(n):
        ns = f"team-{i}"
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {
                    "type": "NodePort",
                    "ports": [
                        {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30000 + i}
                    ],
                },
            }
        )
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "web",
                    "namespace": ns,
                    "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"},
                },
                "spec": {
                    "ingressClassName": "alb",
                    "rules": [
                        {
                            "host": f"t{i}.example.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    },
                                    {
                                        "path": "/api",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    },
                                ]
                            },
                        }
                    ],
                },
            }
        )
    order = {"IngressClass": 0, "Node": 1, "Namespace": 2, "Service": 3, "Ingress": 4}
    return sorted(docs, key=lambda d: order[d["kind"]])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _fake_credentials()
    with embedded(cluster=CLUSTER, workers=args.workers, resync=3600) as env:
        controller, api = env.controller, env.api
        docs = docs_for(args.groups, env.seeded.instances)
        controller.clients.reset_counts()
        start = time.perf_counter()
        for d in docs:
            _create(api, d)

        def all_have_hostnames() -> bool:
            items = api.list(INGRESS)["items"]
            return len(items) == args.groups and all(
                ((i.get("status") or {}).get("loadBalancer") or {}).get("ingress") for i in items
            )

        _wait("convergence", all_have_hostnames, timeout=600)
        converge = time.perf_counter() - start
        _wait("idle", env.idle, timeout=120)
        total = Counter(controller.clients.calls)
        rec = controller.reconciler
        gid = "team-0/web"
        controller.clients.reset_counts()
        rec.reconcile(gid)
        warm = Counter(controller.clients.calls)
        rec.tag_cache = TagCache()
        controller.clients.reset_counts()
        rec.reconcile(gid)
        cold = Counter(controller.clients.calls)
        controller.clients.reset_counts()
        t = time.perf_counter()
        controller.enqueue_all()
        time.sleep(0.2)
        _wait("resync", env.idle, timeout=600)
        resync_seconds = time.perf_counter() - t
        resync = Counter(controller.clients.calls)
        result = {
            "groups": args.groups,
            "workers": args.workers,
            "seconds_to_converge_all": round(converge, 2),
            "aws_calls_to_converge_all": sum(total.values()),
            "mutating_calls_to_converge_all": sum(v for k, v in total.items() if is_mutating(k[1])),
            "steady_reconcile_calls_warm_cache": sum(warm.values()),
            "steady_reconcile_calls_cold_cache": sum(cold.values()),
            "warm_over_cold_ratio": round(sum(warm.values()) / sum(cold.values()), 3),
            "describe_tags_warm_vs_cold": [
                warm[("elbv2", "DescribeTags")],
                cold[("elbv2", "DescribeTags")],
            ],
            "resync_all_seconds": round(resync_seconds, 2),
            "resync_all_calls_per_group": round(sum(resync.values()) / args.groups, 1),
            "resync_mutating_calls": sum(v for k, v in resync.items() if is_mutating(k[1])),
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
