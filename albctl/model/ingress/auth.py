"""Authentication before a rule's action: auth-type with the Cognito or OIDC identity
provider (auth-idp-*, auth-* settings; a Service's annotations win when the rule forwards
to that one Service), and jwt-validation. Both run on HTTPS listeners only.

The OIDC client id and secret come from a Secret in the Ingress's namespace (keys
``clientID``, legacy ``clientId``, and ``clientSecret``). The model keeps only a digest of
the client secret; the secret itself goes to the applier, never into a plan or a log line.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.annotations import Annotations
from albctl.model.desired import (
    Action,
    AuthenticateCognito,
    AuthenticateOidc,
    JwtValidation,
)
from albctl.model.ingress.context import MemberContext
from albctl.model.values import auth as auth_values


class _CaseInsensitive(BaseModel):
    """JSON read with keys matched case-insensitively (as LBC's Go decoder does)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @classmethod
    def parse(cls, obj: str, annotation: str, data: Any) -> Any:
        if not isinstance(data, dict):
            raise InvalidInputError(obj, f"annotation {ANN}{annotation}", "expected a JSON object")
        lowered = {str(k).lower(): v for k, v in data.items()}
        try:
            return cls.model_validate(lowered)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(object)"
            raise InvalidInputError(
                obj, f"annotation {ANN}{annotation}", f"{where}: {first['msg']}"
            ) from None


class _CognitoJson(_CaseInsensitive):
    user_pool_arn: str = Field(alias="userpoolarn", min_length=1)
    user_pool_client_id: str = Field(alias="userpoolclientid", min_length=1)
    user_pool_domain: str = Field(alias="userpooldomain", min_length=1)
    extra_params: dict[str, str] = Field(
        default_factory=dict, alias="authenticationrequestextraparams"
    )


class _OidcJson(_CaseInsensitive):
    issuer: str = Field(min_length=1)
    authorization_endpoint: str = Field(alias="authorizationendpoint", min_length=1)
    token_endpoint: str = Field(alias="tokenendpoint", min_length=1)
    user_info_endpoint: str = Field(alias="userinfoendpoint", min_length=1)
    secret_name: str = Field(alias="secretname", min_length=1)
    extra_params: dict[str, str] = Field(
        default_factory=dict, alias="authenticationrequestextraparams"
    )


class _ClaimJson(_CaseInsensitive):
    name: str = Field(min_length=1)
    format: Literal["single-string", "string-array", "space-separated-values"]
    values: list[str] = Field(min_length=1)

    @classmethod
    def lower(cls, data: Any) -> Any:
        return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else data


class _JwtJson(_CaseInsensitive):
    jwks_endpoint: str = Field(alias="jwksendpoint", min_length=1)
    issuer: str = Field(min_length=1)
    additional_claims: list[_ClaimJson] = Field(default_factory=list, alias="additionalclaims")

    @field_validator("additional_claims", mode="before")
    @classmethod
    def _claims_keys(cls, v: Any) -> Any:
        return [_ClaimJson.lower(c) for c in v] if isinstance(v, list) else v


def oidc_secret_names(ann: Annotations) -> list[str]:
    """The Secret an auth-idp-oidc annotation names (for reading it before a build)."""
    got = ann.raw("auth-idp-oidc", service_override=True)
    if got is None:
        return []
    try:
        data = json.loads(got[1])
    except json.JSONDecodeError:
        return []
    if not isinstance(data, dict):
        return []
    name = next((v for k, v in data.items() if str(k).lower() == "secretname"), None)
    return [name] if isinstance(name, str) and name else []


def with_auth(ctx: MemberContext, action: Action, ann: Annotations) -> Action:
    """``action`` with the authentication or JWT validation its annotations ask for."""
    kind = ann.choice("auth-type", ("none", "oidc", "cognito"), service_override=True) or "none"
    jwt = _jwt(ctx)
    if jwt is not None and kind != "none":
        raise ctx.ann.error(
            ctx.obj, "jwt-validation", f"cannot be combined with auth-type {kind}: choose one"
        )
    if jwt is not None:
        return action.model_copy(update={"jwt": jwt})
    if kind == "cognito":
        return action.model_copy(update={"cognito": _cognito(ann)})
    if kind == "oidc":
        return action.model_copy(update={"oidc": _oidc(ctx, ann)})
    return action


def _common(ann: Annotations) -> dict[str, Any]:
    on_unauth = ann.choice("auth-on-unauthenticated-request", auth_values.ON_UNAUTHENTICATED, True)
    return auth_values.common(
        on_unauth,
        ann.string("auth-scope", service_override=True),
        ann.string("auth-session-cookie", service_override=True),
        ann.integer("auth-session-timeout", True, *auth_values.SESSION_TIMEOUT),
        lambda m: ann.error(ann.obj, "auth-session-timeout", m),
    )


def _idp_json(ann: Annotations, name: str) -> tuple[str, Any]:
    got = ann.json_value(name, service_override=True)
    if got is None:
        source = ann.raw("auth-type", service_override=True)
        raise ann.error(
            source[0] if source else ann.obj,
            name,
            f"is required with auth-type {name.rpartition('-')[2]}",
        )
    return got


def _cognito(ann: Annotations) -> AuthenticateCognito:
    source, data = _idp_json(ann, "auth-idp-cognito")
    cfg = _CognitoJson.parse(source, "auth-idp-cognito", data)
    return AuthenticateCognito(
        user_pool_arn=cfg.user_pool_arn,
        user_pool_client_id=cfg.user_pool_client_id,
        user_pool_domain=cfg.user_pool_domain,
        extra_params=cfg.extra_params,
        **_common(ann),
    )


def _oidc(ctx: MemberContext, ann: Annotations) -> AuthenticateOidc:
    source, data = _idp_json(ann, "auth-idp-oidc")
    cfg = _OidcJson.parse(source, "auth-idp-oidc", data)
    where = f"annotation {ANN}auth-idp-oidc"
    client_id, digest = auth_values.oidc_client(
        ctx.inp.secrets,
        ctx.inp.inventory.aws_known,
        f"{ctx.ns}/{cfg.secret_name}",
        source,
        where,
        lambda m: InvalidInputError(source, where, m),
        ctx.client_secrets,
    )
    return AuthenticateOidc(
        issuer=cfg.issuer,
        authorization_endpoint=cfg.authorization_endpoint,
        token_endpoint=cfg.token_endpoint,
        user_info_endpoint=cfg.user_info_endpoint,
        client_id=client_id,
        client_secret_digest=digest,
        extra_params=cfg.extra_params,
        **_common(ann),
    )


def _jwt(ctx: MemberContext) -> JwtValidation | None:
    got = ctx.ann.json_value("jwt-validation")
    if got is None:
        return None
    cfg = _JwtJson.parse(got[0], "jwt-validation", got[1])
    claims = [(c.name, c.format, c.values) for c in cfg.additional_claims]
    return auth_values.jwt_validation(cfg.jwks_endpoint, cfg.issuer, claims)


def needs_https(action: Action) -> str | None:
    """The annotation that makes ``action`` HTTPS-only, if any."""
    if action.jwt is not None:
        return "jwt-validation"
    if action.oidc is not None or action.cognito is not None:
        return "auth-type"
    return None
