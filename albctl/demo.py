"""``albctl demo``: the example app applied to an embedded AWS (moto, in-process).

No cloud account and no cluster: moto is seeded with a VPC, tagged subnets in three AZs,
EC2 instances for the nodes and issued ACM certificates; then ``apply`` runs, the resulting
load balancer is printed as a tree, and a second apply shows that nothing is left to change (no mutating call).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from rich.console import Console

from albctl.errors import ConfigError

CLUSTER = "demo"
REGION = "us-east-1"


def _examples_dir() -> Path:
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parent.parent / "examples"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        "examples/ not found: run the demo from the albctl checkout or pass --examples"
    )


def _calls_table(console: Console, title: str, calls: Counter[tuple[str, str]]) -> None:
    total = sum(calls.values())
    console.print(f"[bold]{title}[/]: {total} AWS call(s)")
    for (service, op), n in sorted(calls.items()):
        console.print(f"  {service:8} {op:40} {n}")


def run_demo(examples: Path | None = None) -> int:
    try:
        from moto import mock_aws
    except ImportError:
        raise ConfigError("the demo needs moto: pip install 'albctl[test]'") from None
    from albctl.aws.clients import AwsClients, is_mutating
    from albctl.aws.seed import node_manifests, seed
    from albctl.aws.tree import describe_tree
    from albctl.config import Settings
    from albctl.controller.engine import Engine
    from albctl.manifests import load_manifests, parse_documents
    from albctl.render import print_report, print_tree

    console = Console(highlight=False, soft_wrap=True)
    src = examples or _examples_dir()
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[k] = v
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        clients = AwsClients(region=REGION)
        seeded = seed(
            clients,
            CLUSTER,
            instances=3,
            certificates={"*.example.com": ["example.com"], "shop.example.com": []},
        )
        console.rule("[bold]1. embedded AWS (moto)")
        console.print(
            f"VPC {seeded.vpc_id}; public subnets {', '.join(seeded.public_subnets)}; "
            f"instances {', '.join(seeded.instances)}; "
            f"certificates {', '.join(seeded.certificates)}"
        )
        objects = load_manifests([src])
        objects.nodes = []
        parse_documents(node_manifests(seeded.instances, REGION), "embedded cluster nodes", objects)
        engine = Engine(Settings(cluster_name=CLUSTER, region=REGION), clients)

        console.rule(f"[bold]2. albctl apply -f {src}")
        clients.reset_counts()
        report = engine.run(objects, "apply")
        print_report(report, "apply")
        first = Counter(clients.calls)

        console.rule("[bold]3. the load balancer")
        for o in report.outcomes:
            if o.result and o.result.load_balancer_arn:
                print_tree(describe_tree(clients, o.result.load_balancer_arn))

        console.rule("[bold]4. albctl apply (second run)")
        clients.reset_counts()
        again = engine.run(objects, "apply")
        print_report(again, "apply")
        second = Counter(clients.calls)

        console.rule("[bold]5. AWS calls")
        _calls_table(console, "first apply", first)
        console.print(f"  mutating calls: {sum(v for k, v in first.items() if is_mutating(k[1]))}")
        _calls_table(console, "second apply", second)
        console.print(f"  mutating calls: {sum(v for k, v in second.items() if is_mutating(k[1]))}")
        ok = report.ok and again.ok and not any(o.plan.changes for o in again.outcomes)
        return 0 if ok else 1
