"""The guards of AwsClients run before every attempt of a call, botocore's retries included: a
write checked once, then throttled, must not be retried after the check stopped holding (the
shard or leader Lease lost during the backoff)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from albctl.aws.clients import AwsClients, is_mutating
from tests.helpers import REGION, RawBody

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-a/1"
NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
THROTTLED = (
    f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>Throttling</Code>'
    "<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
).encode()
MODIFIED = (
    f'<ModifyTargetGroupResponse xmlns="{NS}"><ModifyTargetGroupResult><TargetGroups/>'
    "</ModifyTargetGroupResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata>"
    "</ModifyTargetGroupResponse>"
).encode()


class Refused(Exception):
    pass


def wire(clients: AwsClients, answers: list[bytes], sent: list[str], on_send: Any = None) -> None:
    """AWS at the wire: every attempt that gets past the guards is recorded and answered."""

    def send(request: Any, event_name: str, **_: Any) -> AWSResponse:
        sent.append(event_name.rsplit(".", 1)[-1])
        if on_send:
            on_send()
        body = answers.pop(0)
        return AWSResponse(request.url, 400 if b"<Error>" in body else 200, {}, RawBody(body))

    # last: after the guards, as the request would leave
    clients.elbv2.meta.events.register_last("before-send.elastic-load-balancing-v2.*", send)


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return AwsClients(region=REGION)


def test_every_attempt_asks_the_guards(clients: AwsClients) -> None:
    asked: list[tuple[str, str]] = []
    clients.guards.append(lambda service, op: asked.append((service, op)))
    sent: list[str] = []
    wire(clients, [THROTTLED, MODIFIED], sent)
    clients.elbv2.modify_target_group(TargetGroupArn=TG, HealthCheckPath="/x")
    assert sent == ["ModifyTargetGroup"] * 2  # throttled, retried
    assert asked == [("elbv2", "ModifyTargetGroup")] * 2


def test_a_retry_is_not_sent_once_the_guard_refuses(clients: AwsClients) -> None:
    owner = {"ok": True}

    def guard(service: str, op: str) -> None:
        if is_mutating(op) and not owner["ok"]:
            raise Refused(f"{service}:{op}")

    clients.guards.append(guard)
    sent: list[str] = []
    # the ownership is lost while the first attempt is in flight (it is then throttled)
    wire(clients, [THROTTLED, MODIFIED], sent, on_send=lambda: owner.update(ok=False))
    with pytest.raises(Refused):
        clients.elbv2.modify_target_group(TargetGroupArn=TG, HealthCheckPath="/x")
    assert sent == ["ModifyTargetGroup"]  # the retry never left
