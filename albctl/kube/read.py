"""Read-only views of a live cluster for the review commands and ``plan --kubeconfig``."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from albctl.kube.api import (
    ENDPOINT_SLICE,
    EVENT,
    GATEWAY,
    GATEWAY_CLASS,
    GRPC_ROUTE,
    HTTP_ROUTE,
    INGRESS,
    INGRESS_CLASS,
    INGRESS_CLASS_PARAMS,
    LOAD_BALANCER_GROUP,
    NAMESPACE,
    NODE,
    REFERENCE_GRANT,
    SERVICE,
    Kind,
    KubeApi,
    NotFound,
)
from albctl.kube.events import COMPONENT
from albctl.kube.gateway_config import config_kinds, served_version

READ_KINDS: tuple[Kind, ...] = (
    INGRESS,
    INGRESS_CLASS,
    INGRESS_CLASS_PARAMS,
    SERVICE,
    ENDPOINT_SLICE,
    NODE,
    NAMESPACE,
    GATEWAY_CLASS,
    GATEWAY,
    HTTP_ROUTE,
    GRPC_ROUTE,
    REFERENCE_GRANT,
)


def cluster_documents(api: KubeApi) -> list[dict[str, Any]]:
    """Every object albctl reads, as manifest-like dicts (kind and apiVersion filled in)."""
    docs: list[dict[str, Any]] = []
    version = served_version(api)
    configs = tuple(config_kinds(version).values()) if version else ()
    for kind in READ_KINDS + configs:
        try:
            items = api.list(kind).get("items", [])
        except NotFound:
            continue  # e.g. our CRDs or the Gateway API's are not installed
        for it in items:
            it.setdefault("kind", kind.kind)
            it.setdefault("apiVersion", kind.api_version)
            docs.append(it)
    return docs


def load_balancer_groups(api: KubeApi) -> list[dict[str, Any]]:
    return sorted(
        api.list(LOAD_BALANCER_GROUP).get("items", []), key=lambda o: o["metadata"]["name"]
    )


def load_balancer_group(api: KubeApi, name: str) -> dict[str, Any]:
    return api.get(LOAD_BALANCER_GROUP, name)


def _event_time(e: dict[str, Any]) -> str:
    return str(
        e.get("lastTimestamp")
        or e.get("eventTime")
        or e.get("firstTimestamp")
        or e["metadata"].get("creationTimestamp")
        or ""
    )


def event_row(e: dict[str, Any]) -> dict[str, Any]:
    inv = e.get("involvedObject", {})
    obj = f"{inv.get('kind')}/{inv.get('namespace') + '/' if inv.get('namespace') else ''}{inv.get('name')}"
    return {
        "time": _event_time(e),
        "type": e.get("type", ""),
        "reason": e.get("reason", ""),
        "object": obj,
        "message": e.get("message", ""),
        "count": int(e.get("count") or 1),
    }


def _ours(e: dict[str, Any]) -> bool:
    return (e.get("source") or {}).get("component") == COMPONENT or e.get(
        "reportingComponent"
    ) == COMPONENT


def matches(
    e: dict[str, Any],
    group: str | None,
    ingress: str | None,
    reason: str | None,
    since: datetime.datetime | None,
    members: set[str] | None,
) -> bool:
    if not _ours(e):
        return False
    inv = e.get("involvedObject", {})
    if reason and e.get("reason") != reason:
        return False
    key = f"{inv.get('namespace')}/{inv.get('name')}"
    if ingress and not (inv.get("kind") == "Ingress" and key == ingress):
        return False
    if group:
        is_lbg = inv.get("kind") == "LoadBalancerGroup" and inv.get("name") == group
        is_member = inv.get("kind") == "Ingress" and members is not None and key in members
        if not (is_lbg or is_member):
            return False
    if since is not None:
        t = _event_time(e)
        try:
            when = datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=datetime.UTC
            )
        except ValueError:
            return True
        if when < since:
            return False
    return True


def list_events(api: KubeApi) -> tuple[list[dict[str, Any]], str]:
    data = api.list(EVENT)
    items = data.get("items", [])
    items.sort(key=_event_time)
    return items, str(data.get("metadata", {}).get("resourceVersion", ""))


def watch_events(api: KubeApi, resource_version: str) -> Iterator[dict[str, Any]]:
    """New and updated Events from ``resource_version`` on (a watch, not polling)."""
    rv = resource_version
    while True:
        query = {
            "watch": "true",
            "resourceVersion": rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
        }
        for ev in api.stream(EVENT.path(), query, timeout=330):
            obj = ev.get("object") or {}
            rv = obj.get("metadata", {}).get("resourceVersion", rv)
            if ev.get("type") in ("ADDED", "MODIFIED"):
                yield obj
            elif ev.get("type") == "ERROR":
                _, rv = list_events(api)
