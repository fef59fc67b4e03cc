"""Apply an ``adopt`` change: albctl's ownership tags added to a resource LBC made, or
rewritten on an IngressGroup's resource a Gateway takes over.

AddTags (ELB) or CreateTags (EC2) on the existing resource, nothing else: same ARN, same DNS
name. Before the call the resource's observed tags are checked again: LBC's or albctl's cluster
tag must name this cluster. For LBC's backend security group, the rules LBC added from it get albctl's
description (UpdateSecurityGroupRuleDescriptionsIngress), so albctl keeps and manages them
instead of adding the same rules again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from albctl.aws.clients import AwsClients
from albctl.aws.convert import tags_to_aws
from albctl.errors import OwnershipError
from albctl.logs import log_event
from albctl.model.adopt import LbcBackend
from albctl.model.lbc import LBC_CLUSTER_TAG
from albctl.model.plan.changes import Change
from albctl.model.tags import CLUSTER_TAG, rule_description

log = logging.getLogger(__name__)


def _check(tags: Mapping[str, str], cluster: str, what: str) -> None:
    """The resource is this cluster's: LBC's (taken over) or albctl's own (an IngressGroup's,
    handed to a Gateway)."""
    if tags.get(LBC_CLUSTER_TAG) != cluster and tags.get(CLUSTER_TAG) != cluster:
        raise OwnershipError(
            f"{what} carries neither {LBC_CLUSTER_TAG}={cluster} nor {CLUSTER_TAG}={cluster}; "
            "refusing to take it over"
        )


def apply_adopt(c: AwsClients, cluster: str, ch: Change) -> str:
    """Tag the resource of ``ch``; its ARN or id."""
    obs: Any = ch.observed
    tags = ch.details.get("tags", {})
    if isinstance(obs, LbcBackend):
        _check(obs.tags, cluster, f"security group {obs.group_id}")
        if tags:
            c.ec2.create_tags(Resources=[obs.group_id], Tags=tags_to_aws(tags))
        _describe_rules(c, cluster, obs)
        return obs.group_id
    if ch.kind == "SecurityGroup":
        _check(obs.tags, cluster, f"security group {obs.group_id}")
        if tags:
            c.ec2.create_tags(Resources=[obs.group_id], Tags=tags_to_aws(tags))
        return str(obs.group_id)
    _check(obs.tags, cluster, f"{ch.kind} {obs.arn}")
    if tags:
        c.elbv2.add_tags(ResourceArns=[obs.arn], Tags=tags_to_aws(tags))
    log_event(log, "adopted", kind=ch.kind, id=ch.id, arn=obs.arn)
    return str(obs.arn)


def _describe_rules(c: AwsClients, cluster: str, backend: LbcBackend) -> None:
    """LBC's rules from its backend group, described as albctl's own (one call a group)."""
    by_sg: dict[str, list[int]] = {}
    for sg, port in backend.rules:
        by_sg.setdefault(sg, []).append(port)
    pair = {"GroupId": backend.group_id, "Description": rule_description(cluster)}
    for sg, ports in sorted(by_sg.items()):
        perms = [
            {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "UserIdGroupPairs": [pair]}
            for p in sorted(ports)
        ]
        c.ec2.update_security_group_rule_descriptions_ingress(GroupId=sg, IpPermissions=perms)
    log_event(log, "adopted", kind="SecurityGroup", id=backend.group_id, rules=len(backend.rules))
