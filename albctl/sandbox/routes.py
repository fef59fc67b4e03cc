"""URL routing: which document or which resource (namespace, name, subresource) a path means.

Kubernetes paths are ``/api/v1/...`` for the core group and ``/apis/GROUP/VERSION/...`` for the
others, then ``[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE]]``; the one irregularity is that
``/api/v1/namespaces/NAME[/status]`` addresses the Namespace object itself. The deprecated
``.../watch/...`` prefix is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from albctl.sandbox.errors import path_not_found
from albctl.sandbox.registry import Registry
from albctl.sandbox.resources import ResourceType


@dataclass(frozen=True)
class DocRoute:
    """A discovery, version, health or OpenAPI document."""

    doc: str  # root, version, health, api, apis, group, resources, openapi-index, openapi, openapi-v2
    group: str = ""
    version: str = ""


@dataclass(frozen=True)
class ResourceRoute:
    rt: ResourceType
    namespace: str | None  # None: cluster-scoped kind, or a namespaced kind across namespaces
    name: str | None
    subresource: str | None
    watch: bool = False  # the deprecated /watch/ path prefix was used


Route = DocRoute | ResourceRoute


def _resource(registry: Registry, group: str, version: str, rest: list[str]) -> ResourceRoute:
    watch = False
    if rest and rest[0] == "watch":
        watch = True
        rest = rest[1:]
    if not rest:
        raise path_not_found()
    namespace: str | None = None
    addresses_namespace_object = (
        group == "" and len(rest) <= 3 and (len(rest) < 3 or rest[2] in ("status", "finalize"))
    )
    if rest[0] == "namespaces" and len(rest) >= 3 and not addresses_namespace_object:
        namespace = rest[1]
        rest = rest[2:]
    if len(rest) > 3:
        raise path_not_found()
    rt = registry.lookup(group, version, rest[0])
    if rt is None:
        raise path_not_found()
    if namespace is not None and not rt.namespaced:
        raise path_not_found()
    name = rest[1] if len(rest) > 1 else None
    if name is not None and rt.namespaced and namespace is None:
        raise path_not_found()
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and subresource not in rt.subresources:
        raise path_not_found()
    if watch and subresource is not None:
        raise path_not_found()
    return ResourceRoute(rt, namespace, name, subresource, watch)


def resolve(registry: Registry, path: str) -> Route:
    parts = [unquote(p) for p in path.split("?", 1)[0].split("/") if p]
    if not parts:
        return DocRoute("root")
    head = parts[0]
    if len(parts) == 1 and head == "version":
        return DocRoute("version")
    if len(parts) == 1 and head in ("healthz", "livez", "readyz"):
        return DocRoute("health")
    if head == "openapi":
        if parts[1:] == ["v2"]:
            return DocRoute("openapi-v2")
        if parts[1:] == ["v3"]:
            return DocRoute("openapi-index")
        if len(parts) == 4 and parts[1:3] == ["v3", "api"]:
            return DocRoute("openapi", "", parts[3])
        if len(parts) == 5 and parts[1:3] == ["v3", "apis"]:
            return DocRoute("openapi", parts[3], parts[4])
        raise path_not_found()
    if head == "api":
        if len(parts) == 1:
            return DocRoute("api")
        if parts[1] != "v1":
            raise path_not_found()
        if len(parts) == 2:
            return DocRoute("resources", "", "v1")
        return _resource(registry, "", "v1", parts[2:])
    if head == "apis":
        if len(parts) == 1:
            return DocRoute("apis")
        if len(parts) == 2:
            return DocRoute("group", parts[1])
        if len(parts) == 3:
            return DocRoute("resources", parts[1], parts[2])
        return _resource(registry, parts[1], parts[2], parts[3:])
    raise path_not_found()
