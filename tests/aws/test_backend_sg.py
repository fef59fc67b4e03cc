"""Backend security group rules against moto: what the targets' security groups allow, after
apply, after a port change, with a second stack sharing the rules, and after delete."""

from __future__ import annotations

from collections import Counter
from typing import Any

from albctl.aws.seed import add_pod_ips, node_manifests
from tests.aws.test_engine import clients, lbs, mutations, run, seeded
from tests.conftest import AwsEnv
from tests.helpers import REGION, backend, endpoint_slice, ingress, ingress_class, rule, service

DESC = "albctl.io/cluster=test"


def app(env: AwsEnv, name: str, ips: list[str], **ann: str) -> list[dict[str, Any]]:
    nodes = node_manifests(seeded(env).instances, REGION)
    slice_ = endpoint_slice(name, ips, name, port=9000)
    for i, ep in enumerate(slice_["endpoints"]):
        ep["nodeName"] = f"node-{i % len(nodes)}"
    return [
        ingress_class(),
        *nodes,
        service(name, name, node_port=None, target_port=9000),
        service(
            "web",
            name,
            node_port=30080,
            annotations={"alb.ingress.kubernetes.io/target-type": "instance"},
        ),
        slice_,
        ingress(
            name,
            name,
            scheme="internet-facing",
            target_type="ip",
            rules=[
                rule(
                    f"{name}.example.com",
                    ("/", "Prefix", backend(name, 80)),
                    ("/web", "Prefix", backend("web", "http")),
                )
            ],
            **ann,
        ),
    ]


def rules_from(env: AwsEnv, sg_id: str) -> set[tuple[int, str, str]]:
    """(port, source, description) of every ingress rule on a security group."""
    [g] = clients(env).ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"]  # type: ignore[attr-defined]
    out = set()
    for p in g["IpPermissions"]:
        for pair in p.get("UserIdGroupPairs", []):
            out.add((p["FromPort"], pair["GroupId"], pair.get("Description", "")))
        for r in p.get("IpRanges", []):
            out.add((p["FromPort"], r["CidrIp"], r.get("Description", "")))
    return out


def backend_sgs(env: AwsEnv) -> list[str]:
    found = clients(env).ec2.describe_security_groups(  # type: ignore[attr-defined]
        Filters=[{"Name": "tag:albctl.io/resource", "Values": ["backend-sg"]}]
    )["SecurityGroups"]
    return [g["GroupId"] for g in found]


def test_rules_follow_targets_ports_and_stacks(aws: AwsEnv) -> None:
    s = seeded(aws)
    c = clients(aws)
    add_pod_ips(c, s.instances[0], ["10.0.200.50"])  # type: ignore[arg-type]
    add_pod_ips(c, s.instances[1], ["10.0.201.60"])  # type: ignore[arg-type]
    node_sg, remote = s.node_security_group, s.remote_access_security_group
    # rules someone added by hand: never touched
    c.ec2.authorize_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=node_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.9.0.0/16"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 9000,
                "ToPort": 9000,
                "UserIdGroupPairs": [{"GroupId": remote}],
            },
        ],
    )
    hand = rules_from(aws, node_sg)

    shop = app(aws, "shop", ["10.0.200.50", "10.0.201.60"], healthcheck_port="9100")
    report = run(aws, shop)
    assert report.ok, [(o.invalid, o.error) for o in report.outcomes]
    [bsg] = backend_sgs(aws)
    [lb] = lbs(aws)
    assert bsg in lb["SecurityGroups"]
    ours = {(9000, bsg, DESC), (9100, bsg, DESC), (30080, bsg, DESC)}
    assert rules_from(aws, node_sg) == hand | ours
    assert rules_from(aws, remote) == set()  # the untagged second group of the nodes
    assert report.outcomes[0].networking and report.outcomes[0].networking.warnings == []

    # steady state: no mutating call at all, EC2 included
    assert run(aws, shop).ok
    assert mutations(aws) == Counter()

    # a second stack needs 9000 too; then the health-check port of the first moves
    other = app(aws, "blog", ["10.0.200.50"])
    assert run(aws, other).ok
    moved = app(aws, "shop", ["10.0.200.50", "10.0.201.60"], healthcheck_port="9200")
    assert run(aws, moved).ok
    assert rules_from(aws, node_sg) == hand | {
        (9000, bsg, DESC),
        (9200, bsg, DESC),
        (30080, bsg, DESC),
    }

    # deleting the first stack keeps what the second still needs
    assert run(aws, moved, mode="delete").ok
    assert rules_from(aws, node_sg) == hand | {(9000, bsg, DESC), (30080, bsg, DESC)}
    assert backend_sgs(aws) == [bsg]

    # the last stack gone: our rules revoked, the backend group deleted, hand rules kept
    assert run(aws, other, mode="delete").ok
    assert rules_from(aws, node_sg) == hand
    assert backend_sgs(aws) == []


def test_interface_with_several_untagged_groups_is_reported_and_skipped(aws: AwsEnv) -> None:
    s = seeded(aws)
    c = clients(aws).ec2  # type: ignore[attr-defined]
    a = c.create_security_group(GroupName="a", Description="a", VpcId=s.vpc_id)["GroupId"]
    b = c.create_security_group(GroupName="b", Description="b", VpcId=s.vpc_id)["GroupId"]
    eni = c.create_network_interface(
        SubnetId=s.private_subnets[0], PrivateIpAddress="10.0.200.77", Groups=[a, b]
    )["NetworkInterface"]["NetworkInterfaceId"]
    report = run(aws, app(aws, "solo", ["10.0.200.77"]))
    assert report.ok
    [outcome] = report.outcomes
    assert outcome.networking is not None
    assert any(eni in w and "kubernetes.io/cluster/test" in w for w in outcome.networking.warnings)
    assert rules_from(aws, a) == set() and rules_from(aws, b) == set()
    # the instance targets still got theirs
    [bsg] = backend_sgs(aws)
    assert (30080, bsg, DESC) in rules_from(aws, s.node_security_group)


def test_disabled_backend_group_uses_the_frontend_group(aws: AwsEnv, monkeypatch: Any) -> None:
    monkeypatch.setenv("ALBCTL_ENABLE_BACKEND_SECURITY_GROUP", "false")
    from albctl.config import Settings
    from albctl.controller.engine import Engine
    from tests.helpers import objects

    s = seeded(aws)
    add_pod_ips(clients(aws), s.instances[0], ["10.0.200.51"])  # type: ignore[arg-type]
    eng = Engine(Settings.resolve("test", region=REGION), clients(aws))  # type: ignore[arg-type]
    docs = app(aws, "shop", ["10.0.200.51"])
    assert eng.run(objects(*docs), "apply").ok
    assert backend_sgs(aws) == []
    [lb] = lbs(aws)
    [frontend] = lb["SecurityGroups"]
    assert rules_from(aws, s.node_security_group) == {
        (9000, frontend, DESC),
        (30080, frontend, DESC),
    }
    # delete: the rules go before the frontend group, which is then deleted too
    assert eng.run(objects(*docs), "delete").ok
    assert rules_from(aws, s.node_security_group) == set()


def test_user_supplied_backend_group_is_used_and_never_deleted(
    aws: AwsEnv, monkeypatch: Any
) -> None:
    s = seeded(aws)
    c = clients(aws).ec2  # type: ignore[attr-defined]
    mine = c.create_security_group(GroupName="mine", Description="m", VpcId=s.vpc_id)["GroupId"]
    monkeypatch.setenv("ALBCTL_BACKEND_SECURITY_GROUP", mine)
    from albctl.config import Settings
    from albctl.controller.engine import Engine
    from tests.helpers import objects

    eng = Engine(Settings.resolve("test", region=REGION), clients(aws))  # type: ignore[arg-type]
    docs = app(aws, "shop", [])
    assert eng.run(objects(*docs), "apply").ok
    [lb] = lbs(aws)
    assert mine in lb["SecurityGroups"] and backend_sgs(aws) == []
    assert (30080, mine, DESC) in rules_from(aws, s.node_security_group)
    assert eng.run(objects(*docs), "delete").ok
    assert c.describe_security_groups(GroupIds=[mine])["SecurityGroups"]
    assert rules_from(aws, s.node_security_group) == set()


def test_all_members_invalid_keeps_the_rules(aws: AwsEnv) -> None:
    s = seeded(aws)
    add_pod_ips(clients(aws), s.instances[0], ["10.0.200.52"])  # type: ignore[arg-type]
    docs = app(aws, "shop", ["10.0.200.52"])
    assert run(aws, docs).ok
    before = rules_from(aws, s.node_security_group)
    assert before
    report = run(aws, app(aws, "shop", ["10.0.200.52"], success_codes="ok"))
    assert not report.ok and "shop/shop" in report.outcomes[0].invalid
    assert rules_from(aws, s.node_security_group) == before
    assert len(backend_sgs(aws)) == 1


def test_plan_shows_rule_changes_without_making_them(aws: AwsEnv) -> None:
    s = seeded(aws)
    add_pod_ips(clients(aws), s.instances[0], ["10.0.200.53"])  # type: ignore[arg-type]
    docs = app(aws, "shop", ["10.0.200.53"])
    assert run(aws, docs).ok
    [bsg] = backend_sgs(aws)
    clients(aws).ec2.revoke_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=s.node_security_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 9000,
                "ToPort": 9000,
                "UserIdGroupPairs": [{"GroupId": bsg, "Description": DESC}],
            }
        ],
    )
    plan = run(aws, docs, mode="plan").plan_json()["changes"]
    assert [c for c in plan if c["kind"] == "SecurityGroupRules"] == [
        {
            "action": "update",
            "kind": "SecurityGroupRules",
            "id": s.node_security_group,
            "details": {"source": bsg, "authorize": ["tcp/9000"]},
            "group": "shop/shop",
        }
    ]
    assert mutations(aws) == Counter()
    assert (9000, bsg, DESC) not in rules_from(aws, s.node_security_group)
    assert run(aws, docs).ok  # drift put back
    assert (9000, bsg, DESC) in rules_from(aws, s.node_security_group)


def test_sharded_revocations_are_one_pass_over_every_stack_in_aws(aws: AwsEnv) -> None:
    """With --shards a replica knows only its own groups: a group's reconcile revokes nothing
    from the shared backend group; the cluster-wide pass revokes what no stack in AWS needs."""
    from albctl.aws.observe import TagCache
    from albctl.config import Settings
    from albctl.controller.networking import ControllerNetworking
    from albctl.manifests import ObjectSet, parse_documents

    s = seeded(aws)
    c = clients(aws)
    add_pod_ips(c, s.instances[0], ["10.0.200.50"])  # type: ignore[arg-type]
    shop = app(aws, "shop", ["10.0.200.50"], healthcheck_port="9100")
    blog = app(aws, "blog", ["10.0.200.50"])
    assert run(aws, shop).ok
    assert run(aws, blog).ok
    [bsg] = backend_sgs(aws)
    node_sg = s.node_security_group
    net = ControllerNetworking(
        Settings(cluster_name="test", region=REGION),
        c,  # type: ignore[arg-type]
        TagCache(),
        all_groups=lambda: {"shop/shop"},
    )
    net.owns = lambda gid: gid == "shop/shop"
    net._needs["shop/shop"] = {node_sg: frozenset({9000, 9100, 30080})}
    assert net._others("shop/shop", bsg, {})() is None  # blog's needs: not known here
    # a rule nobody needs (a stack deleted on another replica, say)
    c.ec2.authorize_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=node_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 31999,
                "ToPort": 31999,
                "UserIdGroupPairs": [{"GroupId": bsg, "Description": DESC}],
            }
        ],
    )
    objs = ObjectSet()
    parse_documents([*shop, *blog], "test", objs)
    report = net.revoke_unneeded(objs)
    assert report is not None
    assert report.revoked == {node_sg: frozenset({31999})}
    assert {p for p, src, _ in rules_from(aws, node_sg) if src == bsg} == {9000, 9100, 30080}


def test_one_apply_of_several_groups_reads_the_other_stacks_once(aws: AwsEnv) -> None:
    s = seeded(aws)
    c = clients(aws)
    add_pod_ips(c, s.instances[0], ["10.0.200.50"])  # type: ignore[arg-type]
    names = ["a", "b", "c", "d"]

    def apps(health: int) -> list[dict[str, Any]]:
        docs: dict[tuple[str, str, str], dict[str, Any]] = {}
        for i, n in enumerate(names):
            for d in app(aws, n, ["10.0.200.50"], healthcheck_port=str(health + i)):
                meta = d["metadata"]
                docs[(d["kind"], meta.get("namespace", ""), meta["name"])] = d
        return list(docs.values())

    assert run(aws, apps(9100)).ok
    [bsg] = backend_sgs(aws)
    # every group moves its health-check port in one run: each revokes its old port only
    # when no other group (applied before it in the run, or not yet) still needs it
    report = run(aws, apps(9200))
    assert report.ok
    ports = {p for p, src, _ in rules_from(aws, s.node_security_group) if src == bsg}
    assert ports == {9000, 30080, 9200, 9201, 9202, 9203}
    # the cluster's stacks were read once for the revocations, not once per group
    assert c.calls[("elbv2", "DescribeListeners")] <= 2 * len(names)
