"""The end-to-end tier: the ``albctl`` command as a subprocess against an AWS endpoint.

By default a moto server (``ThreadedMotoServer`` on 127.0.0.1) is started for the session and
reset before each test. With ``ALBCTL_E2E_ENDPOINT`` set (e.g. LocalStack), that endpoint is
used instead and no reset or call recording happens.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from albctl.aws.clients import AwsClients, is_mutating
from albctl.aws.seed import Seeded, seed
from tests.helpers import REGION

ALBCTL = [sys.executable, "-m", "albctl.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    external = os.environ.get("ALBCTL_E2E_ENDPOINT")
    if external:
        yield external
        return
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _post(url: str) -> None:
    req = urllib.request.Request(url, data=b"", method="POST")
    urllib.request.urlopen(req, timeout=10).read()


@dataclass
class E2E:
    endpoint: str
    clients: AwsClients
    seeded: Seeded
    cluster: str
    tmp: Path
    recording: bool
    env: dict[str, str] = field(default_factory=dict)

    def albctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*ALBCTL, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"albctl {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def start_recording(self) -> None:
        if self.recording:
            _post(f"{self.endpoint}/moto-api/recorder/reset-recording")
            _post(f"{self.endpoint}/moto-api/recorder/start-recording")

    def recorded_calls(self, agent: str | None = None) -> Counter[str]:
        """Operations the server received since start_recording (independent of albctl's counts).

        ``agent``: only requests whose User-Agent contains it (e.g. ``albctl/`` for the
        controller, leaving out the test's own reads)."""
        _post(f"{self.endpoint}/moto-api/recorder/stop-recording")
        data = (
            urllib.request.urlopen(
                f"{self.endpoint}/moto-api/recorder/download-recording", timeout=10
            )
            .read()
            .decode()
        )
        calls: Counter[str] = Counter()
        for line in data.splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
            if agent and agent not in headers.get("user-agent", ""):
                continue
            target = {k.lower(): v for k, v in entry.get("headers", {}).items()}.get("x-amz-target")
            if target:
                calls[target.split(".")[-1]] += 1
                continue
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            action = parse_qs(body).get("Action") or parse_qs(
                entry.get("url", "").partition("?")[2]
            ).get("Action")
            if action:
                calls[action[0]] += 1
        return calls

    def mutating(self, calls: Counter[str]) -> Counter[str]:
        return Counter({k: v for k, v in calls.items() if is_mutating(k)})


@pytest.fixture
def e2e(endpoint: str, tmp_path: Path) -> Iterator[E2E]:
    external = bool(os.environ.get("ALBCTL_E2E_ENDPOINT"))
    if not external:
        _post(f"{endpoint}/moto-api/reset")
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        clients = AwsClients(region=REGION, user_agent="albctl-tests/0.1")
        # LocalStack keeps its state between tests: a cluster name of its own per test
        cluster = f"e2e-{uuid.uuid4().hex[:8]}" if external else "e2e"
        seeded = seed(
            clients,
            cluster,
            instances=3,
            certificates={"*.example.com": ["example.com"], "shop.example.com": []},
        )
        clients.ec2.create_security_group(
            GroupName="corp-frontend",
            Description="corp",
            VpcId=seeded.vpc_id,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": "Name", "Value": "corp-frontend"}],
                }
            ],
        )
        env = dict(os.environ)
        # the albctl subprocess runs this checkout's code, whatever the venv has installed
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p
        )
        env.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "ALBCTL_CLUSTER_NAME": cluster,
                "ALBCTL_VPC_ID": seeded.vpc_id,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "NO_COLOR": "1",
                "COLUMNS": "200",
            }
        )
        yield E2E(endpoint, clients, seeded, cluster, tmp_path, recording=not external, env=env)
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved


def owned(e: E2E) -> dict[str, Any]:
    """Everything in AWS that carries this cluster's ownership tag."""
    elb = e.clients.elbv2
    out: dict[str, Any] = {"lbs": [], "tgs": [], "sgs": []}
    lbs = elb.describe_load_balancers()["LoadBalancers"]
    tgs = elb.describe_target_groups()["TargetGroups"]
    arns = [x["LoadBalancerArn"] for x in lbs] + [x["TargetGroupArn"] for x in tgs]
    tags: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), 20):
        for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            tags[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d["Tags"]}
    out["lbs"] = [
        x for x in lbs if tags.get(x["LoadBalancerArn"], {}).get("albctl.io/cluster") == e.cluster
    ]
    out["tgs"] = [
        x for x in tgs if tags.get(x["TargetGroupArn"], {}).get("albctl.io/cluster") == e.cluster
    ]
    out["sgs"] = e.clients.ec2.describe_security_groups(
        Filters=[{"Name": "tag:albctl.io/cluster", "Values": [e.cluster]}]
    )["SecurityGroups"]
    return out
