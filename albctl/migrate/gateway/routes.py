"""The group's listener rules (as the Ingress model built them, in priority order) as
HTTPRoutes: one per member Ingress and set of hostnames, attached to the Gateway's listeners by
port; what an HTTPRoute cannot carry goes to a ListenerRuleConfiguration per rule."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from albctl.migrate.gateway.actions import RuleAction, convert_action
from albctl.migrate.gateway.matches import Inexpressible, rule_matches
from albctl.model.desired import Action, Condition, Rule, Stack, Transform

API = "gateway.networking.k8s.io/v1"
CFG = "gateway.k8s.aws/v1beta1"
LRC = {"group": "gateway.k8s.aws", "kind": "ListenerRuleConfiguration"}


@dataclass
class RouteDraft:
    member: str  # ns/name of the Ingress
    hostnames: tuple[str, ...]
    ports: list[int] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    configs: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # rule index, spec
    unsupported: list[str] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)


def drafts(
    stack: Stack, services: dict[str, str], oidc_secrets: dict[str, str | None]
) -> list[RouteDraft]:
    """The routes of the stack's rules, per member and hostnames, identical rule lists on
    several ports merged into one route attached to each."""
    by_key: dict[tuple[str, tuple[str, ...], int], RouteDraft] = {}
    ports = {li.id: li.port for li in stack.listeners}
    for r in sorted(stack.rules, key=lambda r: (ports[r.listener], r.priority)):
        hosts = next((c.values for c in r.conditions if c.field == "host-header"), ())
        key = (r.ingress, tuple(hosts), ports[r.listener])
        d = by_key.setdefault(key, RouteDraft(r.ingress, tuple(hosts), [ports[r.listener]]))
        _add_rule(d, r.conditions, r.action, r.transforms, services, oidc_secrets.get(r.ingress))
    merged: list[RouteDraft] = []
    for d in by_key.values():
        same = next(
            (
                m
                for m in merged
                if (m.member, m.hostnames) == (d.member, d.hostnames)
                and (m.rules, m.configs) == (d.rules, d.configs)
            ),
            None,
        )
        if same is not None:
            same.ports += d.ports
        else:
            merged.append(d)
    return merged


def default_drafts(stack: Stack, services: dict[str, str], member: str) -> list[RouteDraft]:
    """A listener's default action other than the 404 (a defaultBackend, ssl-redirect): a
    catch-all route for its port, which the Gateway ranks after every other rule."""
    out: list[RouteDraft] = []
    for li in stack.listeners:
        fr = li.default_action.fixed_response
        if fr is not None and fr.status_code == "404" and not fr.message_body:
            continue
        d = RouteDraft(member, (), [li.port])
        _add_rule(d, (), li.default_action, (), services, None)
        out.append(d)
    return out


def _add_rule(
    d: RouteDraft,
    conditions: tuple[Condition, ...],
    action: Action,
    transforms: tuple[Transform, ...],
    services: dict[str, str],
    oidc_secret: str | None,
) -> None:
    try:
        rm = rule_matches(conditions)
    except Inexpressible as exc:
        d.unsupported.append(f"rule {len(d.rules) + 1}: {exc}")
        return
    ra: RuleAction = convert_action(action, transforms, services, oidc_secret)
    d.unsupported += ra.unsupported
    d.approximated += ra.approximated
    rule: dict[str, Any] = {}
    if rm.matches and rm.matches != [{"path": {"type": "PathPrefix", "value": "/"}}]:
        rule["matches"] = rm.matches
    filters = list(ra.filters)
    spec: dict[str, Any] = {}
    if ra.lrc_actions:
        spec["actions"] = ra.lrc_actions
    if rm.source_ips:
        spec["conditions"] = [
            {"field": "source-ip", "sourceIPConfig": {"values": list(rm.source_ips)}}
        ]
    if spec:
        d.configs.append((len(d.rules), spec))
        filters.append({"type": "ExtensionRef", "extensionRef": {**LRC, "name": ""}})
    if filters:
        rule["filters"] = filters
    if ra.backend_refs:
        rule["backendRefs"] = ra.backend_refs
    d.rules.append(rule)


def route_documents(d: RouteDraft, name: str, gateway: tuple[str, str]) -> list[dict[str, Any]]:
    """The HTTPRoute of a draft and its ListenerRuleConfigurations."""
    ns = d.member.partition("/")[0]
    gw_ns, gw_name = gateway
    parents = []
    for port in sorted(set(d.ports)):
        ref: dict[str, Any] = {"name": gw_name, "namespace": gw_ns, "port": port}
        parents.append(ref)
    docs: list[dict[str, Any]] = []
    rules = copy.deepcopy(d.rules)
    for i, spec in d.configs:
        cfg_name = f"{name}-rule-{i}"
        docs.append(
            {
                "apiVersion": CFG,
                "kind": "ListenerRuleConfiguration",
                "metadata": {"name": cfg_name, "namespace": ns},
                "spec": spec,
            }
        )
        rules[i]["filters"] = [
            {**f, "extensionRef": {**LRC, "name": cfg_name}} if f["type"] == "ExtensionRef" else f
            for f in rules[i]["filters"]
        ]
    for r in rules:
        for b in r.get("backendRefs", []):
            if b.get("namespace") == ns:
                del b["namespace"]
    route_spec: dict[str, Any] = {"parentRefs": parents, "rules": rules}
    if d.hostnames:
        route_spec["hostnames"] = list(d.hostnames)
    meta = {"name": name, "namespace": ns}
    route = {"apiVersion": API, "kind": "HTTPRoute", "metadata": meta, "spec": route_spec}
    return [route, *docs]


__all__ = ["RouteDraft", "Rule", "default_drafts", "drafts", "route_documents"]
