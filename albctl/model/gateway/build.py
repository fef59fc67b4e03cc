"""Build the desired state of one Gateway (pure): one ALB, tagged with the stack
``gateway/<namespace>/<name>``, in the same :class:`~albctl.model.desired.Stack` the Ingress
builder produces, so plan, apply, ``albctl route`` and the backend security group work the
same; and the Gateway's and its routes' status as the spec defines it.

``listeners`` decides which Gateway listeners ALB can serve; ``attachment`` which routes attach
to them; ``backends`` and ``filters`` what each route rule does; ``matches`` and ``rules`` the
ALB rules in the spec's precedence. The load balancer, its subnets and security groups come
from the pieces the Ingress builder uses (``albctl.model.ingress``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from albctl.errors import InvalidInputError
from albctl.model.builder import BuildResult
from albctl.model.certificates import stack_certificates
from albctl.model.desired import LB_ID, Listener, Rule, Stack
from albctl.model.gateway.attachment import Attachment, attach, route_key
from albctl.model.gateway.backends import Backends
from albctl.model.gateway.config.load_balancer import (
    ListenerSettings,
    LoadBalancerSettings,
    load_balancer_settings,
)
from albctl.model.gateway.inputs import GatewayInput
from albctl.model.gateway.listeners import ListenerBuild, check_listeners, listener_error
from albctl.model.gateway.rules import FIXED_404, RuleBuilder, _Entry, fallbacks, listener_rules
from albctl.model.gateway.status import (
    ACCEPTED,
    PROGRAMMED,
    RESOLVED_REFS,
    Cond,
    GatewayStatus,
    ParentStatus,
)
from albctl.model.ingress import listeners as ingress_listeners
from albctl.model.ingress import load_balancer
from albctl.model.ingress.security_groups import build_security_groups
from albctl.model.ingress.tags import Ownership, check_user_tags


@dataclass
class GatewayBuild:
    result: BuildResult
    status: GatewayStatus


def build_gateway(inp: GatewayInput) -> GatewayBuild:
    status = GatewayStatus()
    result = BuildResult(group_id=inp.stack_id, stack=None)
    params_error: InvalidInputError | None = None
    try:
        lbs = load_balancer_settings(inp)
    except InvalidInputError as exc:
        lbs, params_error = LoadBalancerSettings(), exc
    result.warnings += lbs.warnings
    listeners = check_listeners(inp, {k: v.certificates for k, v in lbs.listeners.items()})
    status.listeners = [lb.status for lb in listeners]
    attachments, status.routes = attach(inp, listeners)
    backends = Backends(inp)
    backends.default_tgcs = lbs.default_tgcs
    rules = RuleBuilder(backends, route_key)
    valid = [lb for lb in listeners if lb.status.valid]
    try:
        if params_error is not None:
            raise params_error
        if not valid:
            raise InvalidInputError(inp.obj, "spec.listeners", "no listener can be served")
        base_tags = _tags(inp, lbs)
        alb_rules = _rules(inp, valid, attachments, rules, base_tags)
        result.stack = _assemble(inp, valid, alb_rules, backends, lbs, base_tags)
    except InvalidInputError as exc:
        result.group_error = exc
    result.invalid = dict(rules.invalid)
    result.client_secrets = rules.client_secrets
    _invalid_routes(status, rules.invalid)
    for lb in listeners:
        result.secret_errors += lb.certificates.secret_errors
        result.materials.update(lb.certificates.materials)
        result.warnings += lb.certificates.warnings
    _route_conditions(status, rules)
    _gateway_conditions(status, listeners, result, params_error)
    result.problems = _problems(inp, listeners, status, rules)
    result.active = sorted(
        k for k, ps in status.routes.items() if _accepted(ps) and k not in rules.invalid
    )
    result.member_rows = _rows(status, result.problems)
    return GatewayBuild(result, status)


def _rows(status: GatewayStatus, problems: list[InvalidInputError]) -> list[dict[str, str]]:
    """The Gateway's routes as LoadBalancerGroup members: Active, or Invalid with the first
    problem."""
    rows = []
    for key in sorted(status.routes):
        ns, _, name = key.partition("/")[2].partition("/")
        first = next((e for e in problems if e.obj == key), None)
        rows.append(
            {
                "namespace": ns,
                "name": name,
                "state": "Invalid" if first else "Active",
                "message": str(first) if first else "",
            }
        )
    return rows


def _accepted(parents: list[ParentStatus]) -> bool:
    return any(p.conditions[ACCEPTED].status for p in parents)


def _owned(inp: GatewayInput) -> Ownership:
    return Ownership(inp.settings.cluster_name, inp.stack_id, inp.obj)


def _rules(
    inp: GatewayInput,
    valid: list[ListenerBuild],
    attachments: list[Attachment],
    builder: RuleBuilder,
    base_tags: dict[str, str],
) -> list[Rule]:
    """The rules of every port, tagged with the Gateway's tags (LBC: on every resource)."""
    ownership = _owned(inp)

    def owned(rid: str, extra: Mapping[str, str], member: str | None = None) -> dict[str, str]:
        return ownership(rid, {**base_tags, **extra}, member)

    out: list[Rule] = []
    by_port: list[tuple[int, list[_Entry]]] = []
    for port in sorted({lb.listener.port for lb in valid}):
        on_port = [lb for lb in valid if lb.listener.port == port]
        names = [(lb.listener.name, (lb.listener.hostname or "").lower() or None) for lb in on_port]
        entries = fallbacks(on_port)
        for a in attachments:
            if a.listener.listener.port == port:
                entries += builder.entries(a, names)
        by_port.append((port, entries))
    for port, entries in by_port:
        # a route found invalid on a later port is left out of every port
        kept = [e for e in entries if e.member not in builder.invalid]
        out += listener_rules(port, kept, owned, inp.obj)
    return out


def _alb_listeners(
    inp: GatewayInput, valid: list[ListenerBuild], lbs: LoadBalancerSettings, tags: dict[str, str]
) -> list[Listener]:
    owned = _owned(inp)
    out: list[Listener] = []
    for port in sorted({lb.listener.port for lb in valid}):
        on_port = [lb for lb in valid if lb.listener.port == port]
        proto = on_port[0].listener.protocol
        ls = lbs.listeners.get((proto, port), ListenerSettings())
        certs: list[str] = []
        for lb in on_port:
            certs += [r for r in lb.certificates.refs if r not in certs]
        out.append(
            ingress_listeners.build_listener(
                port,
                proto,
                ls.ssl_policy or inp.settings.default_ssl_policy,
                certs,
                FIXED_404,
                owned,
                tags,
                ls.attributes,
                ls.mtls,
            )
        )
    return out


def _subnets(inp: GatewayInput, lbs: LoadBalancerSettings) -> list[str]:
    settings = lbs.settings
    scheme = settings.get("scheme", inp.settings.default_scheme)
    ip_type = settings.get("ip_address_type", "ipv4")
    try:
        return load_balancer.group_subnets(
            inp.group_input(), settings, scheme, ip_type, inp.gateway.key
        )
    except InvalidInputError as exc:
        for name in ("loadBalancerSubnets", "loadBalancerSubnetsSelector"):
            if name in lbs.sources:
                raise lbs.fail(name)(exc.message) from None
        raise InvalidInputError(inp.obj, "subnets", exc.message) from None


def _tags(inp: GatewayInput, lbs: LoadBalancerSettings) -> dict[str, str]:
    tags = dict(inp.settings.default_tags)
    if lbs.tags:
        check_user_tags(lbs.sources["tags"], lbs.tags, "spec.tags")
        tags.update(lbs.tags)
    return tags


def _assemble(
    inp: GatewayInput,
    valid: list[ListenerBuild],
    rules: list[Rule],
    backends: Backends,
    lbs: LoadBalancerSettings,
    base_tags: dict[str, str],
) -> Stack:
    gi, owned = inp.group_input(), _owned(inp)
    settings = {"scheme": inp.settings.default_scheme, **lbs.settings}
    subnets = _subnets(inp, lbs)
    alb_listeners = _alb_listeners(inp, valid, lbs, base_tags)
    ports = sorted(li.port for li in alb_listeners)
    cidrs = {p: lbs.cidrs for p in ports}
    lists = {p: lbs.prefix_lists for p in ports}
    manage = (
        lbs.sources.get("manageBackendSecurityGroupRules", inp.obj),
        "spec.manageBackendSecurityGroupRules",
    )
    sg, sg_refs, source = build_security_groups(
        gi, settings, manage, (ports, cidrs, lists), owned, base_tags
    )
    used = {
        f.target_group
        for action in [r.action for r in rules]
        for f in action.forward
        if not f.target_group.startswith("arn:")
    }
    target_groups = tuple(
        tg.model_copy(update={"tags": owned(tid, {**base_tags, **tg.tags}, tg.ingress)})
        for tid, tg in sorted(backends.target_groups.items())
        if tid in used
    )
    imported = {k: v for lb in valid for k, v in lb.certificates.imported.items()}
    lb = load_balancer.build_load_balancer(
        gi, settings, subnets, sg_refs, lbs.attributes, owned(LB_ID, base_tags)
    )
    return Stack(
        group_id=inp.stack_id,
        load_balancer=lb,
        security_group=sg,
        target_groups=target_groups,
        listeners=tuple(alb_listeners),
        rules=tuple(rules),
        backend_rules_source=source,
        stable_priorities=True,
        certificates=stack_certificates(imported, alb_listeners, owned, base_tags),
    )


def _route_conditions(status: GatewayStatus, rules: RuleBuilder) -> None:
    for key, parents in status.routes.items():
        probs = rules.problems.get(key)
        resolved = probs.resolved if probs else []
        if resolved:
            msg = "; ".join(c.message for c in resolved)
            cond = Cond(RESOLVED_REFS, False, resolved[0].reason, msg)
        else:
            cond = Cond(RESOLVED_REFS, True, "ResolvedRefs")
        partial = probs.partially_invalid() if probs else None
        for ps in parents:
            ps.set(cond)
            if partial is not None and ps.conditions[ACCEPTED].status:
                ps.set(partial)


def _invalid_routes(status: GatewayStatus, invalid: dict[str, InvalidInputError]) -> None:
    for key, err in invalid.items():
        msg = f"{err}; its rules stay as they are in AWS until it is fixed"
        for ps in status.routes.get(key, []):
            ps.set(Cond(ACCEPTED, False, "UnsupportedValue", msg))


def _gateway_conditions(
    status: GatewayStatus,
    listeners: list[ListenerBuild],
    result: BuildResult,
    params_error: InvalidInputError | None,
) -> None:
    valid = [lb for lb in listeners if lb.status.valid]
    if params_error is not None:
        status.set(Cond(ACCEPTED, False, "InvalidParameters", str(params_error)))
    elif not valid:
        status.set(Cond(ACCEPTED, False, "ListenersNotValid", "no listener can be served"))
    elif len(valid) < len(listeners):
        bad = ", ".join(lb.listener.name for lb in listeners if not lb.status.valid)
        status.set(Cond(ACCEPTED, True, "ListenersNotValid", f"listeners not valid: {bad}"))
    else:
        status.set(Cond(ACCEPTED, True, "Accepted"))
    if result.stack is None:
        err = result.group_error
        status.set(Cond(PROGRAMMED, False, "Invalid", str(err) if err else ""))
    else:
        status.set(Cond(PROGRAMMED, True, "Programmed"))


def _error(obj: str, message: str) -> InvalidInputError:
    """An error from a status message written ``<field>: <what>``."""
    field_, sep, what = message.partition(": ")
    if sep and (field_.startswith("spec.") or field_ == "Dropped Rule"):
        return InvalidInputError(obj, field_, what)
    if field_.startswith("Dropped Rule spec."):
        return InvalidInputError(obj, field_.removeprefix("Dropped Rule "), f"dropped: {what}")
    return InvalidInputError(obj, "status", message)


def _problems(
    inp: GatewayInput, listeners: list[ListenerBuild], status: GatewayStatus, rules: RuleBuilder
) -> list[InvalidInputError]:
    """What the statuses report as wrong, as errors naming the object and the field."""
    out = [e for lb in listeners if (e := listener_error(inp, lb)) is not None]
    for key, parents in sorted(status.routes.items()):
        obj = key  # <kind>/<ns>/<name>
        for ps in parents:
            acc = ps.conditions[ACCEPTED]
            if not acc.status:
                out.append(_error(obj, acc.message))
        probs = rules.problems.get(key)
        if probs is None or not _accepted(parents):
            continue
        out += [_error(obj, c.message) for c in probs.resolved]
        out += [_error(obj, m) for m in probs.partial]
    return out


def gateway_route_keys(build: GatewayBuild) -> list[str]:
    """The routes this Gateway reports on."""
    return sorted(build.status.routes)


__all__ = ["GatewayBuild", "build_gateway", "gateway_route_keys", "route_key"]
