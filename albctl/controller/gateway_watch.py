"""Watching the Gateway API: its informers, when the cluster serves the kinds, and which
Gateways to reconcile after a change.

The kinds (GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant of
``gateway.networking.k8s.io``, Namespaces for ``allowedRoutes`` selectors, and LBC's
``gateway.k8s.aws`` configuration kinds when they are served) are watched only when the API server serves
``gateway.networking.k8s.io/v1``: the controller starts without the CRDs (they are the user's to
install), logs that the Gateway API is off, and looks again every resync period (at most every
30 s) until it is served: then the informers are started and every Gateway is queued. Any change of these kinds queues every Gateway albctl serves (there are few); a change
of a Service, its EndpointSlices or a gated pod queues the Gateways whose routes send to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from albctl.controller.trim import trim_metadata
from albctl.kube.api import (
    GATEWAY,
    GATEWAY_API_GROUP,
    GATEWAY_CLASS,
    GRPC_ROUTE,
    HTTP_ROUTE,
    NAMESPACE,
    REFERENCE_GRANT,
    KubeApi,
    KubeError,
)
from albctl.kube.gateway_config import GROUP as CONFIG_GROUP
from albctl.kube.gateway_config import PLURALS, config_kinds, served_version
from albctl.kube.informer import Informer, Obj
from albctl.logs import log_event
from albctl.model.gateway.inputs import STACK_PREFIX

log = logging.getLogger(__name__)

KINDS = {
    "GatewayClass": GATEWAY_CLASS,
    "Gateway": GATEWAY,
    "HTTPRoute": HTTP_ROUTE,
    "GRPCRoute": GRPC_ROUTE,
    "ReferenceGrant": REFERENCE_GRANT,
}


def served(api: KubeApi, quiet: bool = False) -> bool:
    """Whether the API server serves the Gateway API (its CRDs are installed)."""
    try:
        api.request("GET", f"/apis/{GATEWAY_API_GROUP}/v1")
    except KubeError as exc:
        if not quiet:
            log_event(log, "gateway API off", reason=f"{exc.status} {exc.reason}")
        return False
    return True


def gateway_informers(
    api: KubeApi, namespaces: list[str] | None, quiet: bool = False
) -> dict[str, Informer]:
    """Informers of the Gateway API kinds (empty when the API server does not serve them)."""
    if not served(api, quiet):
        return {}
    log_event(log, "gateway API on", group=GATEWAY_API_GROUP)
    out = {
        name: Informer(
            api, kind, None if not kind.namespaced else namespaces, transform=trim_metadata
        )
        for name, kind in KINDS.items()
    }
    out["Namespace"] = Informer(api, NAMESPACE, None, transform=trim_metadata)
    version = served_version(api)
    if version is not None:
        log_event(log, "gateway configuration kinds on", group=CONFIG_GROUP, version=version)
        for name, kind in config_kinds(version).items():
            out[name] = Informer(api, kind, namespaces, transform=_with_kind(name))
    return out


def _with_kind(kind: str) -> Callable[[Obj], Obj]:
    """Trimmed metadata, and the kind (list items may lack it; the model reads it)."""

    def transform(obj: Obj) -> Obj:
        out = trim_metadata(obj)
        out["kind"] = kind
        return out

    return transform


def _stack_of(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{STACK_PREFIX}{meta.get('namespace', '')}/{meta['name']}"


class GatewayEvents:
    """Routes informer events to the Gateway stacks to reconcile."""

    def __init__(
        self,
        informers: dict[str, Informer],
        stack_ids: Callable[[], set[str]],
        enqueue: Callable[[str], None],
    ) -> None:
        self.informers = informers
        self.stack_ids = stack_ids
        self.enqueue = enqueue

    def wire(self, informers: dict[str, Informer] | None = None) -> None:
        for name, inf in (informers or self.informers).items():
            if name in (*KINDS, *PLURALS, "Namespace"):
                inf.handlers.append(self.on_change)

    def on_change(self, old: Obj | None, new: Obj | None) -> None:
        ids = self.stack_ids()
        for obj in (old, new):
            if obj is not None and obj.get("kind") == "Gateway":
                ids.add(_stack_of(obj))  # a Gateway gone from the cache, too
        for gid in sorted(ids):
            self.enqueue(gid)

    def using_service(self, service_key: str) -> set[str]:
        """The Gateway stacks whose routes send to the Service ``namespace/name``."""
        out: set[str] = set()
        raws = [
            raw
            for kind in ("HTTPRoute", "GRPCRoute")
            if (inf := self.informers.get(kind)) is not None
            for raw in inf.list()
        ]
        for raw in raws:
            ns = raw["metadata"].get("namespace", "")
            spec = raw.get("spec") or {}
            names = {
                f"{b.get('namespace') or ns}/{b.get('name')}"
                for rule in spec.get("rules") or []
                for b in rule.get("backendRefs") or []
            }
            if service_key not in names:
                continue
            for p in spec.get("parentRefs") or []:
                if p.get("kind", "Gateway") == "Gateway":
                    out.add(f"{STACK_PREFIX}{p.get('namespace') or ns}/{p.get('name')}")
        return out
