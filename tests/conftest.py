"""Shared fixtures: moto in-process (AWS tier) and a moto server on 127.0.0.1 (e2e tier)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests import moto_fidelity
from tests.helpers import REGION

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_DEFAULT_REGION"] = REGION
os.environ["AWS_REGION"] = REGION
os.environ.pop("AWS_PROFILE", None)
# moto's request recorder (used by the e2e tier to count calls) reads its path at import
os.environ.setdefault(
    "MOTO_RECORDER_FILEPATH", os.path.join(tempfile.mkdtemp(prefix="albctl-moto-"), "recording")
)

# moto answers a few ELBv2 requests unlike AWS: see tests/moto_fidelity.py
moto_fidelity.install()


@dataclass
class AwsEnv:
    clients: object
    seeded: object
    cluster: str


@pytest.fixture
def aws() -> Iterator[AwsEnv]:
    """moto in-process, seeded with a VPC, tagged subnets, 3 instances and certificates."""
    from moto import mock_aws

    from albctl.aws.clients import AwsClients
    from albctl.aws.seed import seed

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            clients = AwsClients(region=REGION)
            seeded = seed(
                clients,
                "test",
                instances=3,
                certificates={"*.example.com": ["example.com"], "shop.example.com": []},
            )
            clients.reset_counts()
            yield AwsEnv(clients, seeded, "test")
    finally:
        if endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint
