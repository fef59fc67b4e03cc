"""--take-over-lbc for LBC's ALB Gateways, one-shot against moto: the stack LBC made for a
Gateway (its tags: ``elbv2.k8s.aws/cluster``, ``gateway.k8s.aws.alb/stack`` = ``<ns>/<name>``,
``gateway.k8s.aws.alb/resource``; target group ids as LBC's model_build_target_group.go
``buildTargetGroupResourceID`` writes them) adopted in place by albctl's Gateway of the same
name: same ARNs and DNS name, no Create call, requests routed as before; LBC's tags kept."""

from __future__ import annotations

from albctl.aws.clients import AwsClients
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from albctl.model.lbc import (
    LBC_CLUSTER_TAG,
    LBC_GATEWAY_RESOURCE_TAG,
    LBC_GATEWAY_STACK_TAG,
    lbc_gateway_target_group_id,
)
from tests.aws.test_gateway import _docs, _table, _where
from tests.conftest import AwsEnv
from tests.helpers import REGION, objects

CREATES = ("CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateRule")
REQUESTS = [
    "http://shop.example.com/api/v1",
    "http://shop.example.com/x",
    "http://shop.example.com/old",
    "http://admin.example.com/x",
    "http://other.example.com/",
]


def _run(env: AwsEnv, mode: str, take_over: bool) -> Report:
    settings = Settings(
        cluster_name=env.cluster,
        region=REGION,
        default_target_type="ip",
        take_over_lbc=take_over,  # type: ignore[arg-type]
    )
    return Engine(settings, env.clients).run(objects(*_docs()), mode)  # type: ignore[arg-type]


def _as_lbcs(c: AwsClients, cluster: str) -> dict[str, str]:
    """Re-tag the Gateway's stack as LBC tags its own: albctl's tags removed, LBC's added with
    LBC's resource ids. Returns ARN -> LBC's resource id."""
    ids: dict[str, str] = {}
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    ids[lb["LoadBalancerArn"]] = "LoadBalancer"
    for li in c.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        ids[li["ListenerArn"]] = str(li["Port"])
        rules = c.elbv2.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]
        for n, r in enumerate(r for r in rules if not r["IsDefault"]):
            ids[r["RuleArn"]] = f"{li['Port']}:{n + 1}"
    tgs = c.elbv2.describe_target_groups()["TargetGroups"]
    tags = _tags(c, [t["TargetGroupArn"] for t in tgs])
    for t in tgs:
        mine = tags[t["TargetGroupArn"]]
        svc, _, port = mine["albctl.io/service"].rpartition(":")
        route = mine["albctl.io/ingress"]
        ids[t["TargetGroupArn"]] = lbc_gateway_target_group_id("infra/gw", route, svc, int(port))
    have = _tags(c, list(ids))
    for arn, rid in ids.items():
        ours = [k for k in have[arn] if k.startswith("albctl.io/")]
        c.elbv2.remove_tags(ResourceArns=[arn], TagKeys=ours)
        lbc = {
            LBC_CLUSTER_TAG: cluster,
            LBC_GATEWAY_STACK_TAG: "infra/gw",
            LBC_GATEWAY_RESOURCE_TAG: rid,
        }
        c.elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in lbc.items()])
    for sg in c.ec2.describe_security_groups(
        Filters=[{"Name": "tag:albctl.io/stack", "Values": ["gateway/infra/gw"]}]
    )["SecurityGroups"]:
        c.ec2.delete_tags(
            Resources=[sg["GroupId"]],
            Tags=[{"Key": t["Key"]} for t in sg["Tags"] if t["Key"].startswith("albctl.io/")],
        )
        lbc = {
            LBC_CLUSTER_TAG: cluster,
            LBC_GATEWAY_STACK_TAG: "infra/gw",
            LBC_GATEWAY_RESOURCE_TAG: "ManagedLBSecurityGroup",
        }
        c.ec2.create_tags(
            Resources=[sg["GroupId"]], Tags=[{"Key": k, "Value": v} for k, v in lbc.items()]
        )
    return ids


def _tags(c: AwsClients, arns: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), 20):
        for d in c.elbv2.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            out[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d["Tags"]}
    return out


def _served(env: AwsEnv) -> list[str]:
    table = _table(env)
    return [_where(table, "GET", url) for url in REQUESTS]


def test_lbcs_gateway_stack_is_taken_over_in_place(aws: AwsEnv) -> None:
    c: AwsClients = aws.clients  # type: ignore[assignment]
    assert _run(aws, "apply", False).ok
    served = _served(aws)
    ids = _as_lbcs(c, aws.cluster)
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    plan = _run(aws, "plan", True).plan_json()["changes"]
    adopted = [ch for ch in plan if ch["action"] == "adopt"]
    assert len(adopted) == len(ids) + 1  # every ELB resource and the security group
    assert not [ch for ch in plan if ch["action"] == "create"], plan
    c.reset_counts()
    report = _run(aws, "apply", True)
    assert report.ok, [o.error for o in report.outcomes]
    assert not [op for (_, op) in c.calls if op in CREATES]
    [after] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    assert (after["LoadBalancerArn"], after["DNSName"]) == (lb["LoadBalancerArn"], lb["DNSName"])
    assert _served(aws) == served
    tags = _tags(c, list(ids))
    assert all(t["albctl.io/stack"] == "gateway/infra/gw" for t in tags.values())
    assert all(t[LBC_GATEWAY_STACK_TAG] == "infra/gw" for t in tags.values())  # LBC's kept
    again = _run(aws, "apply", True)
    assert not again.has_changes, [ch.to_json() for o in again.outcomes for ch in o.plan.changes]


def test_without_the_flag_lbcs_gateway_stack_is_not_touched(aws: AwsEnv) -> None:
    c: AwsClients = aws.clients  # type: ignore[assignment]
    assert _run(aws, "apply", False).ok
    ids = _as_lbcs(c, aws.cluster)
    plan = _run(aws, "plan", False).plan_json()["changes"]
    assert not [ch for ch in plan if ch["action"] == "adopt"]
    assert any(ch["action"] == "create" and ch["kind"] == "LoadBalancer" for ch in plan)
    del ids
