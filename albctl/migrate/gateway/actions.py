"""An ALB rule's action (as the Ingress model builds it) as what an HTTPRoute rule carries:
backendRefs (weights kept), a RequestRedirect or URLRewrite filter, and the rest as a
ListenerRuleConfiguration spec (authentication, fixed response, stickiness, a redirect's query,
source-ip conditions), LBC's own way to say it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from albctl.model.desired import Action, Transform

PROTOCOLS = {"HTTP": "http", "HTTPS": "https"}


@dataclass
class RuleAction:
    backend_refs: list[dict[str, Any]] = field(default_factory=list)
    filters: list[dict[str, Any]] = field(default_factory=list)
    lrc_actions: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)


def convert_action(
    action: Action,
    transforms: tuple[Transform, ...],
    services: dict[str, str],
    oidc_secret: str | None,
) -> RuleAction:
    """``services``: target group id -> ``ns/name:port``; ``oidc_secret``: the Secret the
    Ingress's auth-idp-oidc names."""
    out = RuleAction()
    _auth(action, oidc_secret, out)
    if action.type == "forward":
        _forward(action, services, out)
    elif action.type == "redirect" and action.redirect is not None:
        _redirect(action, out)
    elif action.fixed_response is not None:
        fr = action.fixed_response
        cfg: dict[str, Any] = {"statusCode": int(fr.status_code)}
        if fr.content_type:
            cfg["contentType"] = fr.content_type
        if fr.message_body:
            cfg["messageBody"] = fr.message_body
        out.lrc_actions.append({"type": "fixed-response", "fixedResponseConfig": cfg})
    for t in transforms:
        _transform(t, out)
    return out


def _forward(action: Action, services: dict[str, str], out: RuleAction) -> None:
    for f in action.forward:
        svc = services.get(f.target_group)
        if svc is None:
            out.unsupported.append(
                f"forward to target group {f.target_group}: an HTTPRoute sends to Services only"
            )
            continue
        ns_name, _, port = svc.rpartition(":")
        ns, _, name = ns_name.partition("/")
        ref: dict[str, Any] = {"name": name, "namespace": ns, "port": int(port)}
        if len(action.forward) > 1:
            ref["weight"] = f.weight
        out.backend_refs.append(ref)
    if action.stickiness_enabled:
        sticky = {"enabled": True, "durationSeconds": action.stickiness_duration or 3600}
        out.lrc_actions.append(
            {"type": "forward", "forwardConfig": {"targetGroupStickinessConfig": sticky}}
        )


def _redirect(action: Action, out: RuleAction) -> None:
    r = action.redirect
    assert r is not None
    rr: dict[str, Any] = {"statusCode": 301 if r.status_code == "HTTP_301" else 302}
    if r.protocol in PROTOCOLS:
        rr["scheme"] = PROTOCOLS[r.protocol]
    elif r.protocol != "#{protocol}":
        out.unsupported.append(f"redirect protocol {r.protocol!r}")
    if r.host != "#{host}":
        if "#{" in r.host:
            out.unsupported.append(f"redirect host {r.host!r} with a placeholder")
        else:
            rr["hostname"] = r.host
    if r.port != "#{port}":
        if r.port.isdigit():
            rr["port"] = int(r.port)
        else:
            out.unsupported.append(f"redirect port {r.port!r}")
    if r.path != "/#{path}":
        if "#{" in r.path:
            out.unsupported.append(f"redirect path {r.path!r} with a placeholder")
        else:
            rr["path"] = {"type": "ReplaceFullPath", "replaceFullPath": r.path}
    out.filters.append({"type": "RequestRedirect", "requestRedirect": rr})
    if r.query != "#{query}":
        out.lrc_actions.append({"type": "redirect", "redirectConfig": {"query": r.query}})


def _auth(action: Action, oidc_secret: str | None, out: RuleAction) -> None:
    if action.cognito is not None:
        c = action.cognito
        cfg = {
            "userPoolArn": c.user_pool_arn,
            "userPoolClientId": c.user_pool_client_id,
            "userPoolDomain": c.user_pool_domain,
            **_auth_common(c),
        }
        out.lrc_actions.append({"type": "authenticate-cognito", "authenticateCognitoConfig": cfg})
    elif action.oidc is not None:
        o = action.oidc
        cfg = {
            "issuer": o.issuer,
            "authorizationEndpoint": o.authorization_endpoint,
            "tokenEndpoint": o.token_endpoint,
            "userInfoEndpoint": o.user_info_endpoint,
            "secret": {"name": oidc_secret or ""},
            **_auth_common(o),
        }
        out.lrc_actions.append({"type": "authenticate-oidc", "authenticateOIDCConfig": cfg})
    elif action.jwt is not None:
        j = action.jwt
        jwt: dict[str, Any] = {"issuer": j.issuer, "jwksEndpoint": j.jwks_endpoint}
        if j.additional_claims:
            jwt["additionalClaims"] = [
                {"name": c.name, "format": c.format, "values": list(c.values)}
                for c in j.additional_claims
            ]
        out.lrc_actions.append({"type": "jwt-validation", "jwtValidationConfig": jwt})


def _auth_common(a: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scope": a.scope,
        "onUnauthenticatedRequest": a.on_unauthenticated,
        "sessionCookieName": a.session_cookie,
        "sessionTimeout": a.session_timeout,
    }
    if a.extra_params:
        out["authenticationRequestExtraParams"] = dict(a.extra_params)
    return out


def _transform(t: Transform, out: RuleAction) -> None:
    """A host-header rewrite to a fixed host, or a url-rewrite of a path prefix, as URLRewrite;
    other rewrites (captures, partial host edits) have no Gateway API form."""
    [rw] = t.rewrites if len(t.rewrites) == 1 else (None,)
    if (
        rw is not None
        and t.type == "host-header-rewrite"
        and rw.regex in (".*", "^.*$")
        and "$" not in rw.replace
    ):
        out.filters.append({"type": "URLRewrite", "urlRewrite": {"hostname": rw.replace}})
        return
    if rw is not None and t.type == "url-rewrite":
        got = re.fullmatch(r"\^(/[^()*+?\[\]\\^$|{}]*?)/?\(\.\*\)\$?", rw.regex)
        if got and re.fullmatch(r"(/[^$]*?)/?\$1", rw.replace):
            new = rw.replace.removesuffix("$1").rstrip("/") or "/"
            out.filters.append(
                {
                    "type": "URLRewrite",
                    "urlRewrite": {
                        "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": new}
                    },
                }
            )
            out.approximated.append(
                f"{t.type} {rw.regex} -> {rw.replace}: as a ReplacePrefixMatch of the route's "
                "path prefix"
            )
            return
    out.unsupported.append(f"{t.type} transform: no Gateway API filter rewrites the same way")
