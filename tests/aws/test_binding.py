"""TargetGroupBindings against moto in-process: target groups made outside albctl (plain boto3,
no albctl tags) get their targets registered and deregistered, and nothing else of theirs
changes."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from albctl.aws.binding import BATCH, deregister, register, registered_targets
from albctl.aws.clients import AwsClients
from albctl.aws.seed import Seeded, node_manifests, seed
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from tests.conftest import AwsEnv
from tests.helpers import REGION, endpoint_slice, objects, service, target_group_binding


@pytest.fixture
def aws() -> Iterator[AwsEnv]:
    """moto in-process with a VPC, tagged subnets and 3 instances (no certificates: faster)."""
    from moto import mock_aws

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            c = AwsClients(region=REGION)
            env = AwsEnv(c, seed(c, "test", instances=3), "test")
            c.reset_counts()
            yield env
    finally:
        if endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint


def clients(env: AwsEnv) -> AwsClients:
    return env.clients  # type: ignore[return-value]


def seeded(env: AwsEnv) -> Seeded:
    return env.seeded  # type: ignore[return-value]


def make_tg(
    env: AwsEnv, name: str, target_type: str, vpc: str | None = None, port: int = 80
) -> str:
    """A target group as Terraform would make it: custom health check and attributes, no tags."""
    elb = clients(env).elbv2
    arn: str = elb.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=port,
        VpcId=vpc or seeded(env).vpc_id,
        TargetType=target_type,
        HealthCheckPath="/ready",
        HealthCheckIntervalSeconds=10,
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "17"}],
    )
    return arn


def snapshot(env: AwsEnv, arn: str) -> tuple[Any, ...]:
    """Everything of a target group but its targets."""
    elb = clients(env).elbv2
    tg = elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
    attrs = elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    tags = elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    return (tg, sorted((a["Key"], a["Value"]) for a in attrs), tags)


def run(env: AwsEnv, docs: list[dict[str, Any]], mode: str = "apply") -> Report:
    clients(env).reset_counts()
    engine = Engine(Settings(cluster_name=env.cluster, region=REGION), clients(env))
    return engine.run(objects(*docs), mode)  # type: ignore[arg-type]


def mutations(env: AwsEnv) -> Counter[str]:
    return Counter({op: n for (_, op), n in clients(env).mutating_calls().items()})


def ip_app(arn: str, ips: list[str], **spec: Any) -> list[dict[str, Any]]:
    return [
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ips, "shop", port=8080),
        target_group_binding("web", "shop", "web", 80, arn=arn, **spec),
    ]


def test_ip_binding_registers_then_follows_scale_down_and_touches_nothing_else(
    aws: AwsEnv,
) -> None:
    arn = make_tg(aws, "tf-web", "ip")
    before = snapshot(aws, arn)
    report = run(aws, ip_app(arn, ["10.0.1.10", "10.0.1.11", "10.0.2.12"]))
    assert report.ok, report.bindings
    [b] = report.bindings
    assert (b.key, b.target_group_arn, b.targets) == ("shop/web", arn, 3)
    assert registered_targets(clients(aws), arn) == {
        ("10.0.1.10", 8080),
        ("10.0.1.11", 8080),
        ("10.0.2.12", 8080),
    }
    assert mutations(aws) == Counter({"RegisterTargets": 1})
    assert report.plan_json()["changes"][0]["kind"] == "TargetGroupBinding"

    # idempotent: nothing to do, no mutating call
    again = run(aws, ip_app(arn, ["10.0.1.10", "10.0.1.11", "10.0.2.12"]))
    assert again.ok and not again.has_changes and mutations(aws) == Counter()

    # scale down: the pods that left are deregistered
    down = run(aws, ip_app(arn, ["10.0.1.10"]))
    assert down.bindings[0].deregistered == [("10.0.1.11", 8080), ("10.0.2.12", 8080)]
    assert registered_targets(clients(aws), arn) == {("10.0.1.10", 8080)}
    assert mutations(aws) == Counter({"DeregisterTargets": 1})
    assert snapshot(aws, arn) == before  # health check, attributes, tags untouched


def test_instance_binding_by_name_registers_nodes_at_the_node_port(aws: AwsEnv) -> None:
    arn = make_tg(aws, "tf-nodes", "instance")
    docs = [
        service("web", "shop", node_port=31234),
        *node_manifests(seeded(aws).instances, REGION),
        target_group_binding("nodes", "shop", "web", "http", tg_name="tf-nodes"),
    ]
    report = run(aws, docs)
    assert report.ok, report.bindings
    assert registered_targets(clients(aws), arn) == {(i, 31234) for i in seeded(aws).instances}


def test_plan_changes_nothing_and_delete_deregisters_everything(aws: AwsEnv) -> None:
    arn = make_tg(aws, "tf-web", "ip")
    planned = run(aws, ip_app(arn, ["10.0.1.10"]), "plan")
    assert planned.has_changes and mutations(aws) == Counter()
    assert registered_targets(clients(aws), arn) == frozenset()
    run(aws, ip_app(arn, ["10.0.1.10", "10.0.1.11"]))
    deleted = run(aws, ip_app(arn, ["10.0.1.10", "10.0.1.11"]), "delete")
    assert deleted.ok and len(deleted.bindings[0].deregistered) == 2
    assert registered_targets(clients(aws), arn) == frozenset()
    assert clients(aws).elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    assert "DeleteTargetGroup" not in mutations(aws)


def test_target_group_in_another_vpc_is_refused_and_nothing_registered(aws: AwsEnv) -> None:
    other_vpc = clients(aws).ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    arn = make_tg(aws, "tf-elsewhere", "ip", vpc=other_vpc)
    report = run(aws, ip_app(arn, ["10.0.1.10"]))
    assert not report.ok
    error = report.bindings[0].error or ""
    assert error.startswith("TargetGroupBinding/shop/web: spec.targetGroupARN: ")
    assert f"is in VPC {other_vpc}, not in the cluster's VPC {seeded(aws).vpc_id}" in error
    assert registered_targets(clients(aws), arn) == frozenset()
    assert mutations(aws) == Counter()


def test_missing_port_and_missing_target_group_are_refused(aws: AwsEnv) -> None:
    arn = make_tg(aws, "tf-web", "ip")
    docs = [
        *ip_app(arn, ["10.0.1.10"], serviceRef={"name": "web", "port": 8443}),
        target_group_binding("ghost", "shop", "web", 80, tg_name="no-such-tg"),
    ]
    report = run(aws, docs)
    errors = {b.key: b.error for b in report.bindings}
    assert not report.ok
    assert errors["shop/web"] == (
        "TargetGroupBinding/shop/web: spec.serviceRef.port: Service shop/web has no port 8443"
    )
    assert errors["shop/ghost"] == (
        "TargetGroupBinding/shop/ghost: spec.targetGroupName: target group no-such-tg not found"
    )
    assert mutations(aws) == Counter()


def test_registration_goes_in_batches_of_500(aws: AwsEnv) -> None:
    arn = make_tg(aws, "tf-big", "ip")
    many = [(f"10.0.{i // 200}.{i % 200 + 1}", 8080) for i in range(BATCH + 3)]
    clients(aws).reset_counts()
    register(clients(aws), arn, many)
    assert mutations(aws) == Counter({"RegisterTargets": 2})
    assert len(registered_targets(clients(aws), arn)) == BATCH + 3
    deregister(clients(aws), arn, many)
    assert registered_targets(clients(aws), arn) == frozenset()


def test_a_target_group_albctl_made_for_an_ingress_cannot_be_bound(aws: AwsEnv) -> None:
    arn = clients(aws).elbv2.create_target_group(
        Name="k8s-shop-web-0123456789",
        Protocol="HTTP",
        Port=80,
        VpcId=seeded(aws).vpc_id,
        TargetType="ip",
        Tags=[
            {"Key": "albctl.io/cluster", "Value": aws.cluster},
            {"Key": "albctl.io/stack", "Value": "shop"},
            {"Key": "albctl.io/resource", "Value": "shop/web-web:80"},
        ],
    )["TargetGroups"][0]["TargetGroupArn"]
    report = run(aws, ip_app(arn, ["10.0.1.10"]))
    assert "managed by albctl for Ingress group shop" in (report.bindings[0].error or "")
    assert registered_targets(clients(aws), arn) == frozenset()


# --- networking: rules on the targets' security groups ---------------------------------------


def _pod_eni(env: AwsEnv, ip: str, *groups: str) -> str:
    """A network interface whose primary address is a pod IP (moto matches primary addresses
    only; AWS also matches the secondary addresses the VPC CNI gives pods)."""
    ec2 = clients(env).ec2
    subnet = next(
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [seeded(env).vpc_id]}])[
            "Subnets"
        ]
        if ip.rsplit(".", 1)[0] + ".0/24" == s["CidrBlock"]
    )
    eni: str = ec2.create_network_interface(
        SubnetId=subnet, Groups=list(groups), PrivateIpAddress=ip
    )["NetworkInterface"]["NetworkInterfaceId"]
    return eni


def _sg(env: AwsEnv, name: str, tags: dict[str, str] | None = None) -> str:
    spec = [
        {
            "ResourceType": "security-group",
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        }
    ]
    group: str = clients(env).ec2.create_security_group(
        GroupName=name,
        Description=name,
        VpcId=seeded(env).vpc_id,
        **({"TagSpecifications": spec} if tags else {}),
    )["GroupId"]
    return group


def _ingress(env: AwsEnv, group: str) -> set[tuple[str, int, str, bool]]:
    """(protocol, port, source, tagged by albctl) of every ingress rule of a group."""
    rules = clients(env).ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}]
    )["SecurityGroupRules"]
    return {
        (
            r["IpProtocol"],
            r["FromPort"],
            (r.get("ReferencedGroupInfo") or {}).get("GroupId") or r.get("CidrIpv4") or "",
            any(t["Key"] == "albctl.io/target-group-binding" for t in r.get("Tags", [])),
        )
        for r in rules
        if not r["IsEgress"]
    }


def test_networking_rules_are_added_tagged_shared_and_only_albctls_are_revoked(
    aws: AwsEnv,
) -> None:
    from albctl.aws.binding_networking import apply_permissions, target_enis
    from albctl.model.binding_networking import NetworkingEntry, desired_permissions

    c = clients(aws)
    pods_a = _sg(aws, "pods-a")
    pods_b = _sg(aws, "pods-b")
    other = _sg(aws, "other", {f"kubernetes.io/cluster/{aws.cluster}": "owned"})
    lb = _sg(aws, "terraform-lb")
    _pod_eni(aws, "10.0.200.10", pods_a)
    _pod_eni(aws, "10.0.200.11", pods_a)
    _pod_eni(aws, "10.0.201.20", pods_b, other)  # two groups: the cluster-tagged one
    # someone already allows the VPN on pods-a: kept as it is, never revoked
    c.ec2.authorize_security_group_ingress(
        GroupId=pods_a,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "IpRanges": [{"CidrIp": "10.8.0.0/16"}],
            }
        ],
    )
    sources = [{"securityGroup": {"groupID": lb}}, {"ipBlock": {"cidr": "10.8.0.0/16"}}]
    doc = target_group_binding(
        "web",
        "shop",
        arn="arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/y",
        networking={"ingress": [{"from": sources, "ports": [{"port": 8080}]}]},
    )
    b = objects(doc).target_group_bindings[0]

    def sync(ips: set[str], revoke: bool = True) -> Any:
        targets = frozenset((ip, 8080) for ip in ips)
        enis = target_enis(c, seeded(aws).vpc_id, ips, [])
        plan = desired_permissions([NetworkingEntry(b, targets)], enis, aws.cluster)
        assert plan.complete, plan.problems
        c.reset_counts()
        return apply_permissions(c, aws.cluster, plan.permissions, revoke)

    changes = sync({"10.0.200.10", "10.0.200.11", "10.0.201.20"})
    assert sorted(p.group_id for p in changes.added) == sorted([pods_a, other, other])
    assert [(p.group_id, p.cidr) for p in changes.foreign] == [(pods_a, "10.8.0.0/16")]
    assert _ingress(aws, other) == {("tcp", 8080, lb, True), ("tcp", 8080, "10.8.0.0/16", True)}
    assert _ingress(aws, pods_a) == {("tcp", 8080, lb, True), ("tcp", 8080, "10.8.0.0/16", False)}
    assert _ingress(aws, pods_b) == set()

    # nothing to do the second time: no mutating call
    again = sync({"10.0.200.10", "10.0.200.11", "10.0.201.20"})
    assert not again.changed and mutations(aws) == Counter()

    # the target behind `other` left: albctl's rules there go, but not while revoking is held
    held = sync({"10.0.200.10"}, revoke=False)
    assert held.revoked == [] and len(_ingress(aws, other)) == 2
    gone = sync({"10.0.200.10"})
    assert {p.group_id for p in gone.revoked} == {other}
    assert _ingress(aws, other) == set()
    assert _ingress(aws, pods_a) == {("tcp", 8080, lb, True), ("tcp", 8080, "10.8.0.0/16", False)}
    sync(set())  # no target at all: only the rule that was there before remains
    assert _ingress(aws, pods_a) == {("tcp", 8080, "10.8.0.0/16", False)}


def test_instance_targets_use_the_primary_network_interface(aws: AwsEnv) -> None:
    from albctl.aws.binding_networking import target_enis

    c = clients(aws)
    iid = seeded(aws).instances[0]
    enis = target_enis(c, seeded(aws).vpc_id, [], [iid, "i-00000000000000000"])
    inst = c.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    primary = next(n for n in inst["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
    assert set(enis) == {iid}
    assert enis[iid].id == primary["NetworkInterfaceId"]
    assert sorted(g for g, _ in enis[iid].security_groups) == sorted(
        g["GroupId"] for g in primary["Groups"]
    )


def test_one_shot_apply_authorizes_networking_rules_and_never_revokes(aws: AwsEnv) -> None:
    pods = _sg(aws, "pods-oneshot")
    lb = _sg(aws, "lb-oneshot")
    _pod_eni(aws, "10.0.200.30", pods)
    arn = make_tg(aws, "tf-oneshot", "ip", port=8080)
    sources = [{"securityGroup": {"groupID": lb}}]
    docs = [
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ["10.0.200.30"], "shop", port=8080),
        target_group_binding(
            "web",
            "shop",
            arn=arn,
            networking={"ingress": [{"from": sources, "ports": [{"port": 8080}]}]},
        ),
    ]
    report = run(aws, docs)
    assert report.ok, [(b.key, b.error, b.note) for b in report.bindings]
    [outcome] = report.bindings
    assert outcome.rules_added == 1
    assert _ingress(aws, pods) == {("tcp", 8080, lb, True)}
    # the pod gone from the files: its target is deregistered, the rule stays (only the
    # controller, which sees every binding, revokes)
    docs[1] = endpoint_slice("web", [], "shop", port=8080)
    assert run(aws, docs).ok
    assert _ingress(aws, pods) == {("tcp", 8080, lb, True)}
