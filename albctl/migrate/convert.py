"""Convert ingress-nginx manifests into albctl's (pure: documents in, documents and report out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from albctl.errors import ManifestError
from albctl.migrate import access, backend, canary, catalog, grouping, paths, redirects
from albctl.migrate.classes import nginx_reason, read_classes
from albctl.migrate.draft import Draft
from albctl.migrate.emit import ALB, ALB_CLASS, ingress_class, write_ingress
from albctl.migrate.report import IngressReport, MigrationReport
from albctl.model.objects import Ingress

GLOBAL_NOTE = (
    "converted Ingresses are internet-facing (alb.ingress.kubernetes.io/scheme) as an "
    "ingress-nginx Service of type LoadBalancer usually is, and send to the pods "
    "(target-type ip) as nginx does; set scheme: internal where the nginx Service was internal"
)


@dataclass
class Migration:
    documents: list[dict[str, Any]]
    report: MigrationReport


def _flatten(docs: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(f"a document is a {type(doc).__name__}, not a mapping")
        kind = str(doc.get("kind", ""))
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            out += _flatten(doc["items"])
        else:
            out.append(doc)
    return out


def _draft(doc: dict[str, Any], reason: str) -> Draft:
    meta = doc.get("metadata") or {}
    try:
        ing = Ingress.model_validate(
            {**doc, "metadata": {**meta, "namespace": meta.get("namespace") or "default"}}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ManifestError(
            f"Ingress/{meta.get('name', '?')}: field {where}: {first['msg']}"
        ) from None
    key = ing.key
    d = Draft(
        raw=doc,
        namespace=ing.metadata.namespace,
        name=ing.metadata.name,
        report=IngressReport(ingress=key, output=key),
    )
    d.tls = [dict(t) for t in (doc.get("spec") or {}).get("tls") or []]
    d.report.add("spec.ingressClassName", "mapped", f"was {reason}; now {ALB_CLASS}")
    paths.read_paths(d, ing)
    return d


def _per_ingress(d: Draft) -> int | None:
    paths.server_alias(d)
    backend.backend_protocol(d)
    backend.affinity(d)
    backend.load_balance(d)
    backend.body_size(d)
    idle = backend.timeouts(d)
    redirects.app_root(d)
    redirects.fixed_redirects(d)
    redirects.rewrite_target(d)
    access.source_ranges(d)
    return idle


def _default_backends(members: list[Draft]) -> None:
    owner: Draft | None = None
    for m in members:
        spec = m.raw.get("spec") or {}
        if not spec.get("defaultBackend"):
            continue
        if owner is None:
            owner = m
            m.report.add(
                "spec.defaultBackend",
                "mapped",
                "the default action of the load balancer's listeners",
            )
            continue
        m.raw = {**m.raw, "spec": {k: v for k, v in spec.items() if k != "defaultBackend"}}
        m.report.add(
            "spec.defaultBackend",
            "approximated",
            f"dropped: Ingress/{owner.key} already gives the default backend of this "
            "host set's load balancer (a listener has one default action)",
        )


def _groups(mains: list[Draft], idle: dict[str, int], report: MigrationReport) -> None:
    regex_hosts = {p.host for d in mains if paths.wants_regex(d) for p in d.paths}
    taken: set[str] = set()
    for comp in grouping.components(mains):
        grouping.regex(comp, regex_hosts)
        if len(comp) > 1:
            name = grouping.group_name(comp, taken)
            for i, m in enumerate(grouping.order_members(comp, report)):
                m.alb[ALB + "group.name"] = name
                m.alb[ALB + "group.order"] = str(i)
                m.report.group = name
        _default_backends(comp)
        grouping.tls_and_redirect(comp)
        grouping.idle_timeout(comp, idle)
        for m in comp:
            m.alb[ALB + "scheme"] = "internet-facing"
            m.alb[ALB + "target-type"] = "ip"


def migrate(docs: list[Any]) -> Migration:
    flat = _flatten(docs)
    classes = read_classes(flat)
    report = MigrationReport()
    drafts: dict[int, Draft] = {}
    for i, doc in enumerate(flat):
        if doc.get("kind") == "Ingress" and (reason := nginx_reason(doc, classes)):
            drafts[i] = _draft(doc, reason)
    mains = [d for d in drafts.values() if not d.canary]
    for c in (d for d in drafts.values() if d.canary):
        canary.merge_canary(c, mains)
    idle: dict[str, int] = {}
    for d in mains:
        wanted = _per_ingress(d)
        if wanted is not None:
            idle[d.key] = wanted
    _groups(mains, idle, report)
    regex_hosts = {p.host for d in mains if paths.wants_regex(d) for p in d.paths}
    out: list[dict[str, Any]] = []
    for i, doc in enumerate(flat):
        got = drafts.get(i)
        if got is None:
            out.append(doc)
            continue
        d = got
        catalog.report_rest(d)
        report.ingresses.append(d.report)
        if not d.merged:
            out.append(write_ingress(d, regex_hosts))
    has_class = any(
        x.get("kind") == "IngressClass" and (x.get("metadata") or {}).get("name") == ALB_CLASS
        for x in flat
    )
    if drafts and not has_class:
        out.insert(0, ingress_class())
        report.added.append(f"IngressClass/{ALB_CLASS} (controller albctl.io/alb)")
    if drafts:
        report.notes.insert(0, GLOBAL_NOTE)
    return Migration(out, report)
