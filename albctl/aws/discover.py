"""Discovery of the AWS inventory the builder needs: subnets, certificates, security groups."""

from __future__ import annotations

import re
from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.certificates import list_certificates
from albctl.aws.clients import AwsClients, aws_error, error_code, paginate
from albctl.aws.convert import tags_from_aws
from albctl.model.inventory import (
    CertificateInfo,
    Inventory,
    OwnedCertificate,
    SecurityGroupInfo,
    SubnetInfo,
)

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
) -> Inventory:
    try:
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
        if vpc_id is None:
            tagged = {
                s.vpc_id
                for s in subnets
                if any(
                    k in s.tags
                    for k in ("kubernetes.io/role/elb", "kubernetes.io/role/internal-elb")
                )
            }
            if len(tagged) == 1:
                vpc_id = tagged.pop()
        certs: list[CertificateInfo] = []
        owned: list[OwnedCertificate] = []
        if need_certificates:
            certs, owned = list_certificates(clients, cluster)
        sgs: list[SecurityGroupInfo] = []
        names = sorted(set(security_group_names))
        if names:
            sg_filters = [{"Name": "tag:Name", "Values": names}]
            if vpc_id:
                sg_filters.append({"Name": "vpc-id", "Values": [vpc_id]})
            found = list(
                clients.ec2.describe_security_groups(Filters=sg_filters).get("SecurityGroups", [])
            )
            by_group_name = [{"Name": "group-name", "Values": names}, *sg_filters[1:]]
            found += clients.ec2.describe_security_groups(Filters=by_group_name).get(
                "SecurityGroups", []
            )
            seen: set[str] = set()
            for g in found:
                if g["GroupId"] in seen:
                    continue
                seen.add(g["GroupId"])
                sgs.append(
                    SecurityGroupInfo(
                        id=g["GroupId"],
                        name=g["GroupName"],
                        vpc_id=g.get("VpcId", ""),
                        tags=tags_from_aws(g.get("Tags")),
                    )
                )
        tgs: dict[str, str] = {}
        for n in sorted(set(target_group_names)):
            if not TG_NAME.fullmatch(n):
                continue  # no target group has that name: the model reports it, naming the field
            try:
                for t in clients.elbv2.describe_target_groups(Names=[n]).get("TargetGroups", []):
                    tgs[n] = t["TargetGroupArn"]
            except ClientError as exc:
                # one Ingress's bad name must not fail the discovery of every group
                if error_code(exc) not in ("TargetGroupNotFound", "ValidationError"):
                    raise
        acls: dict[str, str] = {}
        if set(web_acl_names) - {"none"}:
            for acl in paginate(
                clients.wafv2.list_web_acls,
                "WebACLs",
                marker_in="NextMarker",
                marker_out="NextMarker",
                Scope="REGIONAL",
            ):
                acls[acl["Name"]] = acl["ARN"]
        return Inventory(
            vpc_id=vpc_id,
            web_acls_by_name=acls,
            subnets=subnets,
            certificates=tuple(certs),
            owned_certificates=tuple(owned),
            security_groups=tuple(sgs),
            target_groups_by_name=tgs,
        )
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, "discovering subnets and certificates") from exc
