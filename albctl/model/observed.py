"""What exists in AWS for a stack, in the shapes of the desired state plus ARNs.

Filled by the AWS adapter (``albctl.aws.observe``); compared with the desired state by
:mod:`albctl.model.diff`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from albctl.model.desired import (
    Action,
    Condition,
    HealthCheck,
    MutualAuthentication,
    SecurityGroupRule,
    Target,
    Transform,
)
from albctl.model.inventory import Inventory, OwnedCertificate


class _Obs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObservedLoadBalancer(_Obs):
    arn: str
    resource_id: str
    name: str
    dns_name: str
    scheme: str
    ip_address_type: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    attributes: dict[str, str]
    tags: dict[str, str]
    vpc_id: str = ""
    web_acl: str | None = None  # None: not read
    waf_classic_acl: str | None = None  # WAF Classic web ACL id, "" none; None: not read
    # Shield Advanced protection: id ("" none) and name; None: not read
    shield_protection_id: str | None = None
    shield_protection_name: str = ""
    capacity_units: int | None = None  # None: not read
    customer_owned_ipv4_pool: str | None = None
    ipam_ipv4_pool: str | None = None


class ObservedSecurityGroup(_Obs):
    group_id: str
    resource_id: str
    name: str
    ingress: tuple[SecurityGroupRule, ...]
    tags: dict[str, str]


class ObservedTargetGroup(_Obs):
    arn: str
    resource_id: str
    name: str
    port: int
    protocol: str
    protocol_version: str
    target_type: str
    ip_address_type: str
    health_check: HealthCheck
    attributes: dict[str, str]
    tags: dict[str, str]
    targets: tuple[Target, ...]
    load_balancer_arns: tuple[str, ...] = ()


class ObservedListener(_Obs):
    arn: str
    load_balancer_arn: str
    resource_id: str
    port: int
    protocol: str
    ssl_policy: str | None
    certificates: tuple[str, ...]  # default first, then the others sorted
    default_action: Action
    tags: dict[str, str]
    attributes: dict[str, str] = Field(default_factory=dict)  # read only where albctl sets some
    mutual_authentication: MutualAuthentication | None = None


class ObservedRule(_Obs):
    arn: str
    listener_arn: str
    resource_id: str
    priority: int
    conditions: tuple[Condition, ...]
    action: Action
    tags: dict[str, str]
    transforms: tuple[Transform, ...] = ()


class ObservedStack(_Obs):
    group_id: str
    load_balancers: tuple[ObservedLoadBalancer, ...] = ()
    security_groups: tuple[ObservedSecurityGroup, ...] = ()
    target_groups: tuple[ObservedTargetGroup, ...] = ()
    listeners: tuple[ObservedListener, ...] = ()
    rules: tuple[ObservedRule, ...] = ()
    # the ingress members (ns/name) each resource was tagged with, by ARN/id
    notes: dict[str, str] = Field(default_factory=dict)
    # the cluster's backend security group, when it exists (shared by every stack)
    backend_security_group: str | None = None
    # certificates imported into ACM from TLS Secrets for this stack
    certificates: tuple[OwnedCertificate, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.load_balancers or self.security_groups or self.target_groups or self.certificates
        )


def with_existing_load_balancer(inventory: Inventory, observed: ObservedStack) -> Inventory:
    """``inventory`` with what the stack's load balancer already has (subnets, scheme,
    customer-owned pool), which the build keeps rather than discovers again."""
    if not observed.load_balancers:
        return inventory
    lb = observed.load_balancers[0]
    return inventory.model_copy(
        update={
            "existing_subnets": lb.subnets,
            "existing_scheme": lb.scheme,
            "existing_customer_owned_ipv4_pool": lb.customer_owned_ipv4_pool or "",
        }
    )
