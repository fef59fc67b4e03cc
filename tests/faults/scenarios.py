"""Manifests and checks shared by the fault scenarios.

The central check, :func:`assert_exact`, is what every scenario ends with: AWS holds exactly
the desired state of the live cluster (albctl's own plan of the cluster against AWS, with
prune, is empty: nothing missing, nothing changed, no stack without its Ingresses), no
resource of ours exists twice, and the resources of others are as they were.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from albctl.aws.clients import AwsClients
from albctl.config import Settings
from albctl.controller.engine import Engine
from albctl.errors import AlbctlError
from albctl.kube.api import EVENT, LOAD_BALANCER_GROUP, KubeApi, NotFound
from albctl.kube.read import cluster_documents
from albctl.manifests import ObjectSet, parse_documents
from tests.e2e.conftest import E2E
from tests.helpers import REGION, backend, endpoint_slice, ingress, ingress_class, rule, service

T = TypeVar("T")


def wait_for(
    what: str, fn: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, KeyError, IndexError, StopIteration, AlbctlError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def ips(n: int, base: int = 1, offset: int = 10) -> list[str]:
    """``n`` pod IPs in the seeded VPC's public subnets (10.0.1xx.0/24)."""
    return [f"10.0.{100 + (base + i) % 3}.{offset + i // 3}" for i in range(n)]


def groups_docs(
    n_groups: int,
    members: int,
    endpoints: int = 2,
    namespace: str = "shop",
    cluster_ips: bool = True,
) -> list[dict[str, Any]]:
    """``n_groups`` explicit groups ``g0..`` of ``members`` Ingresses each, every Ingress with
    its own Service (ip targets, ``endpoints`` pods)."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        ingress_class(),
    ]
    for g in range(n_groups):
        for m in range(members):
            name = f"g{g}m{m}"
            docs.append(service(name, namespace, node_port=None, target_port=8080))
            docs.append(endpoint_slice(name, ips(endpoints, base=g + m, offset=10 + m), namespace))
            docs.append(
                ingress(
                    name,
                    namespace,
                    group_name=f"g{g}",
                    group_order=str(m),
                    scheme="internet-facing",
                    target_type="ip",
                    rules=[rule(f"{name}.example.com", ("/", "Prefix", backend(name, 80)))],
                )
            )
    return docs


def plan_changes(e2e: E2E, api: KubeApi, cluster: str | None = None) -> list[dict[str, Any]]:
    """albctl's plan of the live cluster against AWS (read directly from moto), with prune:
    every change still to make, and every stack of the cluster no group explains."""
    objects = ObjectSet()
    parse_documents(cluster_documents(api), "cluster", objects)
    settings = Settings(
        cluster_name=cluster or e2e.cluster, vpc_id=e2e.seeded.vpc_id, region=REGION
    )
    engine = Engine(settings, AwsClients(region=REGION, user_agent="albctl-tests/0.1"))
    report = engine.run(objects, "plan", prune=bool(objects.ingresses))
    return [c for c in report.plan_json()["changes"]]


def owned_resources(clients: AwsClients, cluster: str) -> dict[str, list[dict[str, str]]]:
    """Tags of every ELBv2 resource (LBs, TGs, listeners, rules) and security group of
    ``cluster``, by kind."""
    elb = clients.elbv2
    lbs = elb.describe_load_balancers()["LoadBalancers"]
    tgs = elb.describe_target_groups()["TargetGroups"]
    listeners = [
        li
        for lb in lbs
        for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    ]
    rules = [
        r
        for li in listeners
        for r in elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]
        if not r["IsDefault"]
    ]
    arns = {
        "LoadBalancer": [x["LoadBalancerArn"] for x in lbs],
        "TargetGroup": [x["TargetGroupArn"] for x in tgs],
        "Listener": [x["ListenerArn"] for x in listeners],
        "Rule": [x["RuleArn"] for x in rules],
    }
    out: dict[str, list[dict[str, str]]] = {}
    for kind, items in arns.items():
        tags: dict[str, dict[str, str]] = {}
        for i in range(0, len(items), 20):
            for d in elb.describe_tags(ResourceArns=items[i : i + 20])["TagDescriptions"]:
                tags[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d["Tags"]}
        out[kind] = [
            {**t, "arn": a}
            for a in items
            if (t := tags.get(a, {})).get("albctl.io/cluster") == cluster
        ]
    sgs = clients.ec2.describe_security_groups(
        Filters=[{"Name": "tag:albctl.io/cluster", "Values": [cluster]}]
    )["SecurityGroups"]
    out["SecurityGroup"] = [
        {**{t["Key"]: t["Value"] for t in g.get("Tags", [])}, "arn": g["GroupId"]} for g in sgs
    ]
    return out


def duplicates(res: dict[str, list[dict[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """Resources of ours that exist more than once (same stack and resource id)."""
    out = {}
    for kind, items in res.items():
        if kind == "Listener":
            continue  # listeners are keyed by their load balancer (checked with the plan)
        c = Counter((t.get("albctl.io/stack", ""), t.get("albctl.io/resource", "")) for t in items)
        dup = [k for k, n in c.items() if n > 1]
        if dup:
            out[kind] = dup
    return out


def assert_exact(
    e2e: E2E,
    api: KubeApi,
    stacks: set[str],
    cluster: str | None = None,
    check_plan: bool = True,
) -> dict[str, list[dict[str, str]]]:
    """AWS holds exactly the desired state of the cluster; ``stacks``: the groups that must
    have a load balancer (``check_plan=False``: at least these, without the plan)."""
    cluster = cluster or e2e.cluster
    if check_plan:
        changes = plan_changes(e2e, api, cluster)
        assert changes == [], f"AWS differs from the desired state: {changes}"
    res = owned_resources(e2e.clients, cluster)
    assert duplicates(res) == {}, duplicates(res)
    have = Counter(t["albctl.io/stack"] for t in res["LoadBalancer"])
    if not check_plan:
        assert set(have) >= stacks, have
        return res
    assert have == Counter(dict.fromkeys(stacks, 1)), have
    leftover = {
        t.get("albctl.io/stack")
        for kind in ("TargetGroup", "SecurityGroup", "Rule")
        for t in res[kind]
        if t.get("albctl.io/stack")
    } - stacks
    assert leftover == set(), f"resources of stacks that should be gone: {leftover}"
    return res


def events(api: KubeApi, reason: str | None = None) -> list[dict[str, Any]]:
    items = api.list(EVENT)["items"]
    return [e for e in items if reason is None or e["reason"] == reason]


def lbg_history(api: KubeApi, name: str) -> list[dict[str, Any]]:
    try:
        return list((api.get(LOAD_BALANCER_GROUP, name).get("status") or {}).get("history") or [])
    except NotFound:
        return []


def converges(
    e2e: E2E, api: KubeApi, stacks: set[str], timeout: float = 60.0, check_plan: bool = True
) -> float:
    """Seconds until AWS holds exactly the desired state."""
    start = time.monotonic()

    def ok() -> bool:
        try:
            assert_exact(e2e, api, stacks, check_plan=check_plan)
        except ClientError as exc:
            # a load balancer or listener deleted between the list and the describe of its
            # parts: AWS is still changing, read again
            if not exc.response.get("Error", {}).get("Code", "").endswith("NotFound"):
                raise
            return False
        return True

    wait_for("AWS to hold exactly the desired state", ok, timeout=timeout, interval=0.5)
    return time.monotonic() - start
