"""Whether two desired states route alike (pure), e.g. a Gateway and the IngressGroup it
replaces (``albctl migrate --to gateway``, ``albctl.io/adopt-ingress-group``): a request made to match each of the
group's ALB rules (and one for each listener's default) is routed through both desired states
with ALB's own matching (:mod:`albctl.model.router`); every request whose outcome differs is
reported. The Gateway API orders rules by how specific their matches are, an IngressGroup by
``group.order`` and path order, so a group that relies on its order can route differently."""

from __future__ import annotations

import ipaddress
import re

from albctl.errors import RouteError
from albctl.model.desired import Action, Rule, Stack
from albctl.model.router import RoutingTable, from_stack, parse_request, route


def differences(ingress: Stack, gateway: Stack) -> list[tuple[str, str]]:
    """(member Ingress, what differs) for each probe request routed differently."""
    ports = {li.id: (li.port, li.protocol) for li in ingress.listeners}
    a, b = from_stack(ingress), from_stack(gateway)
    out: list[tuple[str, str]] = []
    probes = [(r.ingress, _probe(r, *ports[r.listener])) for r in ingress.rules]
    probes += [("", _default_probe(port, proto)) for port, proto in ports.values()]
    for member, probe in probes:
        if probe is None:
            continue
        method, url, headers, source = probe
        req = parse_request(method, url, headers, source)
        try:
            got_a = _outcome(route(a, req).action, a)
            got_b = _outcome(route(b, req).action, b)
        except RouteError as exc:  # a listener the other does not have
            got_a, got_b = "served", f"not served ({exc})"
        if got_a != got_b:
            text = f"{method} {url}" + "".join(f" -H '{h}'" for h in headers)
            out.append((member, f"{text}: {got_a} on the Ingress, {got_b} on the Gateway"))
    return out


def _outcome(action: Action, table: RoutingTable) -> str:
    auth = (
        "oidc " if action.oidc else "cognito " if action.cognito else "jwt " if action.jwt else ""
    )
    if action.type == "forward":
        targets = sorted(
            f"{table.services.get(f.target_group, f.target_group)}*{f.weight}"
            for f in action.forward
        )
        sticky = f" sticky {action.stickiness_duration}" if action.stickiness_enabled else ""
        return f"{auth}forward {','.join(targets)}{sticky}"
    if action.redirect is not None:
        r = action.redirect
        return f"{auth}redirect {r.protocol}://{r.host}:{r.port}{r.path}?{r.query} {r.status_code}"
    fr = action.fixed_response
    assert fr is not None
    return f"{auth}fixed {fr.status_code} {fr.content_type or ''} {fr.message_body or ''}".strip()


def _sample(value: str) -> str:
    return value.replace("*", "x").replace("?", "x")


def _probe(rule: Rule, port: int, proto: str) -> tuple[str, str, list[str], str | None] | None:
    host, path, method, source = "probe.example.com", "/", "GET", None
    headers: list[str] = []
    query: list[str] = []
    for c in rule.conditions:
        if c.regex_values and not c.values:
            return None  # no sample for a regex
        if c.field == "host-header":
            host = _sample(c.values[0])
        elif c.field == "path-pattern":
            path = _sample(c.values[0])
        elif c.field == "http-header":
            headers.append(f"{c.http_header_name}: {_sample(c.values[0])}")
        elif c.field == "http-request-method":
            method = c.values[0]
        elif c.field == "query-string":
            q = c.query_values[0]
            query.append(f"{_unescape(q.key or 'x')}={_unescape(q.value)}")
        elif c.field == "source-ip":
            source = str(next(ipaddress.ip_network(c.values[0], strict=False).hosts(), "0.0.0.0"))
    scheme = "https" if proto == "HTTPS" else "http"
    url = f"{scheme}://{host}:{port}{path}" + (f"?{'&'.join(query)}" if query else "")
    return method, url, headers, source


def _default_probe(port: int, proto: str) -> tuple[str, str, list[str], None]:
    scheme = "https" if proto == "HTTPS" else "http"
    return "GET", f"{scheme}://no-such-host.invalid:{port}/no/such/path", [], None


def _unescape(v: str) -> str:
    return re.sub(r"\\(.)", r"\1", _sample(v))
