"""Discovery documents: /version, /api, /apis and the per-group-version resource lists.

kubectl builds its REST mapping (plural names, short names, scope, verbs) entirely from these,
in either the legacy form (one request per group version) or the aggregated
``apidiscovery.k8s.io/v2`` form that kubectl 1.32 asks for first; both are served.
"""

from __future__ import annotations

import hashlib
from typing import Any

from albctl.sandbox.registry import Registry
from albctl.sandbox.resources import ALL_VERBS, STATUS_VERBS, ResourceType

Obj = dict[str, Any]

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

KUBE_MAJOR = "1"
KUBE_MINOR = "32"


def version_info() -> Obj:
    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": f"v{KUBE_MAJOR}.{KUBE_MINOR}.0-albctl-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_doc(registry: Registry, group: str) -> Obj:
    versions = [
        {"groupVersion": f"{group}/{v}", "version": v}
        for g, v in registry.group_versions()
        if g == group
    ]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list(registry: Registry) -> Obj:
    groups: list[str] = []
    for group, _ in registry.group_versions():
        if group and group not in groups:
            groups.append(group)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_doc(registry, g) for g in groups],
    }


def api_group(registry: Registry, group: str) -> Obj | None:
    if not any(g == group for g, _ in registry.group_versions()) or not group:
        return None
    doc = _group_doc(registry, group)
    doc.update({"kind": "APIGroup", "apiVersion": "v1"})
    return doc


def _storage_hash(t: ResourceType) -> str:
    raw = f"{t.group}/{t.version}/{t.kind}".encode()
    return hashlib.sha256(raw).hexdigest()[:11]


def api_resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    types = registry.for_group_version(group, version)
    if not types:
        return None
    resources: list[Obj] = []
    for t in types:
        entry: Obj = {
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": list(ALL_VERBS),
            "storageVersionHash": _storage_hash(t),
        }
        if t.short_names:
            entry["shortNames"] = list(t.short_names)
        if t.categories:
            entry["categories"] = list(t.categories)
        resources.append(entry)
        for sub in t.subresources:
            resources.append(
                {
                    "name": f"{t.plural}/{sub}",
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": list(STATUS_VERBS),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(t: ResourceType) -> Obj:
    kind = {"group": t.group, "version": t.version, "kind": t.kind}
    entry: Obj = {
        "resource": t.plural,
        "responseKind": kind,
        "scope": "Namespaced" if t.namespaced else "Cluster",
        "singularResource": t.singular,
        "verbs": list(ALL_VERBS),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    if t.subresources:
        entry["subresources"] = [
            {"subresource": sub, "responseKind": kind, "verbs": list(STATUS_VERBS)}
            for sub in t.subresources
        ]
    return entry


def aggregated(registry: Registry, legacy: bool) -> Obj:
    """``APIGroupDiscoveryList`` for /api (``legacy``) or /apis."""
    items: list[Obj] = []
    by_group: dict[str, list[Obj]] = {}
    for group, version in registry.group_versions():
        if (group == "") != legacy:
            continue
        by_group.setdefault(group, []).append(
            {
                "version": version,
                "resources": [
                    _aggregated_resource(t) for t in registry.for_group_version(group, version)
                ],
                "freshness": "Current",
            }
        )
    for group, versions in by_group.items():
        metadata: Obj = {"name": group} if group else {"creationTimestamp": None}
        items.append({"metadata": metadata, "versions": versions})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
