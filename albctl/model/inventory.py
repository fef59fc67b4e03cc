"""What albctl discovered in AWS before building: subnets, certificates, security groups.

Filled by the AWS adapter, read by the pure builder. Keeping discovery results as plain data
lets golden tests feed the builder without any AWS.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubnetInfo(_Frozen):
    id: str
    az: str
    vpc_id: str
    tags: dict[str, str] = Field(default_factory=dict)
    ipv6: bool = False
    available_ips: int = 250


class CertificateInfo(_Frozen):
    arn: str
    domains: tuple[str, ...]  # domain name and every SAN
    status: str = "ISSUED"


class OwnedCertificate(_Frozen):
    """A certificate albctl imported into ACM from a TLS Secret (found by its tags)."""

    arn: str
    stack: str
    resource_id: str
    fingerprint: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class SecurityGroupInfo(_Frozen):
    id: str
    name: str
    vpc_id: str
    tags: dict[str, str] = Field(default_factory=dict)


class Inventory(_Frozen):
    vpc_id: str | None = None
    subnets: tuple[SubnetInfo, ...] = ()
    certificates: tuple[CertificateInfo, ...] = ()  # candidates for discovery (not ours)
    owned_certificates: tuple[OwnedCertificate, ...] = ()  # imported by this cluster
    security_groups: tuple[SecurityGroupInfo, ...] = ()
    target_groups_by_name: dict[str, str] = Field(default_factory=dict)
    web_acls_by_name: dict[str, str] = Field(default_factory=dict)
    trust_stores_by_name: dict[str, str] = Field(default_factory=dict)
    # subnets of the existing load balancer, kept unless the scheme changes (as LBC does)
    existing_subnets: tuple[str, ...] = ()
    existing_scheme: str | None = None
    # the customer-owned IPv4 pool of the existing load balancer ("" none); fixed at creation
    existing_customer_owned_ipv4_pool: str | None = None
    # False: nothing was read from AWS (admission, readiness gates). The builder then skips
    # what only AWS can answer (subnets, certificate discovery, lookups of security groups,
    # target groups and web ACLs by name) and puts placeholders in their place: such a stack
    # is for checking inputs and naming target groups, never for applying.
    aws_known: bool = True

    @classmethod
    def unknown(cls) -> Inventory:
        """An inventory that knows nothing of AWS (see ``aws_known``)."""
        return cls(aws_known=False)
