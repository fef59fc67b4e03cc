"""Discovery of the AWS inventory the builder needs: subnets, certificates, security groups,
target groups and web ACLs named by annotations.

A long-lived caller (the controller) passes a :class:`DiscoveryCache`: subnets are then read
at most every five minutes and the ACM certificate list every minute, as the AWS Load Balancer
Controller does; the caller invalidates the certificates after importing one and when a host
found no certificate (a miss), so a new certificate is seen at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.addons import trust_stores
from albctl.aws.certificates import list_certificates
from albctl.aws.clients import AwsClients, aws_error, error_code, paginate
from albctl.aws.convert import tags_from_aws
from albctl.aws.observe import TagCache
from albctl.model.inventory import (
    CertificateInfo,
    Inventory,
    OwnedCertificate,
    SecurityGroupInfo,
    SubnetInfo,
)

ROLE_TAGS = ("kubernetes.io/role/elb", "kubernetes.io/role/internal-elb")
Certificates = tuple[list[CertificateInfo], list[OwnedCertificate]]


class DiscoveryCache:
    def __init__(self, subnet_ttl: float = 300.0, certificate_ttl: float = 60.0) -> None:
        self.subnet_ttl = subnet_ttl
        self.certificate_ttl = certificate_ttl
        self._subnets: dict[str | None, tuple[float, tuple[SubnetInfo, ...]]] = {}
        self._certs: tuple[float, Certificates] | None = None
        self._lock = threading.Lock()

    def subnets(self, vpc_id: str | None) -> tuple[SubnetInfo, ...] | None:
        with self._lock:
            hit = self._subnets.get(vpc_id)
        return hit[1] if hit and time.monotonic() - hit[0] <= self.subnet_ttl else None

    def put_subnets(self, vpc_id: str | None, subnets: tuple[SubnetInfo, ...]) -> None:
        with self._lock:
            self._subnets[vpc_id] = (time.monotonic(), subnets)

    def certificates(self) -> Certificates | None:
        with self._lock:
            hit = self._certs
        return hit[1] if hit and time.monotonic() - hit[0] <= self.certificate_ttl else None

    def put_certificates(self, certs: Certificates) -> None:
        with self._lock:
            self._certs = (time.monotonic(), certs)

    def invalidate_certificates(self) -> None:
        with self._lock:
            self._certs = None


# what AWS accepts as a target group name (up to 32 letters, digits and hyphens)
TG_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")


def discover_inventory(
    clients: AwsClients,
    vpc_id: str | None,
    need_certificates: bool,
    security_group_names: Iterable[str] = (),
    target_group_names: Iterable[str] = (),
    web_acl_names: Iterable[str] = (),
    cluster: str | None = None,
    tag_cache: TagCache | None = None,
    cache: DiscoveryCache | None = None,
    trust_store_names: Iterable[str] = (),
) -> Inventory:
    try:
        subnets = _subnets(clients, vpc_id, cache)
        if vpc_id is None:
            tagged = {s.vpc_id for s in subnets if any(k in s.tags for k in ROLE_TAGS)}
            if len(tagged) == 1:
                vpc_id = tagged.pop()
        certs: Certificates = ([], [])
        if need_certificates:
            cached = cache.certificates() if cache is not None else None
            certs = cached or list_certificates(clients, cluster, cache=tag_cache)
            if cache is not None and cached is None:
                cache.put_certificates(certs)
        return Inventory(
            vpc_id=vpc_id,
            web_acls_by_name=_web_acls(clients, web_acl_names),
            subnets=subnets,
            certificates=tuple(certs[0]),
            owned_certificates=tuple(certs[1]),
            security_groups=tuple(_security_groups(clients, vpc_id, security_group_names)),
            target_groups_by_name=_target_groups(clients, target_group_names),
            trust_stores_by_name=trust_stores(clients, set(trust_store_names)),
        )
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, "discovering subnets and certificates") from exc


def _subnets(
    clients: AwsClients, vpc_id: str | None, cache: DiscoveryCache | None
) -> tuple[SubnetInfo, ...]:
    cached = cache.subnets(vpc_id) if cache is not None else None
    if cached is not None:
        return cached
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    subnets = tuple(
        SubnetInfo(
            id=s["SubnetId"],
            az=s["AvailabilityZone"],
            vpc_id=s["VpcId"],
            tags=tags_from_aws(s.get("Tags")),
            ipv6=bool(s.get("Ipv6CidrBlockAssociationSet")),
            available_ips=int(s.get("AvailableIpAddressCount", 250)),
        )
        for s in paginate(
            clients.ec2.describe_subnets,
            "Subnets",
            marker_in="NextToken",
            marker_out="NextToken",
            Filters=filters,
        )
    )
    if cache is not None:
        cache.put_subnets(vpc_id, subnets)
    return subnets


def _security_groups(
    clients: AwsClients, vpc_id: str | None, names: Iterable[str]
) -> list[SecurityGroupInfo]:
    wanted = sorted(set(names))
    if not wanted:
        return []
    sg_filters: list[dict[str, Any]] = [{"Name": "tag:Name", "Values": wanted}]
    if vpc_id:
        sg_filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    found = list(clients.ec2.describe_security_groups(Filters=sg_filters).get("SecurityGroups", []))
    by_group_name = [{"Name": "group-name", "Values": wanted}, *sg_filters[1:]]
    found += clients.ec2.describe_security_groups(Filters=by_group_name).get("SecurityGroups", [])
    out: dict[str, SecurityGroupInfo] = {}
    for g in found:
        out.setdefault(
            g["GroupId"],
            SecurityGroupInfo(
                id=g["GroupId"],
                name=g["GroupName"],
                vpc_id=g.get("VpcId", ""),
                tags=tags_from_aws(g.get("Tags")),
            ),
        )
    return list(out.values())


def _target_groups(clients: AwsClients, names: Iterable[str]) -> dict[str, str]:
    tgs: dict[str, str] = {}
    for n in sorted(set(names)):
        if not TG_NAME.fullmatch(n):
            continue  # no target group has that name: the model reports it, naming the field
        try:
            for t in clients.elbv2.describe_target_groups(Names=[n]).get("TargetGroups", []):
                tgs[n] = t["TargetGroupArn"]
        except ClientError as exc:
            # one Ingress's bad name must not fail the discovery of every group
            if error_code(exc) not in ("TargetGroupNotFound", "ValidationError"):
                raise
    return tgs


def _web_acls(clients: AwsClients, names: Iterable[str]) -> dict[str, str]:
    acls: dict[str, str] = {}
    if set(names) - {"none"}:
        for acl in paginate(
            clients.wafv2.list_web_acls,
            "WebACLs",
            marker_in="NextMarker",
            marker_out="NextMarker",
            Scope="REGIONAL",
        ):
            acls[acl["Name"]] = acl["ARN"]
    return acls
