"""Rule actions: a backend (a Service port, or an actions.<name> annotation) as an Action."""

from __future__ import annotations

from albctl.errors import InvalidInputError
from albctl.model.actions import ArnRef, ParsedAction, ServiceRef, parse_action
from albctl.model.annotations import PREFIX as ANN
from albctl.model.annotations import Annotations
from albctl.model.desired import Action, ForwardTarget
from albctl.model.ingress.auth import with_auth
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.target_groups import build_target_group
from albctl.model.objects import IngressBackend

USE_ANNOTATION = "use-annotation"


def backend_action(ctx: MemberContext, backend: IngressBackend, where: str) -> tuple[str, Action]:
    """(name used for conditions.<name>, action) for a path or default backend, with the
    authentication its annotations ask for."""
    if backend.resource is not None or backend.service is None:
        raise InvalidInputError(ctx.obj, where, "only service backends are supported")
    svc = backend.service
    if svc.port.name == USE_ANNOTATION:
        parsed = _parsed_action(ctx, svc.name, where)
        action = _to_action(ctx, parsed, where)
        services = [t.name for t in parsed.targets if isinstance(t, ServiceRef)]
        # a Service's auth annotations count when the rule forwards to that one Service
        auth_service = services[0] if len(parsed.targets) == 1 and services else None
        return svc.name, with_auth(ctx, action, _auth_annotations(ctx, auth_service, where))
    port: int | str | None = svc.port.number if svc.port.number is not None else svc.port.name
    if port is None:
        raise InvalidInputError(ctx.obj, f"{where}.service.port", "needs a number or a name")
    tg = build_target_group(ctx, svc.name, port, where)
    action = Action(type="forward", forward=(ForwardTarget(target_group=tg, weight=1),))
    return svc.name, with_auth(ctx, action, _auth_annotations(ctx, svc.name, where))


def _auth_annotations(ctx: MemberContext, service: str | None, where: str) -> Annotations:
    if service is None:
        return ctx.ann
    svc = ctx.service(service, where)
    return ctx.ann.with_service(f"Service/{svc.key}", svc.metadata.annotations)


def _parsed_action(ctx: MemberContext, name: str, where: str) -> ParsedAction:
    if name not in ctx.actions_cache:
        got = ctx.ann.json_value(f"actions.{name}")
        if got is None:
            raise InvalidInputError(
                ctx.obj,
                where,
                f"backend uses use-annotation but annotation {ANN}actions.{name} is missing",
            )
        ctx.actions_cache[name] = parse_action(ctx.obj, name, got[1])
    return ctx.actions_cache[name]


def _to_action(ctx: MemberContext, parsed: ParsedAction, where: str) -> Action:
    if parsed.type != "forward":
        return Action(
            type=parsed.type,
            redirect=parsed.redirect,
            fixed_response=parsed.fixed_response,
        )
    fwd: list[ForwardTarget] = []
    for t in parsed.targets:
        if isinstance(t, ServiceRef):
            tg = build_target_group(ctx, t.name, t.port, where)
            fwd.append(ForwardTarget(target_group=tg, weight=t.weight))
        else:
            fwd.append(ForwardTarget(target_group=_foreign_tg(ctx, t, where), weight=t.weight))
    return Action(
        type="forward",
        forward=tuple(fwd),
        stickiness_enabled=parsed.stickiness_enabled,
        stickiness_duration=parsed.stickiness_duration,
    )


def _foreign_tg(ctx: MemberContext, ref: ArnRef, where: str) -> str:
    if ref.arn:
        if not ref.arn.startswith("arn:"):
            raise InvalidInputError(ctx.obj, where, f"targetGroupARN {ref.arn!r} is not an ARN")
        return ref.arn
    inv = ctx.inp.inventory
    if not inv.aws_known:
        return f"arn:unknown:targetgroup/{ref.name}"
    arn = inv.target_groups_by_name.get(ref.name or "")
    if arn is None:
        raise InvalidInputError(ctx.obj, where, f"target group named {ref.name!r} not found")
    return arn
