"""Read Kubernetes manifests from YAML files and directories (one-shot mode).

Kinds read: Ingress, IngressClass, IngressClassParams, Service, EndpointSlice, Pod, Node,
TargetGroupBinding, Secret, Namespace, the Gateway API's GatewayClass, Gateway, HTTPRoute,
GRPCRoute and ReferenceGrant, and LBC's LoadBalancerConfiguration, TargetGroupConfiguration and
ListenerRuleConfiguration (group gateway.k8s.aws); others are skipped with a note. Namespaced objects without a
namespace land in ``default``, as kubectl would put them. The path ``-`` reads standard input.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from albctl.errors import ManifestError
from albctl.model.gateway.config.objects import KINDS as CONFIG_KINDS
from albctl.model.gateway.config.objects import ConfigObject
from albctl.model.gateway.objects import (
    Gateway,
    GatewayClass,
    GRPCRoute,
    HTTPRoute,
    Namespace,
    ReferenceGrant,
)
from albctl.model.objects import (
    EndpointSlice,
    Ingress,
    IngressClass,
    IngressClassParams,
    Node,
    Pod,
    Secret,
    Service,
    TargetGroupBinding,
)

# libyaml where the wheel has it (several times faster), the same safe constructors
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KINDS: dict[str, type[BaseModel]] = {
    "Ingress": Ingress,
    "IngressClass": IngressClass,
    "IngressClassParams": IngressClassParams,
    "Service": Service,
    "EndpointSlice": EndpointSlice,
    "Pod": Pod,
    "Node": Node,
    "TargetGroupBinding": TargetGroupBinding,
    "Secret": Secret,
    "Namespace": Namespace,
    "GatewayClass": GatewayClass,
    "Gateway": Gateway,
    "HTTPRoute": HTTPRoute,
    "GRPCRoute": GRPCRoute,
    "ReferenceGrant": ReferenceGrant,
    **{k: ConfigObject for k in CONFIG_KINDS},
}
SILENT: set[str] = set()
CLUSTER_SCOPED = {"IngressClass", "IngressClassParams", "Node", "Namespace", "GatewayClass"}
ATTRS = {
    "Ingress": "ingresses",
    "IngressClass": "ingress_classes",
    "IngressClassParams": "ingress_class_params",
    "Service": "services",
    "EndpointSlice": "endpoint_slices",
    "Pod": "pods",
    "Node": "nodes",
    "TargetGroupBinding": "target_group_bindings",
    "Secret": "secrets",
    "Namespace": "namespaces",
    "GatewayClass": "gateway_classes",
    "Gateway": "gateways",
    "HTTPRoute": "http_routes",
    "GRPCRoute": "grpc_routes",
    "ReferenceGrant": "reference_grants",
    **{k: "gateway_configs" for k in CONFIG_KINDS},
}


@dataclass
class ObjectSet:
    ingresses: list[Ingress] = field(default_factory=list)
    ingress_classes: list[IngressClass] = field(default_factory=list)
    ingress_class_params: list[IngressClassParams] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    endpoint_slices: list[EndpointSlice] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    target_group_bindings: list[TargetGroupBinding] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    namespaces: list[Namespace] = field(default_factory=list)
    gateway_classes: list[GatewayClass] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)
    http_routes: list[HTTPRoute] = field(default_factory=list)
    grpc_routes: list[GRPCRoute] = field(default_factory=list)
    reference_grants: list[ReferenceGrant] = field(default_factory=list)
    # LBC's gateway.k8s.aws kinds (their specs are read when a Gateway uses them)
    gateway_configs: list[ConfigObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # values computed from this set (groups, instance hints...), kept with it: the controller
    # hands the same set to every reconcile until an object changes
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def add(self, kind: str, obj: Any) -> None:
        getattr(self, ATTRS[kind]).append(obj)


STDIN = "-"


def _files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if str(p) == STDIN:
            out.append(p)
        elif p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.suffix in (".yaml", ".yml", ".json") and f.is_file()
            )
        elif p.is_file():
            out.append(p)
        else:
            raise ManifestError(f"{p}: no such file or directory")
    return out


def parse_documents(docs: Iterable[Any], source: str, into: ObjectSet) -> None:
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(f"{source}: document {i + 1} is not a mapping")
        kind = doc.get("kind")
        if kind == "List" or (isinstance(kind, str) and kind.endswith("List") and "items" in doc):
            parse_documents(doc.get("items") or [], source, into)
            continue
        if kind in SILENT:
            continue
        if kind not in KINDS:
            into.notes.append(f"{source}: document {i + 1}: kind {kind!r} ignored")
            continue
        meta = doc.setdefault("metadata", {}) or {}
        if kind not in CLUSTER_SCOPED and not meta.get("namespace"):
            meta["namespace"] = "default"
        try:
            into.add(kind, KINDS[kind].model_validate(doc))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            name = meta.get("name", "?")
            raise ManifestError(f"{source}: {kind}/{name}: field {where}: {first['msg']}") from None


def read_documents(paths: Iterable[str | Path]) -> list[tuple[str, list[Any]]]:
    """(source, YAML documents) of every file; ``-`` reads standard input (once)."""
    out: list[tuple[str, list[Any]]] = []
    stdin_read = False
    for f in _files(paths):
        is_stdin = str(f) == STDIN
        if is_stdin and stdin_read:
            continue
        try:
            text = sys.stdin.read() if is_stdin else f.read_text()
            docs = list(yaml.load_all(text, Loader=_LOADER))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ManifestError(
                f"{'<stdin>' if is_stdin else f}: cannot read YAML: {exc}"
            ) from None
        stdin_read = stdin_read or is_stdin
        out.append(("<stdin>" if is_stdin else str(f), docs))
    return out


def load_manifests(paths: Iterable[str | Path]) -> ObjectSet:
    objects = ObjectSet()
    for source, docs in read_documents(paths):
        parse_documents(docs, source, objects)
    return objects
