"""The engine against moto in-process: AWS state after apply, idempotency, updates, deletes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from albctl.aws.clients import AwsClients
from albctl.aws.seed import Seeded, node_manifests
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from tests.conftest import AwsEnv
from tests.helpers import (
    REGION,
    RawBody,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    objects,
    rule,
    service,
)

CERT_HOSTS = "shop.example.com"


def engine(env: AwsEnv) -> Engine:
    return Engine(Settings(cluster_name=env.cluster, region=REGION), env.clients)  # type: ignore[arg-type]


def clients(env: AwsEnv) -> AwsClients:
    return env.clients  # type: ignore[return-value]


def seeded(env: AwsEnv) -> Seeded:
    return env.seeded  # type: ignore[return-value]


def shop(env: AwsEnv, **overrides: Any) -> list[dict[str, Any]]:
    """A group of two Ingresses: web (instance, HTTPS + redirect) and api (ip, weighted)."""
    web_ann = {
        "scheme": "internet-facing",
        "listen_ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
        "ssl_redirect": "443",
        "healthcheck_path": "/healthz",
        "tags": "team=web",
        "group_order": "10",
    }
    web_ann.update(overrides.pop("web", {}))
    api_ann = {
        "scheme": "internet-facing",
        "listen_ports": '[{"HTTPS": 443}]',
        "target_type": "ip",
        "group_order": "1",
        "actions.weighted": '{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"api","servicePort":80,"weight":90},{"serviceName":"api-canary","servicePort":80,"weight":10}]}}',
    }
    api_ann.update(overrides.pop("api", {}))
    docs = [
        ingress_class(),
        service("web", "shop", node_port=30080),
        service("api", "shop", node_port=None, target_port=9000),
        service("api-canary", "shop", node_port=None, target_port=9000),
        endpoint_slice(
            "api", overrides.pop("api_ips", ["10.0.1.10", "10.0.2.11"]), "shop", port=9000
        ),
        endpoint_slice("api-canary", ["10.0.1.20"], "shop", port=9000),
        ingress(
            "web",
            "shop",
            group_name="shop",
            tls=[{"hosts": [CERT_HOSTS]}],
            rules=[rule(CERT_HOSTS, ("/", "Prefix", backend("web", "http")))],
            **{k: v for k, v in web_ann.items()},
        ),
        ingress(
            "api",
            "shop",
            group_name="shop",
            tls=[{"hosts": ["api.example.com"]}],
            rules=[rule("api.example.com", ("/", "Prefix", backend("weighted", "use-annotation")))],
            **{k: v for k, v in api_ann.items()},
        ),
        *node_manifests(seeded(env).instances, REGION),
    ]
    return docs


def run(
    env: AwsEnv, docs: list[dict[str, Any]], mode: str = "apply", prune: bool = False
) -> Report:
    clients(env).reset_counts()
    return engine(env).run(objects(*docs), mode, prune=prune)  # type: ignore[arg-type]


def mutations(env: AwsEnv) -> Counter[str]:
    return Counter({op: n for (_, op), n in clients(env).mutating_calls().items()})


def lbs(env: AwsEnv) -> list[dict[str, Any]]:
    return clients(env).elbv2.describe_load_balancers()["LoadBalancers"]  # type: ignore[no-any-return]


def tags_of(env: AwsEnv, arn: str) -> dict[str, str]:
    d = clients(env).elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in d}


def listeners(env: AwsEnv, lb_arn: str) -> dict[int, dict[str, Any]]:
    return {
        li["Port"]: li
        for li in clients(env).elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    }


def rules_of(env: AwsEnv, listener_arn: str) -> list[dict[str, Any]]:
    rs = clients(env).elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
    return sorted((r for r in rs if not r["IsDefault"]), key=lambda r: int(r["Priority"]))


def tgs(env: AwsEnv) -> dict[str, dict[str, Any]]:
    return {
        t["TargetGroupName"]: t for t in clients(env).elbv2.describe_target_groups()["TargetGroups"]
    }


def targets(env: AwsEnv, tg_arn: str) -> set[tuple[str, int]]:
    h = clients(env).elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return {(x["Target"]["Id"], x["Target"]["Port"]) for x in h}


def managed_sg(env: AwsEnv, lb: dict[str, Any]) -> dict[str, Any]:
    """The load balancer's managed (frontend) security group."""
    found = clients(env).ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])
    [sg] = [
        g
        for g in found["SecurityGroups"]
        if {"Key": "albctl.io/resource", "Value": "ManagedLBSecurityGroup"} in g.get("Tags", [])
    ]
    return sg  # type: ignore[no-any-return]


def test_apply_builds_the_alb_resource_by_resource(aws: AwsEnv) -> None:
    report = run(aws, shop(aws))
    assert report.ok, [(o.invalid, o.error) for o in report.outcomes]
    [lb] = lbs(aws)
    assert lb["Scheme"] == "internet-facing"
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(
        seeded(aws).public_subnets
    )
    assert (
        tags_of(aws, lb["LoadBalancerArn"]).items()
        >= {
            "albctl.io/cluster": "test",
            "albctl.io/stack": "shop",
            "albctl.io/resource": "LoadBalancer",
            "team": "web",
        }.items()
    )
    # managed security group: exactly the listener ports, open to the world; and the
    # cluster's shared backend security group
    found = clients(aws).ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])[
        "SecurityGroups"
    ]
    by_resource = {
        t["Value"]: g for g in found for t in g["Tags"] if t["Key"] == "albctl.io/resource"
    }
    assert set(by_resource) == {"ManagedLBSecurityGroup", "backend-sg"}
    sg = by_resource["ManagedLBSecurityGroup"]
    assert sorted(
        (p["FromPort"], r["CidrIp"]) for p in sg["IpPermissions"] for r in p["IpRanges"]
    ) == [(80, "0.0.0.0/0"), (443, "0.0.0.0/0")]
    ls = listeners(aws, lb["LoadBalancerArn"])
    assert set(ls) == {80, 443}
    # ssl-redirect: HTTP listener redirects and has no rules
    assert ls[80]["DefaultActions"][0]["Type"] == "redirect"
    assert ls[80]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    assert rules_of(aws, ls[80]["ListenerArn"]) == []
    # HTTPS: discovered certificates (exact first), policy default
    # the default certificate comes from the first member in group order (api: the wildcard)
    assert ls[443]["Certificates"][0]["CertificateArn"] == seeded(aws).certificates["*.example.com"]
    assert ls[443]["SslPolicy"] == "ELBSecurityPolicy-2016-08"
    certs = {
        c["CertificateArn"]
        for c in clients(aws).elbv2.describe_listener_certificates(
            ListenerArn=ls[443]["ListenerArn"]
        )["Certificates"]
    }
    assert certs == set(seeded(aws).certificates.values())
    # rules: api (group.order 1) before web (10)
    rs = rules_of(aws, ls[443]["ListenerArn"])
    assert [r["Priority"] for r in rs] == ["1", "2"]
    hosts = [
        next(c for c in r["Conditions"] if c["Field"] == "host-header")["HostHeaderConfig"][
            "Values"
        ]
        for r in rs
    ]
    assert hosts == [["api.example.com"], ["shop.example.com"]]
    weights = sorted(t["Weight"] for t in rs[0]["Actions"][0]["ForwardConfig"]["TargetGroups"])
    assert weights == [10, 90]
    # target groups: instance web on the nodePort with the health check path; ip api on 9000
    groups = tgs(aws)
    web = next(t for n, t in groups.items() if "web" in n)
    assert (web["TargetType"], web["Port"], web["HealthCheckPath"]) == (
        "instance",
        30080,
        "/healthz",
    )
    assert targets(aws, web["TargetGroupArn"]) == {(i, 30080) for i in seeded(aws).instances}
    api = next(t for n, t in groups.items() if "shop-api-" in n)
    assert (api["TargetType"], api["Port"]) == ("ip", 9000)
    assert targets(aws, api["TargetGroupArn"]) == {("10.0.1.10", 9000), ("10.0.2.11", 9000)}


def test_second_apply_makes_no_mutating_call(aws: AwsEnv) -> None:
    assert run(aws, shop(aws)).ok
    assert sum(mutations(aws).values()) > 10
    again = run(aws, shop(aws))
    assert again.ok
    assert mutations(aws) == Counter()
    assert all(not o.plan.changes for o in again.outcomes)


def test_annotation_change_updates_in_place(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    before = tgs(aws)
    report = run(aws, shop(aws, web={"healthcheck_path": "/ready", "tags": "team=web,tier=front"}))
    assert report.ok
    after = tgs(aws)
    assert set(before) == set(after)  # same target groups, nothing replaced
    web = next(t for n, t in after.items() if "web" in n)
    assert web["HealthCheckPath"] == "/ready"
    assert mutations(aws)["ModifyTargetGroup"] == 1
    assert mutations(aws)["DeleteTargetGroup"] == 0
    assert mutations(aws)["CreateTargetGroup"] == 0
    [lb] = lbs(aws)
    assert tags_of(aws, lb["LoadBalancerArn"])["tier"] == "front"


def test_target_type_change_replaces_the_target_group(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    old = {t["TargetGroupArn"] for t in tgs(aws).values()}
    docs = shop(aws, web={"target_type": "ip"})
    docs.append(endpoint_slice("web", ["10.0.1.77"], "shop"))
    report = run(aws, docs)
    assert report.ok
    replaced = [c for o in report.outcomes for c in o.plan.changes if c.action == "replace"]
    assert [(c.kind, c.details["changed"]["target_type"]) for c in replaced] == [
        ("TargetGroup", {"from": "instance", "to": "ip"})
    ]
    now = tgs(aws)
    web = next(t for n, t in now.items() if "web" in n)
    assert web["TargetGroupArn"] not in old and web["TargetType"] == "ip"
    assert len(now) == 3  # the old one is gone
    [lb] = lbs(aws)
    rs = rules_of(aws, listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"])
    assert (
        rs[1]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]
        == web["TargetGroupArn"]
    )
    assert run(aws, docs).ok and mutations(aws) == Counter()


def test_invalid_member_keeps_what_it_has_and_others_deploy(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    [lb] = lbs(aws)
    https = listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"]
    api_rule_before = rules_of(aws, https)[0]
    tgs_before = tgs(aws)
    # api becomes invalid; web changes its health check at the same time
    report = run(
        aws,
        shop(aws, api={"healthcheck_interval_seconds": "often"}, web={"healthcheck_path": "/v2"}),
    )
    [o] = report.outcomes
    assert not report.ok
    assert list(o.invalid) == ["shop/api"]
    assert "healthcheck-interval-seconds: got 'often', expected an integer" in str(
        o.invalid["shop/api"]
    )
    rs = rules_of(aws, https)
    assert rs[0]["RuleArn"] == api_rule_before["RuleArn"]
    assert rs[0]["Conditions"] == api_rule_before["Conditions"]
    assert rs[0]["Actions"] == api_rule_before["Actions"]
    assert set(tgs(aws)) == set(tgs_before)
    web = next(t for n, t in tgs(aws).items() if "web" in n)
    assert web["HealthCheckPath"] == "/v2"
    # fixing the member converges with no further change needed on the web side
    fixed = run(aws, shop(aws, web={"healthcheck_path": "/v2"}))
    assert fixed.ok


def test_scale_endpoints_changes_only_targets(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    report = run(aws, shop(aws, api_ips=["10.0.1.10", "10.0.3.30", "10.0.3.31"]))
    assert report.ok
    assert set(mutations(aws)) == {"RegisterTargets", "DeregisterTargets"}
    api = next(t for n, t in tgs(aws).items() if "shop-api-" in n)
    assert targets(aws, api["TargetGroupArn"]) == {
        ("10.0.1.10", 9000),
        ("10.0.3.30", 9000),
        ("10.0.3.31", 9000),
    }


def test_delete_removes_everything_owned_and_nothing_else(aws: AwsEnv) -> None:
    c = clients(aws)
    # a foreign load balancer and target group in the same VPC, one even tagged for another cluster
    foreign_lb = c.elbv2.create_load_balancer(
        Name="foreign", Subnets=seeded(aws).public_subnets[:2]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    foreign_tg = c.elbv2.create_target_group(
        Name="other-cluster",
        Protocol="HTTP",
        Port=80,
        VpcId=seeded(aws).vpc_id,
        Tags=[
            {"Key": "albctl.io/cluster", "Value": "other"},
            {"Key": "albctl.io/stack", "Value": "shop"},
            {"Key": "albctl.io/resource", "Value": "shop/web-web:80"},
        ],
    )["TargetGroups"][0]["TargetGroupArn"]
    run(aws, shop(aws))
    report = run(aws, shop(aws), mode="delete")
    assert report.ok
    assert [lb["LoadBalancerArn"] for lb in lbs(aws)] == [foreign_lb]
    assert [t["TargetGroupArn"] for t in tgs(aws).values()] == [foreign_tg]
    sgs = c.ec2.describe_security_groups(
        Filters=[{"Name": "tag:albctl.io/cluster", "Values": ["test"]}]
    )["SecurityGroups"]
    assert sgs == []


def test_prune_deletes_stacks_missing_from_the_files(aws: AwsEnv) -> None:
    other = [
        ingress_class(),
        service("solo", "misc"),
        *node_manifests(seeded(aws).instances, REGION),
        ingress("solo", "misc", rules=[rule(None, ("/", "Prefix", backend("solo", 80)))]),
    ]
    assert run(aws, shop(aws) + other[1:]).ok
    assert len(lbs(aws)) == 2
    plan = run(aws, shop(aws), mode="plan", prune=True)
    assert [(o.group_id, o.pruned) for o in plan.outcomes if o.plan.changes] == [
        ("misc/solo", True)
    ]
    assert len(lbs(aws)) == 2  # plan changes nothing
    assert run(aws, shop(aws), prune=True).ok
    [lb] = lbs(aws)
    assert tags_of(aws, lb["LoadBalancerArn"])["albctl.io/stack"] == "shop"


def test_prune_with_no_ingress_in_the_files_is_refused(aws: AwsEnv) -> None:
    from albctl.errors import GuardRailError

    run(aws, shop(aws))
    with pytest.raises(GuardRailError, match="refusing to prune"):
        run(aws, [service("x")], prune=True)
    assert len(lbs(aws)) == 1


def test_drift_made_by_hand_is_put_back(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    c = clients(aws)
    [lb] = lbs(aws)
    https = listeners(aws, lb["LoadBalancerArn"])[443]
    rs = rules_of(aws, https["ListenerArn"])
    c.elbv2.modify_rule(
        RuleArn=rs[1]["RuleArn"],
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/hacked"]}}],
    )
    web = next(t for n, t in tgs(aws).items() if "web" in n)
    c.elbv2.modify_target_group(TargetGroupArn=web["TargetGroupArn"], HealthCheckPath="/manual")
    c.elbv2.delete_listener(ListenerArn=listeners(aws, lb["LoadBalancerArn"])[80]["ListenerArn"])
    report = run(aws, shop(aws))
    assert report.ok
    kinds = sorted((ch.action, ch.kind) for o in report.outcomes for ch in o.plan.changes)
    assert (
        ("create", "Listener") in kinds
        and ("update", "ListenerRule") in kinds
        and ("update", "TargetGroup") in kinds
    )
    rs = rules_of(aws, https["ListenerArn"])
    assert next(x for x in rs[1]["Conditions"] if x["Field"] == "host-header")["HostHeaderConfig"][
        "Values"
    ] == ["shop.example.com"]
    assert next(t for n, t in tgs(aws).items() if "web" in n)["HealthCheckPath"] == "/healthz"
    assert set(listeners(aws, lb["LoadBalancerArn"])) == {80, 443}
    assert run(aws, shop(aws)).ok and mutations(aws) == Counter()


def test_rule_not_owned_by_us_is_kept_and_its_priority_respected(aws: AwsEnv) -> None:
    run(aws, shop(aws, api={"group_order": "20"}))  # web first now
    c = clients(aws)
    [lb] = lbs(aws)
    https = listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"]
    rs = rules_of(aws, https)
    # an operator deletes our first rule and puts their own rule at priority 1
    c.elbv2.delete_rule(RuleArn=rs[0]["RuleArn"])
    manual = c.elbv2.create_rule(
        ListenerArn=https,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/maintenance"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}],
    )["Rules"][0]["RuleArn"]
    assert run(aws, shop(aws, api={"group_order": "20"})).ok
    rs = rules_of(aws, https)
    assert rs[0]["RuleArn"] == manual and rs[0]["Priority"] == "1"
    assert [r["Priority"] for r in rs] == ["1", "2", "3"]


def test_group_order_swap_reorders_rules(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    [lb] = lbs(aws)
    https = listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"]
    first = [r["RuleArn"] for r in rules_of(aws, https)]
    assert run(aws, shop(aws, api={"group_order": "50"})).ok
    assert [r["RuleArn"] for r in rules_of(aws, https)] == list(reversed(first))
    assert mutations(aws)["SetRulePriorities"] >= 1
    assert mutations(aws)["CreateRule"] == 0 and mutations(aws)["DeleteRule"] == 0


def test_throttling_is_retried(aws: AwsEnv, monkeypatch: Any) -> None:
    from botocore.awsrequest import AWSResponse

    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", "off")  # so DescribeLoadBalancers is called
    c = clients(aws)
    sent = {"n": 0}

    def throttle(**_: Any) -> AWSResponse | None:
        sent["n"] += 1
        if sent["n"] <= 2:
            body = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
            return AWSResponse("https://elb", 400, {}, RawBody(body))
        return None

    c.elbv2.meta.events.register_first(
        "before-send.elastic-load-balancing-v2.DescribeLoadBalancers", throttle
    )
    assert run(aws, shop(aws)).ok
    assert sent["n"] >= 3
    assert len(lbs(aws)) == 1


def test_scheme_change_replaces_the_load_balancer(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    [old] = lbs(aws)
    report = run(aws, shop(aws, web={"scheme": "internal"}, api={"scheme": "internal"}))
    assert report.ok, [(o.invalid, o.error) for o in report.outcomes]
    [new] = lbs(aws)
    assert new["LoadBalancerArn"] != old["LoadBalancerArn"] and new["Scheme"] == "internal"
    assert sorted(z["SubnetId"] for z in new["AvailabilityZones"]) == sorted(
        seeded(aws).private_subnets
    )
    ls = listeners(aws, new["LoadBalancerArn"])
    assert set(ls) == {80, 443} and len(rules_of(aws, ls[443]["ListenerArn"])) == 2
    assert run(aws, shop(aws, web={"scheme": "internal"}, api={"scheme": "internal"})).ok
    assert mutations(aws) == Counter()


def test_many_target_groups_are_observed_with_batched_tag_reads(aws: AwsEnv) -> None:
    docs: list[dict[str, Any]] = [ingress_class(), *node_manifests(seeded(aws).instances, REGION)]
    paths = []
    for i in range(25):
        docs.append(service(f"s{i}", "many", node_port=31000 + i))
        paths.append((f"/p{i}", "Prefix", backend(f"s{i}", 80)))
    docs.append(ingress("many", "many", rules=[rule(None, *paths)]))
    assert run(aws, docs).ok
    assert len(tgs(aws)) == 25
    again = run(aws, docs)
    assert again.ok and mutations(aws) == Counter()
    calls = clients(aws).calls
    assert calls[("elbv2", "DescribeTags")] >= 2  # 25 target groups: 2 batches
    assert all(len(o.plan.changes) == 0 for o in again.outcomes)


def test_rule_quota_leaves_the_member_out_with_a_clear_error(aws: AwsEnv) -> None:
    docs: list[dict[str, Any]] = [
        ingress_class(),
        service("s", "q", node_port=31000),
        *node_manifests(seeded(aws).instances, REGION),
    ]
    docs.append(
        ingress(
            "huge",
            "q",
            rules=[rule(None, *[(f"/p{i}", "Exact", backend("s", 80)) for i in range(101)])],
        )
    )
    report = run(aws, docs)
    [o] = report.outcomes
    assert "listener 80 would have 101 rules; an ALB listener allows 100" in str(
        o.invalid["q/huge"]
    )
    assert lbs(aws) == []


def test_default_certificate_moves_when_the_first_member_leaves(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    docs = [d for d in shop(aws) if not (d["kind"] == "Ingress" and d["metadata"]["name"] == "api")]
    assert run(aws, docs).ok
    [lb] = lbs(aws)
    li = listeners(aws, lb["LoadBalancerArn"])[443]
    assert li["Certificates"][0]["CertificateArn"] == seeded(aws).certificates["shop.example.com"]
    certs = {
        c["CertificateArn"]
        for c in clients(aws).elbv2.describe_listener_certificates(ListenerArn=li["ListenerArn"])[
            "Certificates"
        ]
    }
    assert certs == set(seeded(aws).certificates.values())
    assert run(aws, docs).ok and mutations(aws) == Counter()


def test_throttles_are_counted_for_metrics(aws: AwsEnv, monkeypatch: Any) -> None:
    from botocore.awsrequest import AWSResponse

    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", "off")  # so DescribeTargetGroups is called
    c = clients(aws)
    seen: list[tuple[str, str]] = []
    c.throttle_hooks.append(lambda s, o: seen.append((s, o)))
    sent = {"n": 0}

    def throttle(**_: Any) -> AWSResponse | None:
        sent["n"] += 1
        if sent["n"] == 1:
            body = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
            return AWSResponse("https://elb", 400, {}, RawBody(body))
        return None

    c.elbv2.meta.events.register_first(
        "before-send.elastic-load-balancing-v2.DescribeTargetGroups", throttle
    )
    assert run(aws, shop(aws)).ok
    assert seen == [("elbv2", "DescribeTargetGroups")]


def test_tag_cache_spares_describe_tags_on_the_next_observe(aws: AwsEnv, monkeypatch: Any) -> None:
    from albctl.aws.observe import Observer, TagCache

    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", "off")  # the listing path reads tags
    run(aws, shop(aws))
    cache = TagCache(ttl=60)
    c = clients(aws)
    c.reset_counts()
    first = Observer(c, aws.cluster, cache).observe({"shop"})
    cold = c.calls[("elbv2", "DescribeTags")]
    c.reset_counts()
    second = Observer(c, aws.cluster, cache).observe({"shop"})
    assert cold >= 3 and c.calls[("elbv2", "DescribeTags")] == 0
    assert first == second
    # a tag written by albctl invalidates the entry: the next observe reads it again
    lb_arn = second["shop"].load_balancers[0].arn
    from albctl.aws.apply import Applier

    Applier(c, aws.cluster, None, cache)._retag_elb(lb_arn, {"tags": {"add": {"tier": "gold"}}})
    third = Observer(c, aws.cluster, cache).observe({"shop"})
    assert third["shop"].load_balancers[0].tags["tier"] == "gold"


def test_attributes_are_read_only_where_albctl_sets_some(aws: AwsEnv) -> None:
    run(aws, shop(aws))
    c = clients(aws)
    c.reset_counts()
    assert run(aws, shop(aws)).ok
    assert c.calls[("elbv2", "DescribeLoadBalancerAttributes")] == 0
    assert c.calls[("elbv2", "DescribeTargetGroupAttributes")] == 0
    run(
        aws,
        shop(
            aws,
            web={
                "load_balancer_attributes": "idle_timeout.timeout_seconds=90",
                "target_group_attributes": "deregistration_delay.timeout_seconds=5",
            },
        ),
    )
    c.reset_counts()
    assert run(
        aws,
        shop(
            aws,
            web={
                "load_balancer_attributes": "idle_timeout.timeout_seconds=90",
                "target_group_attributes": "deregistration_delay.timeout_seconds=5",
            },
        ),
    ).ok
    assert mutations(aws) == Counter()
    assert c.calls[("elbv2", "DescribeLoadBalancerAttributes")] == 1
    assert c.calls[("elbv2", "DescribeTargetGroupAttributes")] == 1  # only web's target group


def test_prefix_lists_and_target_node_labels(aws: AwsEnv) -> None:
    c = clients(aws)
    pl = c.ec2.create_managed_prefix_list(
        PrefixListName="office", MaxEntries=5, AddressFamily="IPv4"
    )["PrefixList"]["PrefixListId"]
    nodes = node_manifests(seeded(aws).instances, REGION)
    nodes[0]["metadata"]["labels"]["role"] = "edge"
    docs = [
        ingress_class(),
        *nodes,
        service("web", "edge", node_port=30090),
        ingress(
            "web",
            "edge",
            scheme="internet-facing",
            security_group_prefix_lists=pl,
            target_node_labels="role=edge",
            rules=[rule(None, ("/", "Prefix", backend("web", 80)))],
        ),
    ]
    assert run(aws, docs).ok
    [lb] = lbs(aws)
    sg = managed_sg(aws, lb)
    assert [
        (p["FromPort"], [x["PrefixListId"] for x in p["PrefixListIds"]], p["IpRanges"])
        for p in sg["IpPermissions"]
    ] == [(80, [pl], [])]
    [tg] = tgs(aws).values()
    assert targets(aws, tg["TargetGroupArn"]) == {(seeded(aws).instances[0], 30090)}
    assert run(aws, docs).ok and mutations(aws) == Counter()


def test_wafv2_web_acl_by_name_none_and_left_alone(aws: AwsEnv) -> None:
    c = clients(aws)
    acl = c.wafv2.create_web_acl(
        Name="corp-waf",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "m",
        },
    )["Summary"]["ARN"]

    def attached() -> str | None:
        [lb] = lbs(aws)
        got = c.wafv2.get_web_acl_for_resource(ResourceArn=lb["LoadBalancerArn"]).get("WebACL")
        return got["ARN"] if got else None

    assert run(aws, shop(aws, web={"wafv2_acl_name": "corp-waf"})).ok
    assert attached() == acl
    assert (
        run(aws, shop(aws, web={"wafv2_acl_name": "corp-waf"})).ok and mutations(aws) == Counter()
    )
    assert run(aws, shop(aws)).ok  # annotation removed: the association is left as it is
    assert attached() == acl and mutations(aws) == Counter()
    assert run(aws, shop(aws, web={"wafv2_acl_arn": "none"})).ok
    assert attached() is None and mutations(aws) == Counter({"DisassociateWebACL": 1})
