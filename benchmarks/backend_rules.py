"""EC2 calls of the backend security group rules for one group of N pods (moto in-process).

    python benchmarks/backend_rules.py [--pods 20]

Prints the EC2 calls by operation of a first apply, of a steady re-apply (one-shot: the
interface lookups are not cached between runs), and of a steady re-apply with the interface
cache warm (the controller keeps it for 5 minutes), with
the backend security group and, as the baseline measured in the same run, with
--enable-backend-security-group=false (the managed frontend group as the rules' source).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws

from albctl.aws.clients import AwsClients
from albctl.aws.enis import EniResolver
from albctl.aws.seed import node_manifests, seed
from albctl.config import Settings
from albctl.controller.engine import Engine
from tests.helpers import (
    REGION,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    objects,
    rule,
    service,
)


def ec2(clients: AwsClients, before: Counter[tuple[str, str]]) -> Counter[str]:
    now = Counter(clients.calls) - before
    return Counter({op: n for (svc, op), n in now.items() if svc == "ec2"})


def measure(pods: int, enabled: bool) -> dict[str, Counter[str]]:
    with mock_aws():
        clients = AwsClients(region=REGION)
        ips = {f"10.0.{200 + i % 3}.{10 + i}": i % 3 for i in range(pods)}
        seeded = seed(clients, "bench", instances=3, pod_ips=ips)
        nodes = node_manifests(seeded.instances, REGION)
        slice_ = endpoint_slice("api", list(ips), "shop", port=9000)
        for ep in slice_["endpoints"]:
            ep["nodeName"] = f"node-{ips[ep['addresses'][0]]}"
        docs = objects(
            ingress_class(),
            *nodes,
            service("api", "shop", node_port=None, target_port=9000),
            slice_,
            ingress(
                "api",
                "shop",
                target_type="ip",
                rules=[rule("api.example.com", ("/", "Prefix", backend("api", 80)))],
            ),
        )
        settings = Settings(cluster_name="bench", region=REGION, enable_backend_sg=enabled)
        engine = Engine(settings, clients)
        out: dict[str, Counter[str]] = {}
        for label in ("first apply", "steady re-apply"):
            before = Counter(clients.calls)
            assert engine.run(docs, "apply").ok
            out[label] = ec2(clients, before)
        # a long-lived engine keeps its interface lookups, as the controller does
        warm = Engine(settings, clients, EniResolver(clients))
        assert warm.run(docs, "apply").ok
        before = Counter(clients.calls)
        assert warm.run(docs, "apply").ok
        out["steady re-apply, interface cache warm (controller)"] = ec2(clients, before)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=20)
    args = parser.parse_args()
    for enabled in (False, True):
        label = "backend security group" if enabled else "baseline (disabled, frontend source)"
        print(f"== {args.pods} pods, {label}")
        for run, calls in measure(args.pods, enabled).items():
            detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
            print(f"  {run}: {sum(calls.values())} EC2 calls ({detail})")


if __name__ == "__main__":
    main()
