"""AWS side of TargetGroupBinding networking: find the targets' network interfaces, and add or
revoke the ingress rules albctl manages on their security groups.

Every rule albctl adds carries the tags ``albctl.io/cluster=<cluster>`` and
``albctl.io/target-group-binding=shared`` (set in the AuthorizeSecurityGroupIngress call
itself) and the description ``albctl.io/target-group-binding``; only rules carrying both tags
are ever revoked. A rule that already exists without them (added by someone else) is left
alone, and never revoked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, error_code, paginate
from albctl.aws.enis import EniResolver
from albctl.logs import log_event
from albctl.model.binding_networking import Eni, Permission
from albctl.model.tags import CLUSTER_TAG

log = logging.getLogger(__name__)

RULE_TAG = "albctl.io/target-group-binding"
RULE_TAG_VALUE = "shared"  # one rule serves every binding that needs it
DESCRIPTION = "albctl.io/target-group-binding"
FILTER_VALUES = 100  # values per filter in one Describe call
GONE = {
    "InvalidSecurityGroupRuleId.NotFound",
    "InvalidGroup.NotFound",
    "InvalidPermission.NotFound",
}


def _chunks(items: Iterable[str]) -> list[list[str]]:
    values = sorted(set(items))
    return [values[i : i + FILTER_VALUES] for i in range(0, len(values), FILTER_VALUES)]


def target_enis(
    clients: AwsClients,
    vpc_id: str,
    ips: Iterable[str],
    instance_ids: Iterable[str],
    resolver: EniResolver | None = None,
) -> dict[str, Eni]:
    """Target id (IP address or instance id) → its network interface and security groups
    (the same lookup, and cache, as the backend security group rules)."""
    resolver = resolver or EniResolver(clients, vpc_id=vpc_id)
    found = {t: e for t, e in resolver.resolve([*ips, *instance_ids]).items() if e is not None}
    multi = {g for e in found.values() if len(e.security_groups) > 1 for g in e.security_groups}
    tags = resolver.security_group_tags(multi) if multi else {}
    return {
        target: Eni(
            id=e.id,
            security_groups=tuple(
                (g, tuple(sorted(tags.get(g, {}).items()))) for g in e.security_groups
            ),
        )
        for target, e in found.items()
    }


def _rules(clients: AwsClients, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        return list(
            paginate(
                clients.ec2.describe_security_group_rules,
                "SecurityGroupRules",
                marker_in="NextToken",
                marker_out="NextToken",
                Filters=filters,
            )
        )
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, "reading security group rules") from exc


def _permission(rule: dict[str, Any]) -> Permission:
    return Permission(
        group_id=rule["GroupId"],
        protocol=rule["IpProtocol"],
        from_port=int(rule.get("FromPort", 0)),
        to_port=int(rule.get("ToPort", 65535)),
        source_group=(rule.get("ReferencedGroupInfo") or {}).get("GroupId"),
        cidr=rule.get("CidrIpv4") or rule.get("CidrIpv6"),
    )


def managed_rules(clients: AwsClients, cluster: str) -> dict[Permission, tuple[str, str]]:
    """The ingress rules albctl added for bindings: permission → (group id, rule id)."""
    out: dict[Permission, tuple[str, str]] = {}
    filters = [
        {"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster]},
        {"Name": "tag-key", "Values": [RULE_TAG]},
    ]
    for r in _rules(clients, filters):
        tags = {t["Key"]: t["Value"] for t in r.get("Tags", [])}
        if r.get("IsEgress") or tags.get(CLUSTER_TAG) != cluster or RULE_TAG not in tags:
            continue
        out[_permission(r)] = (r["GroupId"], r["SecurityGroupRuleId"])
    return out


def _existing(clients: AwsClients, group_ids: Iterable[str]) -> set[Permission]:
    """Every ingress rule of these groups, whoever added it."""
    out: set[Permission] = set()
    for chunk in _chunks(group_ids):
        rules = _rules(clients, [{"Name": "group-id", "Values": chunk}])
        out |= {_permission(r) for r in rules if not r.get("IsEgress")}
    return out


def _ip_permission(p: Permission) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": p.protocol, "FromPort": p.from_port, "ToPort": p.to_port}
    if p.source_group:
        perm["UserIdGroupPairs"] = [{"GroupId": p.source_group, "Description": DESCRIPTION}]
    elif p.cidr and ":" in p.cidr:
        perm["Ipv6Ranges"] = [{"CidrIpv6": p.cidr, "Description": DESCRIPTION}]
    else:
        perm["IpRanges"] = [{"CidrIp": p.cidr, "Description": DESCRIPTION}]
    return perm


@dataclass
class RuleChanges:
    added: list[Permission] = field(default_factory=list)
    revoked: list[Permission] = field(default_factory=list)
    foreign: list[Permission] = field(default_factory=list)  # already there, not albctl's

    @property
    def changed(self) -> bool:
        return bool(self.added or self.revoked)


def _authorize(clients: AwsClients, cluster: str, p: Permission) -> bool:
    """True when added; False when the same rule exists already (someone else's)."""
    tags = [{"Key": CLUSTER_TAG, "Value": cluster}, {"Key": RULE_TAG, "Value": RULE_TAG_VALUE}]
    try:
        clients.ec2.authorize_security_group_ingress(
            GroupId=p.group_id,
            IpPermissions=[_ip_permission(p)],
            TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": tags}],
        )
    except ClientError as exc:
        if error_code(exc) == "InvalidPermission.Duplicate":
            return False
        raise aws_error(exc, f"authorizing {p.describe()}") from exc
    except BotoCoreError as exc:
        raise aws_error(exc, f"authorizing {p.describe()}") from exc
    return True


def _revoke(clients: AwsClients, group_id: str, rule_ids: list[str]) -> None:
    doing = f"revoking rules {', '.join(rule_ids)} of {group_id}"
    try:
        clients.ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=rule_ids)
    except ClientError as exc:
        if error_code(exc) not in GONE:
            raise aws_error(exc, doing) from exc
    except BotoCoreError as exc:
        raise aws_error(exc, doing) from exc


def apply_permissions(
    clients: AwsClients, cluster: str, want: set[Permission], revoke: bool
) -> RuleChanges:
    """Add the missing rules; with ``revoke``, also revoke albctl's rules no longer wanted."""
    have = managed_rules(clients, cluster)
    changes = RuleChanges()
    missing = want - set(have)
    present = _existing(clients, {p.group_id for p in missing}) if missing else set()
    changes.foreign = sorted(missing & present, key=Permission.describe)
    for p in sorted(missing - present, key=Permission.describe):
        (changes.added if _authorize(clients, cluster, p) else changes.foreign).append(p)
    by_group: dict[str, list[str]] = {}
    for p, (group, rule_id) in sorted(have.items(), key=lambda kv: kv[1]):
        if p not in want and revoke:
            by_group.setdefault(group, []).append(rule_id)
            changes.revoked.append(p)
    for group, ids in sorted(by_group.items()):
        _revoke(clients, group, ids)
    if changes.changed:
        log_event(
            log,
            "binding rules synced",
            added=[p.describe() for p in changes.added],
            revoked=[p.describe() for p in changes.revoked],
        )
    return changes
