"""The load balancer: scheme, name, address type, subnets, security groups, WAF, Shield,
capacity reservation, address pools, attributes."""

from __future__ import annotations

import re
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.desired import LB_ID, LoadBalancer
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.inputs import GroupInput
from albctl.model.names import load_balancer_name, valid_lb_name
from albctl.model.subnets import SubnetError, discover, resolve


def member_settings(ctx: MemberContext) -> dict[str, Any]:
    """The member's group-wide load balancer settings (each must agree across members)."""
    ann, ps = ctx.ann, ctx.spec
    out: dict[str, Any] = {}
    scheme = ann.choice("scheme", ("internet-facing", "internal"))
    if ps and ps.scheme:
        scheme = ps.scheme
    if scheme:
        out["scheme"] = scheme
    name = _name(ctx)
    if name is not None:
        out["name"] = name
    ip_type = ann.choice("ip-address-type", ("ipv4", "dualstack", "dualstack-without-public-ipv4"))
    if ps and ps.ip_address_type:
        ip_type = ps.ip_address_type
    if ip_type:
        out["ip_address_type"] = ip_type
    subnets = _subnets(ctx)
    if subnets is not None:
        out["subnets"] = tuple(sorted(subnets))
    sgs = ann.string_list("security-groups")
    if sgs is not None:
        out["security_groups"] = tuple(_resolve_sgs(ctx, sgs))
    manage = ann.boolean("manage-backend-security-group-rules")
    if manage is not None:
        out["manage_backend_rules"] = manage
    web_acl = _web_acl(ctx)
    if web_acl is not None:
        out["web_acl"] = web_acl
    out.update(_addons(ctx))
    return out


def _addons(ctx: MemberContext) -> dict[str, Any]:
    """WAF Classic, Shield Advanced, capacity reservation and address pools, where set."""
    out: dict[str, Any] = {}
    waf = _waf_classic(ctx)
    if waf is not None:
        out["waf_classic_acl"] = waf
    shield = ctx.ann.boolean("shield-advanced-protection")
    if shield is not None:
        out["shield_protection"] = shield
    capacity = _capacity(ctx)
    if capacity is not None:
        out["capacity_units"] = capacity
    pool = _customer_owned_pool(ctx)
    if pool is not None:
        out["customer_owned_ipv4_pool"] = pool
    ipam = _ipam_pool(ctx)
    if ipam is not None:
        out["ipam_ipv4_pool"] = ipam
    return out


WAF_CLASSIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")


def _waf_classic(ctx: MemberContext) -> str | None:
    """WAF Classic web ACL id, "" for none; ``waf-acl-id`` beats its old name ``web-acl-id``."""
    name = "waf-acl-id" if ctx.ann.raw("waf-acl-id") is not None else "web-acl-id"
    value = ctx.ann.string(name)
    if value is None:
        return None
    if value == "none":
        return ""
    if not WAF_CLASSIC_ID.fullmatch(value):
        raise ctx.ann.error(
            ctx.obj, name, f"got {value!r}, expected a WAF Classic web ACL id (or none)"
        )
    return value


def _capacity(ctx: MemberContext) -> int | None:
    """Capacity units to reserve: ``CapacityUnits=N`` (IngressClassParams win)."""
    ps = ctx.spec
    if ps and ps.minimum_load_balancer_capacity is not None:
        units = ps.minimum_load_balancer_capacity.capacity_units
        if units < 0:
            raise ctx.error(
                True, "", "minimumLoadBalancerCapacity.capacityUnits", f"got {units}, expected >= 0"
            )
        return units
    got = ctx.ann.string_map("minimum-load-balancer-capacity")
    if got is None:
        return None
    raw = ctx.ann.string("minimum-load-balancer-capacity")
    value = got.get("CapacityUnits", "")
    if set(got) != {"CapacityUnits"} or not value.isdigit():
        raise ctx.ann.error(
            ctx.obj,
            "minimum-load-balancer-capacity",
            f"got {raw!r}, expected CapacityUnits=<a whole number>",
        )
    return int(value)


def _customer_owned_pool(ctx: MemberContext) -> str | None:
    """customer-owned-ipv4-pool; fixed when the load balancer is created (as in LBC)."""
    pool = ctx.ann.string("customer-owned-ipv4-pool")
    if pool is None:
        return None
    if not pool.startswith("ipv4pool-coip-"):
        raise ctx.ann.error(
            ctx.obj,
            "customer-owned-ipv4-pool",
            f"got {pool!r}, expected a customer-owned IPv4 pool id (ipv4pool-coip-...)",
        )
    inv = ctx.inp.inventory
    scheme = (ctx.spec.scheme if ctx.spec else None) or ctx.ann.string("scheme")
    scheme = scheme or ctx.inp.settings.default_scheme
    existing = inv.existing_customer_owned_ipv4_pool
    if inv.existing_scheme == scheme and existing is not None and existing != pool:
        raise ctx.ann.error(
            ctx.obj,
            "customer-owned-ipv4-pool",
            f"got {pool!r}, but the load balancer was created with "
            f"{existing or 'no customer-owned pool'!r}; the pool is set only when the load "
            "balancer is created: delete and recreate the Ingress to change it",
        )
    return pool


def _ipam_pool(ctx: MemberContext) -> str | None:
    ps = ctx.spec
    from_params = bool(ps and ps.ipam_configuration and ps.ipam_configuration.ipv4_ipam_pool_id)
    pool = ctx.ann.string("ipam-ipv4-pool-id")
    if from_params:
        assert ps is not None and ps.ipam_configuration is not None
        pool = ps.ipam_configuration.ipv4_ipam_pool_id
    if pool is not None and not re.fullmatch(r"ipam-pool-[0-9a-z]+", pool):
        raise ctx.error(
            from_params,
            "ipam-ipv4-pool-id",
            "ipamConfiguration.ipv4IPAMPoolId",
            f"got {pool!r}, expected an IPAM pool id (ipam-pool-...)",
        )
    return pool


def member_attributes(ctx: MemberContext) -> dict[str, str]:
    attrs = ctx.ann.string_map("load-balancer-attributes") or {}
    if ctx.spec:
        attrs.update({a.key: a.value for a in ctx.spec.load_balancer_attributes})
    return attrs


def _name(ctx: MemberContext) -> str | None:
    ps = ctx.spec
    name = ctx.ann.string("load-balancer-name")
    if ps and ps.load_balancer_name:
        name = ps.load_balancer_name
    if name is not None and not valid_lb_name(name):
        raise ctx.error(
            bool(ps and ps.load_balancer_name),
            "load-balancer-name",
            "loadBalancerName",
            f"{name!r}: expected 1-32 letters, digits or '-', not starting or ending "
            "with '-' and not starting with 'internal-'",
        )
    return name


def _subnets(ctx: MemberContext) -> list[str] | None:
    ps = ctx.spec
    subnets = ctx.ann.string_list("subnets")
    if ps and ps.subnets:
        if ps.subnets.ids:
            subnets = list(ps.subnets.ids)
        elif ctx.inp.inventory.aws_known:
            tags = ps.subnets.tags
            subnets = [
                s.id
                for s in ctx.inp.inventory.subnets
                if all(s.tags.get(k) in v for k, v in tags.items())
            ]
    return subnets


def _resolve_sgs(ctx: MemberContext, names: list[str]) -> list[str]:
    inv = ctx.inp.inventory
    out = []
    for n in names:
        if n.startswith("sg-") or not inv.aws_known:
            out.append(n)
            continue
        match = [s.id for s in inv.security_groups if s.tags.get("Name") == n or s.name == n]
        if not match:
            raise ctx.ann.error(ctx.obj, "security-groups", f"security group {n!r} not found")
        if len(match) > 1:
            raise ctx.ann.error(
                ctx.obj, "security-groups", f"security group name {n!r} is ambiguous"
            )
        out.append(match[0])
    return out


def _web_acl(ctx: MemberContext) -> str | None:
    """WAFv2 web ACL ARN, "" for none, None when not set (a name beats an ARN)."""
    ps = ctx.spec
    name = (ps.wafv2_acl_name if ps else None) or ctx.ann.string("wafv2-acl-name")
    arn = (ps.wafv2_acl_arn if ps else None) or ctx.ann.string("wafv2-acl-arn")
    if name:
        if name == "none":
            return ""
        if not ctx.inp.inventory.aws_known:
            return f"arn:unknown:wafv2:{name}"
        found = ctx.inp.inventory.web_acls_by_name.get(name)
        if found is None:
            raise ctx.error(
                bool(ps and ps.wafv2_acl_name),
                "wafv2-acl-name",
                "wafv2AclName",
                f"no regional WAFv2 web ACL named {name!r}",
            )
        return found
    if arn:
        if arn == "none":
            return ""
        if not arn.startswith("arn:") or ":wafv2:" not in arn:
            raise ctx.error(
                bool(ps and ps.wafv2_acl_arn),
                "wafv2-acl-arn",
                "wafv2AclArn",
                f"{arn!r} is not a WAFv2 web ACL ARN (or none)",
            )
        return arn
    return None


def group_subnets(
    inp: GroupInput, settings: dict[str, Any], scheme: str, ip_type: str, setter: str
) -> list[str]:
    """The group's subnets: given, kept from the existing ALB, or discovered by tags."""
    inv = inp.inventory
    try:
        if not inv.aws_known:
            return sorted(settings.get("subnets", ()))
        if "subnets" in settings:
            return resolve(settings["subnets"], inv.subnets, inv.vpc_id)
        if inv.existing_subnets and inv.existing_scheme == scheme:
            return sorted(inv.existing_subnets)
        cluster = inp.settings.cluster_name
        return discover(inv.subnets, scheme, cluster, inv.vpc_id, ip_type != "ipv4")
    except SubnetError as exc:
        raise InvalidInputError(f"Ingress/{setter}", f"annotation {ANN}subnets", str(exc)) from None


def build_load_balancer(
    inp: GroupInput,
    settings: dict[str, Any],
    subnets: list[str],
    security_groups: tuple[str, ...],
    attributes: dict[str, str],
    tags: dict[str, str],
) -> LoadBalancer:
    s, group = inp.settings, inp.group
    scheme = settings.get("scheme", s.default_scheme)
    return LoadBalancer(
        id=LB_ID,
        name=settings.get("name")
        or load_balancer_name(s.cluster_name, group.id, group.explicit, scheme),
        scheme=scheme,
        ip_address_type=settings.get("ip_address_type", "ipv4"),
        subnets=tuple(subnets),
        security_groups=security_groups,
        attributes=attributes,
        tags=tags,
        web_acl=settings.get("web_acl"),
        waf_classic_acl=settings.get("waf_classic_acl"),
        shield_protection=settings.get("shield_protection"),
        capacity_units=settings.get("capacity_units"),
        customer_owned_ipv4_pool=settings.get("customer_owned_ipv4_pool"),
        ipam_ipv4_pool=settings.get("ipam_ipv4_pool"),
    )
