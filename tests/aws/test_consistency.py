"""Against moto in-process: what a lost answer or a stale read leaves behind is put right.

A second rule or listener of ours (a create retried after its answer was lost) is deleted; a
create of a security group or target group that already exists as ours is adopted; calls
naming a resource created moments ago wait out AWS's NotFound."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from albctl.aws.consistency import ConsistentClients, Recent, unlisted
from albctl.model.observed import ObservedStack
from tests.aws.test_engine import clients, engine, lbs, listeners, rules_of, run, shop, tgs
from tests.conftest import AwsEnv


def _copy_rule(env: AwsEnv, listener: str, rule: dict[str, Any], priority: int) -> str:
    elb = clients(env).elbv2
    tags = elb.describe_tags(ResourceArns=[rule["RuleArn"]])["TagDescriptions"][0]["Tags"]
    arn: str = elb.create_rule(
        ListenerArn=listener,
        Priority=priority,
        Conditions=rule["Conditions"],
        Actions=[{k: v for k, v in a.items() if k != "Order"} for a in rule["Actions"]],
        Tags=tags,
    )["Rules"][0]["RuleArn"]
    return arn


def test_a_second_rule_and_listener_of_ours_are_deleted(aws: AwsEnv) -> None:
    run(aws, shop(aws), "apply")
    lb = lbs(aws)[0]
    https = listeners(aws, lb["LoadBalancerArn"])[443]
    before = rules_of(aws, https["ListenerArn"])
    dup = _copy_rule(aws, https["ListenerArn"], before[0], 40)
    elb = clients(aws).elbv2
    li_tags = elb.describe_tags(ResourceArns=[https["ListenerArn"]])["TagDescriptions"][0]["Tags"]
    second = elb.create_listener(  # moto takes a second listener on one port; AWS would not
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        Tags=li_tags,
    )["Listeners"][0]["ListenerArn"]
    plan = engine(aws).run(_objs(aws), "plan")
    changes = {
        (c["action"], c["kind"], c["details"].get("duplicate")) for c in plan.plan_json()["changes"]
    }
    assert ("delete", "ListenerRule", True) in changes
    assert ("delete", "Listener", True) in changes
    run(aws, shop(aws), "apply")
    assert dup not in {r["RuleArn"] for r in rules_of(aws, https["ListenerArn"])}
    assert second not in {
        li["ListenerArn"] for li in listeners(aws, lb["LoadBalancerArn"]).values()
    }
    assert not engine(aws).run(_objs(aws), "plan").has_changes


def _objs(env: AwsEnv) -> Any:
    from tests.helpers import objects

    return objects(*shop(env))


def test_a_create_whose_answer_was_lost_is_adopted(aws: AwsEnv) -> None:
    run(aws, shop(aws), "apply")
    before = {n: t["TargetGroupArn"] for n, t in tgs(aws).items()}
    # as if the answers of the creates were lost: AWS has them, albctl's read did not list them
    from albctl.aws.apply import Applier
    from albctl.aws.observe import Observer
    from albctl.model.diff import diff_stack

    e = engine(aws)
    objs = _objs(aws)
    report = e.run(objs, "plan")
    [out] = report.outcomes
    assert out.build is not None and out.build.stack is not None
    empty = ObservedStack(
        group_id=out.group_id,
        backend_security_group=Observer(clients(aws), aws.cluster)
        .observe()
        .get(out.group_id)
        .backend_security_group,  # type: ignore[union-attr]
    )
    plan = diff_stack(out.build.stack, empty)
    creates = [c for c in plan.changes if c.kind in ("SecurityGroup", "TargetGroup")]
    applier = Applier(clients(aws), aws.cluster, aws.seeded.vpc_id)  # type: ignore[attr-defined]
    applier.apply(plan.__class__(group_id=plan.group_id, changes=creates), empty)
    assert {n: t["TargetGroupArn"] for n, t in tgs(aws).items()} == before
    assert set(applier.tg_arns.values()) == set(before.values())


def test_not_found_is_waited_out_only_for_what_was_just_created() -> None:
    class Client:
        class meta:
            method_to_api_mapping = {"create_thing": "CreateThing", "use_thing": "UseThing"}

        def __init__(self) -> None:
            self.refusals = 2

        def create_thing(self, **_: Any) -> dict[str, Any]:
            return {"TargetGroupArn": "arn:new"}

        def use_thing(self, **kw: Any) -> dict[str, Any]:
            if self.refusals:
                self.refusals -= 1
                raise ClientError({"Error": {"Code": "TargetGroupNotFound"}}, "UseThing")
            return {}

    class Clients:
        def __init__(self) -> None:
            self.elbv2 = self.ec2 = self.acm = self.wafv2 = Client()
            self.wafregional = self.shield = Client()

    recent = Recent()
    raw = Clients()
    c = ConsistentClients(raw, "g", recent, wait=5)  # type: ignore[arg-type]
    c.elbv2.create_thing(Name="x")
    assert "arn:new" in recent
    c.elbv2.use_thing(TargetGroupArn="arn:new")  # two NotFound, then done
    raw.elbv2.refusals = 1
    with pytest.raises(ClientError):
        c.elbv2.use_thing(TargetGroupArn="arn:someone-elses")  # a real NotFound: at once
    # a read that does not list it yet is stale; so is one that lists what was deleted
    assert unlisted(recent, ObservedStack(group_id="g")) == set()  # not an ELB ARN
    recent.add("g", "arn:aws:elasticloadbalancing:r:1:targetgroup/x/1")
    assert unlisted(recent, ObservedStack(group_id="g")) == {
        "arn:aws:elasticloadbalancing:r:1:targetgroup/x/1"
    }
    lb = "arn:aws:elasticloadbalancing:r:1:loadbalancer/app/n/1"
    recent.add("g", "arn:aws:elasticloadbalancing:r:1:listener/app/n/1/2")
    recent.discard([lb])  # its listeners go with it
    assert "arn:aws:elasticloadbalancing:r:1:listener/app/n/1/2" not in recent
