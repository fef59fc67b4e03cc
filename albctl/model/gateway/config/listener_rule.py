"""ListenerRuleConfiguration: what an HTTPRoute rule's ``ExtensionRef`` filter (group
``gateway.k8s.aws``, kind ListenerRuleConfiguration, the route's namespace) adds to its ALB
rules, as LBC reads it (docs/guide/gateway/listenerruleconfig.md, the CRD's validation rules):
at most one authentication (authenticate-cognito, authenticate-oidc, jwt-validation) run before
the rule's action, at most one routing action (fixed-response instead of the forward; forward:
target group stickiness of the route's forward; redirect: the query of the route's
RequestRedirect), source-ip conditions (on the matches ``matchIndexes`` names, else all), and
tags on the rules.

The fixed response, stickiness and source-ip condition are read by the parsers of the
``actions.*`` and ``conditions.*`` annotations; authentication by the checks of the auth
annotations (the OIDC client secret stays out of the model, as for Ingress).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.actions import parse_action, parse_conditions, stickiness
from albctl.model.desired import (
    Action,
    AuthenticateCognito,
    AuthenticateOidc,
    Condition,
    FixedResponseConfig,
)
from albctl.model.gateway.config.objects import (
    GROUP,
    LISTENER_RULE_CONFIGURATION,
    ConfigError,
    ConfigObject,
    ListenerRuleConfigurationSpec,
    RuleAction,
    read_spec,
)
from albctl.model.gateway.inputs import GatewayInput
from albctl.model.gateway.objects import HTTPRoute
from albctl.model.ingress.tags import check_user_tags
from albctl.model.values import auth as av

PRE_ROUTING = ("authenticate-cognito", "authenticate-oidc", "jwt-validation")
_CONFIG_OF = {
    "forward": "forwardConfig",
    "redirect": "redirectConfig",
    "fixed-response": "fixedResponseConfig",
    "authenticate-cognito": "authenticateCognitoConfig",
    "authenticate-oidc": "authenticateOIDCConfig",
    "jwt-validation": "jwtValidationConfig",
}


@dataclass
class RuleConfig:
    obj: str
    auth: dict[str, Any] = field(default_factory=dict)  # Action fields: oidc, cognito or jwt
    routing: str | None = None  # forward, redirect or fixed-response
    fixed: FixedResponseConfig | None = None
    stickiness: tuple[bool, int | None] | None = None
    redirect_query: str | None = None
    source_ip: list[tuple[tuple[int, ...] | None, Condition]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def apply(self, action: Action, where: str) -> Action:
        """The route rule's action (forward, redirect or fixed 500) with this configuration."""
        if self.routing == "fixed-response":
            action = Action(type="fixed-response", fixed_response=self.fixed)
        elif self.routing == "forward" and self.stickiness and action.type == "forward":
            on, duration = self.stickiness
            action = action.model_copy(
                update={"stickiness_enabled": on, "stickiness_duration": duration}
            )
        elif self.routing == "redirect":
            if action.redirect is None:
                raise ConfigError(
                    self.obj, "spec.actions", f"{where}: redirect needs a RequestRedirect filter"
                )
            redirect = action.redirect.model_copy(update={"query": self.redirect_query})
            action = action.model_copy(update={"redirect": redirect})
        return action.model_copy(update=self.auth) if self.auth else action

    def conditions(self, match_index: int) -> tuple[Condition, ...]:
        return tuple(c for idx, c in self.source_ip if idx is None or match_index in idx)


def rule_config(
    inp: GatewayInput, route: HTTPRoute, ri: int, secrets: MutableMapping[str, str]
) -> RuleConfig | None:
    """The configuration a rule's ExtensionRef filter names, or None."""
    refs = [
        (i, f.extension_ref)
        for i, f in enumerate(route.spec.rules[ri].filters)
        if f.type == "ExtensionRef" and f.extension_ref is not None
    ]
    if not refs:
        return None
    obj = f"{route.kind}/{route.key}"
    i, ref = refs[0]
    where = f"spec.rules[{ri}].filters[{i}].extensionRef"
    if len(refs) > 1:
        raise ConfigError(obj, where, "at most one ListenerRuleConfiguration per rule")
    if ref.group != GROUP or ref.kind != LISTENER_RULE_CONFIGURATION:
        raise ConfigError(obj, where, f"{ref.group}/{ref.kind} is not supported on ALB")
    key = f"{LISTENER_RULE_CONFIGURATION}/{route.metadata.namespace}/{ref.name}"
    found = inp.configs.get(key)
    if found is None:
        raise ConfigError(obj, where, f"{key} not found")
    return read_rule_config(inp, found, secrets)


def read_rule_config(
    inp: GatewayInput, c: ConfigObject, secrets: MutableMapping[str, str]
) -> RuleConfig:
    spec = read_spec(c, ListenerRuleConfigurationSpec)
    out = RuleConfig(c.obj, tags=dict(spec.tags or {}))
    if out.tags:
        try:
            check_user_tags(c.obj, out.tags, "spec.tags")
        except InvalidInputError as exc:
            raise ConfigError(c.obj, exc.field, exc.message) from None
    _check_actions(c, spec)
    for i, a in enumerate(spec.actions):
        where = f"spec.actions[{i}]"
        if a.type in PRE_ROUTING:
            out.auth = _auth(inp, c, a, where, secrets)
        else:
            _routing(c, a, where, out)
    for i, cond in enumerate(spec.conditions):
        where = f"spec.conditions[{i}]"
        if cond.source_ip_config is None:
            raise ConfigError(c.obj, f"{where}.sourceIPConfig", "required for field source-ip")
        data = [
            {"field": "source-ip", "sourceIpConfig": {"values": list(cond.source_ip_config.values)}}
        ]
        got = _reworded(c.obj, where, lambda d=data: parse_conditions(c.obj, "x", d))
        for condition in got:
            out.source_ip.append((cond.match_indexes, condition))
    return out


def _check_actions(c: ConfigObject, spec: ListenerRuleConfigurationSpec) -> None:
    """The CRD's validation rules (listenerruleconfig_types.go)."""
    for i, a in enumerate(spec.actions):
        given = set(a.model_dump(by_alias=True, exclude_none=True)) - {"type"}
        want = _CONFIG_OF[a.type]
        if a.type != "forward" and a.type != "redirect" and want not in given:
            raise ConfigError(c.obj, f"spec.actions[{i}].{want}", f"required for type {a.type}")
        extra = sorted(given - {want})
        if extra:
            raise ConfigError(c.obj, f"spec.actions[{i}].{extra[0]}", f"not for type {a.type}")
    pre = [a for a in spec.actions if a.type in PRE_ROUTING]
    if len(pre) > 1:
        raise ConfigError(c.obj, "spec.actions", "at most one authentication action")
    if len(spec.actions) - len(pre) > 1:
        raise ConfigError(c.obj, "spec.actions", "at most one routing action")


def _routing(c: ConfigObject, a: RuleAction, where: str, out: RuleConfig) -> None:
    out.routing = a.type
    if a.type == "fixed-response" and a.fixed_response_config is not None:
        data = {
            "type": "fixed-response",
            "fixedResponseConfig": a.fixed_response_config.model_dump(
                by_alias=True, exclude_none=True
            ),
        }
        out.fixed = _reworded(c.obj, where, lambda: parse_action(c.obj, "x", data)).fixed_response
    elif a.type == "forward":
        sticky = a.forward_config.stickiness if a.forward_config else None
        raw = sticky.model_dump(by_alias=True) if sticky else {}
        out.stickiness = _reworded(c.obj, where, lambda: stickiness(c.obj, "x", raw))
    elif a.type == "redirect":
        out.redirect_query = a.redirect_config.query if a.redirect_config else "#{query}"


def _auth(
    inp: GatewayInput, c: ConfigObject, a: RuleAction, where: str, secrets: MutableMapping[str, str]
) -> dict[str, Any]:
    cfg = a.cognito or a.oidc
    if a.jwt is not None:
        claims = [(cl.name, cl.format, cl.values) for cl in a.jwt.additional_claims]
        return {"jwt": av.jwt_validation(a.jwt.jwks_endpoint, a.jwt.issuer, claims)}
    assert cfg is not None
    sub = f"{where}.{_CONFIG_OF[a.type]}"

    def fail(m: str) -> InvalidInputError:
        return ConfigError(c.obj, sub, m)

    common = av.common(
        cfg.on_unauthenticated, cfg.scope, cfg.session_cookie, cfg.session_timeout, fail
    )
    extra = dict(cfg.extra_params or {})
    if a.cognito is not None:
        g = a.cognito
        return {
            "cognito": AuthenticateCognito(
                user_pool_arn=g.user_pool_arn,
                user_pool_client_id=g.user_pool_client_id,
                user_pool_domain=g.user_pool_domain,
                extra_params=extra,
                **common,
            )
        }
    assert a.oidc is not None
    o = a.oidc
    ref = f"{c.metadata.namespace}/{o.secret.name}"
    client_id, digest = av.oidc_client(
        inp.secrets,
        inp.inventory.aws_known,
        ref,
        c.obj,
        f"{sub}.secret",
        fail,
        secrets,
        "secret.name",
    )
    return {
        "oidc": AuthenticateOidc(
            issuer=o.issuer,
            authorization_endpoint=o.authorization_endpoint,
            token_endpoint=o.token_endpoint,
            user_info_endpoint=o.user_info_endpoint,
            client_id=client_id,
            client_secret_digest=digest,
            extra_params=extra,
            **common,
        )
    }


def _reworded(obj: str, where: str, parse: Any) -> Any:
    """Run an annotation parser on a CRD value; its error names the CRD field instead."""
    try:
        return parse()
    except InvalidInputError as exc:
        raise ConfigError(obj, where, exc.message) from None
