"""Taking over what the AWS Load Balancer Controller made (--take-over-lbc), end to end: the
example app's stack as LBC would have made it (tests/lbc_stack.py) in the moto server, then
``albctl plan|apply --take-over-lbc`` and ``albctl run --take-over-lbc`` against it.

Checked in AWS and in the Kubernetes API: the same ARNs and DNS name, requests routed to the
same Services before and after (``albctl route``), no Create call for anything that existed,
LBC's finalizers gone, a later delete clean; a running LBC (live Lease) makes albctl refuse.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from albctl.aws.routes import read_table
from albctl.aws.seed import node_manifests
from albctl.kube.api import INGRESS, LBC_TARGET_GROUP_BINDING, LEASE, Kind
from albctl.route import route_file
from tests.e2e.conftest import E2E, owned
from tests.e2e.test_controller import Live, _permission_of, live, wait_for
from tests.helpers import REGION, write_yaml
from tests.lbc_stack import SHOP, LbcStack, seed_lbc_shop, shop_objects, shop_pod_ips

pytestmark = [pytest.mark.e2e]
__all__ = ["live"]

REQUESTS = [
    "GET https://shop.example.com/",
    "GET https://shop.example.com/assets/logo.png",
    "GET https://shop.example.com/cart",
    "GET https://api.example.com/v0/users",
    "GET https://api.example.com/users",
    "GET https://api.example.com/users -H 'X-Canary: always'",
    "GET http://shop.example.com/cart",
]
CREATES = {
    "CreateLoadBalancer",
    "CreateTargetGroup",
    "CreateListener",
    "CreateRule",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
}


def _answer(row: dict[str, Any]) -> str:
    if "error" in row:
        return "error"
    action = row["action"]
    if action["type"] == "redirect":
        return f"redirect {action.get('location')}"
    if action["type"] == "fixed-response":
        return f"fixed {action['statusCode']}"
    return str(row["service"])


def _before(e: E2E, lbc: LbcStack) -> list[str]:
    """LBC's load balancer routed in-process (albctl route lists albctl's load balancers only);
    the Services of LBC's target groups from the fixture."""
    table = read_table(e.clients, lbc.lb_arn).model_copy(update={"services": lbc.services})
    return [_answer(r) for r in route_file([table], REQUESTS, None)]


def _after(e: E2E) -> list[str]:
    path = e.tmp / "requests.txt"
    path.write_text("\n".join(REQUESTS) + "\n")
    rows = json.loads(e.albctl("route", "--from", str(path), "-o", "json", check=True).stdout)
    return [_answer(r) for r in rows["routes"]]


def _shop_docs(e: E2E) -> list[dict[str, Any]]:
    import yaml

    docs = [
        d
        for f in sorted(SHOP.glob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
        if d and d.get("kind") != "Node"
    ]
    return docs + node_manifests(e.seeded.instances, REGION)


def _seed(e: E2E) -> LbcStack:
    shop_pod_ips(e.clients, e.seeded, shop_objects(e.seeded))
    return seed_lbc_shop(e.clients, e.cluster, e.seeded)


def _lb(e: E2E, arn: str) -> dict[str, Any]:
    return dict(e.clients.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0])


def test_one_shot_takeover_keeps_arns_and_routes_then_deletes_clean(e2e: E2E) -> None:
    lbc = _seed(e2e)
    before = _before(e2e, lbc)
    assert "shop/storefront:80" in before and "fixed 410" in before, before
    files = write_yaml(e2e.tmp / "shop.yaml", *_shop_docs(e2e))

    plan = e2e.albctl("plan", "--take-over-lbc", "-f", str(files), "-o", "json", check=True)
    changes = json.loads(plan.stdout)["changes"]
    assert changes and {c["action"] for c in changes} == {"adopt"}, changes
    assert {c["kind"] for c in changes} == {
        "SecurityGroup",
        "TargetGroup",
        "LoadBalancer",
        "Listener",
        "ListenerRule",
    }

    e2e.start_recording()
    e2e.albctl("apply", "--take-over-lbc", "-f", str(files), check=True)
    calls = e2e.recorded_calls("albctl/")
    assert not CREATES & set(calls), calls
    assert calls["AddTags"] == len(lbc.arns) and calls["CreateTags"] == 2, calls
    assert _lb(e2e, lbc.lb_arn)["DNSName"] == lbc.dns_name
    assert [x["LoadBalancerArn"] for x in owned(e2e)["lbs"]] == [lbc.lb_arn]
    assert {t["TargetGroupArn"] for t in owned(e2e)["tgs"]} == set(lbc.target_groups.values())
    assert _after(e2e) == before

    e2e.start_recording()
    e2e.albctl("apply", "--take-over-lbc", "-f", str(files), check=True)
    assert not e2e.mutating(e2e.recorded_calls("albctl/"))

    e2e.albctl("delete", "-f", str(files), check=True)
    assert owned(e2e) == {"lbs": [], "tgs": [], "sgs": []}
    assert not e2e.clients.elbv2.describe_load_balancers()["LoadBalancers"]
    sgs = e2e.clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [lbc.managed_sg, lbc.backend_sg]}]
    )["SecurityGroups"]
    assert not sgs


def test_a_stack_tagged_for_another_cluster_is_not_touched(e2e: E2E) -> None:
    shop_pod_ips(e2e.clients, e2e.seeded, shop_objects(e2e.seeded))
    other = seed_lbc_shop(e2e.clients, e2e.cluster, e2e.seeded, tag_cluster="another-cluster")
    files = write_yaml(e2e.tmp / "shop.yaml", *_shop_docs(e2e))
    plan = e2e.albctl("plan", "--take-over-lbc", "-f", str(files), "-o", "json", check=True)
    assert not [c for c in json.loads(plan.stdout)["changes"] if c["action"] == "adopt"]
    e2e.start_recording()
    e2e.albctl("apply", "--take-over-lbc", "-f", str(files), check=True)
    calls = e2e.recorded_calls("albctl/")
    assert calls["CreateLoadBalancer"] == 1  # a load balancer of its own
    tags = e2e.clients.elbv2.describe_tags(ResourceArns=other.arns[:20])["TagDescriptions"]
    for d in tags:
        keys = {t["Key"] for t in d["Tags"]}
        assert not any(k.startswith("albctl.io/") for k in keys), d


# --- the controller --------------------------------------------------------------------------

TGB_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "targetgroupbindings.elbv2.k8s.aws"},
    "spec": {
        "group": "elbv2.k8s.aws",
        "scope": "Namespaced",
        "names": {
            "plural": "targetgroupbindings",
            "singular": "targetgroupbinding",
            "kind": "TargetGroupBinding",
            "listKind": "TargetGroupBindingList",
        },
        "versions": [
            {
                "name": "v1beta1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}
CRD = Kind("apiextensions.k8s.io", "v1", "customresourcedefinitions", False, "CRD")


def _lease(holder: str) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "aws-load-balancer-controller-leader", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 3600,
            "acquireTime": now,
            "renewTime": now,
        },
    }


def _lbc_cluster(lv: Live, lbc: LbcStack) -> None:
    """The example app as LBC left it: its finalizers on the Ingresses, its bindings."""
    api = lv.api
    api.create(CRD, TGB_CRD)
    docs = _shop_docs(lv.e2e)
    for d in docs:
        if d["kind"] == "Ingress":
            d["metadata"]["finalizers"] = ["group.ingress.k8s.aws/shop"]
    lv.apply(*docs)
    wait_for("LBC's binding kind", lambda: api.list(LBC_TARGET_GROUP_BINDING, "shop") is not None)
    for lbc_id, arn in lbc.target_groups.items():
        svc = lbc.services[arn].split("/")[1].split(":")[0]
        name = arn.split("/")[-2]
        api.create(
            LBC_TARGET_GROUP_BINDING,
            {
                "apiVersion": "elbv2.k8s.aws/v1beta1",
                "kind": "TargetGroupBinding",
                "metadata": {
                    "name": name,
                    "namespace": "shop",
                    "finalizers": ["elbv2.k8s.aws/resources"],
                    "labels": {"ingress.k8s.aws/stack": "shop"},
                },
                "spec": {
                    "targetGroupARN": arn,
                    "serviceRef": {"name": svc, "port": 80},
                    "targetType": "ip" if "api" in lbc_id else "instance",
                },
            },
            "shop",
        )


def _finalizers(lv: Live) -> dict[str, list[str]]:
    return {
        i["metadata"]["name"]: list(i["metadata"].get("finalizers") or [])
        for i in lv.api.list(INGRESS, "shop")["items"]
    }


def _hostnames(lv: Live) -> set[str]:
    return {
        x.get("hostname", "")
        for i in lv.api.list(INGRESS, "shop")["items"]
        for x in (i.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    }


def test_controller_refuses_while_lbc_runs_then_takes_over_in_place(live: Live) -> None:
    e = live.e2e
    lbc = _seed(e)
    before = _before(e, lbc)
    live.api.create(LEASE, _lease("aws-load-balancer-controller-7d9f"), "kube-system")
    _lbc_cluster(live, lbc)
    e.start_recording()
    live.start_controller("--take-over-lbc", "--lbc-namespace", "kube-system")
    wait_for("the refusal", lambda: live.events("TakeoverRefused"), timeout=40)
    assert not owned(e)["lbs"]  # nothing adopted, nothing created
    assert all("group.ingress.k8s.aws/shop" in f for f in _finalizers(live).values())

    live.api.delete(LEASE, "aws-load-balancer-controller-leader", "kube-system")  # LBC stopped
    wait_for("the adoption", lambda: [x["LoadBalancerArn"] for x in owned(e)["lbs"]], timeout=40)
    wait_for("the members' hostname", lambda: _hostnames(live) == {lbc.dns_name}, timeout=40)
    wait_for(
        "LBC's finalizers released",
        lambda: all(f == ["albctl.io/ingress-group"] for f in _finalizers(live).values()),
        timeout=40,
    )
    bindings = live.api.list(LBC_TARGET_GROUP_BINDING, "shop")["items"]
    assert bindings and all(not b["metadata"].get("finalizers") for b in bindings)
    calls = e.recorded_calls("albctl/")
    assert not CREATES & set(calls), calls
    assert [x["LoadBalancerArn"] for x in owned(e)["lbs"]] == [lbc.lb_arn]
    assert _lb(e, lbc.lb_arn)["DNSName"] == lbc.dns_name
    assert {t["TargetGroupArn"] for t in owned(e)["tgs"]} == set(lbc.target_groups.values())
    assert _after(e) == before

    # uninstalling LBC removes its bindings: nothing in AWS goes with them
    for b in bindings:
        live.api.delete(LBC_TARGET_GROUP_BINDING, b["metadata"]["name"], "shop")
    assert {t["TargetGroupArn"] for t in owned(e)["tgs"]} == set(lbc.target_groups.values())
    for name in _finalizers(live):
        live.api.delete(INGRESS, name, "shop")
    wait_for("a clean delete", lambda: owned(e) == {"lbs": [], "tgs": [], "sgs": []}, timeout=60)
    assert not e.clients.elbv2.describe_load_balancers()["LoadBalancers"]
    _check_permissions(live)


def _check_permissions(lv: Live) -> None:
    """The takeover uses its declared permissions (the chart grants them with takeOverLBC),
    all of them, and nothing undeclared."""
    from albctl.kube.permissions import (
        CLUSTER_PERMISSIONS,
        NAMESPACED_PERMISSIONS,
        TAKEOVER_LEASE_PERMISSIONS,
        TAKEOVER_PERMISSIONS,
    )

    used = {
        perm
        for ua, m, p in lv.sandbox.audit
        if ua.startswith("albctl/") and (perm := _permission_of(m, p)) is not None
    }
    every = (*CLUSTER_PERMISSIONS, *NAMESPACED_PERMISSIONS, *TAKEOVER_PERMISSIONS)
    declared = {(p.api_group, p.resource, v) for p in every for v in p.verbs}
    takeover = {
        (p.api_group, p.resource, v)
        for p in (*TAKEOVER_PERMISSIONS, *TAKEOVER_LEASE_PERMISSIONS)
        for v in p.verbs
    }
    assert used - declared == set(), sorted(used - declared)
    assert takeover - used == set(), sorted(takeover - used)
