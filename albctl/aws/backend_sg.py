"""The cluster's shared backend security group, and the rules that let it reach the targets.

One backend security group per cluster (tagged ``albctl.io/cluster`` and
``albctl.io/resource=backend-sg``) is attached to every ALB that uses the managed frontend
group. On the security group of each target's network interface albctl authorizes TCP from it
to the target port (and the health-check port). Those rules carry the description
``albctl.io/cluster=<cluster>``; only rules with that description and that source are ever
revoked, so nothing else on a node's security group is touched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.apply import dependency_retry
from albctl.aws.clients import AwsClients, aws_error, error_code, paginate
from albctl.aws.consistency import settle
from albctl.aws.enis import EniResolver
from albctl.aws.observe import BACKEND_SG_RESOURCE
from albctl.logs import log_event
from albctl.model.backend_rules import (
    DesiredRules,
    PortsBySG,
    desired_rules,
    merge,
    missing,
    target_ports,
)
from albctl.model.desired import HealthCheck, Target
from albctl.model.tags import CLUSTER_TAG, RESOURCE_TAG, rule_description

log = logging.getLogger(__name__)


class HasTargets(Protocol):
    @property
    def targets(self) -> tuple[Target, ...]: ...

    @property
    def health_check(self) -> HealthCheck: ...


def backend_sg_name(cluster: str, vpc_id: str | None) -> str:
    digest = hashlib.sha256(f"{cluster}/{vpc_id or ''}".encode()).hexdigest()[:10]
    return f"albctl-traffic-{cluster[:200]}-{digest}"


@dataclass
class RulesReport:
    authorized: PortsBySG = field(default_factory=dict)
    revoked: PortsBySG = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # the security group the rules admit traffic from
    desired: PortsBySG = field(default_factory=dict)  # what the stack's targets need

    @property
    def changed(self) -> bool:
        return bool(self.authorized or self.revoked)


class BackendSecurityGroup:
    """Find, create and delete the shared backend security group (or use the user's)."""

    def __init__(
        self, clients: AwsClients, cluster: str, vpc_id: str | None, user_sg: str | None = None
    ) -> None:
        self.c = clients
        self.cluster = cluster
        self.vpc_id = vpc_id
        self.user_sg = user_sg

    def find(self) -> str | None:
        if self.user_sg:
            return self.user_sg
        filters = [
            {"Name": f"tag:{CLUSTER_TAG}", "Values": [self.cluster]},
            {"Name": f"tag:{RESOURCE_TAG}", "Values": [BACKEND_SG_RESOURCE]},
        ]
        if self.vpc_id:
            filters.append({"Name": "vpc-id", "Values": [self.vpc_id]})
        try:
            found = self.c.ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "looking up the backend security group") from exc
        return str(sorted(found, key=lambda g: g["GroupId"])[0]["GroupId"]) if found else None

    def ensure(self) -> str:
        found = self.find()
        if found:
            return found
        tags = [
            {"Key": CLUSTER_TAG, "Value": self.cluster},
            {"Key": RESOURCE_TAG, "Value": BACKEND_SG_RESOURCE},
        ]
        kwargs: dict[str, Any] = {
            "GroupName": backend_sg_name(self.cluster, self.vpc_id),
            "Description": f"[albctl] shared backend security group of cluster {self.cluster}",
            "TagSpecifications": [{"ResourceType": "security-group", "Tags": tags}],
        }
        if self.vpc_id:
            kwargs["VpcId"] = self.vpc_id
        try:
            sg_id = str(self.c.ec2.create_security_group(**kwargs)["GroupId"])
        except ClientError as exc:
            if error_code(exc) == "InvalidGroup.Duplicate":
                # created meanwhile (or lately, and not listed yet: reads lag behind)
                for _ in settle():
                    if again := self.find():
                        return again
            raise aws_error(exc, "creating the backend security group") from exc
        log_event(log, "backend security group created", id=sg_id, cluster=self.cluster)
        return sg_id

    def delete(self, sg_id: str, rules: BackendRules) -> None:
        """Delete our backend group once no load balancer uses it (never the user's)."""
        if self.user_sg:
            return
        rules.sync(sg_id, {}, lambda: {})
        try:
            dependency_retry(self.c.ec2.delete_security_group)(GroupId=sg_id)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, f"deleting the backend security group {sg_id}") from exc
        log_event(log, "backend security group deleted", id=sg_id, cluster=self.cluster)


class BackendRules:
    """Authorize and revoke the rules from a source group on the targets' security groups."""

    def __init__(self, clients: AwsClients, cluster: str, resolver: EniResolver) -> None:
        self.c = clients
        self.cluster = cluster
        self.resolver = resolver
        self.description = rule_description(cluster)

    def desired(
        self, target_groups: Iterable[HasTargets], instance_of: Mapping[str, str]
    ) -> DesiredRules:
        ports = target_ports(target_groups)  # type: ignore[arg-type]
        enis = self.resolver.resolve(ports, instance_of)
        multi = {
            sg
            for e in enis.values()
            if e and len(e.security_groups) > 1
            for sg in e.security_groups
        }
        tags = self.resolver.security_group_tags(multi) if multi else {}
        return desired_rules(ports, enis, tags, self.cluster)

    def observe(self, source: str) -> PortsBySG:
        """Rules albctl added from ``source``, per security group."""
        out: dict[str, set[int]] = {}
        try:
            groups = list(
                paginate(
                    self.c.ec2.describe_security_groups,
                    "SecurityGroups",
                    marker_in="NextToken",
                    marker_out="NextToken",
                    Filters=[{"Name": "ip-permission.group-id", "Values": [source]}],
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading security group rules of the targets") from exc
        for g in groups:
            for p in g.get("IpPermissions", []):
                if p.get("IpProtocol") not in ("tcp", "6") or p.get("FromPort") != p.get("ToPort"):
                    continue
                for pair in p.get("UserIdGroupPairs", []):
                    if (
                        pair.get("GroupId") == source
                        and pair.get("Description") == self.description
                    ):
                        out.setdefault(g["GroupId"], set()).add(int(p["FromPort"]))
        return {sg: frozenset(ports) for sg, ports in sorted(out.items())}

    def sync(
        self,
        source: str,
        desired: Mapping[str, frozenset[int]],
        others: Callable[[], PortsBySG | None],
        dry_run: bool = False,
    ) -> RulesReport:
        """Make the rules from ``source`` cover ``desired``; revoke what neither ``desired`` nor
        ``others()`` (what the rest of the cluster needs; None = unknown) needs. ``dry_run``:
        only say what would change."""
        have = self.observe(source)
        report = RulesReport(authorized=missing(desired, have))
        extra = missing(have, desired)
        if extra:
            keep = others()
            if keep is not None:
                report.revoked = missing(extra, keep)
        report.source = source
        if not dry_run:
            self._change("authorize", source, report.authorized)
            self._change("revoke", source, report.revoked)
        return report

    def _change(self, verb: str, source: str, ports_by_sg: PortsBySG) -> None:
        call = getattr(self.c.ec2, f"{verb}_security_group_ingress")
        for sg, ports in sorted(ports_by_sg.items()):
            perms = [
                {
                    "IpProtocol": "tcp",
                    "FromPort": p,
                    "ToPort": p,
                    "UserIdGroupPairs": [{"GroupId": source, "Description": self.description}],
                }
                for p in sorted(ports)
            ]
            try:
                call(GroupId=sg, IpPermissions=perms)
            except ClientError as exc:
                if error_code(exc) not in (
                    "InvalidPermission.Duplicate",
                    "InvalidPermission.NotFound",
                ):
                    raise aws_error(exc, f"{verb} rules on security group {sg}") from exc
            except BotoCoreError as exc:
                raise aws_error(exc, f"{verb} rules on security group {sg}") from exc
            log_event(
                log,
                f"backend rules {verb}d",
                security_group=sg,
                source=source,
                ports=",".join(map(str, sorted(ports))),
            )


def needs_of(
    rules: BackendRules,
    target_groups: Iterable[HasTargets],
    instance_of: Mapping[str, str],
) -> PortsBySG:
    """What the given target groups need (warnings dropped: reported where they are built)."""
    return merge(rules.desired(target_groups, instance_of).ports)
