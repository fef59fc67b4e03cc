"""Decode the Kubernetes protobuf request bodies that kubectl's typed clients send.

``kubectl create namespace|service|ingress`` (unlike ``kubectl apply``) encode their request as
``application/vnd.kubernetes.protobuf``: the 4-byte ``k8s\\0`` magic, then a
``runtime.Unknown`` envelope holding apiVersion, kind and the object message. This module turns
those bodies into the JSON form for the kinds those commands create (Namespace, Service,
Ingress, Secret) and for DeleteOptions. The field numbers are those of k8s.io/api's generated.proto.
A field this table does not know is refused (415) rather than silently dropped.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from albctl.sandbox.errors import ApiError, bad_request

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

S, INT, B, TIME, INT_OR_STRING, MAP = "string", "int", "bool", "time", "intorstr", "map"
BYTES_MAP = "bytesmap"  # map<string, bytes>: values are base64 in JSON
IGNORE = "ignore"  # server-managed data (managedFields) that a client may echo back
REP = True

Field = tuple[str, str, bool]


def _f(name: str, kind: str, repeated: bool = False) -> Field:
    return (name, kind, repeated)


# message -> field number -> (JSON name, type, repeated); an empty name means inlined in JSON
SCHEMA: dict[str, dict[int, Field]] = {
    "Unknown": {
        1: _f("typeMeta", "TypeMeta"),
        2: _f("raw", "bytes"),
        3: _f("contentEncoding", S),
        4: _f("contentType", S),
    },
    "TypeMeta": {1: _f("apiVersion", S), 2: _f("kind", S)},
    "ObjectMeta": {
        1: _f("name", S),
        2: _f("generateName", S),
        3: _f("namespace", S),
        4: _f("selfLink", S),
        5: _f("uid", S),
        6: _f("resourceVersion", S),
        7: _f("generation", INT),
        8: _f("creationTimestamp", TIME),
        9: _f("deletionTimestamp", TIME),
        10: _f("deletionGracePeriodSeconds", INT),
        11: _f("labels", MAP),
        12: _f("annotations", MAP),
        13: _f("ownerReferences", "OwnerReference", REP),
        14: _f("finalizers", S, REP),
        17: _f("managedFields", IGNORE, REP),
    },
    "OwnerReference": {
        5: _f("apiVersion", S),
        1: _f("kind", S),
        3: _f("name", S),
        4: _f("uid", S),
        6: _f("controller", B),
        7: _f("blockOwnerDeletion", B),
    },
    "Condition": {
        1: _f("type", S),
        2: _f("status", S),
        3: _f("observedGeneration", INT),
        4: _f("lastTransitionTime", TIME),
        5: _f("reason", S),
        6: _f("message", S),
    },
    # core/v1 Namespace
    "Namespace": {
        1: _f("metadata", "ObjectMeta"),
        2: _f("spec", "NamespaceSpec"),
        3: _f("status", "NamespaceStatus"),
    },
    "NamespaceSpec": {1: _f("finalizers", S, REP)},
    "NamespaceStatus": {1: _f("phase", S), 2: _f("conditions", "NamespaceCondition", REP)},
    "NamespaceCondition": {
        1: _f("type", S),
        2: _f("status", S),
        4: _f("lastTransitionTime", TIME),
        5: _f("reason", S),
        6: _f("message", S),
    },
    # core/v1 Service
    "Service": {
        1: _f("metadata", "ObjectMeta"),
        2: _f("spec", "ServiceSpec"),
        3: _f("status", "ServiceStatus"),
    },
    "ServiceSpec": {
        1: _f("ports", "ServicePort", REP),
        2: _f("selector", MAP),
        3: _f("clusterIP", S),
        18: _f("clusterIPs", S, REP),
        4: _f("type", S),
        5: _f("externalIPs", S, REP),
        7: _f("sessionAffinity", S),
        8: _f("loadBalancerIP", S),
        9: _f("loadBalancerSourceRanges", S, REP),
        10: _f("externalName", S),
        11: _f("externalTrafficPolicy", S),
        12: _f("healthCheckNodePort", INT),
        13: _f("publishNotReadyAddresses", B),
        14: _f("sessionAffinityConfig", "SessionAffinityConfig"),
        19: _f("ipFamilies", S, REP),
        17: _f("ipFamilyPolicy", S),
        20: _f("allocateLoadBalancerNodePorts", B),
        21: _f("loadBalancerClass", S),
        22: _f("internalTrafficPolicy", S),
        23: _f("trafficDistribution", S),
    },
    "ServicePort": {
        1: _f("name", S),
        2: _f("protocol", S),
        6: _f("appProtocol", S),
        3: _f("port", INT),
        4: _f("targetPort", INT_OR_STRING),
        5: _f("nodePort", INT),
    },
    "SessionAffinityConfig": {1: _f("clientIP", "ClientIPConfig")},
    "ClientIPConfig": {1: _f("timeoutSeconds", INT)},
    "ServiceStatus": {
        1: _f("loadBalancer", "LoadBalancerStatus"),
        2: _f("conditions", "Condition", REP),
    },
    "LoadBalancerStatus": {1: _f("ingress", "LoadBalancerIngress", REP)},
    "LoadBalancerIngress": {
        1: _f("ip", S),
        2: _f("hostname", S),
        3: _f("ipMode", S),
        4: _f("ports", "PortStatus", REP),
    },
    "PortStatus": {1: _f("port", INT), 2: _f("protocol", S), 3: _f("error", S)},
    # core/v1 Secret
    "Secret": {
        1: _f("metadata", "ObjectMeta"),
        5: _f("immutable", B),
        2: _f("data", BYTES_MAP),
        4: _f("stringData", MAP),
        3: _f("type", S),
    },
    # networking/v1 Ingress
    "Ingress": {
        1: _f("metadata", "ObjectMeta"),
        2: _f("spec", "IngressSpec"),
        3: _f("status", "IngressStatus"),
    },
    "IngressSpec": {
        4: _f("ingressClassName", S),
        1: _f("defaultBackend", "IngressBackend"),
        2: _f("tls", "IngressTLS", REP),
        3: _f("rules", "IngressRule", REP),
    },
    "IngressTLS": {1: _f("hosts", S, REP), 2: _f("secretName", S)},
    "IngressRule": {1: _f("host", S), 2: _f("", "IngressRuleValue")},
    "IngressRuleValue": {1: _f("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: _f("paths", "HTTPIngressPath", REP)},
    "HTTPIngressPath": {1: _f("path", S), 3: _f("pathType", S), 2: _f("backend", "IngressBackend")},
    "IngressBackend": {
        4: _f("service", "IngressServiceBackend"),
        3: _f("resource", "TypedLocalObjectReference"),
    },
    "IngressServiceBackend": {1: _f("name", S), 2: _f("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: _f("name", S), 2: _f("number", INT)},
    "TypedLocalObjectReference": {1: _f("apiGroup", S), 2: _f("kind", S), 3: _f("name", S)},
    "IngressStatus": {1: _f("loadBalancer", "IngressLoadBalancerStatus")},
    "IngressLoadBalancerStatus": {1: _f("ingress", "IngressLoadBalancerIngress", REP)},
    "IngressLoadBalancerIngress": {
        1: _f("ip", S),
        2: _f("hostname", S),
        4: _f("ports", "IngressPortStatus", REP),
    },
    "IngressPortStatus": {1: _f("port", INT), 2: _f("protocol", S), 3: _f("error", S)},
    # meta/v1 DeleteOptions
    "DeleteOptions": {
        1: _f("gracePeriodSeconds", INT),
        2: _f("preconditions", "Preconditions"),
        3: _f("orphanDependents", B),
        4: _f("propagationPolicy", S),
        5: _f("dryRun", S, REP),
        6: _f("ignoreStoreReadErrorWithClusterBreakingPotential", B),
    },
    "Preconditions": {1: _f("uid", S), 2: _f("resourceVersion", S)},
}

ROOTS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "Service"): "Service",
    ("v1", "Secret"): "Secret",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("v1", "DeleteOptions"): "DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}


def _unsupported(what: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the albctl sandbox cannot decode protobuf for {what}; send JSON instead "
        "(for example kubectl apply -f / kubectl create -f with a manifest)",
    )


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise bad_request("truncated protobuf body")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def _wire(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) triples; length-delimited values are bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            pos += length
        elif wire == 1:
            value = data[pos : pos + 8]
            pos += 8
        elif wire == 5:
            value = data[pos : pos + 4]
            pos += 4
        else:
            raise bad_request(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data: bytes) -> str | None:
    parts = {n: v for n, _, v in _wire(data)}
    seconds = _signed(int(parts.get(1, 0)))
    if seconds == 0 and not parts.get(2):
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(kind: str, wire: int, value: Any, where: str) -> Any:
    if kind == S:
        if wire != 2:
            raise _unsupported(where)
        return bytes(value).decode()
    if kind == INT:
        return _signed(int(value))
    if kind == B:
        return bool(value)
    if kind == TIME:
        return _time(value)
    if kind == INT_OR_STRING:
        parts = {n: v for n, _, v in _wire(value)}
        if int(parts.get(1, 0)) == 1:
            return bytes(parts.get(3, b"")).decode()
        return _signed(int(parts.get(2, 0)))
    if kind == "bytes":
        return bytes(value)
    raise _unsupported(where)


def _empty(value: Any) -> bool:
    return (
        value is None or value == "" or value is False or value == 0 or value == {} or value == []
    )


def _message(data: bytes, name: str) -> dict[str, Any]:
    fields = SCHEMA[name]
    out: dict[str, Any] = {}
    for number, wire, value in _wire(data):
        spec = fields.get(number)
        if spec is None:
            raise _unsupported(f"field {number} of {name}")
        key, kind, repeated = spec
        if kind == IGNORE:
            continue
        if kind in (MAP, BYTES_MAP):
            entry = {n: bytes(v) for n, _, v in _wire(value)}
            raw = entry.get(2, b"")
            text = base64.b64encode(raw).decode() if kind == BYTES_MAP else raw.decode()
            out.setdefault(key, {})[entry.get(1, b"").decode()] = text
            continue
        decoded = (
            _message(value, kind) if kind in SCHEMA else _scalar(kind, wire, value, f"{name}.{key}")
        )
        if not key:
            out.update(decoded)
        elif repeated:
            out.setdefault(key, []).append(decoded)
        else:
            out[key] = decoded
    # gogo-protobuf writes every non-pointer field; JSON omits the empty ones
    return {k: v for k, v in out.items() if not _empty(v) or isinstance(v, list)}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded Kubernetes object as the dict its JSON form would parse to."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf body without the k8s magic prefix")
    envelope = _message(body[len(MAGIC) :], "Unknown")
    type_meta = envelope.get("typeMeta", {})
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    root = ROOTS.get((api_version, kind))
    if root is None:
        raise _unsupported(f"{kind} ({api_version})")
    obj = _message(envelope.get("raw", b""), root)
    obj["apiVersion"] = api_version
    obj["kind"] = kind
    return obj
