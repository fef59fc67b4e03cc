"""The fault-injecting proxy itself: wire formats botocore understands, determinism, the
eventual-consistency model, the kill seam and the record."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from albctl.aws.clients import AwsClients
from tests.faults.proxy import FaultProxy
from tests.helpers import REGION

pytestmark = pytest.mark.e2e


@pytest.fixture
def moto(endpoint: str) -> str:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    return endpoint


def client(url: str, service: str, attempts: int = 1, key: str = "testing") -> object:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


@pytest.fixture
def px(moto: str) -> Iterator[FaultProxy]:
    p = FaultProxy(moto, seed=7).start()
    try:
        yield p
    finally:
        p.stop()


def _vpc(url: str) -> str:
    ec2 = client(url, "ec2")
    return str(ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])  # type: ignore[attr-defined]


def test_throttling_in_each_services_wire_format(px: FaultProxy) -> None:
    px.throttle()
    for service, call, code in (
        ("elbv2", "describe_load_balancers", "Throttling"),
        ("ec2", "describe_security_groups", "RequestLimitExceeded"),
        ("acm", "list_certificates", "ThrottlingException"),
        ("wafv2", "list_web_acls", "ThrottlingException"),
    ):
        c = client(px.url, service)
        kwargs = {"Scope": "REGIONAL"} if service == "wafv2" else {}
        with pytest.raises(ClientError) as exc:
            getattr(c, call)(**kwargs)
        assert exc.value.response["Error"]["Code"] == code, service
    # albctl's clients count them as throttles and retry them
    counted: list[tuple[str, str]] = []
    px.clear()
    before = px.injected_counts()
    px.throttle(times=2)
    clients = AwsClients(region=REGION, session=boto3.Session(region_name=REGION))
    clients.elbv2 = client(px.url, "elbv2", attempts=3)
    clients.elbv2.meta.events.register("needs-retry.*.*", clients._throttled)  # type: ignore[attr-defined]
    clients.throttle_hooks.append(lambda s, o: counted.append((s, o)))
    clients.elbv2.describe_load_balancers()  # type: ignore[attr-defined]
    assert counted == [("elbv2", "DescribeLoadBalancers")] * 2
    assert px.injected_counts() - before == {"throttle:DescribeLoadBalancers": 2}


def test_server_errors_and_dropped_connections_are_retried(px: FaultProxy) -> None:
    px.error(503, operations={"DescribeTargetGroups"}, times=1)
    px.error(500, operations={"DescribeTargetGroups"}, times=1)
    elb = client(px.url, "elbv2", attempts=3)
    assert elb.describe_target_groups()["TargetGroups"] == []  # type: ignore[attr-defined]
    px.clear()
    px.drop(operations={"DescribeTargetGroups"})
    with pytest.raises(ConnectionClosedError):
        client(px.url, "elbv2").describe_target_groups()  # type: ignore[attr-defined]
    faults = [c.fault for c in px.snapshot()]
    assert faults[:3] == ["503:ServiceUnavailable", "500:InternalFailure", None]
    assert faults[-1] == "drop"


def test_a_timeout_and_a_lost_answer_after_aws_did_the_work(px: FaultProxy) -> None:
    vpc = _vpc(px.url)
    rule = px.hang(seconds=0.3, operations={"DescribeTargetGroups"}, times=1)
    start = time.monotonic()
    with pytest.raises(ConnectionClosedError):
        client(px.url, "elbv2").describe_target_groups()  # type: ignore[attr-defined]
    assert time.monotonic() - start >= 0.3 and rule.hit.is_set()
    # the create reaches moto, the answer is lost: the resource exists
    px.drop(after_forward=True, operations={"CreateTargetGroup"}, times=1)
    elb = client(px.url, "elbv2")
    with pytest.raises(ConnectionClosedError):
        elb.create_target_group(Name="lost", Protocol="HTTP", Port=80, VpcId=vpc)  # type: ignore[attr-defined]
    names = [t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"]]  # type: ignore[attr-defined]
    assert names == ["lost"]
    assert px.forwarded_mutations()[-1].operation == "CreateTargetGroup"


def test_the_kill_seam_holds_the_nth_call_until_released(px: FaultProxy) -> None:
    vpc = _vpc(px.url)
    rule = px.hang(after_forward=True, operations={"CreateTargetGroup"}, nth=2)
    elb = client(px.url, "elbv2")
    errors: list[BaseException] = []

    def create() -> None:
        for i in range(3):
            try:
                elb.create_target_group(Name=f"tg{i}", Protocol="HTTP", Port=80, VpcId=vpc)  # type: ignore[attr-defined]
            except Exception as exc:
                errors.append(exc)
                return

    t = threading.Thread(target=create)
    t.start()
    assert rule.hit.wait(10)
    time.sleep(0.2)
    assert t.is_alive()  # held
    rule.release()
    t.join(10)
    assert len(errors) == 1 and isinstance(errors[0], ConnectionClosedError)
    direct = client(px.url, "elbv2")
    assert sorted(
        t["TargetGroupName"] for t in direct.describe_target_groups()["TargetGroups"]
    ) == [  # type: ignore[attr-defined]
        "tg0",
        "tg1",
    ]


def test_random_faults_are_deterministic_for_a_seed(moto: str) -> None:
    def run(seed: int) -> list[bool]:
        with FaultProxy(moto, seed=seed) as p:
            p.throttle(probability=0.5, operations={"DescribeLoadBalancers"})
            elb = client(p.url, "elbv2")
            out = []
            for _ in range(16):
                try:
                    elb.describe_load_balancers()  # type: ignore[attr-defined]
                    out.append(True)
                except ClientError:
                    out.append(False)
            return out

    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c and 3 <= a.count(False) <= 13


def test_eventual_consistency_hides_new_resources_and_refuses_the_first_register(
    px: FaultProxy,
) -> None:
    vpc = _vpc(px.url)
    px.eventual_consistency(hide_for=2, not_found_for=1)
    elb = client(px.url, "elbv2")
    ec2 = client(px.url, "ec2")
    arn = elb.create_target_group(Name="new", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[  # type: ignore[attr-defined]
        "TargetGroups"
    ][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as exc:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.1", "Port": 80}])  # type: ignore[attr-defined]
    assert exc.value.response["Error"]["Code"] == "TargetGroupNotFound"
    assert elb.describe_target_groups()["TargetGroups"] == []  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as exc:
        elb.describe_target_groups(TargetGroupArns=[arn])  # type: ignore[attr-defined]
    assert exc.value.response["Error"]["Code"] == "TargetGroupNotFound"
    assert [t["TargetGroupArn"] for t in elb.describe_target_groups()["TargetGroups"]] == [arn]  # type: ignore[attr-defined]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.1", "Port": 80}])  # type: ignore[attr-defined]
    sg = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]  # type: ignore[attr-defined]
    ids = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]]  # type: ignore[attr-defined]
    assert sg not in ids
    assert px.injected_counts() == {
        "not-found:RegisterTargets": 1,
        "hidden:DescribeTargetGroups": 1,
        "not-found:DescribeTargetGroups": 1,
        "hidden:DescribeSecurityGroups": 1,
    }


def test_idempotent_creates_as_aws_documents_them(moto: str) -> None:
    with FaultProxy(moto, idempotent_creates=True) as p:
        vpc = _vpc(p.url)
        elb = client(p.url, "elbv2")
        a = elb.create_target_group(Name="same", Protocol="HTTP", Port=80, VpcId=vpc)  # type: ignore[attr-defined]
        b = elb.create_target_group(Name="same", Protocol="HTTP", Port=80, VpcId=vpc)  # type: ignore[attr-defined]
        assert a["TargetGroups"][0]["TargetGroupArn"] == b["TargetGroups"][0]["TargetGroupArn"]


def test_expired_credentials_only_for_the_old_key(px: FaultProxy) -> None:
    px.expired_token(access_keys={"OLDKEY"})
    with pytest.raises(ClientError) as exc:
        client(px.url, "elbv2", key="OLDKEY").describe_load_balancers()  # type: ignore[attr-defined]
    assert exc.value.response["Error"]["Code"] == "ExpiredToken"
    with pytest.raises(ClientError) as exc:
        client(px.url, "acm", key="OLDKEY").list_certificates()  # type: ignore[attr-defined]
    assert exc.value.response["Error"]["Code"] == "ExpiredTokenException"
    client(px.url, "elbv2", key="NEWKEY").describe_load_balancers()  # type: ignore[attr-defined]
