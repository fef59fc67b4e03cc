"""Typed views of the Gateway API objects albctl reads (group ``gateway.networking.k8s.io``).

Fields and defaults are gateway-api's (``apis/v1/gateway_types.go``, ``httproute_types.go``,
``shared_types.go``, ``apis/v1beta1/referencegrant_types.go``): the CRDs default a match's path
to ``PathPrefix /``, a path/header/query match's type to ``Exact``/``PathPrefix``, a backendRef's
weight to 1, a listener's ``allowedRoutes.namespaces.from`` to ``Same``, a parentRef's group to
the Gateway API group and its kind to ``Gateway``. Manifests read in one-shot mode did not go
through the API server, so those defaults are applied here too. Unknown fields are ignored.
"""

from __future__ import annotations

from pydantic import Field

from albctl.model.objects import LabelSelector, ObjectMeta, _Obj

GROUP = "gateway.networking.k8s.io"


# --- GatewayClass -----------------------------------------------------------------------------


class ParametersReference(_Obj):
    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str | None = None


class GatewayClassSpec(_Obj):
    controller_name: str = Field("", alias="controllerName")
    parameters_ref: ParametersReference | None = Field(None, alias="parametersRef")


class GatewayClass(_Obj):
    metadata: ObjectMeta
    spec: GatewayClassSpec = GatewayClassSpec()


# --- Gateway ----------------------------------------------------------------------------------


class SecretObjectReference(_Obj):
    group: str = ""
    kind: str = "Secret"
    name: str
    namespace: str | None = None


class GatewayTLSConfig(_Obj):
    mode: str = "Terminate"
    certificate_refs: tuple[SecretObjectReference, ...] = Field((), alias="certificateRefs")


class RouteGroupKind(_Obj):
    group: str = GROUP
    kind: str


class RouteNamespaces(_Obj):
    from_: str = Field("Same", alias="from")
    selector: LabelSelector | None = None


class AllowedRoutes(_Obj):
    namespaces: RouteNamespaces = RouteNamespaces()
    kinds: tuple[RouteGroupKind, ...] = ()


class GatewayListener(_Obj):
    name: str
    hostname: str | None = None
    port: int
    protocol: str
    tls: GatewayTLSConfig | None = None
    allowed_routes: AllowedRoutes = Field(AllowedRoutes(), alias="allowedRoutes")


class LocalParametersReference(_Obj):
    group: str = ""
    kind: str = ""
    name: str = ""


class GatewayInfrastructure(_Obj):
    parameters_ref: LocalParametersReference | None = Field(None, alias="parametersRef")


class GatewaySpec(_Obj):
    gateway_class_name: str = Field("", alias="gatewayClassName")
    listeners: tuple[GatewayListener, ...] = ()
    infrastructure: GatewayInfrastructure | None = None


class Gateway(_Obj):
    metadata: ObjectMeta
    spec: GatewaySpec = GatewaySpec()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"


# --- HTTPRoute --------------------------------------------------------------------------------


class ParentReference(_Obj):
    group: str = GROUP
    kind: str = "Gateway"
    namespace: str | None = None
    name: str
    section_name: str | None = Field(None, alias="sectionName")
    port: int | None = None


class HTTPPathMatch(_Obj):
    type: str = "PathPrefix"
    value: str = "/"


class HTTPHeaderMatch(_Obj):
    type: str = "Exact"
    name: str
    value: str


class HTTPQueryParamMatch(_Obj):
    type: str = "Exact"
    name: str
    value: str


class HTTPRouteMatch(_Obj):
    path: HTTPPathMatch = HTTPPathMatch()
    headers: tuple[HTTPHeaderMatch, ...] = ()
    query_params: tuple[HTTPQueryParamMatch, ...] = Field((), alias="queryParams")
    method: str | None = None


class HTTPPathModifier(_Obj):
    type: str
    replace_full_path: str | None = Field(None, alias="replaceFullPath")
    replace_prefix_match: str | None = Field(None, alias="replacePrefixMatch")


class HTTPRequestRedirectFilter(_Obj):
    scheme: str | None = None
    hostname: str | None = None
    path: HTTPPathModifier | None = None
    port: int | None = None
    status_code: int = Field(302, alias="statusCode")


class HTTPURLRewriteFilter(_Obj):
    hostname: str | None = None
    path: HTTPPathModifier | None = None


class LocalObjectReference(_Obj):
    group: str = ""
    kind: str = ""
    name: str = ""


class HTTPRouteFilter(_Obj):
    type: str
    request_redirect: HTTPRequestRedirectFilter | None = Field(None, alias="requestRedirect")
    url_rewrite: HTTPURLRewriteFilter | None = Field(None, alias="urlRewrite")
    extension_ref: LocalObjectReference | None = Field(None, alias="extensionRef")


class HTTPBackendRef(_Obj):
    group: str = ""
    kind: str = "Service"
    name: str
    namespace: str | None = None
    port: int | None = None
    weight: int = 1
    filters: tuple[HTTPRouteFilter, ...] = ()


class HTTPRouteRule(_Obj):
    name: str | None = None
    matches: tuple[HTTPRouteMatch, ...] = (HTTPRouteMatch(),)
    filters: tuple[HTTPRouteFilter, ...] = ()
    backend_refs: tuple[HTTPBackendRef, ...] = Field((), alias="backendRefs")
    # fields albctl cannot express on ALB: present means refused (see filters.py)
    timeouts: dict[str, str] | None = None
    retry: dict[str, object] | None = None
    session_persistence: dict[str, object] | None = Field(None, alias="sessionPersistence")


class HTTPRouteSpec(_Obj):
    parent_refs: tuple[ParentReference, ...] = Field((), alias="parentRefs")
    hostnames: tuple[str, ...] = ()
    rules: tuple[HTTPRouteRule, ...] = (HTTPRouteRule(),)


class HTTPRoute(_Obj):
    """An HTTPRoute, or a GRPCRoute read as one (``kind``; see :mod:`albctl.model.gateway.grpc`)."""

    kind: str = "HTTPRoute"
    metadata: ObjectMeta
    spec: HTTPRouteSpec = HTTPRouteSpec()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"


# --- GRPCRoute (apis/v1/grpcroute_types.go) ----------------------------------------------------


class GRPCMethodMatch(_Obj):
    type: str = "Exact"
    service: str | None = None
    method: str | None = None


class GRPCRouteMatch(_Obj):
    method: GRPCMethodMatch | None = None
    headers: tuple[HTTPHeaderMatch, ...] = ()


class GRPCRouteRule(_Obj):
    name: str | None = None
    matches: tuple[GRPCRouteMatch, ...] = (GRPCRouteMatch(),)
    filters: tuple[HTTPRouteFilter, ...] = ()
    backend_refs: tuple[HTTPBackendRef, ...] = Field((), alias="backendRefs")
    session_persistence: dict[str, object] | None = Field(None, alias="sessionPersistence")


class GRPCRouteSpec(_Obj):
    parent_refs: tuple[ParentReference, ...] = Field((), alias="parentRefs")
    hostnames: tuple[str, ...] = ()
    rules: tuple[GRPCRouteRule, ...] = (GRPCRouteRule(),)


class GRPCRoute(_Obj):
    metadata: ObjectMeta
    spec: GRPCRouteSpec = GRPCRouteSpec()

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"


# --- ReferenceGrant, Namespace ----------------------------------------------------------------


class ReferenceGrantFrom(_Obj):
    group: str
    kind: str
    namespace: str


class ReferenceGrantTo(_Obj):
    group: str = ""
    kind: str
    name: str | None = None


class ReferenceGrantSpec(_Obj):
    from_: tuple[ReferenceGrantFrom, ...] = Field((), alias="from")
    to: tuple[ReferenceGrantTo, ...] = ()


class ReferenceGrant(_Obj):
    metadata: ObjectMeta
    spec: ReferenceGrantSpec = ReferenceGrantSpec()


class Namespace(_Obj):
    """A namespace's labels (listener ``allowedRoutes`` selectors read them)."""

    metadata: ObjectMeta
