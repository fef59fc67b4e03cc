"""--take-over-lbc, one-shot, against moto in-process: LBC's stack of the example app adopted
in place (same ARNs, no Create call for what exists), a stack of another cluster untouched."""

from __future__ import annotations

from collections import Counter

from albctl.aws.clients import AwsClients, is_mutating
from albctl.aws.seed import Seeded
from albctl.config import Settings
from albctl.controller.engine import Engine
from tests.conftest import AwsEnv
from tests.helpers import REGION
from tests.lbc_stack import seed_lbc_shop, shop_objects, shop_pod_ips

CREATES = {
    "CreateLoadBalancer",
    "CreateTargetGroup",
    "CreateListener",
    "CreateRule",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
}


def _engine(env: AwsEnv, take_over: bool = True) -> Engine:
    settings = Settings(cluster_name=env.cluster, region=REGION, take_over_lbc=take_over)
    return Engine(settings, env.clients)  # type: ignore[arg-type]


def _tags(clients: AwsClients, arns: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), 20):
        for d in clients.elbv2.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            out[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d["Tags"]}
    return out


def test_plan_shows_each_adoption_and_apply_adopts_in_place(aws: AwsEnv) -> None:
    clients, seeded = aws.clients, aws.seeded
    assert isinstance(clients, AwsClients) and isinstance(seeded, Seeded)
    objects = shop_objects(seeded)
    shop_pod_ips(clients, seeded, objects)
    lbc = seed_lbc_shop(clients, aws.cluster, seeded)

    plan = _engine(aws).run(objects, "plan").plan_json()["changes"]
    adopted = {(c["kind"], c["id"]) for c in plan if c["action"] == "adopt"}
    assert ("LoadBalancer", "LoadBalancer") in adopted
    assert ("SecurityGroup", "BackendSecurityGroup") in adopted
    assert {k for k, _ in adopted} >= {"Listener", "ListenerRule", "TargetGroup", "SecurityGroup"}
    assert sum(1 for k, _ in adopted if k == "ListenerRule") == len(lbc.rules)
    assert sum(1 for k, _ in adopted if k == "TargetGroup") == len(lbc.target_groups)
    assert not [c for c in plan if c["action"] == "create"], plan
    # LBC's rules on the targets' security groups are taken over, not added again
    assert not [c for c in plan if c["kind"] == "SecurityGroupRules"], plan
    first_other = next((i for i, c in enumerate(plan) if c["action"] != "adopt"), len(plan))
    assert all(c["action"] != "adopt" for c in plan[first_other:])  # adoptions come first
    assert not _tags(clients, [lbc.lb_arn])[lbc.lb_arn].get("albctl.io/cluster")  # plan: no write

    clients.reset_counts()
    report = _engine(aws).run(objects, "apply")
    assert report.ok, [o.error for o in report.outcomes]
    calls = Counter(op for (_, op), n in clients.calls.items() for _ in range(n))
    assert not CREATES & set(calls), calls
    after = clients.elbv2.describe_load_balancers(LoadBalancerArns=[lbc.lb_arn])["LoadBalancers"]
    assert after[0]["DNSName"] == lbc.dns_name
    tags = _tags(clients, lbc.arns)
    for arn in lbc.arns:
        assert tags[arn]["albctl.io/cluster"] == aws.cluster, arn
        assert tags[arn]["albctl.io/stack"] == "shop"
        assert tags[arn]["elbv2.k8s.aws/cluster"] == aws.cluster  # LBC's tags stay
    lbs = clients.elbv2.describe_load_balancers()["LoadBalancers"]
    assert [lb["LoadBalancerArn"] for lb in lbs] == [lbc.lb_arn]
    tgs = {t["TargetGroupArn"] for t in clients.elbv2.describe_target_groups()["TargetGroups"]}
    assert tgs == set(lbc.target_groups.values())

    clients.reset_counts()
    again = _engine(aws).run(objects, "apply")
    assert again.ok and not again.has_changes, again.plan_json()
    mutating = {op for (_, op) in clients.calls if is_mutating(op)}
    assert not mutating, mutating


def test_a_stack_of_another_cluster_is_not_touched(aws: AwsEnv) -> None:
    clients, seeded = aws.clients, aws.seeded
    assert isinstance(clients, AwsClients) and isinstance(seeded, Seeded)
    objects = shop_objects(seeded)
    other = seed_lbc_shop(clients, aws.cluster, seeded, tag_cluster="other-cluster")
    before = _tags(clients, other.arns)

    report = _engine(aws).run(objects, "apply")
    assert report.ok, [o.error for o in report.outcomes]
    assert _tags(clients, other.arns) == before
    lbs = clients.elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(lbs) == 2  # albctl made its own
    plan = _engine(aws).run(objects, "plan").plan_json()["changes"]
    assert not [c for c in plan if c["action"] == "adopt"]
