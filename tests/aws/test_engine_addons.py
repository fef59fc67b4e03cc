"""Add-ons end to end against moto in-process: listener attributes, Shield Advanced
protections (moto has no GetSubscriptionState: the check is skipped as on any emulator),
multi-cluster target groups keeping targets albctl did not register, and IPv6 pod targets."""

from __future__ import annotations

from collections import Counter

from albctl.model.plan.load_balancer import SHIELD_PROTECTION_NAME
from albctl.model.tags import TARGETS_RECORD_PREFIX
from tests.aws.test_engine import (
    clients,
    lbs,
    listeners,
    mutations,
    run,
    shop,
    tags_of,
    targets,
    tgs,
)
from tests.conftest import AwsEnv

SERVER_HEADER = "routing.http.response.server.enabled"


def test_listener_attributes_are_set_kept_and_put_back(aws: AwsEnv) -> None:
    ann = {"listener-attributes.HTTPS-443": f"{SERVER_HEADER}=false"}
    assert run(aws, shop(aws, web=ann)).ok
    [lb] = lbs(aws)
    https = listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"]

    def server_header() -> str:
        got = clients(aws).elbv2.describe_listener_attributes(ListenerArn=https)["Attributes"]
        return {a["Key"]: a["Value"] for a in got}[SERVER_HEADER]

    assert server_header() == "false"
    assert run(aws, shop(aws, web=ann)).ok and mutations(aws) == Counter()
    clients(aws).elbv2.modify_listener_attributes(
        ListenerArn=https, Attributes=[{"Key": SERVER_HEADER, "Value": "true"}]
    )
    assert run(aws, shop(aws, web=ann)).ok
    assert server_header() == "false"
    assert mutations(aws) == Counter({"ModifyListenerAttributes": 1})


def test_listener_attribute_conflict_leaves_the_later_member_out(aws: AwsEnv) -> None:
    report = run(
        aws,
        shop(
            aws,
            web={"listener-attributes.HTTPS-443": f"{SERVER_HEADER}=false"},
            api={"listener-attributes.HTTPS-443": f"{SERVER_HEADER}=true"},
        ),
    )
    [outcome] = report.outcomes
    # api has group.order 1: it sets the key first, web conflicts and is left out
    assert list(outcome.invalid) == ["shop/web"]
    assert "Ingress/shop/api" in str(outcome.invalid["shop/web"])


def test_shield_protection_on_off_and_left_alone(aws: AwsEnv) -> None:
    shield = clients(aws).shield

    def protection() -> dict[str, str] | None:
        [lb] = lbs(aws)
        found = shield.list_protections()["Protections"]
        return next((p for p in found if p["ResourceArn"] == lb["LoadBalancerArn"]), None)

    assert run(aws, shop(aws, web={"shield-advanced-protection": "true"})).ok
    got = protection()
    assert got is not None and got["Name"] == SHIELD_PROTECTION_NAME
    assert mutations(aws)["CreateProtection"] == 1
    assert run(aws, shop(aws, web={"shield-advanced-protection": "true"})).ok
    assert mutations(aws) == Counter()
    assert run(aws, shop(aws)).ok  # annotation removed: left as it is
    assert protection() is not None and mutations(aws) == Counter()
    assert run(aws, shop(aws, web={"shield-advanced-protection": "false"})).ok
    assert protection() is None and mutations(aws) == Counter({"DeleteProtection": 1})


def test_shield_false_keeps_a_protection_someone_else_made(aws: AwsEnv) -> None:
    assert run(aws, shop(aws)).ok
    [lb] = lbs(aws)
    clients(aws).shield.create_protection(Name="security team", ResourceArn=lb["LoadBalancerArn"])
    assert run(aws, shop(aws, web={"shield-advanced-protection": "false"})).ok
    assert mutations(aws) == Counter()
    assert clients(aws).shield.describe_protection(ResourceArn=lb["LoadBalancerArn"])


def api_target_group(aws: AwsEnv) -> str:
    """The ARN of the target group of Service shop/api (behind Ingress shop/api)."""
    arns = [t["TargetGroupArn"] for t in tgs(aws).values()]
    [arn] = [a for a in arns if tags_of(aws, a)["albctl.io/resource"] == "shop/api-api:80"]
    return arn


def test_multi_cluster_target_group_keeps_targets_albctl_did_not_register(aws: AwsEnv) -> None:
    multi = {"multi-cluster-target-group": "true"}
    assert run(aws, shop(aws, api=multi, api_ips=["10.0.1.10", "10.0.2.11"])).ok
    arn = api_target_group(aws)
    assert any(k.startswith(TARGETS_RECORD_PREFIX) for k in tags_of(aws, arn))
    # another cluster registers its pod in the shared target group
    clients(aws).elbv2.register_targets(
        TargetGroupArn=arn, Targets=[{"Id": "10.0.3.99", "Port": 9000}]
    )
    # one of our pods goes away, one arrives
    assert run(aws, shop(aws, api=multi, api_ips=["10.0.1.10", "10.0.2.12"])).ok
    assert targets(aws, arn) == {("10.0.1.10", 9000), ("10.0.2.12", 9000), ("10.0.3.99", 9000)}
    # the record never reads as user tags to remove: a second run changes nothing
    assert run(aws, shop(aws, api=multi, api_ips=["10.0.1.10", "10.0.2.12"])).ok
    assert mutations(aws) == Counter()


def test_without_multi_cluster_unknown_targets_are_deregistered(aws: AwsEnv) -> None:
    assert run(aws, shop(aws)).ok
    arn = api_target_group(aws)
    clients(aws).elbv2.register_targets(
        TargetGroupArn=arn, Targets=[{"Id": "10.0.3.99", "Port": 9000}]
    )
    assert run(aws, shop(aws)).ok
    assert ("10.0.3.99", 9000) not in targets(aws, arn)
