"""One member Ingress built on its own, before the group merge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.desired import Action, MutualAuthentication, TargetGroup
from albctl.model.groups import Member
from albctl.model.ingress import listeners, load_balancer, security_groups
from albctl.model.ingress.actions import backend_action
from albctl.model.ingress.auth import needs_https
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.inputs import GroupInput
from albctl.model.ingress.listener_rules import MemberRule, member_rules
from albctl.model.ingress.tags import member_tags


@dataclass
class MemberBuild:
    key: str
    obj: str
    exclusive: dict[str, Any]  # group-wide settings every member must agree on
    lb_attributes: dict[str, str]
    tags: dict[str, str]
    ports: dict[int, str]
    inbound_cidrs: list[str] | None
    prefix_lists: list[str] | None
    explicit_certs: list[str] | None
    ssl_policy: str | None
    listener_attributes: dict[int, dict[str, str]]  # per port
    mtls: dict[int, MutualAuthentication]  # per HTTPS port
    hosts: list[str]
    tls: list[tuple[int, str, tuple[str, ...]]]  # (index, secretName, hosts) of spec.tls
    default_action: Action | None
    rules: list[MemberRule]
    target_groups: dict[str, TargetGroup]
    client_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _hosts(ctx: MemberContext) -> list[str]:
    """The member's hosts, spec.tls first, once each."""
    hosts: list[str] = []
    for t in ctx.ing.spec.tls:
        hosts += t.hosts
    hosts += [r.host for r in ctx.ing.spec.rules if r.host]
    return list(dict.fromkeys(hosts))


def build_member(member: Member, inp: GroupInput) -> MemberBuild:
    ctx = MemberContext(member, inp)
    exclusive = load_balancer.member_settings(ctx)
    redirect = listeners.ssl_redirect(ctx)
    if redirect is not None:
        exclusive["ssl_redirect"] = redirect
    lb_attrs = load_balancer.member_attributes(ctx)
    tags = member_tags(ctx)
    certs = listeners.explicit_certificates(ctx)
    tls = listeners.tls_secrets(ctx)
    ports = listeners.listen_ports(ctx, bool(certs) or bool(tls))
    cidrs = security_groups.inbound_cidrs(ctx)
    prefix_lists = security_groups.prefix_lists(ctx)
    listener_attrs, warnings = listeners.listener_attributes(ctx, ports)
    mtls = listeners.mutual_authentication(ctx, ports)
    default_action = None
    if ctx.ing.spec.default_backend is not None:
        _, default_action = backend_action(ctx, ctx.ing.spec.default_backend, "spec.defaultBackend")
    rules = member_rules(ctx)
    return MemberBuild(
        key=ctx.ing.key,
        obj=ctx.obj,
        exclusive=exclusive,
        lb_attributes=lb_attrs,
        tags=tags,
        ports=ports,
        inbound_cidrs=cidrs,
        prefix_lists=prefix_lists,
        explicit_certs=certs,
        ssl_policy=listeners.ssl_policy(ctx),
        listener_attributes=listener_attrs,
        mtls=mtls,
        hosts=_hosts(ctx),
        tls=tls,
        default_action=default_action,
        rules=rules,
        target_groups=ctx.target_groups,
        client_secrets=ctx.client_secrets,
        warnings=warnings,
    )


def https_only_error(m: MemberBuild, group_redirect: int | None) -> InvalidInputError | None:
    """Authentication runs on HTTPS listeners only: a member whose rules authenticate may
    listen on HTTP only when the group redirects HTTP to HTTPS."""
    http = sorted(p for p, proto in m.ports.items() if proto == "HTTP")
    if not http or group_redirect is not None:
        return None
    actions = [a for _, _, a, _ in m.rules] + ([m.default_action] if m.default_action else [])
    for action in actions:
        annotation = needs_https(action)
        if annotation is not None:
            return InvalidInputError(
                m.obj,
                f"annotation {ANN}{annotation}",
                f"needs HTTPS, but the Ingress listens on HTTP port {http[0]}: set "
                f"{ANN}ssl-redirect or listen on HTTPS only",
            )
    return None
