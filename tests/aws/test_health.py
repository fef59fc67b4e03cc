"""Target health for readiness gates: DescribeTargetHealth against moto in-process, and the
file that tests use to say what moto cannot (initial, unhealthy, draining)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from albctl.aws.clients import AwsClients
from albctl.aws.health import OVERRIDE_ENV, FileOverrides, TargetHealthReader, health_reader
from albctl.aws.seed import seed
from tests.helpers import REGION


@pytest.fixture
def aws() -> Iterator[tuple[AwsClients, str]]:
    from moto import mock_aws

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            c = AwsClients(region=REGION)
            seeded = seed(c, "test", instances=0)
            arn = c.elbv2.create_target_group(
                Name="web", Protocol="HTTP", Port=8080, VpcId=seeded.vpc_id, TargetType="ip"
            )["TargetGroups"][0]["TargetGroupArn"]
            c.elbv2.register_targets(
                TargetGroupArn=arn,
                Targets=[{"Id": "10.0.1.5", "Port": 8080}, {"Id": "10.0.1.6", "Port": 8080}],
            )
            c.reset_counts()
            yield c, arn
    finally:
        if endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint


def test_one_call_for_the_targets_asked(aws: tuple[AwsClients, str]) -> None:
    clients, arn = aws
    got = TargetHealthReader(clients).read(arn, [("10.0.1.5", 8080), ("10.0.1.6", 8080)])
    assert {k: v.state for k, v in got.items()} == {
        ("10.0.1.5", 8080): "healthy",
        ("10.0.1.6", 8080): "healthy",
    }
    assert clients.calls[("elbv2", "DescribeTargetHealth")] == 1
    assert TargetHealthReader(clients).read(arn, []) == {}
    assert clients.calls[("elbv2", "DescribeTargetHealth")] == 1  # nothing to ask: no call


def test_a_deleted_target_group_answers_nothing(aws: tuple[AwsClients, str]) -> None:
    clients, arn = aws
    clients.elbv2.delete_target_group(TargetGroupArn=arn)
    assert TargetHealthReader(clients).read(arn, [("10.0.1.5", 8080)]) == {}


def test_the_override_file_replaces_what_aws_says(
    aws: tuple[AwsClients, str], tmp_path: Path
) -> None:
    clients, arn = aws
    path = tmp_path / "health.json"
    reader = health_reader(clients, {OVERRIDE_ENV: str(path)})
    assert isinstance(reader, FileOverrides)
    targets = [("10.0.1.5", 8080), ("10.0.1.6", 8080)]
    assert {v.state for v in reader.read(arn, targets).values()} == {"healthy"}  # no file yet
    path.write_text(
        json.dumps(
            {
                "10.0.1.5:8080": {"state": "unhealthy", "reason": "Target.FailedHealthChecks"},
                "10.0.1.6": "draining",
            }
        )
    )
    got = reader.read(arn, targets)
    assert (got[targets[0]].state, got[targets[0]].reason) == (
        "unhealthy",
        "Target.FailedHealthChecks",
    )
    assert got[targets[1]].state == "draining"
    assert clients.calls[("elbv2", "DescribeTargetHealth")] == 2  # AWS is asked either way
    assert type(health_reader(clients, {})) is TargetHealthReader
