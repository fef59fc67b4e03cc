"""Gateway API manifests for tests: GatewayClass, Gateway, HTTPRoute, ReferenceGrant."""

from __future__ import annotations

from typing import Any

API = "gateway.networking.k8s.io/v1"


def gateway_class(name: str = "alb", controller: str = "albctl.io/alb") -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": controller},
    }


def listener(
    name: str,
    port: int = 80,
    protocol: str = "HTTP",
    hostname: str | None = None,
    from_: str = "All",
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "port": port,
        "protocol": protocol,
        "allowedRoutes": {"namespaces": {"from": from_}},
    }
    if hostname:
        out["hostname"] = hostname
    out.update(extra)
    return out


def gateway(
    name: str = "gw", namespace: str = "infra", *listeners: dict[str, Any], cls: str = "alb"
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": cls, "listeners": list(listeners) or [listener("http")]},
    }


def http_route(
    name: str,
    namespace: str,
    *rules: dict[str, Any],
    parents: list[dict[str, Any]] | None = None,
    hostnames: list[str] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    spec: dict[str, Any] = {
        "parentRefs": parents if parents is not None else [{"name": "gw", "namespace": "infra"}],
        "rules": list(rules),
    }
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": API, "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def backend_ref(name: str, port: int = 80, **extra: Any) -> dict[str, Any]:
    return {"name": name, "port": port, **extra}


def path(value: str, type_: str = "PathPrefix") -> dict[str, Any]:
    return {"path": {"type": type_, "value": value}}


def reference_grant(
    namespace: str, from_ns: str, kind: str = "Service", from_kind: str = "HTTPRoute"
) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": f"from-{from_ns}", "namespace": namespace},
        "spec": {
            "from": [
                {"group": "gateway.networking.k8s.io", "kind": from_kind, "namespace": from_ns}
            ],
            "to": [{"group": "", "kind": kind}],
        },
    }
