"""One IngressGroup as a Gateway: the Gateway (carrying the adopt annotation), its
LoadBalancerConfiguration, TargetGroupConfigurations, HTTPRoutes and ListenerRuleConfigurations,
and the findings of each member Ingress."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from albctl.migrate.gateway.findings import annotation_findings
from albctl.migrate.gateway.load_balancer import load_balancer_spec, target_group_props
from albctl.migrate.gateway.routes import (
    API,
    CFG,
    RouteDraft,
    default_drafts,
    drafts,
    route_documents,
)
from albctl.migrate.report import IngressReport
from albctl.model.adopt_group import ADOPT_ANNOTATION
from albctl.model.annotations import PREFIX, Annotations, parse_map
from albctl.model.desired import Stack
from albctl.model.groups import Group
from albctl.model.ingress.auth import oidc_secret_names

ADOPT = ADOPT_ANNOTATION
CLASS = "alb"


@dataclass
class GroupDocs:
    gateway: tuple[str, str]  # namespace, name
    documents: list[dict[str, Any]] = field(default_factory=list)
    reports: list[IngressReport] = field(default_factory=list)
    routes: dict[str, list[str]] = field(default_factory=dict)  # member -> its routes


def gateway_name(group: Group) -> tuple[str, str]:
    first = group.members[0].ingress
    if group.explicit:
        return first.metadata.namespace, group.id
    return first.metadata.namespace, first.metadata.name


def convert_group(group: Group, stack: Stack) -> GroupDocs:
    gw_ns, gw_name = gateway_name(group)
    out = GroupDocs((gw_ns, gw_name))
    reports = {m.key: _report(m.key, group) for m in group.members}
    out.reports = list(reports.values())
    subnets_given = any(PREFIX + "subnets" in m.ingress.metadata.annotations for m in group.members)
    lb_spec, lb_problems = load_balancer_spec(stack, subnets_given)
    for p in lb_problems:
        reports[group.members[0].key].add("load balancer", "unsupported", p)
    out.documents += _gateway(group, stack, gw_ns, gw_name)
    out.documents.append(_config("LoadBalancerConfiguration", gw_name, gw_ns, lb_spec))
    services = {tg.id: tg.service for tg in stack.target_groups}
    secrets = {m.key: _oidc_secret(m.ingress.metadata.annotations) for m in group.members}
    names: dict[str, int] = {}
    for d in drafts(stack, services, secrets):
        member_name = d.member.partition("/")[2]
        n = names[d.member] = names.get(d.member, 0) + 1
        name = member_name if n == 1 else f"{member_name}-{n}"
        out.documents += route_documents(d, name, out.gateway)
        out.routes.setdefault(d.member, []).append(f"HTTPRoute/{d.member.partition('/')[0]}/{name}")
        _findings(reports[d.member], d)
    for d in default_drafts(stack, services, f"{gw_ns}/{gw_name}"):
        # a listener's default action (defaultBackend, ssl-redirect): the group's own route
        name = f"{gw_name}-default-{d.ports[0]}"
        out.documents += route_documents(d, name, out.gateway)
        report = reports[group.members[0].key]
        report.add("default action", "mapped", f"port {d.ports[0]}", (f"HTTPRoute/{gw_ns}/{name}",))
        _findings(report, d)
    for m in group.members:
        annotation_findings(reports[m.key], m.ingress.metadata.annotations, f"{gw_ns}/{gw_name}")
    for key, rep in reports.items():
        rep.routes = out.routes.get(key, [])
    out.documents += _target_group_configs(group, stack, out.routes)
    return out


def _report(key: str, group: Group) -> IngressReport:
    ns, name = gateway_name(group)
    return IngressReport(
        ingress=key, output=None, group=group.id if group.explicit else None, gateway=f"{ns}/{name}"
    )


def _findings(rep: IngressReport, d: RouteDraft) -> None:
    for u in d.unsupported:
        rep.add("rule", "unsupported", u)
    for a in d.approximated:
        rep.add("rule", "approximated", a)


def _oidc_secret(annotations: dict[str, str]) -> str | None:
    names = oidc_secret_names(Annotations("Ingress", annotations))
    return names[0] if names else None


def _gateway(group: Group, stack: Stack, ns: str, name: str) -> list[dict[str, Any]]:
    listeners: list[dict[str, Any]] = []
    grants: list[dict[str, Any]] = []
    for li in stack.listeners:
        base = {
            "name": f"{li.protocol.lower()}-{li.port}",
            "port": li.port,
            "protocol": li.protocol,
            "allowedRoutes": {"namespaces": {"from": "All"}},
        }
        if li.protocol == "HTTPS" and not any(c.startswith("arn:aws") for c in li.certificates):
            got, grants_ = _tls(group, base, ns)
            listeners += got
            grants += [g for g in grants_ if g not in grants]
        else:
            listeners.append(base)
    return [
        {
            "apiVersion": API,
            "kind": "Gateway",
            "metadata": {"name": name, "namespace": ns, "annotations": {ADOPT: group.id}},
            "spec": {
                "gatewayClassName": CLASS,
                "infrastructure": {
                    "parametersRef": {
                        "group": "gateway.k8s.aws",
                        "kind": "LoadBalancerConfiguration",
                        "name": name,
                    }
                },
                "listeners": listeners,
            },
        },
        *grants,
    ]


def _tls(
    group: Group, base: dict[str, Any], gw_ns: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An HTTPS listener whose certificates are not ARNs: the members' TLS Secrets as its
    certificateRefs (a ReferenceGrant for each other namespace), else one listener per host
    (ACM discovery by the listener's hostname, as the Ingress discovered by its hosts)."""
    refs: list[dict[str, Any]] = []
    hosts: list[str] = []
    for m in group.members:
        ing = m.ingress
        for t in ing.spec.tls:
            if t.secret_name:
                ref = {"name": t.secret_name, "namespace": ing.metadata.namespace}
                if ref not in refs:
                    refs.append(ref)
            hosts += [h for h in t.hosts if h not in hosts]
        hosts += [r.host for r in ing.spec.rules if r.host and r.host not in hosts]
    if refs:
        grants = [
            {
                "apiVersion": "gateway.networking.k8s.io/v1beta1",
                "kind": "ReferenceGrant",
                "metadata": {"name": f"gateway-{gw_ns}-secrets", "namespace": ns},
                "spec": {
                    "from": [
                        {
                            "group": "gateway.networking.k8s.io",
                            "kind": "Gateway",
                            "namespace": gw_ns,
                        }
                    ],
                    "to": [{"group": "", "kind": "Secret"}],
                },
            }
            for ns in sorted({r["namespace"] for r in refs} - {gw_ns})
        ]
        tls = {"certificateRefs": [{"kind": "Secret", **r} for r in refs]}
        return [{**copy.deepcopy(base), "tls": tls}], grants
    if not hosts:
        return [base], []
    named = [
        {**copy.deepcopy(base), "name": f"{base['name']}-{i}", "hostname": h}
        for i, h in enumerate(hosts)
    ]
    return named, []


def _config(kind: str, name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": CFG,
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _target_group_configs(
    group: Group, stack: Stack, routes: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One TargetGroupConfiguration per Service: the first member's target group settings as
    its default, another member's where they differ as route-specific entries."""
    by_service: dict[str, dict[str, Any]] = {}
    members = {m.key: m for m in group.members}
    for tg in stack.target_groups:
        svc = tg.service.rpartition(":")[0]
        m = members.get(tg.ingress)
        labels = _node_labels(m.ingress.metadata.annotations) if m else {}
        props = target_group_props(tg, labels)
        spec = by_service.setdefault(
            svc, {"targetReference": {"name": svc.partition("/")[2]}, "defaultConfiguration": props}
        )
        if props != spec["defaultConfiguration"]:
            for route in routes.get(tg.ingress, []):
                kind, ns, name = route.split("/")
                rid = {"kind": kind, "namespace": ns, "name": name}
                entry = {"routeIdentifier": rid, "targetGroupProps": props}
                spec.setdefault("routeConfigurations", []).append(entry)
    out = []
    for svc, spec in sorted(by_service.items()):
        ns, _, name = svc.partition("/")
        out.append(_config("TargetGroupConfiguration", name, ns, spec))
    return out


def _node_labels(annotations: dict[str, str]) -> dict[str, str]:
    raw = annotations.get(PREFIX + "target-node-labels")
    return parse_map(raw) if raw else {}
