"""Which Gateways are albctl's, and the input of each one's build (pure).

A Gateway is albctl's when its ``gatewayClassName`` names a GatewayClass whose
``spec.controllerName`` is one albctl serves (``albctl.io/alb``, or those given with
``--gateway-controller-name``: adding ``gateway.k8s.aws/alb`` takes LBC's classes over).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Protocol

from albctl.model.gateway.config.objects import ConfigObject
from albctl.model.gateway.grpc import as_http_route
from albctl.model.gateway.inputs import GatewayInput, stack_id
from albctl.model.gateway.objects import (
    Gateway,
    GatewayClass,
    GRPCRoute,
    HTTPRoute,
    Namespace,
    ReferenceGrant,
)
from albctl.model.inventory import Inventory
from albctl.model.objects import EndpointSlice, Node, Secret, Service
from albctl.model.settings import BuildSettings


class GatewayObjects(Protocol):
    """The objects a Gateway build reads (``albctl.manifests.ObjectSet`` is one)."""

    @property
    def gateway_classes(self) -> Sequence[GatewayClass]: ...
    @property
    def gateways(self) -> Sequence[Gateway]: ...
    @property
    def http_routes(self) -> Sequence[HTTPRoute]: ...
    @property
    def grpc_routes(self) -> Sequence[GRPCRoute]: ...
    @property
    def reference_grants(self) -> Sequence[ReferenceGrant]: ...
    @property
    def namespaces(self) -> Sequence[Namespace]: ...
    @property
    def services(self) -> Sequence[Service]: ...
    @property
    def endpoint_slices(self) -> Sequence[EndpointSlice]: ...
    @property
    def nodes(self) -> Sequence[Node]: ...
    @property
    def secrets(self) -> Sequence[Secret]: ...
    @property
    def gateway_configs(self) -> Sequence[ConfigObject]: ...


def our_classes(objs: GatewayObjects, settings: BuildSettings) -> dict[str, GatewayClass]:
    return {
        c.metadata.name: c
        for c in objs.gateway_classes
        if c.spec.controller_name in settings.gateway_controller_names
    }


def our_gateways(objs: GatewayObjects, settings: BuildSettings) -> dict[str, Gateway]:
    """Stack id -> Gateway, for the Gateways of albctl's classes (not being deleted)."""
    classes = our_classes(objs, settings)
    return {
        stack_id(g): g
        for g in objs.gateways
        if g.spec.gateway_class_name in classes and not g.metadata.deletion_timestamp
    }


def gateway_input(
    objs: GatewayObjects,
    gateway: Gateway,
    inventory: Inventory,
    settings: BuildSettings,
    now: datetime.datetime | None = None,
    pod_gates: Mapping[str, frozenset[str]] | None = None,
    slices_index: Mapping[tuple[str, str], Sequence[EndpointSlice]] | None = None,
    secrets: Mapping[str, Secret] | None = None,
) -> GatewayInput:
    classes = our_classes(objs, settings)
    return GatewayInput(
        gateway=gateway,
        gateway_class=classes.get(gateway.spec.gateway_class_name),
        routes=all_routes(objs),
        grants=list(objs.reference_grants),
        namespaces={n.metadata.name: n.metadata.labels for n in objs.namespaces},
        services={s.key: s for s in objs.services},
        endpoint_slices=objs.endpoint_slices,
        nodes=objs.nodes,
        inventory=inventory,
        settings=settings,
        secrets=secrets if secrets is not None else {s.key: s for s in objs.secrets},
        now=now,
        pod_gates=pod_gates or {},
        slices_index=slices_index,
        configs={c.obj: c for c in objs.gateway_configs},
    )


def secret_refs(gateway: Gateway) -> list[str]:
    """``namespace/name`` of the Secrets the Gateway's listeners name."""
    out: list[str] = []
    for li in gateway.spec.listeners:
        for ref in li.tls.certificate_refs if li.tls else ():
            if not ref.group and ref.kind == "Secret":
                key = f"{ref.namespace or gateway.metadata.namespace}/{ref.name}"
                if key not in out:
                    out.append(key)
    return out


def oidc_secret_refs(configs: Sequence[ConfigObject]) -> list[str]:
    """``namespace/name`` of the Secrets ListenerRuleConfigurations name for OIDC clients."""
    out: list[str] = []
    for c in configs:
        if c.kind != "ListenerRuleConfiguration":
            continue
        for a in c.spec.get("actions") or []:
            oidc = a.get("authenticateOIDCConfig") if isinstance(a, dict) else None
            secret = oidc.get("secret") if isinstance(oidc, dict) else None
            name = secret.get("name") if isinstance(secret, dict) else None
            if isinstance(name, str) and f"{c.metadata.namespace}/{name}" not in out:
                out.append(f"{c.metadata.namespace}/{name}")
    return out


def all_routes(objs: GatewayObjects) -> list[HTTPRoute]:
    """The HTTPRoutes and GRPCRoutes (read as HTTPRoutes) that are not being deleted."""
    grpc = [as_http_route(g) for g in objs.grpc_routes]
    return [r for r in [*objs.http_routes, *grpc] if not r.metadata.deletion_timestamp]


def routes_using(objs: GatewayObjects, service_key: str) -> set[tuple[str, str]]:
    """(namespace, name) of the routes whose backendRefs name the Service."""
    out: set[tuple[str, str]] = set()
    for r in all_routes(objs):
        for rule in r.spec.rules:
            for b in rule.backend_refs:
                if f"{b.namespace or r.metadata.namespace}/{b.name}" == service_key:
                    out.add((r.metadata.namespace, r.metadata.name))
    return out
