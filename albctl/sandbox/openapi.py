"""A minimal OpenAPI v3 description of the served kinds, for kubectl's benefit only.

kubectl (client-side ``apply``/``create``/``replace`` with the default ``--validate=strict``)
reads ``/openapi/v3`` to learn whether the server validates fields itself (the
``fieldValidation`` query parameter on PATCH); without that it falls back to downloading
``/openapi/v2`` for client-side schema validation and fails when there is none. Each document
therefore declares every kind's operations with that parameter. Schemas are open
(``x-kubernetes-preserve-unknown-fields``), and PATCH deliberately does not advertise
strategic merge so that kubectl computes apply patches from its compiled-in types.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from albctl.sandbox.registry import Registry
from albctl.sandbox.resources import ResourceType

Obj = dict[str, Any]

_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _query(name: str, description: str) -> Obj:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", "uniqueItems": True},
    }


_WRITE_PARAMS = [
    _query("dryRun", "When present, indicates that modifications should not be persisted."),
    _query("fieldManager", "fieldManager is a name associated with the actor making changes."),
    _query(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request "
        "containing unknown or duplicate fields: Ignore, Warn or Strict.",
    ),
]


def _schema_name(t: ResourceType) -> str:
    group = ".".join(reversed(t.group.split("."))) if t.group else "io.k8s.api.core"
    return f"{group}.{t.version}.{t.kind}"


def _ref(t: ResourceType) -> Obj:
    return {"$ref": f"#/components/schemas/{_schema_name(t)}"}


def _operations(t: ResourceType, base: str) -> dict[str, Obj]:
    gvk = {"group": t.group, "version": t.version, "kind": t.kind}
    ns_param = (
        [{"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}]
        if t.namespaced
        else []
    )
    name_param = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    ok = {"200": {"description": "OK", "content": {"application/json": {"schema": _ref(t)}}}}

    def op(action: str, verb: str, params: list[Obj], body: dict[str, Obj] | None) -> Obj:
        out: Obj = {
            "operationId": f"{verb}{t.kind}",
            "parameters": params,
            "responses": ok,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }
        if body is not None:
            out["requestBody"] = {"content": body, "required": True}
        return out

    json_body = {"application/json": {"schema": _ref(t)}}
    patch_body = {ct: {"schema": {"type": "object"}} for ct in _PATCH_TYPES}
    collection = f"{base}/{t.plural}"
    item = f"{collection}/{{name}}"
    paths: dict[str, Obj] = {
        collection: {
            "get": op("list", "list", ns_param, None),
            "post": op("post", "create", ns_param + _WRITE_PARAMS, json_body),
        },
        item: {
            "get": op("get", "read", ns_param + name_param, None),
            "put": op("put", "replace", ns_param + name_param + _WRITE_PARAMS, json_body),
            "patch": op(
                "patch",
                "patch",
                ns_param + name_param + [*_WRITE_PARAMS, _query("force", "Force apply.")],
                patch_body,
            ),
            "delete": op("delete", "delete", ns_param + name_param, None),
        },
    }
    for sub in t.subresources:
        paths[f"{item}/{sub}"] = {
            "get": op("get", f"read{sub.title()}", ns_param + name_param, None),
            "put": op(
                "put", f"replace{sub.title()}", ns_param + name_param + _WRITE_PARAMS, json_body
            ),
            "patch": op(
                "patch",
                f"patch{sub.title()}",
                ns_param + name_param + [*_WRITE_PARAMS, _query("force", "Force apply.")],
                patch_body,
            ),
        }
    return paths


def document(registry: Registry, group: str, version: str) -> Obj | None:
    types = registry.for_group_version(group, version)
    if not types:
        return None
    paths: dict[str, Obj] = {}
    schemas: dict[str, Obj] = {}
    prefix = "/" + gv_path(group, version)
    for t in types:
        base = f"{prefix}/namespaces/{{namespace}}" if t.namespaced else prefix
        paths.update(_operations(t, base))
        schemas[_schema_name(t)] = {
            "type": "object",
            "description": f"{t.kind} ({t.api_version}) as served by the albctl sandbox.",
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-group-version-kind": [
                {"group": t.group, "version": t.version, "kind": t.kind}
            ],
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def index(registry: Registry) -> Obj:
    paths: dict[str, Obj] = {}
    for group, version in registry.group_versions():
        doc = document(registry, group, version)
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()
        path = gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}
