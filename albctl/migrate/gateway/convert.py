"""Ingresses written for albctl or LBC (and their IngressGroups) as Gateway API manifests on
the same load balancer: a GatewayClass, a Gateway per group carrying
``albctl.io/adopt-ingress-group``, HTTPRoutes, and LBC's gateway.k8s.aws kinds for what the
Gateway API cannot carry (design.md section 11). Each group is built by the Ingress model, turned
into Gateway API objects, built again by the Gateway model, and the two are routed against each
other (:mod:`albctl.migrate.gateway.verify`); the report says per Ingress what was mapped,
approximated (how) or unsupported (why). Every document that is not an Ingress, IngressClass or
IngressClassParams passes through unchanged."""

from __future__ import annotations

import copy
from typing import Any

from albctl.errors import ManifestError
from albctl.manifests import ObjectSet, parse_documents
from albctl.migrate.convert import Migration, _flatten
from albctl.migrate.gateway.group import ADOPT, CLASS, GroupDocs, convert_group
from albctl.migrate.gateway.routes import API
from albctl.migrate.report import IngressReport, MigrationReport
from albctl.model.builder import GroupInput, build_group
from albctl.model.gateway.build import build_gateway
from albctl.model.gateway.select import gateway_input, our_gateways
from albctl.model.groups import group_ingresses
from albctl.model.inventory import Inventory
from albctl.model.route_compare import differences
from albctl.model.settings import CONTROLLER_NAME, BuildSettings

LBC_CONTROLLER = "ingress.k8s.aws/alb"
LBC_PARAMS_GROUP = "elbv2.k8s.aws"
CONSUMED = ("Ingress", "IngressClass", "IngressClassParams")


def _as_albctl(doc: dict[str, Any]) -> dict[str, Any]:
    """LBC's IngressClass and IngressClassParams read as albctl's."""
    doc = copy.deepcopy(doc)
    spec = doc.get("spec") or {}
    if doc.get("kind") == "IngressClass" and spec.get("controller") == LBC_CONTROLLER:
        spec["controller"] = CONTROLLER_NAME
        params = spec.get("parameters") or {}
        if params.get("apiGroup") == LBC_PARAMS_GROUP:
            params["apiGroup"] = "albctl.io"
    if doc.get("kind") == "IngressClassParams" and str(doc.get("apiVersion", "")).startswith(
        LBC_PARAMS_GROUP
    ):
        doc["apiVersion"] = "albctl.io/v1beta1"
    return doc


def to_gateway(docs: list[Any], settings: BuildSettings) -> Migration:
    flat = _flatten(docs)
    objs = ObjectSet()
    parse_documents([_as_albctl(d) for d in flat], "input", objs)
    grouping = group_ingresses(
        objs.ingresses, objs.ingress_classes, objs.ingress_class_params, settings
    )
    report = MigrationReport()
    out: list[dict[str, Any]] = [_gateway_class()]
    report.added.append(f"GatewayClass/{CLASS}")
    ours = set()
    services = {s.key: s for s in objs.services}
    passthrough = [d for d in flat if d.get("kind") not in CONSUMED]
    for _, group in sorted(grouping.groups.items()):
        ours |= {m.key for m in group.members} | set(group.invalid)
        inp = GroupInput(
            group,
            services,
            objs.endpoint_slices,
            objs.nodes,
            Inventory.unknown(),
            settings,
            secrets={s.key: s for s in objs.secrets},
        )
        res = build_group(inp)
        if res.stack is None or res.invalid:
            _refuse(report, group.id, [m.key for m in group.members] + list(group.invalid), res)
            continue
        got = convert_group(group, res.stack)
        out += got.documents
        report.ingresses += got.reports
        _verify(got, res.stack, passthrough, settings, report)
    for key, reason in grouping.ignored:
        report.notes.append(f"Ingress/{key} is not albctl's or LBC's ({reason}): passed through")
    kept = [d for d in flat if d.get("kind") == "Ingress" and _key(d) not in ours]
    return Migration(out + passthrough + kept, report)


def _key(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def _gateway_class() -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "GatewayClass",
        "metadata": {"name": CLASS},
        "spec": {"controllerName": CONTROLLER_NAME},
    }


def _refuse(report: MigrationReport, gid: str, keys: list[str], res: Any) -> None:
    why = (
        str(res.group_error) if res.group_error else "; ".join(str(e) for e in res.invalid.values())
    )
    for key in keys:
        rep = IngressReport(ingress=key, output=None, group=gid)
        rep.add("group", "unsupported", f"the group does not build, so it is not converted: {why}")
        report.ingresses.append(rep)


def _verify(
    got: GroupDocs,
    stack: Any,
    passthrough: list[dict[str, Any]],
    settings: BuildSettings,
    report: MigrationReport,
) -> None:
    objs = ObjectSet()
    try:
        parse_documents([_gateway_class(), *got.documents, *passthrough], "converted", objs)
    except ManifestError as exc:  # pragma: no cover - our own output
        raise ManifestError(f"the converted documents do not read back: {exc}") from None
    gw = next(g for g in our_gateways(objs, settings).values() if g.metadata.annotations.get(ADOPT))
    inp = gateway_input(objs, gw, Inventory.unknown(), settings)
    built = build_gateway(inp)
    reports = {r.ingress: r for r in got.reports}
    first = got.reports[0]
    if built.result.stack is None:
        first.add("group", "unsupported", f"the Gateway does not build: {built.result.group_error}")
        return
    for e in [*built.result.problems, *built.result.invalid.values()]:
        first.add("route", "unsupported", str(e))
    for member, diff in differences(stack, built.result.stack):
        (reports.get(member) or first).add("routing", "approximated", diff)
    for rep in got.reports:
        if not any(f.annotation == "routing" for f in rep.findings):
            rep.add("routing", "mapped", "every rule routes the same on the Gateway")
