"""The ``gateway.k8s.aws`` kinds, field by field as LBC defines them
(kubernetes-sigs/aws-load-balancer-controller ``apis/gateway/v1/loadbalancerconfig_types.go``,
``targetgroupconfig_types.go``, ``listenerruleconfig_types.go``; v1beta1 has the same fields).

An object is kept as it came (:class:`ConfigObject`) and its spec is read when a Gateway uses
it, so an invalid field is a status condition on the Gateway or route that names the object and
the field, and the rest keeps serving. Enumerations and ranges are the CRDs' own.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from albctl.errors import InvalidInputError
from albctl.model.objects import LabelSelector, ObjectMeta, _Obj

GROUP = "gateway.k8s.aws"
LOAD_BALANCER_CONFIGURATION = "LoadBalancerConfiguration"
TARGET_GROUP_CONFIGURATION = "TargetGroupConfiguration"
LISTENER_RULE_CONFIGURATION = "ListenerRuleConfiguration"
KINDS = (LOAD_BALANCER_CONFIGURATION, TARGET_GROUP_CONFIGURATION, LISTENER_RULE_CONFIGURATION)


class ConfigError(InvalidInputError):
    """A field of a ``gateway.k8s.aws`` object a route uses is invalid: the route is left as
    it is in AWS until it is fixed."""


class ConfigObject(_Obj):
    """One object of a ``gateway.k8s.aws`` kind, its spec not yet read."""

    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"

    @property
    def obj(self) -> str:
        return f"{self.kind}/{self.key}"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class KeyValue(_Spec):
    key: str
    value: str


# --- LoadBalancerConfiguration -------------------------------------------------------------


class SubnetConfiguration(_Spec):
    identifier: str = ""
    eip_allocation: str | None = Field(None, alias="eipAllocation")  # NLB
    private_ipv4_allocation: str | None = Field(None, alias="privateIPv4Allocation")  # NLB
    ipv6_allocation: str | None = Field(None, alias="ipv6Allocation")  # NLB
    source_nat_ipv6_prefix: str | None = Field(None, alias="sourceNatIPv6Prefix")  # NLB


class MutualAuthenticationAttributes(_Spec):
    mode: Literal["off", "passthrough", "verify"]
    trust_store: str | None = Field(None, alias="trustStore")
    ignore_client_certificate_expiry: bool | None = Field(
        None, alias="ignoreClientCertificateExpiry"
    )
    advertise_trust_store_ca_names: Literal["on", "off"] | None = Field(
        None, alias="advertiseTrustStoreCaNames"
    )


class ListenerConfiguration(_Spec):
    protocol_port: str = Field(
        alias="protocolPort",
        pattern=r"^(HTTP|HTTPS|TLS|TCP|UDP|TCP_UDP)?:(6553[0-5]|655[0-2]\d|65[0-4]\d{2}"
        r"|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})?$",
    )
    default_certificate: str | None = Field(None, alias="defaultCertificate")
    certificates: tuple[str, ...] = ()
    ssl_policy: str | None = Field(None, alias="sslPolicy")
    alpn_policy: (
        Literal["HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"] | None
    ) = Field(None, alias="alpnPolicy")
    target_group_stickiness: bool | None = Field(None, alias="targetGroupStickiness")  # NLB
    mutual_authentication: MutualAuthenticationAttributes | None = Field(
        None, alias="mutualAuthentication"
    )
    listener_attributes: tuple[KeyValue, ...] = Field((), alias="listenerAttributes")
    quic_enabled: bool | None = Field(None, alias="quicEnabled")  # NLB


class Capacity(_Spec):
    capacity_units: int = Field(alias="capacityUnits")


class WAFv2(_Spec):
    web_acl: str = Field(alias="webACL")


class Shield(_Spec):
    enabled: bool = False


class NameRef(_Spec):
    name: str = Field(min_length=1)


class LoadBalancerConfigurationSpec(_Spec):
    merging_mode: Literal["prefer-gateway", "prefer-gateway-class"] | None = Field(
        None, alias="mergingMode"
    )
    load_balancer_name: str | None = Field(
        None, alias="loadBalancerName", min_length=1, max_length=32
    )
    scheme: Literal["internal", "internet-facing"] | None = None
    ip_address_type: Literal["ipv4", "dualstack", "dualstack-without-public-ipv4"] | None = Field(
        None, alias="ipAddressType"
    )
    enforce_sg_inbound_on_private_link: str | None = Field(
        None, alias="enforceSecurityGroupInboundRulesOnPrivateLinkTraffic"
    )  # NLB
    customer_owned_ipv4_pool: str | None = Field(None, alias="customerOwnedIpv4Pool")
    ipv4_ipam_pool_id: str | None = Field(None, alias="ipv4IPAMPoolId")
    load_balancer_subnets: tuple[SubnetConfiguration, ...] | None = Field(
        None, alias="loadBalancerSubnets"
    )
    load_balancer_subnets_selector: dict[str, tuple[str, ...]] | None = Field(
        None, alias="loadBalancerSubnetsSelector"
    )
    listener_configurations: tuple[ListenerConfiguration, ...] | None = Field(
        None, alias="listenerConfigurations"
    )
    disable_security_group: bool | None = Field(None, alias="disableSecurityGroup")  # NLB
    security_groups: tuple[str, ...] | None = Field(None, alias="securityGroups")
    security_group_prefixes: tuple[str, ...] | None = Field(None, alias="securityGroupPrefixes")
    source_ranges: tuple[str, ...] | None = Field(None, alias="sourceRanges")
    load_balancer_attributes: tuple[KeyValue, ...] = Field((), alias="loadBalancerAttributes")
    tags: dict[str, str] | None = None
    enable_icmp: bool | None = Field(None, alias="enableICMP")  # NLB
    manage_backend_security_group_rules: bool | None = Field(
        None, alias="manageBackendSecurityGroupRules"
    )
    minimum_load_balancer_capacity: Capacity | None = Field(
        None, alias="minimumLoadBalancerCapacity"
    )
    waf_v2: WAFv2 | None = Field(None, alias="wafV2")
    shield_configuration: Shield | None = Field(None, alias="shieldConfiguration")
    default_target_group_configuration: NameRef | None = Field(
        None, alias="defaultTargetGroupConfiguration"
    )
    vpc_id: str | None = Field(None, alias="vpcId")


# --- TargetGroupConfiguration --------------------------------------------------------------


class Reference(_Spec):
    group: str = ""
    kind: str = "Service"
    name: str


class HealthCheckMatcher(_Spec):
    http_code: str | None = Field(None, alias="httpCode")
    grpc_code: str | None = Field(None, alias="grpcCode")


class HealthCheckConfiguration(_Spec):
    healthy_threshold_count: int | None = Field(None, alias="healthyThresholdCount")
    health_check_interval: int | None = Field(None, alias="healthCheckInterval")
    health_check_path: str | None = Field(None, alias="healthCheckPath")
    health_check_port: str | None = Field(None, alias="healthCheckPort")
    health_check_protocol: Literal["HTTP", "HTTPS", "TCP"] | None = Field(
        None, alias="healthCheckProtocol"
    )
    health_check_timeout: int | None = Field(None, alias="healthCheckTimeout")
    unhealthy_threshold_count: int | None = Field(None, alias="unhealthyThresholdCount")
    matcher: HealthCheckMatcher | None = None


class TargetGroupProps(_Spec):
    target_group_name: str | None = Field(None, alias="targetGroupName")
    ip_address_type: Literal["ipv4", "ipv6"] | None = Field(None, alias="ipAddressType")
    health_check_config: HealthCheckConfiguration | None = Field(None, alias="healthCheckConfig")
    node_selector: LabelSelector | None = Field(None, alias="nodeSelector")
    target_group_attributes: tuple[KeyValue, ...] | None = Field(
        None, alias="targetGroupAttributes"
    )
    target_type: Literal["instance", "ip"] | None = Field(None, alias="targetType")
    protocol: (
        Literal["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC"] | None
    ) = None
    protocol_version: Literal["HTTP1", "HTTP2", "GRPC"] | None = Field(
        None, alias="protocolVersion"
    )
    target_control_port: int | None = Field(None, alias="targetControlPort")
    enable_multi_cluster: bool | None = Field(None, alias="enableMultiCluster")
    tags: dict[str, str] | None = None


class RouteIdentifier(_Spec):
    kind: str = ""
    namespace: str = ""
    name: str = ""


class RouteConfiguration(_Spec):
    route_identifier: RouteIdentifier = Field(alias="routeIdentifier")
    target_group_props: TargetGroupProps = Field(alias="targetGroupProps")


class TargetGroupConfigurationSpec(_Spec):
    target_reference: Reference | None = Field(None, alias="targetReference")
    default_configuration: TargetGroupProps = Field(
        TargetGroupProps(), alias="defaultConfiguration"
    )
    route_configurations: tuple[RouteConfiguration, ...] = Field((), alias="routeConfigurations")


# --- ListenerRuleConfiguration -------------------------------------------------------------


class SourceIPConfig(_Spec):
    values: tuple[str, ...] = Field(min_length=1)


class ListenerRuleCondition(_Spec):
    field: Literal["source-ip"]
    source_ip_config: SourceIPConfig | None = Field(None, alias="sourceIPConfig")
    match_indexes: tuple[int, ...] | None = Field(None, alias="matchIndexes")


class StickinessConfig(_Spec):
    duration_seconds: int = Field(3600, alias="durationSeconds", ge=1, le=604800)
    enabled: bool = False


class ForwardConfig(_Spec):
    stickiness: StickinessConfig = Field(StickinessConfig(), alias="targetGroupStickinessConfig")


class RedirectQuery(_Spec):
    query: str = "#{query}"


class FixedResponse(_Spec):
    status_code: int = Field(alias="statusCode")
    content_type: Literal[
        "text/plain", "text/css", "text/html", "application/javascript", "application/json"
    ] = Field("text/plain", alias="contentType")
    message_body: str | None = Field(None, alias="messageBody")


class _AuthSettings(_Spec):
    scope: str = "openid"
    extra_params: dict[str, str] | None = Field(
        None, alias="authenticationRequestExtraParams", max_length=10
    )
    on_unauthenticated: Literal["deny", "allow", "authenticate"] = Field(
        "authenticate", alias="onUnauthenticatedRequest"
    )
    session_cookie: str = Field("AWSELBAuthSessionCookie", alias="sessionCookieName")
    session_timeout: int = Field(604800, alias="sessionTimeout", ge=1, le=604800)


class CognitoConfig(_AuthSettings):
    user_pool_arn: str = Field(alias="userPoolArn")
    user_pool_client_id: str = Field(alias="userPoolClientId")
    user_pool_domain: str = Field(alias="userPoolDomain")


class OidcConfig(_AuthSettings):
    authorization_endpoint: str = Field(alias="authorizationEndpoint")
    secret: NameRef
    issuer: str
    token_endpoint: str = Field(alias="tokenEndpoint")
    user_info_endpoint: str = Field(alias="userInfoEndpoint")
    use_existing_client_secret: bool | None = Field(None, alias="useExistingClientSecret")


class JwtClaim(_Spec):
    format: Literal["single-string", "string-array", "space-separated-values"]
    name: str = Field(min_length=1)
    values: tuple[str, ...] = Field(min_length=1, max_length=10)


class JwtConfig(_Spec):
    issuer: str = Field(max_length=256)
    jwks_endpoint: str = Field(alias="jwksEndpoint", max_length=256)
    additional_claims: tuple[JwtClaim, ...] = Field((), alias="additionalClaims")


class RuleAction(_Spec):
    type: Literal[
        "forward",
        "fixed-response",
        "redirect",
        "authenticate-cognito",
        "authenticate-oidc",
        "jwt-validation",
    ]
    forward_config: ForwardConfig | None = Field(None, alias="forwardConfig")
    redirect_config: RedirectQuery | None = Field(None, alias="redirectConfig")
    fixed_response_config: FixedResponse | None = Field(None, alias="fixedResponseConfig")
    cognito: CognitoConfig | None = Field(None, alias="authenticateCognitoConfig")
    oidc: OidcConfig | None = Field(None, alias="authenticateOIDCConfig")
    jwt: JwtConfig | None = Field(None, alias="jwtValidationConfig")


class ListenerRuleConfigurationSpec(_Spec):
    actions: tuple[RuleAction, ...] = Field((), max_length=2)
    conditions: tuple[ListenerRuleCondition, ...] = ()
    tags: dict[str, str] | None = None


S = TypeVar("S", bound=_Spec)


def read_spec(config: ConfigObject, model: type[S]) -> S:
    """The object's spec, checked against its CRD's schema; an error names the field."""
    try:
        return model.model_validate(config.spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise ConfigError(config.obj, f"spec{where}", first["msg"]) from None
