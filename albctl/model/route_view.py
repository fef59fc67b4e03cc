"""A routed request as JSON (``albctl route -o json``) and as one line of text (pure)."""

from __future__ import annotations

from typing import Any

from albctl.model.desired import Action, Condition, RedirectConfig
from albctl.model.router import Request, Route, RoutingTable

_DEFAULT_PORTS = {"HTTP": "80", "HTTPS": "443"}


def condition_json(c: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"field": c.field}
    if c.http_header_name:
        out["httpHeaderName"] = c.http_header_name
    if c.values:
        out["values"] = list(c.values)
    if c.regex_values:
        out["regexValues"] = list(c.regex_values)
    if c.query_values:
        out["values"] = [
            {"key": q.key, "value": q.value} if q.key is not None else {"value": q.value}
            for q in c.query_values
        ]
    return out


def location(r: RedirectConfig, req: Request, listener: int) -> str:
    """The Location ALB answers with for ``req``."""
    protocol = r.protocol.replace("#{protocol}", req.scheme.upper())
    port = r.port.replace("#{port}", str(listener))
    host = r.host.replace("#{host}", req.host)
    path = r.path.replace("#{path}", req.path.lstrip("/")).replace("#{host}", req.host)
    query = r.query.replace("#{query}", req.query)
    shown_port = "" if _DEFAULT_PORTS.get(protocol) == port else f":{port}"
    return f"{protocol.lower()}://{host}{shown_port}{path}" + (f"?{query}" if query else "")


def action_json(a: Action, table: RoutingTable, req: Request, listener: int) -> dict[str, Any]:
    if a.type == "forward":
        out: dict[str, Any] = {
            "type": "forward",
            "targetGroups": [
                {
                    "targetGroup": table.names.get(f.target_group, f.target_group),
                    "weight": f.weight,
                    "service": table.services.get(f.target_group),
                }
                for f in a.forward
            ],
        }
        if a.stickiness_enabled:
            out["stickiness"] = {"enabled": True, "durationSeconds": a.stickiness_duration}
        return out
    if a.type == "redirect":
        r = a.redirect or RedirectConfig()
        return {
            "type": "redirect",
            "statusCode": r.status_code,
            "location": location(r, req, listener),
            "redirectConfig": r.model_dump(),
        }
    f = a.fixed_response
    return {
        "type": "fixed-response",
        "statusCode": f.status_code if f else "",
        "contentType": f.content_type if f else None,
        "messageBody": f.message_body if f else None,
    }


def service(a: Action, table: RoutingTable) -> str | None:
    """The Service behind a forward action: the target group with the most weight."""
    if a.type != "forward" or not a.forward:
        return None
    top = max(a.forward, key=lambda f: f.weight)
    return table.services.get(top.target_group)


def route_json(r: Route, table: RoutingTable, req: Request) -> dict[str, Any]:
    return {
        "listener": r.listener,
        "rule": {
            "priority": r.priority if r.priority is not None else "default",
            "conditions": [condition_json(c) for c in r.conditions],
        },
        "action": action_json(r.action, table, req, r.listener),
        "service": service(r.action, table),
    }


def describe(data: dict[str, Any]) -> tuple[str, str, str, str]:
    """(listener, rule, action, service) columns of a route's JSON."""
    rule = data["rule"]
    conds = " & ".join(
        f"{c['field']}{' ' + c['httpHeaderName'] if 'httpHeaderName' in c else ''} "
        + "|".join(
            str(v) if not isinstance(v, dict) else f"{v.get('key') or ''}={v['value']}"
            for v in c.get("values", c.get("regexValues", []))
        )
        for c in rule["conditions"]
    )
    prio = str(rule["priority"]) + (f" ({conds})" if conds else "")
    a = data["action"]
    if a["type"] == "forward":
        action = "forward " + ", ".join(
            f"{t['targetGroup']}({t['weight']})" for t in a["targetGroups"]
        )
    elif a["type"] == "redirect":
        action = f"redirect {a['statusCode'][5:]} {a['location']}"
    else:
        action = f"fixed-response {a['statusCode']}"
    return str(data["listener"]), prio, action, data["service"] or "-"
