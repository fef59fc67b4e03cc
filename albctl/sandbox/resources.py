"""What kinds the sandbox serves: one :class:`ResourceType` per group/version/resource.

Everything that differs between kinds is data here (scope, names, short names, whether a
status subresource exists, which field selectors work, how the stored form is converted for
this version) so that the store, the discovery documents and the HTTP routing stay generic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from albctl.sandbox import events

Obj = dict[str, Any]
Converter = Callable[[Obj], Obj]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")

_META_FIELDS = {"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}


@dataclass(frozen=True)
class PrinterColumn:
    """A CRD ``additionalPrinterColumns`` entry (also used for the built-in CRD columns)."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    # Nodes are registered by the kubelet with their status in the create body; most other
    # kinds with a status subresource drop .status on create.
    keep_status_on_create: bool = False
    custom: bool = False
    storage: str = ""
    # field selector label -> dotted path in the *stored* form of the object
    field_labels: Mapping[str, str] = field(default_factory=lambda: dict(_META_FIELDS))
    columns: tuple[PrinterColumn, ...] = ()
    # stored form -> this version's form, and back (None: same shape, only apiVersion differs)
    to_view: Converter | None = None
    from_view: Converter | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def storage_key(self) -> str:
        return self.storage or (f"{self.plural}.{self.group}" if self.group else self.plural)

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def subresources(self) -> tuple[str, ...]:
        return ("status",) if self.status_subresource else ()


def _fields(extra: Mapping[str, str]) -> dict[str, str]:
    out = dict(_META_FIELDS)
    out.update(extra)
    return out


_CORE_EVENT_FIELDS = _fields(
    {
        "involvedObject.kind": "involvedObject.kind",
        "involvedObject.namespace": "involvedObject.namespace",
        "involvedObject.name": "involvedObject.name",
        "involvedObject.uid": "involvedObject.uid",
        "involvedObject.apiVersion": "involvedObject.apiVersion",
        "involvedObject.resourceVersion": "involvedObject.resourceVersion",
        "involvedObject.fieldPath": "involvedObject.fieldPath",
        "reason": "reason",
        "reportingComponent": "reportingComponent",
        "source": "source.component",
        "type": "type",
    }
)

_EVENTS_V1_FIELDS = _fields(
    {
        "regarding.kind": "involvedObject.kind",
        "regarding.namespace": "involvedObject.namespace",
        "regarding.name": "involvedObject.name",
        "regarding.uid": "involvedObject.uid",
        "regarding.apiVersion": "involvedObject.apiVersion",
        "regarding.resourceVersion": "involvedObject.resourceVersion",
        "regarding.fieldPath": "involvedObject.fieldPath",
        "reason": "reason",
        "reportingController": "reportingComponent",
        "type": "type",
    }
)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        namespaced=False,
        short_names=("ns",),
        status_subresource=True,
        field_labels=_fields({"status.phase": "status.phase"}),
    ),
    ResourceType(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        namespaced=False,
        short_names=("no",),
        status_subresource=True,
        keep_status_on_create=True,
        field_labels=_fields({"spec.unschedulable": "spec.unschedulable"}),
    ),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        "service",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        status_subresource=True,
    ),
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        namespaced=True,
        short_names=("po",),
        categories=("all",),
        status_subresource=True,
        field_labels=_fields(
            {
                "spec.nodeName": "spec.nodeName",
                "spec.restartPolicy": "spec.restartPolicy",
                "spec.schedulerName": "spec.schedulerName",
                "spec.serviceAccountName": "spec.serviceAccountName",
                "spec.hostNetwork": "spec.hostNetwork",
                "status.phase": "status.phase",
                "status.podIP": "status.podIP",
                "status.nominatedNodeName": "status.nominatedNodeName",
            }
        ),
    ),
    ResourceType(
        "",
        "v1",
        "Secret",
        "secrets",
        "secret",
        namespaced=True,
        field_labels=_fields({"type": "type"}),
    ),
    ResourceType(
        "",
        "v1",
        "Event",
        "events",
        "event",
        namespaced=True,
        short_names=("ev",),
        storage="events",
        field_labels=_CORE_EVENT_FIELDS,
    ),
    ResourceType(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        namespaced=True,
        short_names=("ev",),
        storage="events",
        field_labels=_EVENTS_V1_FIELDS,
        to_view=events.core_to_events_v1,
        from_view=events.events_v1_to_core,
    ),
    ResourceType(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        namespaced=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        namespaced=True,
        short_names=("ing",),
        status_subresource=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        namespaced=False,
    ),
    ResourceType(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        namespaced=True,
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        namespaced=False,
        categories=("api-extensions",),
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        namespaced=False,
        categories=("api-extensions",),
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        status_subresource=True,
    ),
)
