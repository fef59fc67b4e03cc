"""``albctl`` as users run it: a subprocess against an AWS endpoint (moto server by default)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import E2E, owned
from tests.e2e.manifests import internal, store
from tests.helpers import endpoint_slice, service, target_group_binding, write_yaml

pytestmark = [pytest.mark.e2e, pytest.mark.localstack]


def _lb(e: E2E, name: str) -> dict[str, Any]:
    return next(x for x in owned(e)["lbs"] if x["LoadBalancerName"] == name)


def _listeners(e: E2E, arn: str) -> dict[int, dict[str, Any]]:
    return {
        x["Port"]: x for x in e.clients.elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    }


def _rules(e: E2E, listener_arn: str) -> list[dict[str, Any]]:
    rs = e.clients.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
    return sorted((r for r in rs if not r["IsDefault"]), key=lambda r: int(r["Priority"]))


def _cond(r: dict[str, Any], field: str) -> dict[str, Any]:
    return next(c for c in r["Conditions"] if c["Field"] == field)


def _tg_by_arn(e: E2E, arn: str) -> dict[str, Any]:
    return e.clients.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]  # type: ignore[no-any-return]


def _attrs(e: E2E, tg_arn: str) -> dict[str, str]:
    return {
        a["Key"]: a["Value"]
        for a in e.clients.elbv2.describe_target_group_attributes(TargetGroupArn=tg_arn)[
            "Attributes"
        ]
    }


def test_apply_every_annotation_then_reapply_update_and_delete(e2e: E2E) -> None:
    files = e2e.tmp / "manifests"
    write_yaml(files / "store.yaml", *store(e2e.seeded, e2e.cluster))
    write_yaml(files / "internal.yaml", *internal(e2e.seeded))

    proc = e2e.albctl("apply", "-f", str(files), check=True)
    assert "group store" in proc.stdout and "group ops/grpc" in proc.stdout

    # --- load balancer: name, scheme, subnets by Name tag, attributes, tags, managed SG ----------
    lb = _lb(e2e, "store-alb")
    assert lb["Scheme"] == "internet-facing" and lb["IpAddressType"] == "ipv4"
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(
        e2e.seeded.public_subnets[:2]
    )
    lb_attrs = {
        a["Key"]: a["Value"]
        for a in e2e.clients.elbv2.describe_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"]
        )["Attributes"]
    }
    assert lb_attrs["idle_timeout.timeout_seconds"] == "120"
    lb_tags = {
        t["Key"]: t["Value"]
        for t in e2e.clients.elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])[
            "TagDescriptions"
        ][0]["Tags"]
    }
    assert (
        lb_tags["team"] == "store"
        and lb_tags["env"] == "e2e"
        and lb_tags["albctl.io/stack"] == "store"
    )
    found = e2e.clients.ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])
    [sg] = [
        g
        for g in found["SecurityGroups"]
        if {"Key": "albctl.io/resource", "Value": "ManagedLBSecurityGroup"} in g.get("Tags", [])
    ]
    [backend_sg] = [g for g in found["SecurityGroups"] if g is not sg]
    assert {"Key": "albctl.io/resource", "Value": "backend-sg"} in backend_sg["Tags"]
    rules = sorted((p["FromPort"], r["CidrIp"]) for p in sg["IpPermissions"] for r in p["IpRanges"])
    assert rules == [
        (80, "10.0.0.0/8"),
        (80, "172.16.0.0/12"),
        (443, "10.0.0.0/8"),
        (443, "172.16.0.0/12"),
    ]

    # --- listeners: ssl-redirect, certificate-arn, ssl-policy ----------------------------------
    ls = _listeners(e2e, lb["LoadBalancerArn"])
    assert ls[80]["DefaultActions"][0]["RedirectConfig"]["Port"] == "443"
    assert _rules(e2e, ls[80]["ListenerArn"]) == []
    assert ls[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert (
        ls[443]["Certificates"][0]["CertificateArn"] == e2e.seeded.certificates["shop.example.com"]
    )
    default_action = ls[443]["DefaultActions"][0]
    assert (
        default_action["Type"] == "fixed-response"
        and default_action["FixedResponseConfig"]["StatusCode"] == "404"
    )

    # --- rules in group order: front, then api's Exact, Prefix by length --------------------
    rs = _rules(e2e, ls[443]["ListenerArn"])
    assert [_cond(r, "host-header")["HostHeaderConfig"]["Values"] for r in rs] == [
        ["shop.example.com"],
        ["api.example.com"],
        ["api.example.com"],
        ["api.example.com"],
    ]
    assert [_cond(r, "path-pattern")["PathPatternConfig"]["Values"] for r in rs] == [
        ["/*"],
        ["/write"],
        ["/old", "/old/*"],
        ["/*"],
    ]
    closed, moved, split = rs[1], rs[2], rs[3]
    assert closed["Actions"][0]["FixedResponseConfig"] == {
        "StatusCode": "503",
        "ContentType": "text/plain",
        "MessageBody": "maintenance",
    }
    assert _cond(closed, "http-request-method")["HttpRequestMethodConfig"]["Values"] == ["POST"]
    assert _cond(closed, "source-ip")["SourceIpConfig"]["Values"] == ["192.168.0.0/16"]
    assert moved["Actions"][0]["RedirectConfig"]["Host"] == "new.example.com"
    assert moved["Actions"][0]["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert _cond(split, "http-header")["HttpHeaderConfig"] == {
        "HttpHeaderName": "X-Client",
        "Values": ["mobile"],
    }
    assert _cond(split, "query-string")["QueryStringConfig"]["Values"] == [
        {"Key": "v", "Value": "2"}
    ]
    fwd = split["Actions"][0]["ForwardConfig"]
    assert sorted(t["Weight"] for t in fwd["TargetGroups"]) == [25, 75]
    assert fwd["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 600}

    # --- target groups: instance front; ip api with every health-check annotation ------------
    front_tg = _tg_by_arn(
        e2e, rs[0]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]
    )
    assert (
        front_tg["TargetType"],
        front_tg["Port"],
        front_tg["Protocol"],
        front_tg["HealthCheckPort"],
    ) == ("instance", 30500, "HTTP", "traffic-port")
    front_targets = e2e.clients.elbv2.describe_target_health(
        TargetGroupArn=front_tg["TargetGroupArn"]
    )["TargetHealthDescriptions"]
    assert sorted(t["Target"]["Id"] for t in front_targets) == sorted(e2e.seeded.instances)
    api_tg = _tg_by_arn(
        e2e, next(t["TargetGroupArn"] for t in fwd["TargetGroups"] if t["Weight"] == 75)
    )
    assert (api_tg["TargetType"], api_tg["Port"], api_tg["ProtocolVersion"]) == (
        "ip",
        8443,
        "HTTP2",
    )
    assert (
        api_tg["HealthCheckPath"],
        api_tg["HealthCheckProtocol"],
        api_tg["HealthCheckPort"],
    ) == ("/api/health", "HTTPS", "9443")
    assert (api_tg["HealthCheckIntervalSeconds"], api_tg["HealthCheckTimeoutSeconds"]) == (20, 7)
    assert (api_tg["HealthyThresholdCount"], api_tg["UnhealthyThresholdCount"]) == (3, 4)
    assert api_tg["Matcher"]["HttpCode"] == "200-299"
    assert _attrs(e2e, api_tg["TargetGroupArn"])["deregistration_delay.timeout_seconds"] == "15"

    # --- the internal group: dualstack, security group by Name, subnet ids, GRPC ---------------
    grpc_lb = next(x for x in owned(e2e)["lbs"] if x["Scheme"] == "internal")
    assert grpc_lb["IpAddressType"] == "dualstack"
    corp = e2e.clients.ec2.describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": ["corp-frontend"]},
            {"Name": "vpc-id", "Values": [e2e.seeded.vpc_id]},
        ]
    )["SecurityGroups"][0]
    assert grpc_lb["SecurityGroups"] == [corp["GroupId"]]
    assert sorted(z["SubnetId"] for z in grpc_lb["AvailabilityZones"]) == sorted(
        e2e.seeded.private_subnets
    )
    grpc_tg = next(t for t in owned(e2e)["tgs"] if t["Port"] == 50051)
    assert (grpc_tg["ProtocolVersion"], grpc_tg["HealthCheckPath"], grpc_tg["Matcher"]) == (
        "GRPC",
        "/AWS.ALB/healthcheck",
        {"GrpcCode": "12"},
    )
    # only the store group has a managed SG; the cluster's backend SG is shared
    resources = sorted(
        t["Value"] for g in owned(e2e)["sgs"] for t in g["Tags"] if t["Key"] == "albctl.io/resource"
    )
    assert resources == ["ManagedLBSecurityGroup", "backend-sg"]

    # --- re-apply: the server sees no mutating call -------------------------------------------
    if e2e.recording:
        e2e.start_recording()
    again = json.loads(e2e.albctl("apply", "-f", str(files), "-o", "json", check=True).stdout)
    assert again["awsCalls"]["mutating"] == {} and again["awsCalls"]["total"] > 0
    assert all(g["changes"] == [] for g in again["groups"])
    if e2e.recording:  # the server's own record agrees
        calls = e2e.recorded_calls()
        assert calls["DescribeLoadBalancers"] >= 1
        assert e2e.mutating(calls) == {}, e2e.mutating(calls)

    # --- update: a health-check path and the canary weight, in place --------------------------
    arns_before = {t["TargetGroupArn"] for t in owned(e2e)["tgs"]}
    write_yaml(
        files / "store.yaml",
        *store(e2e.seeded, e2e.cluster, api={"healthcheck_path": "/v2/health"}),
    )
    if e2e.recording:
        e2e.start_recording()
    update = json.loads(e2e.albctl("apply", "-f", str(files), "-o", "json", check=True).stdout)
    assert update["awsCalls"]["mutating"] == {"elbv2:ModifyTargetGroup": 2}  # api and api-next
    if e2e.recording:
        assert e2e.mutating(e2e.recorded_calls()) == {"ModifyTargetGroup": 2}
    assert {t["TargetGroupArn"] for t in owned(e2e)["tgs"]} == arns_before
    assert _tg_by_arn(e2e, api_tg["TargetGroupArn"])["HealthCheckPath"] == "/v2/health"

    # --- delete: nothing we own is left ---------------------------------------------------------
    e2e.albctl("delete", "-f", str(files), check=True)
    left = owned(e2e)
    assert left == {"lbs": [], "tgs": [], "sgs": []}
    assert e2e.clients.ec2.describe_security_groups(GroupIds=[corp["GroupId"]])[
        "SecurityGroups"
    ]  # not ours: kept


def test_plan_json_and_detailed_exitcode(e2e: E2E) -> None:
    files = write_yaml(e2e.tmp / "store.yaml", *store(e2e.seeded, e2e.cluster))
    proc = e2e.albctl("plan", "-f", str(files), "-o", "json", "--detailed-exitcode")
    assert proc.returncode == 2, proc.stderr
    plan = json.loads(proc.stdout)
    kinds = {(c["action"], c["kind"]) for c in plan["changes"]}
    assert {
        ("create", "LoadBalancer"),
        ("create", "Listener"),
        ("create", "ListenerRule"),
        ("create", "TargetGroup"),
        ("create", "SecurityGroup"),
    } <= kinds
    assert all(set(c) >= {"action", "kind", "id", "details"} for c in plan["changes"])
    assert owned(e2e)["lbs"] == []  # plan changed nothing
    e2e.albctl("apply", "-f", str(files), check=True)
    again = e2e.albctl("plan", "-f", str(files), "-o", "json", "--detailed-exitcode")
    assert again.returncode == 0 and json.loads(again.stdout) == {"changes": []}


def test_invalid_ingress_fails_the_command_but_valid_groups_apply(e2e: E2E) -> None:
    docs = store(e2e.seeded, e2e.cluster, api={"success_codes": "ok"})
    write_yaml(e2e.tmp / "m" / "store.yaml", *docs)
    write_yaml(e2e.tmp / "m" / "internal.yaml", *internal(e2e.seeded))
    proc = e2e.albctl("apply", "-f", str(e2e.tmp / "m"))
    assert proc.returncode == 1
    assert (
        "Ingress/store/api" in proc.stderr
        and "alb.ingress.kubernetes.io/success-codes" in proc.stderr
    )
    names = sorted(x["Scheme"] for x in owned(e2e)["lbs"])
    assert names == ["internal", "internet-facing"]  # both groups deployed; store without api
    lb = _lb(e2e, "store-alb")
    rs = _rules(e2e, _listeners(e2e, lb["LoadBalancerArn"])[443]["ListenerArn"])
    assert [_cond(r, "host-header")["HostHeaderConfig"]["Values"] for r in rs] == [
        ["shop.example.com"]
    ]


def test_prune_removes_groups_not_in_the_files(e2e: E2E) -> None:
    write_yaml(e2e.tmp / "all" / "store.yaml", *store(e2e.seeded, e2e.cluster))
    write_yaml(e2e.tmp / "all" / "internal.yaml", *internal(e2e.seeded))
    e2e.albctl("apply", "-f", str(e2e.tmp / "all"), check=True)
    assert len(owned(e2e)["lbs"]) == 2
    e2e.albctl("apply", "--prune", "-f", str(e2e.tmp / "all" / "store.yaml"), check=True)
    assert [x["LoadBalancerName"] for x in owned(e2e)["lbs"]] == ["store-alb"]
    assert all(t["Port"] != 50051 for t in owned(e2e)["tgs"])


@pytest.mark.parametrize("command", ["plan", "apply", "delete", "demo"])
def test_help(e2e: E2E, command: str) -> None:
    proc = e2e.albctl(command, "--help", check=True)
    assert "Usage" in proc.stdout


def test_clear_errors_for_bad_setup(e2e: E2E) -> None:
    env = dict(e2e.env)
    env.pop("ALBCTL_CLUSTER_NAME")
    e2e.env = env
    write_yaml(e2e.tmp / "x.yaml", *internal(e2e.seeded))
    proc = e2e.albctl("plan", "-f", str(e2e.tmp / "x.yaml"))
    assert proc.returncode == 1 and "--cluster-name" in proc.stderr
    proc = e2e.albctl("plan", "--cluster-name", "c", "-f", str(e2e.tmp / "missing.yaml"))
    assert proc.returncode == 1 and "no such file" in proc.stderr
    (e2e.tmp / "broken.yaml").write_text(
        "kind: Ingress\nmetadata: {name: x}\nspec: {rules: [{http: {paths: [{backend: 7}]}}]}\n"
    )
    proc = e2e.albctl("plan", "--cluster-name", "c", "-f", str(e2e.tmp / "broken.yaml"))
    assert (
        proc.returncode == 1
        and "Ingress/x" in proc.stderr
        and "spec.rules.0.http.paths.0" in proc.stderr
    )


def _tg_targets(e: E2E, arn: str) -> set[tuple[str, int]]:
    health = e.clients.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {(h["Target"]["Id"], h["Target"]["Port"]) for h in health}


def test_target_group_binding_apply_scale_invalid_and_delete(e2e: E2E) -> None:
    """A target group made outside albctl (no albctl tags): apply registers the Service's
    endpoints, a re-apply after scale-down deregisters, an invalid binding fails the command
    naming its field while the valid one still applies, delete deregisters everything."""
    tg = e2e.clients.elbv2.create_target_group(
        Name="tf-shop", Protocol="HTTP", Port=80, VpcId=e2e.seeded.vpc_id, TargetType="ip"
    )["TargetGroups"][0]
    arn = tg["TargetGroupArn"]

    def docs(ips: list[str], bad: bool = False) -> list[dict[str, Any]]:
        out = [
            service("web", "shop", node_port=None, target_port=8080),
            endpoint_slice("web", ips, "shop", port=8080),
            target_group_binding("web", "shop", "web", "http", tg_name="tf-shop"),
        ]
        if bad:
            out.append(
                target_group_binding(
                    "typo", "shop", "web", 81, arn=arn.replace("tf-shop", "tf-nope")
                )
            )
        return out

    path = e2e.tmp / "bindings.yaml"
    write_yaml(path, *docs(["10.0.1.10", "10.0.1.11"]))
    proc = e2e.albctl("apply", "-f", str(path), check=True)
    assert "binding shop/web" in proc.stdout and "register 10.0.1.10:8080" in proc.stdout
    assert _tg_targets(e2e, arn) == {("10.0.1.10", 8080), ("10.0.1.11", 8080)}

    write_yaml(path, *docs(["10.0.1.11"], bad=True))
    proc = e2e.albctl("apply", "-f", str(path), "-o", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    by_key = {b["binding"]: b for b in report["bindings"]}
    assert by_key["shop/web"]["deregistered"] == ["10.0.1.10:8080"]
    assert by_key["shop/typo"]["error"].startswith(
        "TargetGroupBinding/shop/typo: spec.targetGroupARN: target group "
    )
    assert _tg_targets(e2e, arn) == {("10.0.1.11", 8080)}

    write_yaml(path, *docs(["10.0.1.11"]))
    plan = e2e.albctl("plan", "-f", str(path), "-o", "json", "--detailed-exitcode")
    assert plan.returncode == 0 and json.loads(plan.stdout) == {"changes": []}
    e2e.albctl("delete", "-f", str(path), check=True)
    assert _tg_targets(e2e, arn) == set()
    assert e2e.clients.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
