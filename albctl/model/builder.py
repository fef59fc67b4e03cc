"""Build the desired state of one IngressGroup (pure).

Each member Ingress is built on its own first (``ingress.member``). Members are then merged in
group order (``ingress.merge``); a member whose own input is invalid, or that conflicts with an
earlier member on a group-wide setting, is left out and reported, and the others still build.
The caller keeps what a left-out member already has in AWS. The stack is then assembled from
the merged members, one resource kind at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.certificates import (
    CertInput,
    MemberCertificates,
    member_certificates,
    stack_certificates,
)
from albctl.model.desired import LB_ID, Action, Listener, Rule, Stack, TargetGroup
from albctl.model.ingress import listeners, load_balancer
from albctl.model.ingress.inputs import GroupInput
from albctl.model.ingress.listener_rules import build_listener_rules
from albctl.model.ingress.member import MemberBuild, build_member, https_only_error
from albctl.model.ingress.merge import GroupState, try_merge
from albctl.model.ingress.security_groups import MANAGE_BACKEND_RULES, build_security_groups
from albctl.model.ingress.tags import Ownership
from albctl.model.tls import ImportedCertificate, TLSMaterial

__all__ = ["BuildResult", "GroupInput", "build_group"]


@dataclass
class BuildResult:
    group_id: str
    stack: Stack | None
    active: list[str] = field(default_factory=list)
    invalid: dict[str, InvalidInputError] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    group_error: InvalidInputError | None = None
    # TLS Secrets that cannot be served (the members still deploy), and the key material of
    # those that can, by certificate id (never serialised)
    secret_errors: list[InvalidInputError] = field(default_factory=list)
    materials: dict[str, TLSMaterial] = field(default_factory=dict)
    # OIDC client secrets by digest, for the applier (never serialised)
    client_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    # input problems reported while the rest is applied as the input says (Gateway API: a
    # route's unresolved backend answers 500, an invalid listener takes no routes); unlike
    # ``invalid``, nothing of theirs is frozen
    problems: list[InvalidInputError] = field(default_factory=list)
    # the members as a LoadBalancerGroup lists them, for stacks whose members are not
    # Ingresses (a Gateway's routes); None: the group's Ingresses
    member_rows: list[dict[str, str]] | None = None


def build_group(inp: GroupInput) -> BuildResult:
    """Build the desired stack of one group from its members that are valid."""
    group = inp.group
    result = BuildResult(group_id=group.id, stack=None, invalid=dict(group.invalid))
    state = GroupState()
    member_certs: dict[str, list[str]] = {}
    imported: dict[str, ImportedCertificate] = {}
    built: list[MemberBuild | InvalidInputError] = []
    for member in group.members:
        try:
            built.append(build_member(member, inp))
        except InvalidInputError as exc:
            built.append(exc)
    # group-wide settings read before the merge: the first member that sets one sets it for
    # all (IPv6 target groups are checked against the address type, authentication against
    # ssl-redirect)
    state.ip_address_type = _group_wide(built, "ip_address_type", "ipv4")
    redirect = _group_wide(built, "ssl_redirect", None)
    for member, mb in zip(group.members, built, strict=True):
        try:
            if isinstance(mb, InvalidInputError):
                raise mb
            https_error = https_only_error(mb, redirect)
            if https_error is not None:
                raise https_error
            got = _member_certs(mb, inp)
            result.secret_errors += got.secret_errors
            _check_https_certificates(mb, got, inp)
            try_merge(state, mb)
        except InvalidInputError as exc:
            result.invalid[member.key] = exc
            continue
        member_certs[mb.key] = got.refs
        result.client_secrets.update(mb.client_secrets)
        imported.update(got.imported)
        result.materials.update(got.materials)
        result.warnings += got.warnings + mb.warnings
        result.active.append(mb.key)
    if not state.members:
        return result
    try:
        result.stack = _assemble(inp, state, member_certs, imported)
    except InvalidInputError as exc:
        result.group_error = exc
        result.stack = None
    return result


def _group_wide(built: list[MemberBuild | InvalidInputError], name: str, default: Any) -> Any:
    return next(
        (b.exclusive[name] for b in built if isinstance(b, MemberBuild) and name in b.exclusive),
        default,
    )


def _member_certs(m: MemberBuild, inp: GroupInput) -> MemberCertificates:
    """The member's certificates (given, discovered and imported)."""
    c = CertInput(
        obj=m.obj,
        namespace=m.key.partition("/")[0],
        hosts=m.hosts,
        tls=m.tls,
        explicit=m.explicit_certs,
        https="HTTPS" in m.ports.values(),
    )
    return member_certificates(c, inp.inventory, inp.secrets, inp.group.id, inp.now)


def _check_https_certificates(m: MemberBuild, got: MemberCertificates, inp: GroupInput) -> None:
    https_ports = [p for p, proto in m.ports.items() if proto == "HTTPS"]
    if https_ports and not got.refs and inp.inventory.aws_known:
        raise InvalidInputError(
            m.obj,
            f"annotation {ANN}certificate-arn",
            f"HTTPS listener {https_ports[0]} needs a certificate: none given, none "
            f"discovered in ACM for hosts {', '.join(m.hosts) or '(no hosts)'}, and no "
            "usable TLS Secret in spec.tls",
        )


def _listeners_and_rules(
    inp: GroupInput,
    state: GroupState,
    member_certs: dict[str, list[str]],
    owned: Ownership,
    base_tags: dict[str, str],
) -> tuple[list[Listener], list[Rule]]:
    redirect_port = state.values("exclusive").get("ssl_redirect")
    listeners.check_ssl_redirect(state.ports, redirect_port, state.setter("ssl_redirect"))
    out_listeners: list[Listener] = []
    rules: list[Rule] = []
    default_policy = inp.settings.default_ssl_policy
    for port in sorted(state.ports):
        proto = state.ports[port][0]
        members = [m for m in state.members if port in m.ports]
        member_default = state.defaults[port][0] if port in state.defaults else None
        default = listeners.default_action(proto, redirect_port, member_default)
        certs: list[str] = []
        if proto == "HTTPS":
            certs = listeners.listener_certificates(
                port, [m.obj for m in members], [member_certs.get(m.key, []) for m in members]
            )
        policy = state.ssl_policy.get(port, (default_policy, ""))[0]
        attrs = {k: v for k, (v, _) in state.listener_attributes.get(port, {}).items()}
        mtls = state.mtls.get(port, (None, ""))[0]
        out_listeners.append(
            listeners.build_listener(
                port, proto, policy, certs, default, owned, base_tags, attrs, mtls
            )
        )
        if proto == "HTTP" and redirect_port is not None:
            continue
        rules += build_listener_rules(str(port), [(m.key, m.tags, m.rules) for m in members], owned)
    return out_listeners, rules


def _used_target_groups(
    state: GroupState, listeners_: list[Listener], rules: list[Rule], owned: Ownership
) -> tuple[TargetGroup, ...]:
    """The members' target groups some listener or rule forwards to, with ownership tags."""
    used: set[str] = set()
    for action in [li.default_action for li in listeners_] + [r.action for r in rules]:
        _collect_tgs(action, used)
    target_groups: dict[str, TargetGroup] = {}
    for m in state.members:
        for tid, tg in m.target_groups.items():
            if tid in used:
                target_groups[tid] = tg.model_copy(update={"tags": owned(tid, tg.tags, m.key)})
    return tuple(target_groups[k] for k in sorted(target_groups))


def _assemble(
    inp: GroupInput,
    state: GroupState,
    member_certs: dict[str, list[str]],
    imported: dict[str, ImportedCertificate],
) -> Stack:
    s, group = inp.settings, inp.group
    ex = state.values("exclusive")
    scheme = ex.get("scheme", s.default_scheme)
    ip_type = ex.get("ip_address_type", "ipv4")
    base_tags = dict(s.default_tags)
    for k, v in state.values("tags").items():
        base_tags.setdefault(k, v)
    owned = Ownership(s.cluster_name, group.id, state.members[0].obj)
    subnets = load_balancer.group_subnets(inp, ex, scheme, ip_type, state.setter("subnets"))
    listeners_, rules = _listeners_and_rules(inp, state, member_certs, owned, base_tags)
    target_groups = _used_target_groups(state, listeners_, rules, owned)
    inbound = (sorted(state.ports), state.values("cidrs"), state.values("prefix_lists"))
    sg, sg_refs, source = build_security_groups(
        inp,
        ex,
        (f"Ingress/{state.setter('manage_backend_rules')}", MANAGE_BACKEND_RULES),
        inbound,
        owned,
        base_tags,
    )
    attributes = dict(sorted(state.values("lb_attributes").items()))
    lb = load_balancer.build_load_balancer(
        inp, ex, subnets, sg_refs, attributes, owned(LB_ID, base_tags)
    )
    return Stack(
        group_id=group.id,
        load_balancer=lb,
        security_group=sg,
        target_groups=target_groups,
        listeners=tuple(listeners_),
        rules=tuple(rules),
        backend_rules_source=source,
        certificates=stack_certificates(imported, listeners_, owned, base_tags),
    )


def _collect_tgs(action: Action, into: set[str]) -> None:
    for f in action.forward:
        if not f.target_group.startswith("arn:"):
            into.add(f.target_group)
