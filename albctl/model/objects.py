"""Typed views of the Kubernetes objects albctl reads.

Parsed from plain dicts (manifest files or API responses) with pydantic. Unknown fields are
ignored, because Kubernetes objects carry much more than albctl needs; the fields albctl
reads are validated so a malformed object fails here with a message naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Obj(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ObjectMeta(_Obj):
    name: str
    namespace: str = ""
    uid: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    resource_version: str = Field("", alias="resourceVersion")
    generation: int = 0
    creation_timestamp: str | None = Field(None, alias="creationTimestamp")
    deletion_timestamp: str | None = Field(None, alias="deletionTimestamp")
    finalizers: tuple[str, ...] = ()


# --- Ingress -----------------------------------------------------------------------------


class ServiceBackendPort(_Obj):
    name: str | None = None
    number: int | None = None


class IngressServiceBackend(_Obj):
    name: str
    port: ServiceBackendPort = ServiceBackendPort()


class IngressBackend(_Obj):
    service: IngressServiceBackend | None = None
    resource: dict[str, Any] | None = None


class HTTPIngressPath(_Obj):
    path: str = ""
    path_type: str = Field("ImplementationSpecific", alias="pathType")
    backend: IngressBackend


class HTTPIngressRuleValue(_Obj):
    paths: tuple[HTTPIngressPath, ...] = ()


class IngressRule(_Obj):
    host: str = ""
    http: HTTPIngressRuleValue | None = None


class IngressTLS(_Obj):
    hosts: tuple[str, ...] = ()
    secret_name: str | None = Field(None, alias="secretName")


class IngressSpec(_Obj):
    ingress_class_name: str | None = Field(None, alias="ingressClassName")
    default_backend: IngressBackend | None = Field(None, alias="defaultBackend")
    rules: tuple[IngressRule, ...] = ()
    tls: tuple[IngressTLS, ...] = ()


class Ingress(_Obj):
    metadata: ObjectMeta
    spec: IngressSpec = IngressSpec()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"


# --- Service, EndpointSlice, Node, Pod ------------------------------------------------------


class ServicePort(_Obj):
    name: str | None = None
    port: int
    protocol: str = "TCP"
    target_port: int | str | None = Field(None, alias="targetPort")
    node_port: int | None = Field(None, alias="nodePort")


class ServiceSpec(_Obj):
    type: str = "ClusterIP"
    ports: tuple[ServicePort, ...] = ()
    selector: dict[str, str] = Field(default_factory=dict)
    ip_families: tuple[str, ...] = Field((), alias="ipFamilies")


class Service(_Obj):
    metadata: ObjectMeta
    spec: ServiceSpec = ServiceSpec()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"


class EndpointConditions(_Obj):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class ObjectReference(_Obj):
    kind: str | None = None
    name: str = ""
    namespace: str | None = None


class Endpoint(_Obj):
    addresses: tuple[str, ...] = ()
    conditions: EndpointConditions = EndpointConditions()
    target_ref: ObjectReference | None = Field(None, alias="targetRef")
    node_name: str | None = Field(None, alias="nodeName")
    zone: str | None = None


class EndpointPort(_Obj):
    name: str | None = None
    port: int | None = None
    protocol: str = "TCP"


class EndpointSlice(_Obj):
    metadata: ObjectMeta
    address_type: str = Field("IPv4", alias="addressType")
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[EndpointPort, ...] | None = None

    @property
    def service_name(self) -> str | None:
        return self.metadata.labels.get("kubernetes.io/service-name")


class NodeCondition(_Obj):
    type: str
    status: str


class NodeSpec(_Obj):
    provider_id: str | None = Field(None, alias="providerID")
    unschedulable: bool = False


class NodeStatus(_Obj):
    conditions: tuple[NodeCondition, ...] = ()


class Node(_Obj):
    metadata: ObjectMeta
    spec: NodeSpec = NodeSpec()
    status: NodeStatus = NodeStatus()

    @property
    def ready(self) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in self.status.conditions)

    @property
    def instance_id(self) -> str | None:
        """EC2 instance id from ``aws:///<az>/<instance-id>``."""
        pid = self.spec.provider_id or ""
        if not pid.startswith("aws://"):
            return None
        last = pid.rstrip("/").rsplit("/", 1)[-1]
        return last if last.startswith("i-") else None


class PodReadinessGate(_Obj):
    condition_type: str = Field(alias="conditionType")


class PodSpec(_Obj):
    node_name: str | None = Field(None, alias="nodeName")
    readiness_gates: tuple[PodReadinessGate, ...] = Field((), alias="readinessGates")


class PodIP(_Obj):
    ip: str


class PodCondition(_Obj):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = Field(None, alias="lastTransitionTime")


class PodStatus(_Obj):
    pod_ip: str | None = Field(None, alias="podIP")
    pod_ips: tuple[PodIP, ...] = Field((), alias="podIPs")
    phase: str | None = None
    conditions: tuple[PodCondition, ...] = ()


class Pod(_Obj):
    metadata: ObjectMeta
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"

    @property
    def ips(self) -> tuple[str, ...]:
        """Every IP of the pod (podIPs, else podIP)."""
        ips = tuple(p.ip for p in self.status.pod_ips)
        if self.status.pod_ip and self.status.pod_ip not in ips:
            ips = (self.status.pod_ip, *ips)
        return ips

    def condition(self, type_: str) -> PodCondition | None:
        return next((c for c in self.status.conditions if c.type == type_), None)


# --- IngressClass, IngressClassParams, TargetGroupBinding -----------------------------------


class IngressClassParametersRef(_Obj):
    api_group: str | None = Field(None, alias="apiGroup")
    kind: str
    name: str
    scope: str | None = None
    namespace: str | None = None


class IngressClassSpec(_Obj):
    controller: str = ""
    parameters: IngressClassParametersRef | None = None


class IngressClass(_Obj):
    metadata: ObjectMeta
    spec: IngressClassSpec = IngressClassSpec()

    @property
    def is_default(self) -> bool:
        return (
            self.metadata.annotations.get("ingressclass.kubernetes.io/is-default-class") == "true"
        )


class ParamsGroup(_Obj):
    name: str


class ParamsSubnets(_Obj):
    ids: tuple[str, ...] = ()
    tags: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class ParamsTag(_Obj):
    key: str
    value: str


class ParamsAttribute(_Obj):
    key: str
    value: str


class ParamsListener(_Obj):
    protocol: str
    port: int
    listener_attributes: tuple[ParamsAttribute, ...] = Field((), alias="listenerAttributes")


class ParamsCapacity(_Obj):
    capacity_units: int = Field(alias="capacityUnits")


class ParamsIpam(_Obj):
    ipv4_ipam_pool_id: str | None = Field(None, alias="ipv4IPAMPoolId")


class IngressClassParamsSpec(_Obj):
    group: ParamsGroup | None = None
    scheme: str | None = None
    ip_address_type: str | None = Field(None, alias="ipAddressType")
    load_balancer_name: str | None = Field(None, alias="loadBalancerName")
    inbound_cidrs: tuple[str, ...] | None = Field(None, alias="inboundCIDRs")
    prefix_lists_ids: tuple[str, ...] | None = Field(None, alias="prefixListsIDs")
    legacy_prefix_lists_ids: tuple[str, ...] | None = Field(None, alias="PrefixListsIDs")
    certificate_arn: tuple[str, ...] | None = Field(None, alias="certificateArn")
    ssl_policy: str | None = Field(None, alias="sslPolicy")
    ssl_redirect_port: str | None = Field(None, alias="sslRedirectPort")
    subnets: ParamsSubnets | None = None
    tags: tuple[ParamsTag, ...] = ()
    target_type: str | None = Field(None, alias="targetType")
    wafv2_acl_arn: str | None = Field(None, alias="wafv2AclArn")
    wafv2_acl_name: str | None = Field(None, alias="wafv2AclName")
    load_balancer_attributes: tuple[ParamsAttribute, ...] = Field(
        (), alias="loadBalancerAttributes"
    )
    wildcard_host_matching: Literal["exact", "alb"] | None = Field(
        None, alias="wildcardHostMatching"
    )
    listeners: tuple[ParamsListener, ...] = ()
    minimum_load_balancer_capacity: ParamsCapacity | None = Field(
        None, alias="minimumLoadBalancerCapacity"
    )
    ipam_configuration: ParamsIpam | None = Field(None, alias="ipamConfiguration")


class IngressClassParams(_Obj):
    metadata: ObjectMeta
    spec: IngressClassParamsSpec = IngressClassParamsSpec()


class ServiceReference(_Obj):
    name: str
    port: int | str


class LabelSelectorRequirement(_Obj):
    key: str
    operator: str
    values: tuple[str, ...] = ()


class LabelSelector(_Obj):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: tuple[LabelSelectorRequirement, ...] = Field((), alias="matchExpressions")


class SecurityGroupPeer(_Obj):
    group_id: str = Field(alias="groupID")


class IPBlockPeer(_Obj):
    cidr: str


class NetworkingPeer(_Obj):
    security_group: SecurityGroupPeer | None = Field(None, alias="securityGroup")
    ip_block: IPBlockPeer | None = Field(None, alias="ipBlock")


class NetworkingPort(_Obj):
    protocol: str | None = None
    port: int | str | None = None


class NetworkingIngressRule(_Obj):
    from_: tuple[NetworkingPeer, ...] = Field(alias="from")
    ports: tuple[NetworkingPort, ...] = ()


class BindingNetworking(_Obj):
    ingress: tuple[NetworkingIngressRule, ...] = ()


class TargetGroupBindingSpec(_Obj):
    target_group_arn: str | None = Field(None, alias="targetGroupARN")
    target_group_name: str | None = Field(None, alias="targetGroupName")
    target_type: str | None = Field(None, alias="targetType")
    service_ref: ServiceReference = Field(alias="serviceRef")
    node_selector: LabelSelector | None = Field(None, alias="nodeSelector")
    ip_address_type: str | None = Field(None, alias="ipAddressType")
    networking: BindingNetworking | None = None


class StatusCondition(_Obj):
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = Field(None, alias="lastTransitionTime")
    observed_generation: int | None = Field(None, alias="observedGeneration")


class TargetGroupBindingStatus(_Obj):
    observed_generation: int | None = Field(None, alias="observedGeneration")
    target_group_arn: str | None = Field(None, alias="targetGroupARN")
    conditions: tuple[StatusCondition, ...] = ()


class TargetGroupBinding(_Obj):
    metadata: ObjectMeta
    spec: TargetGroupBindingSpec
    status: TargetGroupBindingStatus = TargetGroupBindingStatus()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"


# --- Secret ----------------------------------------------------------------------------------


class Secret(_Obj):
    """A Secret; its values are never part of a repr, a log line or an error message."""

    metadata: ObjectMeta
    type: str = "Opaque"
    data: dict[str, str] = Field(default_factory=dict, repr=False)
    string_data: dict[str, str] = Field(default_factory=dict, alias="stringData", repr=False)

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"

    def value(self, name: str) -> bytes | None:
        """The decoded value of ``name`` (``stringData`` wins, as the API server merges it)."""
        import base64
        import binascii

        if name in self.string_data:
            return self.string_data[name].encode()
        raw = self.data.get(name)
        if raw is None:
            return None
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
