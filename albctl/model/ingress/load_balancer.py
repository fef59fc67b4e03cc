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
from albctl.model.names import load_balancer_name
from albctl.model.subnets import SubnetError, discover, resolve
from albctl.model.values import load_balancer as values


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
        return values.capacity_units(
            units,
            lambda m: ctx.error(True, "", "minimumLoadBalancerCapacity.capacityUnits", m),
        )
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
    scheme = (ctx.spec.scheme if ctx.spec else None) or ctx.ann.string("scheme")
    scheme = scheme or ctx.inp.settings.default_scheme
    return values.customer_owned_pool(
        ctx.inp.inventory,
        pool,
        scheme,
        lambda m: ctx.ann.error(ctx.obj, "customer-owned-ipv4-pool", m),
    )


def _ipam_pool(ctx: MemberContext) -> str | None:
    ps = ctx.spec
    from_params = bool(ps and ps.ipam_configuration and ps.ipam_configuration.ipv4_ipam_pool_id)
    pool = ctx.ann.string("ipam-ipv4-pool-id")
    if from_params:
        assert ps is not None and ps.ipam_configuration is not None
        pool = ps.ipam_configuration.ipv4_ipam_pool_id
    if pool is None:
        return None
    return values.ipam_pool(
        pool,
        lambda m: ctx.error(
            from_params, "ipam-ipv4-pool-id", "ipamConfiguration.ipv4IPAMPoolId", m
        ),
    )


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
    if name is None:
        return None
    from_params = bool(ps and ps.load_balancer_name)
    return values.lb_name(
        name, lambda m: ctx.error(from_params, "load-balancer-name", "loadBalancerName", m)
    )


def _subnets(ctx: MemberContext) -> list[str] | None:
    ps = ctx.spec
    subnets = ctx.ann.string_list("subnets")
    if ps and ps.subnets:
        if ps.subnets.ids:
            subnets = list(ps.subnets.ids)
        elif ctx.inp.inventory.aws_known:
            subnets = values.subnets_by_tags(ctx.inp.inventory, ps.subnets.tags)
    return subnets


def _resolve_sgs(ctx: MemberContext, names: list[str]) -> list[str]:
    return values.security_groups(
        ctx.inp.inventory, names, lambda m: ctx.ann.error(ctx.obj, "security-groups", m)
    )


def _web_acl(ctx: MemberContext) -> str | None:
    """WAFv2 web ACL ARN, "" for none, None when not set (a name beats an ARN)."""
    ps = ctx.spec
    name = (ps.wafv2_acl_name if ps else None) or ctx.ann.string("wafv2-acl-name")
    arn = (ps.wafv2_acl_arn if ps else None) or ctx.ann.string("wafv2-acl-arn")
    if name:
        by_params = bool(ps and ps.wafv2_acl_name)
        return values.web_acl_by_name(
            ctx.inp.inventory,
            name,
            lambda m: ctx.error(by_params, "wafv2-acl-name", "wafv2AclName", m),
        )
    if arn:
        arn_params = bool(ps and ps.wafv2_acl_arn)
        return values.web_acl_arn(
            arn, lambda m: ctx.error(arn_params, "wafv2-acl-arn", "wafv2AclArn", m)
        )
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
