"""Lean and whole-model clients against the end-to-end endpoint (moto server or LocalStack):
the same answers on the wire, for every service the controller calls."""

from __future__ import annotations

import pytest

from albctl.aws.clients import AwsClients
from albctl.aws.lean import lean_session
from tests.e2e.conftest import E2E
from tests.helpers import REGION

pytestmark = [pytest.mark.e2e, pytest.mark.localstack]


def lean_clients() -> AwsClients:
    return AwsClients(region=REGION, session=lean_session(REGION))


def test_lean_and_whole_clients_read_and_write_the_same(e2e: E2E) -> None:
    lean, whole = lean_clients(), e2e.clients
    vpc = e2e.seeded.vpc_id
    subnets = {"Filters": [{"Name": "vpc-id", "Values": [vpc]}]}
    assert (
        lean.ec2.describe_subnets(**subnets)["Subnets"]
        == (whole.ec2.describe_subnets(**subnets)["Subnets"])
    )
    group = lean.ec2.create_security_group(
        GroupName=f"lean-{e2e.cluster}",
        Description="made by a lean client",
        VpcId=vpc,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": "albctl.io/cluster", "Value": e2e.cluster}],
            }
        ],
    )["GroupId"]
    lean.ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    seen = whole.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    assert seen["IpPermissions"][0]["FromPort"] == 443
    assert seen["Tags"] == [{"Key": "albctl.io/cluster", "Value": e2e.cluster}]
    assert lean.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"] == [seen]
    assert (
        lean.elbv2.describe_load_balancers()["LoadBalancers"]
        == (whole.elbv2.describe_load_balancers()["LoadBalancers"])
    )
