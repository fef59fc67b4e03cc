"""Load balancer values: name, subnets by tag, security groups, WAFv2, capacity reservation,
address pools, inbound CIDRs and prefix lists."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

from albctl.model.inventory import Inventory
from albctl.model.names import valid_lb_name
from albctl.model.values import Fail

IPAM_POOL = re.compile(r"ipam-pool-[0-9a-z]+")


def lb_name(name: str, fail: Fail) -> str:
    if not valid_lb_name(name):
        raise fail(
            f"{name!r}: expected 1-32 letters, digits or '-', not starting or ending "
            "with '-' and not starting with 'internal-'"
        )
    return name


def subnets_by_tags(inv: Inventory, tags: Mapping[str, Sequence[str]]) -> list[str]:
    """The subnets where every tag key has one of its listed values."""
    return [s.id for s in inv.subnets if all(s.tags.get(k) in v for k, v in tags.items())]


def security_groups(inv: Inventory, names: Sequence[str], fail: Fail) -> list[str]:
    """Security group ids or names (group name or Name tag) -> ids."""
    out = []
    for n in names:
        if n.startswith("sg-") or not inv.aws_known:
            out.append(n)
            continue
        match = [s.id for s in inv.security_groups if s.tags.get("Name") == n or s.name == n]
        if not match:
            raise fail(f"security group {n!r} not found")
        if len(match) > 1:
            raise fail(f"security group name {n!r} is ambiguous")
        out.append(match[0])
    return out


def web_acl_by_name(inv: Inventory, name: str, fail: Fail) -> str:
    """A regional WAFv2 web ACL named ``name`` -> its ARN ("" for ``none``)."""
    if name == "none":
        return ""
    if not inv.aws_known:
        return f"arn:unknown:wafv2:{name}"
    found = inv.web_acls_by_name.get(name)
    if found is None:
        raise fail(f"no regional WAFv2 web ACL named {name!r}")
    return found


def web_acl_arn(arn: str, fail: Fail) -> str:
    if arn == "none":
        return ""
    if not arn.startswith("arn:") or ":wafv2:" not in arn:
        raise fail(f"{arn!r} is not a WAFv2 web ACL ARN (or none)")
    return arn


def capacity_units(units: int, fail: Fail) -> int:
    if units < 0:
        raise fail(f"got {units}, expected >= 0")
    return units


def customer_owned_pool(
    inv: Inventory, pool: str, scheme: str, fail: Fail, recreate: str = "the Ingress"
) -> str:
    """customer-owned IPv4 pool; fixed when the load balancer is created (as in LBC)."""
    if not pool.startswith("ipv4pool-coip-"):
        raise fail(f"got {pool!r}, expected a customer-owned IPv4 pool id (ipv4pool-coip-...)")
    existing = inv.existing_customer_owned_ipv4_pool
    if inv.existing_scheme == scheme and existing is not None and existing != pool:
        raise fail(
            f"got {pool!r}, but the load balancer was created with "
            f"{existing or 'no customer-owned pool'!r}; the pool is set only when the load "
            f"balancer is created: delete and recreate {recreate} to change it"
        )
    return pool


def ipam_pool(pool: str, fail: Fail) -> str:
    if not IPAM_POOL.fullmatch(pool):
        raise fail(f"got {pool!r}, expected an IPAM pool id (ipam-pool-...)")
    return pool


def cidrs(values: Sequence[str], fail: Fail) -> list[str]:
    """CIDRs, canonicalized (host bits cleared), IPv4 or IPv6."""
    out = []
    for v in values:
        try:
            out.append(str(ipaddress.ip_network(v, strict=False)))
        except ValueError:
            raise fail(f"{v!r} is not a valid CIDR") from None
    return out


def prefix_lists(values: Sequence[str], fail: Fail) -> list[str]:
    for pl in values:
        if not pl.startswith("pl-"):
            raise fail(f"{pl!r} is not a prefix list id (pl-...)")
    return list(values)
