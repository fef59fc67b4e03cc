"""``actions.${name}`` and ``conditions.${name}`` annotations, parsed into typed values.

JSON field names match case-insensitively, as in LBC. Forward targets that name a Service are
returned as :class:`ServiceRef` so the builder can make target groups for them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX, ci_get
from albctl.model.desired import (
    Condition,
    FixedResponseConfig,
    QueryStringValue,
    RedirectConfig,
)


@dataclass(frozen=True)
class ServiceRef:
    name: str
    port: int | str
    weight: int


@dataclass(frozen=True)
class ArnRef:
    arn: str | None
    name: str | None
    weight: int


@dataclass(frozen=True)
class ParsedAction:
    type: str
    targets: tuple[ServiceRef | ArnRef, ...] = ()
    stickiness_enabled: bool = False
    stickiness_duration: int | None = None
    redirect: RedirectConfig | None = None
    fixed_response: FixedResponseConfig | None = None


def _err(obj: str, name: str, msg: str) -> InvalidInputError:
    return InvalidInputError(obj, f"annotation {PREFIX}{name}", msg)


def _str(v: Any) -> str | None:
    if v is None:
        return None
    return str(v)


def parse_action(obj: str, action_name: str, data: Any) -> ParsedAction:
    name = f"actions.{action_name}"
    if not isinstance(data, dict):
        raise _err(obj, name, "expected a JSON object with a 'type'")
    typ = ci_get(data, "type")
    if typ == "fixed-response":
        cfg = ci_get(data, "fixedResponseConfig")
        if not isinstance(cfg, dict) or ci_get(cfg, "statusCode") is None:
            raise _err(obj, name, "fixed-response needs fixedResponseConfig.statusCode")
        code = str(ci_get(cfg, "statusCode"))
        if not (len(code) == 3 and code.isdigit() and code[0] in "2345"):
            raise _err(obj, name, f"fixedResponseConfig.statusCode {code!r} is not 2XX/4XX/5XX")
        content_type = _str(ci_get(cfg, "contentType"))
        allowed = (
            "text/plain",
            "text/css",
            "text/html",
            "application/javascript",
            "application/json",
        )
        if content_type is not None and content_type not in allowed:
            raise _err(
                obj, name, f"contentType {content_type!r} is not one of {', '.join(allowed)}"
            )
        body = _str(ci_get(cfg, "messageBody"))
        if body is not None and len(body) > 1024:
            raise _err(obj, name, "messageBody is longer than 1024 characters")
        return ParsedAction(
            type="fixed-response",
            fixed_response=FixedResponseConfig(
                status_code=code, content_type=content_type, message_body=body
            ),
        )
    if typ == "redirect":
        cfg = ci_get(data, "redirectConfig")
        if not isinstance(cfg, dict) or ci_get(cfg, "statusCode") is None:
            raise _err(obj, name, "redirect needs redirectConfig.statusCode")
        code = str(ci_get(cfg, "statusCode"))
        if code not in ("HTTP_301", "HTTP_302"):
            raise _err(
                obj, name, f"redirectConfig.statusCode {code!r}: expected HTTP_301 or HTTP_302"
            )
        defaults = RedirectConfig()
        protocol = _str(ci_get(cfg, "protocol")) or defaults.protocol
        if protocol not in ("HTTP", "HTTPS", "#{protocol}"):
            raise _err(
                obj,
                name,
                f"redirectConfig.protocol {protocol!r}: expected HTTP, HTTPS or #{{protocol}}",
            )
        return ParsedAction(
            type="redirect",
            redirect=RedirectConfig(
                protocol=protocol,
                port=_str(ci_get(cfg, "port")) or defaults.port,
                host=_str(ci_get(cfg, "host")) or defaults.host,
                path=_str(ci_get(cfg, "path")) or defaults.path,
                query=_str(ci_get(cfg, "query"))
                if ci_get(cfg, "query") is not None
                else defaults.query,
                status_code=code,
            ),
        )
    if typ == "forward":
        return _parse_forward(obj, name, data)
    raise _err(obj, name, f"type {typ!r}: expected forward, redirect or fixed-response")


def _parse_forward(obj: str, name: str, data: dict[str, Any]) -> ParsedAction:
    simple_arn = ci_get(data, "targetGroupARN")
    simple_name = ci_get(data, "targetGroupName")
    cfg = ci_get(data, "forwardConfig")
    if (simple_arn or simple_name) and cfg:
        raise _err(
            obj, name, "set either targetGroupARN/targetGroupName or forwardConfig, not both"
        )
    if simple_arn or simple_name:
        return ParsedAction(
            type="forward", targets=(ArnRef(_str(simple_arn), _str(simple_name), 1),)
        )
    if not isinstance(cfg, dict):
        raise _err(obj, name, "forward needs targetGroupARN, targetGroupName or forwardConfig")
    entries = ci_get(cfg, "targetGroups")
    if not isinstance(entries, list) or not entries:
        raise _err(obj, name, "forwardConfig.targetGroups must be a non-empty list")
    if len(entries) > 5:
        raise _err(
            obj, name, f"forwardConfig.targetGroups has {len(entries)} entries; ALB allows 5"
        )
    targets = [_forward_target(obj, name, i, e, len(entries)) for i, e in enumerate(entries)]
    enabled, duration = stickiness(obj, name, ci_get(cfg, "targetGroupStickinessConfig") or {})
    return ParsedAction(
        type="forward",
        targets=tuple(targets),
        stickiness_enabled=enabled,
        stickiness_duration=duration if enabled else None,
    )


def _forward_target(obj: str, name: str, i: int, e: Any, count: int) -> ServiceRef | ArnRef:
    """One entry of forwardConfig.targetGroups: a Service port or a target group."""
    if not isinstance(e, dict):
        raise _err(obj, name, f"forwardConfig.targetGroups[{i}] must be an object")
    weight_raw = ci_get(e, "weight")
    if weight_raw is None and count > 1:
        raise _err(
            obj,
            name,
            f"forwardConfig.targetGroups[{i}].weight is required with several target groups",
        )
    try:
        weight = int(weight_raw) if weight_raw is not None else 1
    except (TypeError, ValueError):
        raise _err(
            obj, name, f"forwardConfig.targetGroups[{i}].weight must be an integer"
        ) from None
    if not 0 <= weight <= 999:
        raise _err(obj, name, f"forwardConfig.targetGroups[{i}].weight {weight} not in 0..999")
    svc = ci_get(e, "serviceName")
    arn, tg_name = ci_get(e, "targetGroupARN"), ci_get(e, "targetGroupName")
    if svc and (arn or tg_name):
        raise _err(
            obj,
            name,
            f"forwardConfig.targetGroups[{i}]: serviceName and targetGroupARN/Name are exclusive",
        )
    if svc:
        port = ci_get(e, "servicePort")
        if port is None:
            raise _err(
                obj,
                name,
                f"forwardConfig.targetGroups[{i}].servicePort is required with serviceName",
            )
        port_v: int | str = int(port) if str(port).isdigit() else str(port)
        return ServiceRef(str(svc), port_v, weight)
    if arn or tg_name:
        return ArnRef(_str(arn), _str(tg_name), weight)
    raise _err(obj, name, f"forwardConfig.targetGroups[{i}] needs serviceName or targetGroupARN")


def stickiness(obj: str, name: str, sticky: Any) -> tuple[bool, int | None]:
    """(enabled, duration) of targetGroupStickinessConfig (1 hour by default when enabled)."""
    enabled = bool(ci_get(sticky, "enabled")) if isinstance(sticky, dict) else False
    duration = ci_get(sticky, "durationSeconds") if isinstance(sticky, dict) else None
    if duration is not None:
        try:
            duration = int(duration)
        except (TypeError, ValueError):
            raise _err(
                obj, name, "targetGroupStickinessConfig.durationSeconds must be an integer"
            ) from None
        if not 1 <= duration <= 604800:
            raise _err(obj, name, "targetGroupStickinessConfig.durationSeconds must be 1..604800")
    if enabled and duration is None:
        duration = 3600
    return enabled, duration


_COND_CFG = {
    "host-header": "hostHeaderConfig",
    "path-pattern": "pathPatternConfig",
    "http-header": "httpHeaderConfig",
    "http-request-method": "httpRequestMethodConfig",
    "query-string": "queryStringConfig",
    "source-ip": "sourceIpConfig",
}


def _strings(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError("expected a list of strings")
    return tuple(v)


def parse_conditions(obj: str, cond_name: str, data: Any) -> list[Condition]:
    name = f"conditions.{cond_name}"
    if not isinstance(data, list):
        raise _err(obj, name, "expected a JSON list of conditions")
    out: list[Condition] = []
    for i, c in enumerate(data):
        where = f"[{i}]"
        if not isinstance(c, dict):
            raise _err(obj, name, f"{where} must be an object with a 'field'")
        field = ci_get(c, "field")
        if field not in _COND_CFG:
            raise _err(
                obj, name, f"{where}.field {field!r}: expected one of {', '.join(_COND_CFG)}"
            )
        cfg = (
            ci_get(c, _COND_CFG[field])
            if field != "source-ip"
            else ci_get(c, "sourceIpConfig", "sourceIPConfig")
        )
        if not isinstance(cfg, dict):
            # legacy form: {"field": ..., "values": [...]}
            legacy = ci_get(c, "values")
            if legacy is None or field in ("http-header", "query-string"):
                raise _err(obj, name, f"{where}: missing {_COND_CFG[field]}")
            cfg = {"values": legacy}
        try:
            values = _strings(ci_get(cfg, "values")) if field != "query-string" else ()
            regex = _strings(ci_get(cfg, "regexValues"))
        except ValueError as exc:
            raise _err(obj, name, f"{where}: {exc}") from None
        if field in ("host-header", "path-pattern", "http-header") and bool(values) == bool(regex):
            raise _err(obj, name, f"{where}: set exactly one of values or regexValues")
        if field == "http-header":
            hname = ci_get(cfg, "httpHeaderName")
            if not hname:
                raise _err(obj, name, f"{where}: httpHeaderConfig.httpHeaderName is required")
            out.append(
                Condition(
                    field=field, values=values, regex_values=regex, http_header_name=str(hname)
                )
            )
        elif field == "query-string":
            raw = ci_get(cfg, "values")
            if not isinstance(raw, list) or not raw:
                raise _err(obj, name, f"{where}: queryStringConfig.values must be a non-empty list")
            qv = []
            for kv in raw:
                if not isinstance(kv, dict) or not ci_get(kv, "value"):
                    raise _err(obj, name, f"{where}: each query value needs a non-empty 'value'")
                key = ci_get(kv, "key")
                qv.append(
                    QueryStringValue(
                        key=str(key) if key is not None else None, value=str(ci_get(kv, "value"))
                    )
                )
            out.append(Condition(field=field, query_values=tuple(qv)))
        elif field == "source-ip":
            if not values:
                raise _err(obj, name, f"{where}: sourceIpConfig.values must be non-empty")
            for v in values:
                try:
                    ipaddress.ip_network(v, strict=False)
                except ValueError:
                    raise _err(obj, name, f"{where}: {v!r} is not a CIDR") from None
            out.append(Condition(field=field, values=values))
        elif field == "http-request-method":
            if not values:
                raise _err(obj, name, f"{where}: httpRequestMethodConfig.values must be non-empty")
            out.append(Condition(field=field, values=values))
        else:
            out.append(Condition(field=field, values=values, regex_values=regex))
    return out
