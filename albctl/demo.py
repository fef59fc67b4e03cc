"""``albctl demo``: the example app on an embedded cluster and an embedded AWS.

Live mode (default): the sandbox API server, a moto server seeded like a cluster's VPC
(tagged subnets in three AZs, EC2 instances for the nodes, issued ACM certificates) and the
controller all run in this process; the examples are created through the Kubernetes API; the
demo waits until the controller converged, prints the load balancer tree, the Ingress status
and the Events, then deletes one Ingress and shows the cleanup.

One-shot mode (``--one-shot``): ``albctl apply`` of the examples against in-process moto,
the tree, and a second apply that makes no mutating call.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from rich.console import Console
from rich.table import Table

from albctl import __version__
from albctl.errors import ConfigError

CLUSTER = "demo"
REGION = "us-east-1"
T = TypeVar("T")
CERTS = {"*.example.com": ["example.com"], "shop.example.com": []}


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


def _fake_credentials() -> None:
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[k] = v


def run_demo(examples: Path | None = None, one_shot: bool = False) -> int:
    try:
        import moto  # noqa: F401
    except ImportError:
        raise ConfigError("the demo needs moto: pip install 'albctl[test]'") from None
    src = examples or _examples_dir()
    _fake_credentials()
    return run_one_shot(src) if one_shot else run_live(src)


# --- one-shot --------------------------------------------------------------------------------


def run_one_shot(src: Path) -> int:
    from moto import mock_aws

    from albctl.aws.clients import AwsClients, is_mutating
    from albctl.aws.seed import node_manifests, seed
    from albctl.aws.tree import describe_tree
    from albctl.config import Settings
    from albctl.controller.engine import Engine
    from albctl.manifests import load_manifests, parse_documents
    from albctl.render import print_report, print_tree

    console = Console(highlight=False, soft_wrap=True)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        clients = AwsClients(region=REGION)
        seeded = seed(clients, CLUSTER, instances=3, certificates=CERTS, pod_ips=_pod_ips(src))
        console.rule("[bold]1. embedded AWS (moto)")
        console.print(
            f"VPC {seeded.vpc_id}; public subnets {', '.join(seeded.public_subnets)}; "
            f"instances {', '.join(seeded.instances)}; certificates {', '.join(seeded.certificates)}"
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


# --- live ------------------------------------------------------------------------------------


def _pod_ips(src: Path) -> dict[str, int]:
    """Pod IP -> node index (``node-<index>``) of the examples' EndpointSlices, for seeding
    the nodes' interfaces with the pods' addresses."""
    from albctl.manifests import load_manifests

    objects = load_manifests([src])
    out: dict[str, int] = {}
    for s in objects.endpoint_slices:
        for ep in s.endpoints:
            suffix = (ep.node_name or "").rpartition("-")[2]
            for a in ep.addresses:
                out[a] = int(suffix) if suffix.isdigit() else len(out)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, fn: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            got = fn()
            if got:
                return got
        time.sleep(0.1)
    raise ConfigError(f"the demo timed out waiting for {what}")


@contextlib.contextmanager
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto keeps its state per process: start from an empty AWS
    urllib.request.urlopen(
        urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST"), timeout=10
    ).read()
    try:
        yield url
    finally:
        server.stop()


def _docs(src: Path) -> list[dict[str, Any]]:
    files = (
        sorted(f for f in src.rglob("*") if f.suffix in (".yaml", ".yml"))
        if src.is_dir()
        else [src]
    )
    out: list[dict[str, Any]] = []
    for f in files:
        out += [d for d in yaml.safe_load_all(f.read_text()) if d]
    order = {
        "Namespace": 0,
        "IngressClassParams": 1,
        "IngressClass": 2,
        "Node": 3,
        "Service": 4,
        "EndpointSlice": 5,
    }
    return sorted(out, key=lambda d: order.get(d.get("kind", ""), 9))


def _create(api: Any, doc: dict[str, Any]) -> None:
    from albctl.kube import api as k

    kinds = {
        kind.kind: kind
        for kind in (
            k.INGRESS,
            k.INGRESS_CLASS,
            k.INGRESS_CLASS_PARAMS,
            k.SERVICE,
            k.ENDPOINT_SLICE,
            k.NODE,
            k.TARGET_GROUP_BINDING,
            k.GATEWAY_CLASS,
            k.GATEWAY,
            k.HTTP_ROUTE,
            k.GRPC_ROUTE,
            k.REFERENCE_GRANT,
        )
    }
    if doc["kind"] == "Namespace":
        api.request("POST", "/api/v1/namespaces", body=doc)
        return
    kind = kinds.get(doc["kind"])
    if kind is None:
        return
    api.create(kind, doc, doc["metadata"].get("namespace") if kind.namespaced else None)


def _ingress_table(api: Any) -> Table:
    from albctl.kube.api import INGRESS

    t = Table(box=None, show_edge=False)
    for c in ("NAMESPACE", "NAME", "HOSTS", "ADDRESS", "FINALIZERS"):
        t.add_column(c)
    for ing in api.list(INGRESS)["items"]:
        m = ing["metadata"]
        hosts = ",".join(r.get("host", "*") for r in ing["spec"].get("rules") or [])
        addr = ",".join(
            x.get("hostname", "")
            for x in ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        )
        t.add_row(
            m["namespace"],
            m["name"],
            hosts,
            addr or "-",
            ",".join(m.get("finalizers") or []) or "-",
        )
    return t


def _events_table(
    api: Any, seen: set[tuple[str, int]] | None = None
) -> tuple[Table, set[tuple[str, int]]]:
    """albctl's Events (those not in ``seen``: (name, count) pairs shown before)."""
    from albctl.kube.read import event_row, list_events

    items, _ = list_events(api)
    ours = [e for e in items if (e.get("source") or {}).get("component") == "albctl"]
    t = Table(box=None, show_edge=False)
    for c in ("TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"):
        t.add_column(c, no_wrap=c != "MESSAGE")
    shown: set[tuple[str, int]] = set()
    for e in ours:
        key = (e["metadata"]["name"], int(e.get("count") or 1))
        shown.add(key)
        if seen and key in seen:
            continue
        r = event_row(e)
        t.add_row(r["type"], r["reason"], r["object"], str(r["count"]), r["message"][:200])
    return t, shown


def ingresses_converged(api: Any, ingresses: list[dict[str, Any]]) -> bool:
    """Every Ingress has its hostname and every LoadBalancerGroup is Ready and Synced."""
    from albctl.kube.api import INGRESS, LOAD_BALANCER_GROUP

    for d in ingresses:
        ing = api.get(INGRESS, d["metadata"]["name"], d["metadata"]["namespace"])
        if not ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return False
    lbgs = api.list(LOAD_BALANCER_GROUP)["items"]
    return bool(lbgs) and all(
        c["status"] == "True" for g in lbgs for c in (g.get("status") or {}).get("conditions") or []
    )


@dataclass
class Embedded:
    """A running embedded cluster: moto server, sandbox API server and the controller."""

    endpoint: str
    clients: Any
    seeded: Any
    sandbox: Any
    kubeconfig: Path
    controller: Any
    api: Any

    def idle(self) -> bool:
        return len(self.controller.queue) == 0 and self.controller.queue.busy == 0


@contextlib.contextmanager
def embedded(
    cluster: str = CLUSTER,
    workers: int = 2,
    resync: float = 60,
    pod_ips: dict[str, int] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Iterator[Embedded]:
    """Start moto (seeded like a VPC), the sandbox API server and the controller; stop all after.
    ``overrides``: settings of the controller (``albctl.config.Settings`` fields)."""
    import logging

    from albctl.aws.clients import AwsClients
    from albctl.aws.seed import seed
    from albctl.config import Settings
    from albctl.controller.run import Controller, RunOptions
    from albctl.kube.api import KubeApi
    from albctl.sandbox import SandboxServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    with _moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="albctl-demo-") as tmp:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        clients = AwsClients(region=REGION, user_agent=f"albctl-demo/{__version__}")
        seeded = seed(clients, cluster, instances=3, certificates=CERTS, pod_ips=pod_ips)
        sandbox = SandboxServer(bookmark_interval=1.0)
        sandbox.start()
        kubeconfig = sandbox.write_kubeconfig(Path(tmp) / "kubeconfig")
        options = RunOptions(
            kubeconfig=str(kubeconfig),
            leader_elect=False,
            metrics_bind_address="0",
            health_probe_bind_address="0",
            resync_period=resync,
            workers=workers,
        )
        settings = Settings(cluster_name=cluster, region=REGION).model_copy(update=overrides or {})
        controller = Controller(settings, options)
        controller.start()
        api = KubeApi(str(kubeconfig), user_agent=f"albctl-demo/{__version__}")
        try:
            yield Embedded(endpoint, clients, seeded, sandbox, kubeconfig, controller, api)
        finally:
            controller.stop()
            api.close()
            sandbox.stop()
            os.environ.pop("AWS_ENDPOINT_URL", None)


def run_live(src: Path) -> int:
    from albctl.aws.seed import node_manifests
    from albctl.aws.tree import describe_tree
    from albctl.kube.api import INGRESS, LOAD_BALANCER_GROUP, NotFound
    from albctl.render import print_tree

    console = Console(highlight=False, soft_wrap=True)
    with embedded(pod_ips=_pod_ips(src)) as env:
        clients, seeded, sandbox, kubeconfig = env.clients, env.seeded, env.sandbox, env.kubeconfig
        api, endpoint = env.api, env.endpoint
        console.rule("[bold]1. embedded cluster and AWS")
        console.print(f"Kubernetes API (albctl sandbox): {sandbox.url}   kubeconfig: {kubeconfig}")
        console.print(
            f"AWS (moto server): {endpoint}   VPC {seeded.vpc_id}, subnets in 3 AZs, "
            f"instances {', '.join(seeded.instances)}, certificates {', '.join(seeded.certificates)}"
        )
        console.rule(f"[bold]2. creating the objects of {src} through the API")
        docs = [d for d in _docs(src) if d.get("kind") != "Node"]
        docs += node_manifests(seeded.instances, REGION)
        start = time.monotonic()
        for d in docs:
            _create(api, d)
            console.print(
                f"  created {d['kind']} {d['metadata'].get('namespace', '') + '/' if d['metadata'].get('namespace') else ''}{d['metadata']['name']}"
            )
        ingresses = [d for d in docs if d["kind"] == "Ingress"]

        def converged() -> bool:
            return ingresses_converged(api, ingresses) and env.idle()

        _wait("the controller to converge", converged)
        console.print(f"\nconverged in {time.monotonic() - start:.1f}s")

        console.rule("[bold]3. the load balancer (read from AWS)")
        lbgs = api.list(LOAD_BALANCER_GROUP)["items"]
        for g in lbgs:
            arn = g["status"]["loadBalancer"]["arn"]
            print_tree(describe_tree(clients, arn))
        console.rule("[bold]4. Ingress status and Events")
        console.print(_ingress_table(api))
        console.print()
        table, seen = _events_table(api)
        console.print(table)

        victim = ingresses[-1]["metadata"]
        console.rule(f"[bold]5. deleting Ingress {victim['namespace']}/{victim['name']}")
        api.delete(INGRESS, victim["name"], victim["namespace"])

        def gone() -> bool:
            try:
                api.get(INGRESS, victim["name"], victim["namespace"])
                return False
            except NotFound:
                return env.idle()

        _wait("the Ingress to be cleaned up", gone)
        for g in api.list(LOAD_BALANCER_GROUP)["items"]:
            print_tree(describe_tree(clients, g["status"]["loadBalancer"]["arn"]))
        console.print(_ingress_table(api))
        console.print()
        table, _ = _events_table(api, seen)
        console.print(table)
        console.print(
            "\ntry it yourself while a demo runs: kubectl --kubeconfig <kubeconfig> get ingress,lbg"
        )
        return 0
