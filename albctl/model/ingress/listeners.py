"""Listeners: ports and protocols, certificates, SSL policy, default actions, ssl-redirect."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.annotations import ci_get
from albctl.model.desired import (
    Action,
    FixedResponseConfig,
    Listener,
    MutualAuthentication,
    RedirectConfig,
)
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.inputs import MAX_CERTS_PER_LISTENER, MAX_LISTENERS
from albctl.model.ingress.listener_rules import with_secret_digest
from albctl.model.values import listener as mtls_values


def ssl_redirect(ctx: MemberContext) -> int | None:
    redirect = ctx.ann.integer("ssl-redirect", minimum=1, maximum=65535)
    ps = ctx.spec
    if ps and ps.ssl_redirect_port and ps.ssl_redirect_port.isdigit():
        redirect = int(ps.ssl_redirect_port)
    return redirect


def explicit_certificates(ctx: MemberContext) -> list[str] | None:
    """certificate-arn (or the IngressClassParams' certificateArn), checked to be ARNs."""
    ps = ctx.spec
    certs = ctx.ann.string_list("certificate-arn")
    if ps and ps.certificate_arn:
        certs = list(ps.certificate_arn)
    if certs is None:
        return None
    from_params = bool(ps and ps.certificate_arn)
    return mtls_values.certificate_arns(
        certs, lambda m: ctx.error(from_params, "certificate-arn", "certificateArn", m)
    )


def tls_secrets(ctx: MemberContext) -> list[tuple[int, str, tuple[str, ...]]]:
    """(index, secretName, hosts) of the spec.tls entries to import, when importing."""
    if not ctx.inp.settings.import_tls_secrets:
        return []
    return [
        (i, t.secret_name, tuple(t.hosts)) for i, t in enumerate(ctx.ing.spec.tls) if t.secret_name
    ]


def listen_ports(ctx: MemberContext, has_certs: bool) -> dict[int, str]:
    """listen-ports, or HTTPS:443 with certificates and HTTP:80 without."""
    got = ctx.ann.json_value("listen-ports")
    if got is None:
        return {443: "HTTPS"} if has_certs else {80: "HTTP"}
    src, data = got
    bad = ctx.ann.error(
        src, "listen-ports", 'expected a JSON list like [{"HTTP": 80}, {"HTTPS": 443}]'
    )
    if not isinstance(data, list) or not data:
        raise bad
    ports: dict[int, str] = {}
    for entry in data:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise bad
        ((proto, port),) = entry.items()
        if proto not in ("HTTP", "HTTPS") or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ctx.ann.error(
                src, "listen-ports", f"{entry!r}: protocol must be HTTP or HTTPS, port 1-65535"
            )
        if ports.get(port, proto) != proto:
            raise ctx.ann.error(src, "listen-ports", f"port {port} listed with two protocols")
        ports[port] = proto
    if len(ports) > MAX_LISTENERS:
        raise QuotaExceededError(ctx.obj, f"annotation {ANN}listen-ports", "too many listeners")
    return ports


def ssl_policy(ctx: MemberContext) -> str | None:
    policy = ctx.ann.string("ssl-policy")
    if ctx.spec and ctx.spec.ssl_policy:
        policy = ctx.spec.ssl_policy
    return policy


def listener_attributes(
    ctx: MemberContext, ports: Mapping[int, str]
) -> tuple[dict[int, dict[str, str]], list[tuple[str, str]]]:
    """``listener-attributes.${Protocol}-${Port}`` per listener port of this Ingress, the
    IngressClassParams' ``listeners[]`` winning per key; and warnings for annotations naming
    a listener the Ingress does not have (ignored, as in LBC)."""
    out: dict[int, dict[str, str]] = {}
    warnings: list[tuple[str, str]] = []
    for suffix in sorted(ctx.ann.prefixed("listener-attributes.")):
        name = f"listener-attributes.{suffix}"
        proto, _, port_text = suffix.partition("-")
        port = int(port_text) if port_text.isdigit() else None
        if port is None or ports.get(port) != proto:
            warnings.append(
                (
                    ctx.obj,
                    f"annotation {ANN}{name} is ignored: the Ingress has no {proto or '?'} "
                    f"listener on port {port_text or '?'} (listen-ports)",
                )
            )
            continue
        out[port] = ctx.ann.string_map(name) or {}
    if ctx.spec:
        for li in ctx.spec.listeners:
            if ports.get(li.port) == li.protocol:
                attrs = out.setdefault(li.port, {})
                attrs.update({a.key: a.value for a in li.listener_attributes})
    return {p: a for p, a in out.items() if a}, warnings


def mutual_authentication(
    ctx: MemberContext, ports: Mapping[int, str]
) -> dict[int, MutualAuthentication]:
    """``mutual-authentication``: mTLS per HTTPS port of this Ingress (validated as LBC does;
    trust store names resolved to ARNs)."""
    got = ctx.ann.json_value("mutual-authentication")
    if got is None:
        return {}
    src, data = got
    if not isinstance(data, list) or not data or not all(isinstance(e, dict) for e in data):
        raise ctx.ann.error(
            src,
            "mutual-authentication",
            'expected a JSON list like [{"port": 443, "mode": "verify", "trustStore": "name"}]',
        )
    out: dict[int, MutualAuthentication] = {}
    for entry in data:
        got_entry = _mtls_entry(ctx, src, entry, ports)
        port = ci_get(entry, "port")
        if port in out:
            raise _mtls_error(ctx, src, entry, f"port {port} is listed twice")
        out[port] = got_entry
    return out


def _mtls_error(ctx: MemberContext, src: str, entry: Any, why: str) -> InvalidInputError:
    return ctx.ann.error(src, "mutual-authentication", f"{entry!r}: {why}")


def _mtls_entry(
    ctx: MemberContext, src: str, entry: dict[str, Any], ports: Mapping[int, str]
) -> MutualAuthentication:
    port = ci_get(entry, "port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise _mtls_error(ctx, src, entry, "port must be a number 1-65535")
    if ports.get(port) != "HTTPS":
        raise _mtls_error(ctx, src, entry, f"port {port} is not an HTTPS port in listen-ports")
    return mtls_values.mutual_authentication(
        ctx.inp.inventory,
        ci_get(entry, "mode"),
        {k: ci_get(entry, k) for k in mtls_values.VERIFY_ONLY},
        lambda why: _mtls_error(ctx, src, entry, why),
    )


def check_ssl_redirect(ports: Mapping[int, tuple[str, str]], port: int | None, setter: str) -> None:
    if port is not None and ports.get(port, ("",))[0] != "HTTPS":
        raise InvalidInputError(
            f"Ingress/{setter}",
            f"annotation {ANN}ssl-redirect",
            f"port {port} is not an HTTPS listener of the group",
        )


def default_action(proto: str, redirect_port: int | None, member_default: Action | None) -> Action:
    """ssl-redirect on HTTP, else the group's defaultBackend, else a fixed 404."""
    if proto == "HTTP" and redirect_port is not None:
        return Action(
            type="redirect",
            redirect=RedirectConfig(
                protocol="HTTPS", port=str(redirect_port), status_code="HTTP_301"
            ),
        )
    if member_default is not None:
        return member_default
    return Action(
        type="fixed-response",
        fixed_response=FixedResponseConfig(status_code="404", content_type="text/plain"),
    )


def listener_certificates(
    port: int, objs: Sequence[str], certs_by_member: Sequence[list[str]]
) -> list[str]:
    """The certificates of an HTTPS listener: its members' in group order, once each."""
    certs: list[str] = []
    for member_certs in certs_by_member:
        certs += member_certs
    certs = list(dict.fromkeys(certs))
    if len(certs) > MAX_CERTS_PER_LISTENER + 1:
        raise QuotaExceededError(
            objs[-1],
            f"annotation {ANN}certificate-arn",
            f"listener {port} would have {len(certs)} certificates; ALB allows "
            f"{MAX_CERTS_PER_LISTENER} plus the default",
        )
    return certs


def build_listener(
    port: int,
    proto: str,
    ssl_policy: str | None,
    certificates: list[str],
    default: Action,
    owned: Callable[[str, Mapping[str, str]], dict[str, str]],
    base_tags: Mapping[str, str],
    attributes: Mapping[str, str] | None = None,
    mtls: MutualAuthentication | None = None,
) -> Listener:
    lid = str(port)
    return Listener(
        id=lid,
        port=port,
        protocol=proto,
        ssl_policy=ssl_policy if proto == "HTTPS" else None,
        certificates=tuple(certificates),
        default_action=default,
        tags=owned(lid, with_secret_digest(base_tags, default)),
        attributes=dict(sorted((attributes or {}).items())),
        mutual_authentication=mtls if proto == "HTTPS" else None,
    )
