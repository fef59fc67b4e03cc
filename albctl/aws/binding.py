"""AWS side of TargetGroupBinding: read a target group albctl does not own, and (de)register
its targets. Nothing here modifies or deletes the target group itself: the only mutating calls
are RegisterTargets and DeregisterTargets, in batches of 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, error_code
from albctl.aws.discover import discover_inventory
from albctl.errors import AwsError
from albctl.logs import log_event
from albctl.model.binding import TargetGroupInfo, TargetKey, target_changes
from albctl.model.tags import CLUSTER_TAG, STACK_TAG

log = logging.getLogger(__name__)

BATCH = 500  # targets per RegisterTargets / DeregisterTargets call
NOT_FOUND = {"TargetGroupNotFound", "TargetGroupNotFoundException", "ValidationError"}


class TargetGroupGone(AwsError):
    """The target group disappeared (deleted outside albctl) since it was looked up."""


def _albctl_stack(clients: AwsClients, arn: str) -> str | None:
    """The ``albctl.io/stack`` of a target group albctl made itself; None for any other."""
    desc = clients.elbv2.describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
    tags = {t["Key"]: t["Value"] for d in desc for t in d.get("Tags", [])}
    return tags.get(STACK_TAG, "?") if CLUSTER_TAG in tags else None


def find_target_group(clients: AwsClients, kind: str, ref: str) -> TargetGroupInfo | None:
    """The target group named by ARN (``kind="arn"``) or by name; None when there is none."""
    args = {"TargetGroupArns": [ref]} if kind == "arn" else {"Names": [ref]}
    try:
        found = clients.elbv2.describe_target_groups(**args).get("TargetGroups", [])
        if not found:
            return None
        tg = found[0]
        stack = _albctl_stack(clients, tg["TargetGroupArn"])
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise aws_error(exc, f"describing target group {ref}") from exc
    except BotoCoreError as exc:
        raise aws_error(exc, f"describing target group {ref}") from exc
    return TargetGroupInfo(
        arn=tg["TargetGroupArn"],
        name=tg["TargetGroupName"],
        vpc_id=tg.get("VpcId"),
        target_type=tg.get("TargetType", "instance"),
        ip_address_type=tg.get("IpAddressType", "ipv4"),
        port=tg.get("Port"),
        protocol=tg.get("Protocol"),
        albctl_stack=stack,
    )


def cluster_vpc(clients: AwsClients, vpc_id: str | None) -> str | None:
    """The cluster's VPC: the configured one, else the VPC of the subnets tagged for ELB."""
    if vpc_id:
        return vpc_id
    return discover_inventory(clients, None, False).vpc_id


def _current(clients: AwsClients, arn: str) -> frozenset[TargetKey] | None:
    try:
        health = clients.elbv2.describe_target_health(TargetGroupArn=arn)
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise aws_error(exc, f"reading the targets of {arn}") from exc
    except BotoCoreError as exc:
        raise aws_error(exc, f"reading the targets of {arn}") from exc
    return frozenset(
        (h["Target"]["Id"], int(h["Target"]["Port"]))
        for h in health.get("TargetHealthDescriptions", [])
        if h.get("TargetHealth", {}).get("State") != "draining" and "Port" in h["Target"]
    )


def registered_targets(clients: AwsClients, arn: str) -> frozenset[TargetKey]:
    """Targets in the group, draining ones left out (they are on their way out already)."""
    current = _current(clients, arn)
    if current is None:
        raise TargetGroupGone(f"reading the targets of {arn}: the target group does not exist")
    return current


def _batches(targets: Sequence[TargetKey]) -> list[list[dict[str, object]]]:
    items = [{"Id": i, "Port": p} for i, p in targets]
    return [items[n : n + BATCH] for n in range(0, len(items), BATCH)]


def register(clients: AwsClients, arn: str, targets: Sequence[TargetKey]) -> None:
    try:
        for batch in _batches(targets):
            clients.elbv2.register_targets(TargetGroupArn=arn, Targets=batch)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, f"registering targets in {arn}") from exc


def deregister(clients: AwsClients, arn: str, targets: Sequence[TargetKey]) -> None:
    try:
        for batch in _batches(targets):
            clients.elbv2.deregister_targets(TargetGroupArn=arn, Targets=batch)
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:  # the target group is gone: nothing left to remove
            return
        raise aws_error(exc, f"deregistering targets from {arn}") from exc
    except BotoCoreError as exc:
        raise aws_error(exc, f"deregistering targets from {arn}") from exc


@dataclass
class TargetSync:
    """What a sync did (or, for a plan, would do) to one target group."""

    arn: str
    registered: list[TargetKey] = field(default_factory=list)
    deregistered: list[TargetKey] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.registered or self.deregistered)


def sync_targets(
    clients: AwsClients, arn: str, want: frozenset[TargetKey], dry_run: bool = False
) -> TargetSync:
    """Make the target group hold exactly ``want``: register first, then deregister."""
    reg, dereg = target_changes(want, registered_targets(clients, arn))
    if not dry_run:
        register(clients, arn, reg)
        deregister(clients, arn, dereg)
    if reg or dereg:
        log_event(
            log,
            "binding targets synced" if not dry_run else "binding targets planned",
            target_group=arn,
            registered=len(reg),
            deregistered=len(dereg),
        )
    return TargetSync(arn, reg, dereg)


def deregister_all(clients: AwsClients, arn: str, dry_run: bool = False) -> TargetSync:
    """Empty the target group (a binding released it); a missing target group is empty."""
    have = sorted(_current(clients, arn) or ())
    if not dry_run:
        deregister(clients, arn, have)
    if have:
        log_event(log, "binding targets released", target_group=arn, deregistered=len(have))
    return TargetSync(arn, [], have)
