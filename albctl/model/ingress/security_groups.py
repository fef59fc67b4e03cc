"""Security groups: the managed frontend group with its inbound rules, or the user's groups,
and the backend group that target security groups admit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.desired import BACKEND_SG_ID, MANAGED_SG_ID, SecurityGroup, SecurityGroupRule
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.inputs import GroupInput
from albctl.model.names import security_group_name
from albctl.model.values import load_balancer as values

MANAGE_BACKEND_RULES = f"annotation {ANN}manage-backend-security-group-rules"


def inbound_cidrs(ctx: MemberContext) -> list[str] | None:
    cidrs = ctx.ann.cidrs("inbound-cidrs")
    if ctx.spec and ctx.spec.inbound_cidrs:
        cidrs = values.cidrs(
            ctx.spec.inbound_cidrs, lambda m: ctx.error(True, "inbound-cidrs", "inboundCIDRs", m)
        )
    return cidrs


def prefix_lists(ctx: MemberContext) -> list[str] | None:
    ps = ctx.spec
    lists = ctx.ann.string_list("security-group-prefix-lists")
    from_params = bool(ps and (ps.prefix_lists_ids or ps.legacy_prefix_lists_ids))
    if ps and from_params:
        lists = list(ps.prefix_lists_ids or ps.legacy_prefix_lists_ids or ())
    if lists is None:
        return None
    return values.prefix_lists(
        lists,
        lambda m: ctx.error(from_params, "security-group-prefix-lists", "prefixListsIDs", m),
    )


def _inbound_rules(
    ports: list[int],
    cidrs: Mapping[int, list[str] | None],
    lists: Mapping[int, list[str] | None],
    ip_type: str,
) -> tuple[SecurityGroupRule, ...]:
    """Each listener port open to its CIDRs and prefix lists (everyone when neither)."""
    rules: list[SecurityGroupRule] = []
    for port in ports:
        port_cidrs, port_lists = cidrs.get(port), lists.get(port)
        if port_cidrs is None and not port_lists:
            port_cidrs = ["0.0.0.0/0"] + (["::/0"] if ip_type != "ipv4" else [])
        for c in port_cidrs or []:
            if ":" in c and ip_type == "ipv4":
                continue
            rules.append(SecurityGroupRule(from_port=port, to_port=port, cidr=c))
        for pl in port_lists or []:
            rules.append(SecurityGroupRule(from_port=port, to_port=port, prefix_list=pl))
    return tuple(sorted(set(rules), key=lambda r: (r.from_port, r.cidr, r.prefix_list)))


def build_security_groups(
    inp: GroupInput,
    settings: Mapping[str, Any],
    manage_setter: tuple[str, str],
    inbound: tuple[list[int], Mapping[int, list[str] | None], Mapping[int, list[str] | None]],
    owned: Callable[[str, Mapping[str, str]], dict[str, str]],
    base_tags: Mapping[str, str],
) -> tuple[SecurityGroup | None, tuple[str, ...], str | None]:
    """(managed frontend group or None, the ALB's security group refs, the source of the
    backend rules on target security groups or None). ``manage_setter``: the object and field
    that asked to manage backend rules."""
    s, group = inp.settings, inp.group
    if "security_groups" in settings:
        refs = tuple(settings["security_groups"])
        if not settings.get("manage_backend_rules"):
            return None, refs, None
        if not s.enable_backend_sg:
            raise InvalidInputError(
                *manage_setter,
                "needs the backend security group, which is disabled "
                "(--enable-backend-security-group=false)",
            )
        return None, (*refs, BACKEND_SG_ID), BACKEND_SG_ID
    ports, cidrs, lists = inbound
    sg = SecurityGroup(
        id=MANAGED_SG_ID,
        name=security_group_name(s.cluster_name, group.id, group.explicit),
        description=f"[albctl] managed security group for load balancer of {group.id}",
        ingress=_inbound_rules(ports, cidrs, lists, settings.get("ip_address_type", "ipv4")),
        tags=owned(MANAGED_SG_ID, base_tags),
    )
    if s.enable_backend_sg:
        return sg, (MANAGED_SG_ID, BACKEND_SG_ID), BACKEND_SG_ID
    return sg, (MANAGED_SG_ID,), MANAGED_SG_ID
