"""Gateway listeners (pure): which ones an Application Load Balancer can serve, their conflicts,
the route kinds they take and their certificates (gateway-api ``apis/v1/gateway_types.go``:
``Listener``, ``ListenerConditionType`` and ``ListenerConditionReason``).

ALB serves HTTP and HTTPS; a listener of another protocol is not accepted. Listeners on one
port share one ALB listener, so they must agree on the protocol (else ``Conflicted``,
``ProtocolConflict``) and differ by hostname (else ``HostnameConflict`` for the later ones). An
HTTPS listener's certificates are its ``tls.certificateRefs`` (``kubernetes.io/tls`` Secrets,
imported into ACM; another namespace's only through a ReferenceGrant), else the ISSUED ACM
certificates discovered for its hostname. A listener whose certificates cannot be resolved has
``ResolvedRefs`` False and takes no routes; the other listeners are not affected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from albctl.errors import InvalidInputError
from albctl.model.certificates import CertInput, MemberCertificates, member_certificates
from albctl.model.gateway.inputs import GatewayInput
from albctl.model.gateway.objects import GROUP, GatewayListener
from albctl.model.gateway.references import permitted
from albctl.model.gateway.status import (
    ACCEPTED,
    CONFLICTED,
    PROGRAMMED,
    RESOLVED_REFS,
    Cond,
    ListenerStatus,
)

HTTP_ROUTE = (GROUP, "HTTPRoute")
GRPC_ROUTE = (GROUP, "GRPCRoute")
# ALB serves gRPC on HTTPS listeners only
ROUTE_KINDS = {"HTTP": [HTTP_ROUTE], "HTTPS": [HTTP_ROUTE, GRPC_ROUTE]}


@dataclass
class ListenerBuild:
    listener: GatewayListener
    index: int
    status: ListenerStatus
    certificates: MemberCertificates = field(default_factory=MemberCertificates)

    @property
    def where(self) -> str:
        return f"spec.listeners[{self.index}]"


def check_listeners(
    inp: GatewayInput, configured: Mapping[tuple[str, int], list[str]] | None = None
) -> list[ListenerBuild]:
    """Every listener of the Gateway with its status; the valid ones take routes.
    ``configured``: certificate ARNs of LoadBalancerConfiguration ``listenerConfigurations``
    by (protocol, port)."""
    out: list[ListenerBuild] = []
    for i, li in enumerate(inp.gateway.spec.listeners):
        st = ListenerStatus(li.name)
        st.set(Cond(ACCEPTED, True, "Accepted"))
        st.set(Cond(CONFLICTED, False, "NoConflicts"))
        st.set(Cond(RESOLVED_REFS, True, "ResolvedRefs"))
        lb = ListenerBuild(li, i, st)
        _protocol(lb)
        _kinds(lb)
        out.append(lb)
    _conflicts(out)
    for lb in out:
        if lb.listener.protocol == "HTTPS" and lb.status.conditions[ACCEPTED].status:
            _certificates(inp, lb, (configured or {}).get(("HTTPS", lb.listener.port), []))
        ok = lb.status.valid
        lb.status.set(
            Cond(PROGRAMMED, ok, "Programmed" if ok else "Invalid", "" if ok else _why(lb))
        )
    return out


def _why(lb: ListenerBuild) -> str:
    bad = [c for c in lb.status.conditions.values() if c.status == (c.type == CONFLICTED)]
    return "; ".join(c.message for c in bad if c.message) or "the listener is not valid"


def _protocol(lb: ListenerBuild) -> None:
    li = lb.listener
    if li.protocol not in ROUTE_KINDS:
        lb.status.set(
            Cond(
                ACCEPTED,
                False,
                "UnsupportedProtocol",
                f"{lb.where}.protocol: {li.protocol}: an Application Load Balancer listener is "
                "HTTP or HTTPS",
            )
        )
    elif li.protocol == "HTTPS" and li.tls is not None and li.tls.mode != "Terminate":
        lb.status.set(
            Cond(
                ACCEPTED,
                False,
                "UnsupportedValue",
                f"{lb.where}.tls.mode: {li.tls.mode}: an Application Load Balancer terminates "
                "TLS (mode Terminate)",
            )
        )


def _kinds(lb: ListenerBuild) -> None:
    supported = ROUTE_KINDS.get(lb.listener.protocol, [])
    asked = [(k.group, k.kind) for k in lb.listener.allowed_routes.kinds]
    if not asked:
        lb.status.supported_kinds = list(supported)
        return
    lb.status.supported_kinds = [k for k in asked if k in supported]
    bad = [k for k in asked if k not in supported]
    if bad:
        lb.status.set(
            Cond(
                RESOLVED_REFS,
                False,
                "InvalidRouteKinds",
                f"{lb.where}.allowedRoutes.kinds: {', '.join(k for _, k in bad)} not supported "
                f"on a {lb.listener.protocol} listener",
            )
        )


def _conflicts(listeners: list[ListenerBuild]) -> None:
    by_port: dict[int, list[ListenerBuild]] = {}
    for lb in listeners:
        if lb.status.conditions[ACCEPTED].status:
            by_port.setdefault(lb.listener.port, []).append(lb)
    for port, group in by_port.items():
        if len({lb.listener.protocol for lb in group}) > 1:
            for lb in group:
                lb.status.set(
                    Cond(
                        CONFLICTED,
                        True,
                        "ProtocolConflict",
                        f"port {port} is given more than one protocol by the Gateway's listeners",
                    )
                )
            continue
        seen: set[str | None] = set()
        for lb in group:
            host = (lb.listener.hostname or "").lower() or None
            if host in seen:
                lb.status.set(
                    Cond(
                        CONFLICTED,
                        True,
                        "HostnameConflict",
                        f"another listener on port {port} has hostname {host or '(any)'}",
                    )
                )
            seen.add(host)


def _certificates(inp: GatewayInput, lb: ListenerBuild, configured: list[str]) -> None:
    """The listener's certificates: those its port's LoadBalancerConfiguration names (the
    default first), then its certificateRefs; with neither, ACM discovery by hostname."""
    li, gw_ns = lb.listener, inp.gateway.metadata.namespace
    refs = li.tls.certificate_refs if li.tls else ()
    out = lb.certificates
    out.refs += configured
    for j, ref in enumerate(refs):
        where = f"{lb.where}.tls.certificateRefs[{j}]"
        ns = ref.namespace or gw_ns
        if ref.group or ref.kind != "Secret":
            _unresolved(lb, "InvalidCertificateRef", f"{where}: {ref.kind} is not a Secret")
            continue
        if not permitted(inp.grants, (GROUP, "Gateway", gw_ns), ("", "Secret", ns, ref.name)):
            msg = f"{where}: Secret {ns}/{ref.name}: no ReferenceGrant in {ns} allows it"
            _unresolved(lb, "RefNotPermitted", msg)
            continue
        if not inp.settings.import_tls_secrets:
            msg = f"{where}: TLS Secrets are not imported (--import-tls-secrets=false)"
            _unresolved(lb, "InvalidCertificateRef", msg)
            continue
        got = member_certificates(
            CertInput(inp.obj, ns, (), ((j, ref.name, ()),), None, True),
            inp.inventory,
            inp.secrets,
            inp.stack_id,
            inp.now,
        )
        _merge(out, got)
        for err in got.secret_errors:
            _unresolved(lb, "InvalidCertificateRef", f"{where}: {err.message}")
    if not refs and not configured and inp.inventory.aws_known:
        host = (li.hostname or "").lower()
        got = member_certificates(
            CertInput(inp.obj, gw_ns, (host,) if host else (), (), None, True),
            inp.inventory,
            inp.secrets,
            inp.stack_id,
            inp.now,
        )
        _merge(out, got)
    if not out.refs and inp.inventory.aws_known and lb.status.conditions[RESOLVED_REFS].status:
        _unresolved(
            lb,
            "InvalidCertificateRef",
            f"{lb.where}.tls.certificateRefs: none given, and no issued ACM certificate found "
            f"for hostname {li.hostname or '(none)'}",
        )


def _merge(into: MemberCertificates, got: MemberCertificates) -> None:
    into.refs += [r for r in got.refs if r not in into.refs]
    into.imported.update(got.imported)
    into.materials.update(got.materials)
    into.secret_errors += got.secret_errors


def _unresolved(lb: ListenerBuild, reason: str, message: str) -> None:
    lb.status.set(Cond(RESOLVED_REFS, False, reason, message))


def listener_error(inp: GatewayInput, lb: ListenerBuild) -> InvalidInputError | None:
    """The listener's first problem as an error naming the Gateway and the field."""
    for c in lb.status.conditions.values():
        if c.status == (c.type == CONFLICTED) and c.type != PROGRAMMED:
            field_, _, msg = c.message.partition(": ")
            if field_.startswith("spec."):
                return InvalidInputError(inp.obj, field_, msg)
            return InvalidInputError(inp.obj, lb.where, c.message)
    return None
