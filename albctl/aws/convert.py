"""Conversions between the model's shapes and ELBv2/EC2 API shapes (both directions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from albctl.model.desired import (
    Action,
    AuthenticateCognito,
    AuthenticateOidc,
    Condition,
    FixedResponseConfig,
    ForwardTarget,
    HealthCheck,
    JwtClaim,
    JwtValidation,
    QueryStringValue,
    RedirectConfig,
    Rewrite,
    SecurityGroupRule,
    Transform,
)


def tags_to_aws(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tags_from_aws(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or []}


def actions_to_aws(
    action: Action,
    tg_arn: Callable[[str], str],
    client_secret: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """A rule's or listener's actions: the authentication or JWT validation first, if any,
    then the final action. ``client_secret`` gives an OIDC client secret by its digest."""
    pre = _pre_action(action, client_secret)
    final = _final_action_to_aws(action, tg_arn)
    if pre is None:
        return [final]
    return [{**pre, "Order": 1}, {**final, "Order": 2}]


def _auth_common(a: AuthenticateOidc | AuthenticateCognito) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SessionCookieName": a.session_cookie,
        "Scope": a.scope,
        "SessionTimeout": a.session_timeout,
        "OnUnauthenticatedRequest": a.on_unauthenticated,
    }
    if a.extra_params:
        out["AuthenticationRequestExtraParams"] = dict(a.extra_params)
    return out


def _pre_action(
    action: Action, client_secret: Callable[[str], str] | None
) -> dict[str, Any] | None:
    if action.oidc is not None:
        o = action.oidc
        if client_secret is None:
            raise ValueError("an OIDC action needs its client secret")
        cfg = {
            "Issuer": o.issuer,
            "AuthorizationEndpoint": o.authorization_endpoint,
            "TokenEndpoint": o.token_endpoint,
            "UserInfoEndpoint": o.user_info_endpoint,
            "ClientId": o.client_id,
            "ClientSecret": client_secret(o.client_secret_digest),
            **_auth_common(o),
        }
        return {"Type": "authenticate-oidc", "AuthenticateOidcConfig": cfg}
    if action.cognito is not None:
        c = action.cognito
        cfg = {
            "UserPoolArn": c.user_pool_arn,
            "UserPoolClientId": c.user_pool_client_id,
            "UserPoolDomain": c.user_pool_domain,
            **_auth_common(c),
        }
        return {"Type": "authenticate-cognito", "AuthenticateCognitoConfig": cfg}
    if action.jwt is not None:
        j = action.jwt
        jwt: dict[str, Any] = {"JwksEndpoint": j.jwks_endpoint, "Issuer": j.issuer}
        if j.additional_claims:
            jwt["AdditionalClaims"] = [
                {"Name": c.name, "Format": c.format, "Values": list(c.values)}
                for c in j.additional_claims
            ]
        return {"Type": "jwt-validation", "JwtValidationConfig": jwt}
    return None


def _final_action_to_aws(action: Action, tg_arn: Callable[[str], str]) -> dict[str, Any]:
    if action.type == "forward":
        sticky: dict[str, Any] = {"Enabled": action.stickiness_enabled}
        if action.stickiness_enabled and action.stickiness_duration:
            sticky["DurationSeconds"] = action.stickiness_duration
        return {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": tg_arn(f.target_group), "Weight": f.weight}
                    for f in action.forward
                ],
                "TargetGroupStickinessConfig": sticky,
            },
        }
    if action.type == "redirect":
        r = action.redirect or RedirectConfig()
        return {
            "Type": "redirect",
            "RedirectConfig": {
                "Protocol": r.protocol,
                "Port": r.port,
                "Host": r.host,
                "Path": r.path,
                "Query": r.query,
                "StatusCode": r.status_code,
            },
        }
    f = action.fixed_response or FixedResponseConfig(status_code="404")
    cfg: dict[str, Any] = {"StatusCode": f.status_code}
    if f.content_type:
        cfg["ContentType"] = f.content_type
    if f.message_body:
        cfg["MessageBody"] = f.message_body
    return {"Type": "fixed-response", "FixedResponseConfig": cfg}


def action_from_aws(
    actions: list[dict[str, Any]], tg_id: Callable[[str], str], oidc_digest: str = ""
) -> Action:
    """A rule's or listener's action as the model has it. AWS never returns an OIDC client
    secret: ``oidc_digest`` is the digest albctl tagged the resource with."""
    final = _final_action_from_aws(actions, tg_id)
    pre = [a for a in actions if a.get("Type") not in _FINAL]
    if not pre:
        return final
    return final.model_copy(update=_pre_action_from_aws(pre[0], oidc_digest))


_FINAL = ("forward", "redirect", "fixed-response")


def _auth_common_from_aws(cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "scope": cfg.get("Scope", "openid"),
        "session_cookie": cfg.get("SessionCookieName", "AWSELBAuthSessionCookie"),
        "session_timeout": int(cfg.get("SessionTimeout", 604800)),
        "on_unauthenticated": cfg.get("OnUnauthenticatedRequest", "authenticate"),
        "extra_params": dict(cfg.get("AuthenticationRequestExtraParams") or {}),
    }


def _pre_action_from_aws(a: dict[str, Any], oidc_digest: str) -> dict[str, Any]:
    if a["Type"] == "authenticate-oidc":
        cfg = a.get("AuthenticateOidcConfig") or {}
        oidc = AuthenticateOidc(
            issuer=cfg.get("Issuer", ""),
            authorization_endpoint=cfg.get("AuthorizationEndpoint", ""),
            token_endpoint=cfg.get("TokenEndpoint", ""),
            user_info_endpoint=cfg.get("UserInfoEndpoint", ""),
            client_id=cfg.get("ClientId", ""),
            client_secret_digest=oidc_digest,
            **_auth_common_from_aws(cfg),
        )
        return {"oidc": oidc}
    if a["Type"] == "authenticate-cognito":
        cfg = a.get("AuthenticateCognitoConfig") or {}
        cognito = AuthenticateCognito(
            user_pool_arn=cfg.get("UserPoolArn", ""),
            user_pool_client_id=cfg.get("UserPoolClientId", ""),
            user_pool_domain=cfg.get("UserPoolDomain", ""),
            **_auth_common_from_aws(cfg),
        )
        return {"cognito": cognito}
    cfg = a.get("JwtValidationConfig") or {}
    claims = tuple(
        JwtClaim(name=c["Name"], format=c["Format"], values=tuple(c.get("Values") or ()))
        for c in cfg.get("AdditionalClaims") or ()
    )
    jwt = JwtValidation(
        jwks_endpoint=cfg.get("JwksEndpoint", ""),
        issuer=cfg.get("Issuer", ""),
        additional_claims=claims,
    )
    return {"jwt": jwt}


def transforms_to_aws(transforms: tuple[Transform, ...]) -> list[dict[str, Any]]:
    out = []
    for t in transforms:
        key = "HostHeaderRewriteConfig" if t.type == "host-header-rewrite" else "UrlRewriteConfig"
        rewrites = [{"Regex": r.regex, "Replace": r.replace} for r in t.rewrites]
        out.append({"Type": t.type, key: {"Rewrites": rewrites}})
    return out


def transforms_from_aws(raw: list[dict[str, Any]] | None) -> tuple[Transform, ...]:
    out = []
    for t in raw or []:
        cfg = t.get("HostHeaderRewriteConfig") or t.get("UrlRewriteConfig") or {}
        rewrites = tuple(
            Rewrite(regex=r.get("Regex", ""), replace=r.get("Replace", ""))
            for r in cfg.get("Rewrites") or ()
        )
        out.append(Transform(type=t["Type"], rewrites=rewrites))
    return tuple(out)


def _final_action_from_aws(actions: list[dict[str, Any]], tg_id: Callable[[str], str]) -> Action:
    terminal = [a for a in actions if a.get("Type") in _FINAL]
    if not terminal:
        return Action(type="fixed-response", fixed_response=FixedResponseConfig(status_code="000"))
    a = sorted(terminal, key=lambda x: x.get("Order", 0))[-1]
    if a["Type"] == "forward":
        fc = a.get("ForwardConfig") or {}
        tgs = fc.get("TargetGroups") or (
            [{"TargetGroupArn": a["TargetGroupArn"]}] if a.get("TargetGroupArn") else []
        )
        sticky = fc.get("TargetGroupStickinessConfig") or {}
        enabled = bool(sticky.get("Enabled", False))
        return Action(
            type="forward",
            forward=tuple(
                ForwardTarget(
                    target_group=tg_id(t["TargetGroupArn"]), weight=int(t.get("Weight", 1))
                )
                for t in tgs
            ),
            stickiness_enabled=enabled,
            stickiness_duration=sticky.get("DurationSeconds") if enabled else None,
        )
    if a["Type"] == "redirect":
        rc = a.get("RedirectConfig") or {}
        d = RedirectConfig()
        return Action(
            type="redirect",
            redirect=RedirectConfig(
                protocol=rc.get("Protocol", d.protocol),
                port=rc.get("Port", d.port),
                host=rc.get("Host", d.host),
                path=rc.get("Path", d.path),
                query=rc.get("Query", d.query),
                status_code=rc.get("StatusCode", "HTTP_301"),
            ),
        )
    fc = a.get("FixedResponseConfig") or {}
    return Action(
        type="fixed-response",
        fixed_response=FixedResponseConfig(
            status_code=str(fc.get("StatusCode", "")),
            content_type=fc.get("ContentType") or None,
            message_body=fc.get("MessageBody") or None,
        ),
    )


_CFG = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}


def condition_to_aws(c: Condition) -> dict[str, Any]:
    key = _CFG[c.field]
    if c.field == "query-string":
        vals = []
        for q in c.query_values:
            v: dict[str, str] = {"Value": q.value}
            if q.key is not None:
                v["Key"] = q.key
            vals.append(v)
        return {"Field": c.field, key: {"Values": vals}}
    cfg: dict[str, Any] = {}
    if c.values:
        cfg["Values"] = list(c.values)
    if c.regex_values:
        cfg["RegexValues"] = list(c.regex_values)
    if c.field == "http-header":
        cfg["HttpHeaderName"] = c.http_header_name
    return {"Field": c.field, key: cfg}


def condition_from_aws(raw: dict[str, Any]) -> Condition:
    field = raw["Field"]
    cfg = raw.get(_CFG.get(field, ""), {}) or {}
    if field == "query-string":
        return Condition(
            field="query-string",
            query_values=tuple(
                QueryStringValue(key=v.get("Key"), value=v["Value"]) for v in cfg.get("Values", [])
            ),
        )
    values = tuple(cfg.get("Values") or raw.get("Values") or ())
    regex = tuple(cfg.get("RegexValues") or raw.get("RegexValues") or ())
    return Condition(
        field=field,
        values=values,
        regex_values=regex,
        http_header_name=cfg.get("HttpHeaderName") if field == "http-header" else None,
    )


def health_check_to_aws(hc: HealthCheck) -> dict[str, Any]:
    matcher = {"GrpcCode": hc.grpc_code} if hc.grpc_code else {"HttpCode": hc.http_code or "200"}
    return {
        "HealthCheckProtocol": hc.protocol,
        "HealthCheckPort": hc.port,
        "HealthCheckPath": hc.path,
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": hc.interval_seconds,
        "HealthCheckTimeoutSeconds": hc.timeout_seconds,
        "HealthyThresholdCount": hc.healthy_threshold,
        "UnhealthyThresholdCount": hc.unhealthy_threshold,
        "Matcher": matcher,
    }


def health_check_from_aws(tg: dict[str, Any]) -> HealthCheck:
    m = tg.get("Matcher") or {}
    return HealthCheck(
        protocol=tg.get("HealthCheckProtocol", "HTTP"),
        port=str(tg.get("HealthCheckPort", "traffic-port")),
        path=tg.get("HealthCheckPath", "/"),
        interval_seconds=int(tg.get("HealthCheckIntervalSeconds", 30)),
        timeout_seconds=int(tg.get("HealthCheckTimeoutSeconds", 5)),
        healthy_threshold=int(tg.get("HealthyThresholdCount", 5)),
        unhealthy_threshold=int(tg.get("UnhealthyThresholdCount", 2)),
        http_code=m.get("HttpCode"),
        grpc_code=m.get("GrpcCode"),
    )


def sg_rules_from_aws(perms: list[dict[str, Any]]) -> tuple[SecurityGroupRule, ...]:
    out: list[SecurityGroupRule] = []
    for p in perms:
        if p.get("IpProtocol") not in ("tcp", "6"):
            continue
        lo, hi = int(p.get("FromPort", 0)), int(p.get("ToPort", 0))
        for r in p.get("IpRanges", []):
            out.append(SecurityGroupRule(from_port=lo, to_port=hi, cidr=r["CidrIp"]))
        for r in p.get("Ipv6Ranges", []):
            out.append(SecurityGroupRule(from_port=lo, to_port=hi, cidr=r["CidrIpv6"]))
        for r in p.get("PrefixListIds", []):
            out.append(SecurityGroupRule(from_port=lo, to_port=hi, prefix_list=r["PrefixListId"]))
    return tuple(sorted(set(out), key=lambda r: (r.from_port, r.cidr, r.prefix_list)))


def sg_rules_to_aws(rules: list[SecurityGroupRule]) -> list[dict[str, Any]]:
    perms: list[dict[str, Any]] = []
    for r in rules:
        p: dict[str, Any] = {"IpProtocol": r.protocol, "FromPort": r.from_port, "ToPort": r.to_port}
        if r.prefix_list:
            p["PrefixListIds"] = [{"PrefixListId": r.prefix_list}]
        elif ":" in r.cidr:
            p["Ipv6Ranges"] = [{"CidrIpv6": r.cidr}]
        else:
            p["IpRanges"] = [{"CidrIp": r.cidr}]
        perms.append(p)
    return perms
