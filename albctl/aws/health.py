"""Reading target health for pod readiness gates: DescribeTargetHealth of given targets.

:class:`TargetHealthReader` is what the controller uses. Tests replace what AWS says through
:class:`FileOverrides` (the environment variable ``ALBCTL_TEST_TARGET_HEALTH_FILE`` names a JSON
file, read on every call): moto reports ip targets healthy at once, so initial, unhealthy and
draining states are driven from there. The AWS call is made either way, so call counts are real.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, error_code
from albctl.logs import log_event
from albctl.model.binding import TargetKey
from albctl.model.readiness import TargetHealth

log = logging.getLogger(__name__)

OVERRIDE_ENV = "ALBCTL_TEST_TARGET_HEALTH_FILE"
NOT_FOUND = {"TargetGroupNotFound", "TargetGroupNotFoundException"}


class TargetHealthReader:
    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    def read(self, arn: str, targets: Sequence[TargetKey]) -> dict[TargetKey, TargetHealth]:
        """Health of the given targets of one target group (one DescribeTargetHealth call);
        an empty answer when the target group is gone."""
        if not targets:
            return {}
        try:
            descs = self.clients.elbv2.describe_target_health(
                TargetGroupArn=arn, Targets=[{"Id": i, "Port": p} for i, p in targets]
            )["TargetHealthDescriptions"]
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:
                return {}
            raise aws_error(exc, f"reading target health of {arn}") from exc
        except BotoCoreError as exc:
            raise aws_error(exc, f"reading target health of {arn}") from exc
        out: dict[TargetKey, TargetHealth] = {}
        for d in descs:
            t, h = d["Target"], d.get("TargetHealth") or {}
            key = (str(t["Id"]), int(t.get("Port") or 0))
            out[key] = TargetHealth(
                key[0],
                key[1],
                str(h.get("State", "unavailable")),
                str(h.get("Reason") or ""),
                str(h.get("Description") or ""),
            )
        return out


class FileOverrides(TargetHealthReader):
    """AWS's answer, with the targets listed in a JSON file replaced (tests only).

    The file maps ``"<id>:<port>"`` (or ``"<id>"`` for any port) to a state, or to an object
    ``{"state": ..., "reason": ..., "description": ...}``. A missing or unreadable file
    overrides nothing.
    """

    def __init__(self, clients: AwsClients, path: Path) -> None:
        super().__init__(clients)
        self.path = path

    def _overrides(self) -> Mapping[str, object]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def read(self, arn: str, targets: Sequence[TargetKey]) -> dict[TargetKey, TargetHealth]:
        out = super().read(arn, targets)
        overrides = self._overrides()
        for key, health in list(out.items()):
            got = overrides.get(f"{key[0]}:{key[1]}", overrides.get(key[0]))
            if isinstance(got, str):
                out[key] = TargetHealth(key[0], key[1], got)
            elif isinstance(got, dict):
                out[key] = TargetHealth(
                    key[0],
                    key[1],
                    str(got.get("state", health.state)),
                    str(got.get("reason", "")),
                    str(got.get("description", "")),
                )
        return out


def health_reader(
    clients: AwsClients, environ: Mapping[str, str] | None = None
) -> TargetHealthReader:
    env = os.environ if environ is None else environ
    path = env.get(OVERRIDE_ENV)
    if path:
        log_event(
            log,
            "target health overridden from a file (tests only)",
            logging.WARNING,
            file=path,
        )
        return FileOverrides(clients, Path(path))
    return TargetHealthReader(clients)
