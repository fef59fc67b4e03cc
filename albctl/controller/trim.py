"""What the controller keeps of each cached Kubernetes object (informer transforms).

The informer caches hold every Ingress, Service, EndpointSlice and Node of the cluster for the
life of the process; what the model never reads (managedFields, the last-applied annotation,
owner references, a Node's images and addresses, an endpoint's hints, a Service's cluster IPs)
is dropped when an object enters the cache, so memory follows what albctl uses, not what the
API server stores. Each function keeps exactly the fields :mod:`albctl.model.objects` parses
(and the controller's handlers compare), and must be widened when the model reads more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from albctl.model.objects import EndpointSlice

Obj = dict[str, Any]
# the key under which a cached object carries its parsed model (see Snapshotter)
PARSED = "albctl.io/parsed"

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_META = (
    "name",
    "namespace",
    "uid",
    "labels",
    "annotations",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "finalizers",
)
_ENDPOINT = ("addresses", "conditions", "nodeName", "zone")
_TARGET_REF = ("kind", "name", "namespace")


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    out = {k: meta[k] for k in _META if k in meta}
    annotations = out.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        out["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return out


def _head(obj: Obj) -> Obj:
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": _meta(obj)}


def _pick(src: Obj | None, keys: tuple[str, ...]) -> Obj:
    src = src or {}
    return {k: src[k] for k in keys if k in src}


def trim_metadata(obj: Obj) -> Obj:
    """Every field but metadata kept, metadata trimmed (small kinds: classes, bindings)."""
    out = {k: v for k, v in obj.items() if k != "metadata"}
    out["metadata"] = _meta(obj)
    return out


def trim_ingress(obj: Obj) -> Obj:
    out = _head(obj)
    out["spec"] = obj.get("spec") or {}
    lb = (obj.get("status") or {}).get("loadBalancer")
    if lb:
        out["status"] = {"loadBalancer": lb}
    return out


def trim_service(obj: Obj) -> Obj:
    out = _head(obj)
    out["spec"] = _pick(obj.get("spec"), ("type", "ports", "selector", "ipFamilies"))
    return out


def trim_endpoint_slice(obj: Obj) -> Obj:
    """The slice's metadata and its parsed model (:data:`PARSED`): the endpoints, the bulk of
    a cluster's objects, are held once, as the model reads them, not also as JSON."""
    out = _head(obj)
    for k in ("addressType", "ports"):
        if k in obj:
            out[k] = obj[k]
    endpoints = []
    for e in obj.get("endpoints") or []:
        kept = _pick(e, _ENDPOINT)
        if e.get("targetRef"):
            kept["targetRef"] = _pick(e["targetRef"], _TARGET_REF)
        endpoints.append(kept)
    out["endpoints"] = endpoints
    try:
        out[PARSED] = EndpointSlice.model_validate(out)
    except ValidationError:
        return out  # kept as JSON: the snapshot reports what does not parse
    del out["endpoints"]
    return out


def trim_node(obj: Obj) -> Obj:
    out = _head(obj)
    out["spec"] = _pick(obj.get("spec"), ("providerID", "unschedulable"))
    conditions = (obj.get("status") or {}).get("conditions") or []
    out["status"] = {"conditions": [_pick(c, ("type", "status")) for c in conditions]}
    return out


TRIMS: dict[str, Callable[[Obj], Obj | None]] = {
    "Ingress": trim_ingress,
    "Service": trim_service,
    "EndpointSlice": trim_endpoint_slice,
    "Node": trim_node,
    "IngressClass": trim_metadata,
    "IngressClassParams": trim_metadata,
    "TargetGroupBinding": trim_metadata,
}
