"""Expired credentials are reloaded from the credential chain, in process (the live
scenario is in test_live_faults.py)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from albctl.aws.clients import AwsClients
from tests.faults.proxy import FaultProxy
from tests.helpers import REGION

pytestmark = pytest.mark.e2e


def write_key(path: Path, key: str) -> None:
    path.write_text(f"[default]\naws_access_key_id = {key}\naws_secret_access_key = secret\n")


@pytest.fixture
def px(endpoint: str) -> Iterator[FaultProxy]:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    p = FaultProxy(endpoint).start()
    try:
        yield p
    finally:
        p.stop()


def test_an_expired_token_is_reloaded_from_the_chain_and_the_call_retried(
    px: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "credentials"
    write_key(creds, "OLDKEY")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", px.url)
    clients = AwsClients(region=REGION)
    clients.elbv2.describe_load_balancers()
    px.expired_token({"OLDKEY"})
    # the chain still gives the expired key: the error stands
    with pytest.raises(ClientError) as exc:
        clients.ec2.describe_security_groups()
    assert exc.value.response["Error"]["Code"] == "RequestExpired"
    # rotated (as a sidecar or a refreshed role would): the next call works, no restart
    write_key(creds, "NEWKEY")
    clients.elbv2.describe_load_balancers()
    clients.acm.list_certificates()
    calls = [(c.operation, c.access_key, c.fault) for c in px.snapshot()]
    assert calls[-3:] == [
        ("DescribeLoadBalancers", "OLDKEY", "400:ExpiredToken"),
        ("DescribeLoadBalancers", "NEWKEY", None),
        ("ListCertificates", "NEWKEY", None),
    ]
