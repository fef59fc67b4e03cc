"""Route attachment (pure): which HTTPRoutes attach to which listeners of a Gateway, with the
route's per-parent ``Accepted`` condition (gateway-api ``apis/v1/shared_types.go``:
``ParentReference``, ``RouteConditionReason``; ``gateway_types.go``: ``AllowedRoutes``).

A parentRef names this Gateway (group ``gateway.networking.k8s.io``, kind ``Gateway``, the
route's namespace unless given) and optionally a listener by ``sectionName`` and ``port``. Of the
listeners it names, the route attaches to those that are valid, allow its kind and namespace
(``from: Same | All | Selector``) and whose hostname intersects the route's. Reasons when it
attaches to none: ``NoMatchingParent`` (no listener by that name or port, or none valid),
``NotAllowedByListeners``, ``NoMatchingListenerHostname``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from albctl.model.binding import selector_matches
from albctl.model.gateway.hostnames import effective_hostnames
from albctl.model.gateway.inputs import GatewayInput
from albctl.model.gateway.listeners import ListenerBuild
from albctl.model.gateway.objects import GROUP, Gateway, HTTPRoute, ParentReference
from albctl.model.gateway.status import ACCEPTED, Cond, ParentStatus

NAME_LABEL = "kubernetes.io/metadata.name"  # set on every namespace by the API server


@dataclass(frozen=True)
class Attachment:
    route: HTTPRoute
    listener: ListenerBuild
    hostnames: tuple[str | None, ...]  # None: any host


def route_key(route: HTTPRoute) -> str:
    return f"{route.kind}/{route.key}"


def names_gateway(ref: ParentReference, route: HTTPRoute, gw: Gateway) -> bool:
    return (
        ref.group == GROUP
        and ref.kind == "Gateway"
        and (ref.namespace or route.metadata.namespace) == gw.metadata.namespace
        and ref.name == gw.metadata.name
    )


def attach(
    inp: GatewayInput, listeners: list[ListenerBuild]
) -> tuple[list[Attachment], dict[str, list[ParentStatus]]]:
    """The attachments of every route to this Gateway, and each route's parent statuses."""
    attachments: list[Attachment] = []
    statuses: dict[str, list[ParentStatus]] = {}
    gw = inp.gateway
    for route in sorted(inp.routes, key=lambda r: r.key):
        for pi, ref in enumerate(route.spec.parent_refs):
            if not names_gateway(ref, route, gw):
                continue
            ps = ParentStatus(pi, gw.key, ref.section_name, ref.port)
            got = _attach_one(inp, route, pi, ref, listeners, ps)
            attachments += got
            statuses.setdefault(route_key(route), []).append(ps)
    counted: dict[str, set[str]] = {}
    for a in attachments:
        counted.setdefault(a.listener.listener.name, set()).add(route_key(a.route))
    for lb in listeners:
        lb.status.attached_routes = len(counted.get(lb.listener.name, ()))
    return attachments, statuses


def _attach_one(
    inp: GatewayInput,
    route: HTTPRoute,
    pi: int,
    ref: ParentReference,
    listeners: list[ListenerBuild],
    ps: ParentStatus,
) -> list[Attachment]:
    where = f"spec.parentRefs[{pi}]"
    named = [
        lb
        for lb in listeners
        if (ref.section_name is None or lb.listener.name == ref.section_name)
        and (ref.port is None or lb.listener.port == ref.port)
    ]
    valid = [lb for lb in named if lb.status.valid]
    if not valid:
        what = _named(ref)
        why = "has no listener" if not named else "has no valid listener"
        ps.set(Cond(ACCEPTED, False, "NoMatchingParent", f"{where}: Gateway {why} {what}"))
        return []
    allowed = [lb for lb in valid if _allows(lb, route, inp.namespaces, inp.gateway)]
    if not allowed:
        ps.set(
            Cond(
                ACCEPTED,
                False,
                "NotAllowedByListeners",
                f"{where}: no listener {_named(ref)} allows {route.kind}s from namespace "
                f"{route.metadata.namespace}",
            )
        )
        return []
    out: list[Attachment] = []
    for lb in allowed:
        hosts = effective_hostnames(
            (lb.listener.hostname or "").lower() or None, route.spec.hostnames
        )
        if hosts is not None:
            out.append(Attachment(route, lb, tuple(hosts)))
    if not out:
        ps.set(
            Cond(
                ACCEPTED,
                False,
                "NoMatchingListenerHostname",
                f"spec.hostnames: none of {', '.join(route.spec.hostnames)} matches the hostname "
                f"of a listener {_named(ref)}",
            )
        )
        return []
    ps.set(Cond(ACCEPTED, True, "Accepted"))
    return out


def _named(ref: ParentReference) -> str:
    parts = []
    if ref.section_name is not None:
        parts.append(f"named {ref.section_name!r}")
    if ref.port is not None:
        parts.append(f"on port {ref.port}")
    return " ".join(parts) or "(any)"


def _allows(
    lb: ListenerBuild,
    route: HTTPRoute,
    namespaces: Mapping[str, Mapping[str, str]],
    gw: Gateway,
) -> bool:
    if (GROUP, route.kind) not in lb.status.supported_kinds:
        return False
    ns = route.metadata.namespace
    allowed = lb.listener.allowed_routes.namespaces
    if allowed.from_ == "All":
        return True
    if allowed.from_ == "Selector":
        labels = {NAME_LABEL: ns, **namespaces.get(ns, {})}
        return allowed.selector is not None and selector_matches(labels, allowed.selector)
    return ns == gw.metadata.namespace  # Same (the default)
