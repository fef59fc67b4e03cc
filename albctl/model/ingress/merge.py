"""Folding members into their group: group-wide settings must agree, per-listener settings
must agree on shared ports, and listener quotas hold. The first member to set a value wins;
a member that disagrees is left out with an error naming both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.desired import Action, MutualAuthentication
from albctl.model.ingress.inputs import MAX_RULES_PER_LISTENER
from albctl.model.ingress.member import MemberBuild

EXCLUSIVE_FIELDS = {
    "scheme": f"annotation {ANN}scheme",
    "name": f"annotation {ANN}load-balancer-name",
    "ip_address_type": f"annotation {ANN}ip-address-type",
    "subnets": f"annotation {ANN}subnets",
    "security_groups": f"annotation {ANN}security-groups",
    "ssl_redirect": f"annotation {ANN}ssl-redirect",
    "web_acl": f"annotation {ANN}wafv2-acl-arn",
    "manage_backend_rules": f"annotation {ANN}manage-backend-security-group-rules",
    "waf_classic_acl": f"annotation {ANN}waf-acl-id",
    "shield_protection": f"annotation {ANN}shield-advanced-protection",
    "capacity_units": f"annotation {ANN}minimum-load-balancer-capacity",
    "customer_owned_ipv4_pool": f"annotation {ANN}customer-owned-ipv4-pool",
    "ipam_ipv4_pool": f"annotation {ANN}ipam-ipv4-pool-id",
}


@dataclass
class GroupState:
    """Values merged so far, each with the key of the member that set it first."""

    exclusive: dict[str, tuple[Any, str]] = field(default_factory=dict)
    lb_attributes: dict[str, tuple[str, str]] = field(default_factory=dict)
    tags: dict[str, tuple[str, str]] = field(default_factory=dict)
    ports: dict[int, tuple[str, str]] = field(default_factory=dict)
    cidrs: dict[int, tuple[list[str], str]] = field(default_factory=dict)
    prefix_lists: dict[int, tuple[list[str], str]] = field(default_factory=dict)
    ssl_policy: dict[int, tuple[str, str]] = field(default_factory=dict)
    defaults: dict[int, tuple[Action, str]] = field(default_factory=dict)
    # listener attributes by port, then by key
    listener_attributes: dict[int, dict[str, tuple[str, str]]] = field(default_factory=dict)
    mtls: dict[int, tuple[MutualAuthentication, str]] = field(default_factory=dict)
    members: list[MemberBuild] = field(default_factory=list)
    # the group's ip-address-type, known before the merge (the first member that sets it)
    ip_address_type: str = "ipv4"

    def values(self, name: str) -> dict[Any, Any]:
        """One of the merged maps without the setters."""
        merged: dict[Any, tuple[Any, str]] = getattr(self, name)
        return {k: v for k, (v, _) in merged.items()}

    def setter(self, name: str) -> str:
        """The member that set a group-wide setting (the first member when none did)."""
        return self.exclusive.get(name, (None, self.members[0].key))[1]


def _conflict(
    member: MemberBuild, what: str, value: Any, first: str, first_value: Any
) -> InvalidInputError:
    return InvalidInputError(
        member.obj,
        what,
        f"{value!r} conflicts with {first_value!r} set by Ingress/{first} earlier in the group",
    )


def _check_map(
    m: MemberBuild, merged: dict[Any, tuple[Any, str]], mine: dict[Any, Any], what: str
) -> None:
    for k, v in mine.items():
        if k in merged and merged[k][0] != v:
            raise _conflict(m, what.format(k=k), v, merged[k][1], merged[k][0])


def _check_list(
    m: MemberBuild,
    merged: dict[int, tuple[list[str], str]],
    port: int,
    mine: list[str] | None,
    what: str,
) -> None:
    if mine is not None and port in merged and sorted(merged[port][0]) != sorted(mine):
        raise _conflict(m, f"annotation {ANN}{what}", mine, merged[port][1], merged[port][0])


def _check_ports(state: GroupState, m: MemberBuild) -> None:
    for port, proto in m.ports.items():
        _check_map(m, state.ports, {port: proto}, f"annotation {ANN}listen-ports[{{k}}]")
        _check_list(m, state.prefix_lists, port, m.prefix_lists, "security-group-prefix-lists")
        _check_list(m, state.cidrs, port, m.inbound_cidrs, "inbound-cidrs")
        if proto == "HTTPS" and m.ssl_policy and port in state.ssl_policy:
            first_p = state.ssl_policy[port]
            if first_p[0] != m.ssl_policy:
                raise _conflict(
                    m, f"annotation {ANN}ssl-policy", m.ssl_policy, first_p[1], first_p[0]
                )
        proto_port = f"{proto}-{port}"
        _check_map(
            m,
            state.listener_attributes.get(port, {}),
            m.listener_attributes.get(port, {}),
            f"annotation {ANN}listener-attributes.{proto_port}[{{k}}]",
        )
        if port in m.mtls and port in state.mtls and state.mtls[port][0] != m.mtls[port]:
            first_m = state.mtls[port]
            raise _conflict(
                m,
                f"annotation {ANN}mutual-authentication[port {port}]",
                m.mtls[port].model_dump(exclude_defaults=True),
                first_m[1],
                first_m[0].model_dump(exclude_defaults=True),
            )
        if m.default_action is not None and port in state.defaults:
            raise InvalidInputError(
                m.obj,
                "spec.defaultBackend",
                f"listener {port} already has the default backend of "
                f"Ingress/{state.defaults[port][1]}",
            )


def _check_rule_quota(state: GroupState, m: MemberBuild) -> None:
    rules_per_port: dict[int, int] = {}
    for sm in state.members:
        for port in sm.ports:
            rules_per_port[port] = rules_per_port.get(port, 0) + len(sm.rules)
    for port in m.ports:
        total = rules_per_port.get(port, 0) + len(m.rules)
        if total > MAX_RULES_PER_LISTENER:
            raise QuotaExceededError(
                m.obj,
                "spec.rules",
                f"listener {port} would have {total} rules; an ALB listener allows "
                f"{MAX_RULES_PER_LISTENER}",
            )


def _record(state: GroupState, m: MemberBuild) -> None:
    for merged, mine in (
        (state.exclusive, m.exclusive),
        (state.lb_attributes, m.lb_attributes),
        (state.tags, m.tags),
    ):
        for k, v in mine.items():
            merged.setdefault(k, (v, m.key))
    for port, proto in m.ports.items():
        state.ports.setdefault(port, (proto, m.key))
        if m.inbound_cidrs is not None:
            state.cidrs.setdefault(port, (m.inbound_cidrs, m.key))
        if m.prefix_lists is not None:
            state.prefix_lists.setdefault(port, (m.prefix_lists, m.key))
        if proto == "HTTPS" and m.ssl_policy:
            state.ssl_policy.setdefault(port, (m.ssl_policy, m.key))
        if m.default_action is not None:
            state.defaults[port] = (m.default_action, m.key)
        for k, v in m.listener_attributes.get(port, {}).items():
            state.listener_attributes.setdefault(port, {}).setdefault(k, (v, m.key))
        if port in m.mtls:
            state.mtls.setdefault(port, (m.mtls[port], m.key))
    state.members.append(m)


def _check_ip_family(state: GroupState, m: MemberBuild) -> None:
    """IPv6 target groups (Services whose ipFamilies start with IPv6) need a dualstack load
    balancer."""
    ip_type = m.exclusive.get("ip_address_type", state.ip_address_type)
    if ip_type != "ipv4":
        return
    written = repr(ip_type) if "ip_address_type" in m.exclusive else "not set (ipv4)"
    for tg in m.target_groups.values():
        if tg.ip_address_type == "ipv6":
            raise InvalidInputError(
                m.obj,
                f"annotation {ANN}ip-address-type",
                f"{written}: Service {tg.service} is IPv6 (its ipFamilies start with IPv6), "
                "so its target group is ipv6 and needs a dualstack load balancer "
                "(ip-address-type: dualstack or dualstack-without-public-ipv4)",
            )


def try_merge(state: GroupState, m: MemberBuild) -> None:
    """Check ``m`` against the group so far; raise on conflict, else record it."""
    for k, v in m.exclusive.items():
        if k in state.exclusive and state.exclusive[k][0] != v:
            first = state.exclusive[k]
            raise _conflict(m, EXCLUSIVE_FIELDS[k], v, first[1], first[0])
    _check_map(
        m, state.lb_attributes, m.lb_attributes, f"annotation {ANN}load-balancer-attributes[{{k}}]"
    )
    _check_map(m, state.tags, m.tags, f"annotation {ANN}tags[{{k}}]")
    _check_ports(state, m)
    _check_ip_family(state, m)
    _check_rule_quota(state, m)
    _record(state, m)
