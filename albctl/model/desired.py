"""The desired state of one IngressGroup's AWS resources, and the observed state in the same shape.

Every resource has a stable ``id`` inside its stack (the ``albctl.io/resource`` tag). References
between resources use those ids, never ARNs, so a desired state is fully determined by its
inputs and can be serialised, compared and golden-tested.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from albctl.model.tls import ImportedCertificate

LB_ID = "LoadBalancer"
MANAGED_SG_ID = "ManagedLBSecurityGroup"
# the cluster's shared backend security group (not part of any stack; resolved by the adapter)
BACKEND_SG_ID = "BackendSecurityGroup"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SecurityGroupRule(_Frozen):
    protocol: str = "tcp"
    from_port: int
    to_port: int
    cidr: str = ""  # IPv4 or IPv6 CIDR, or
    prefix_list: str = ""  # a managed prefix list id

    @property
    def source(self) -> str:
        return self.cidr or self.prefix_list


class SecurityGroup(_Frozen):
    id: str
    name: str
    description: str
    ingress: tuple[SecurityGroupRule, ...]
    tags: dict[str, str]


class LoadBalancer(_Frozen):
    id: str = LB_ID
    name: str
    scheme: Literal["internet-facing", "internal"]
    ip_address_type: Literal["ipv4", "dualstack", "dualstack-without-public-ipv4"]
    subnets: tuple[str, ...]  # subnet ids, sorted
    security_groups: tuple[str, ...]  # sg ids, or the managed SG resource id
    attributes: dict[str, str]
    tags: dict[str, str]
    # WAFv2 web ACL ARN; "" = none (disassociate); None = not managed (left as it is)
    web_acl: str | None = None
    # WAF Classic (regional) web ACL id; "" = none (disassociate); None = left as it is
    waf_classic_acl: str | None = None
    # Shield Advanced protection on (True) or off (False); None = left as it is
    shield_protection: bool | None = None
    # minimum capacity units reserved (0 resets the reservation); None = left as it is
    capacity_units: int | None = None
    # customer-owned IPv4 pool (Outposts); set when the load balancer is created, never changed
    customer_owned_ipv4_pool: str | None = None
    # IPAM pool the load balancer's IPv4 addresses come from; None = no pool (detached)
    ipam_ipv4_pool: str | None = None


class HealthCheck(_Frozen):
    protocol: str
    port: str
    path: str
    interval_seconds: int
    timeout_seconds: int
    healthy_threshold: int
    unhealthy_threshold: int
    http_code: str | None = None
    grpc_code: str | None = None


class Target(_Frozen):
    id: str
    port: int


class TargetGroup(_Frozen):
    id: str
    name: str
    ingress: str  # ns/name of the member that owns it
    service: str  # ns/name:port of the backend
    port: int
    protocol: str
    protocol_version: str
    target_type: Literal["instance", "ip"]
    ip_address_type: Literal["ipv4", "ipv6"] = "ipv4"
    health_check: HealthCheck
    attributes: dict[str, str]
    tags: dict[str, str]
    targets: tuple[Target, ...]
    # shared with other clusters or sources: only targets albctl registered are deregistered
    multi_cluster: bool = False


class ForwardTarget(_Frozen):
    target_group: str  # a TargetGroup id of this stack, or an ARN of a foreign target group
    weight: int = 1


class RedirectConfig(_Frozen):
    protocol: str = "#{protocol}"
    port: str = "#{port}"
    host: str = "#{host}"
    path: str = "/#{path}"
    query: str = "#{query}"
    status_code: Literal["HTTP_301", "HTTP_302"] = "HTTP_301"


class FixedResponseConfig(_Frozen):
    status_code: str
    content_type: str | None = None
    message_body: str | None = None


class _AuthCommon(_Frozen):
    scope: str = "openid"
    session_cookie: str = "AWSELBAuthSessionCookie"
    session_timeout: int = 604800
    on_unauthenticated: Literal["authenticate", "allow", "deny"] = "authenticate"
    extra_params: dict[str, str] = {}


class AuthenticateOidc(_AuthCommon):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    user_info_endpoint: str
    client_id: str
    # a digest of the client secret (of the Secret it came from and its value): the secret
    # itself is never part of the model, a plan or a log line; the applier gets it by digest
    client_secret_digest: str


class AuthenticateCognito(_AuthCommon):
    user_pool_arn: str
    user_pool_client_id: str
    user_pool_domain: str


class JwtClaim(_Frozen):
    name: str
    format: Literal["single-string", "string-array", "space-separated-values"]
    values: tuple[str, ...]


class JwtValidation(_Frozen):
    jwks_endpoint: str
    issuer: str
    additional_claims: tuple[JwtClaim, ...] = ()


class Action(_Frozen):
    """A rule's or listener's final action, with the authentication or JWT validation that
    runs before it (HTTPS listeners only)."""

    type: Literal["forward", "redirect", "fixed-response"]
    forward: tuple[ForwardTarget, ...] = ()
    stickiness_enabled: bool = False
    stickiness_duration: int | None = None
    redirect: RedirectConfig | None = None
    fixed_response: FixedResponseConfig | None = None
    oidc: AuthenticateOidc | None = None
    cognito: AuthenticateCognito | None = None
    jwt: JwtValidation | None = None


class Rewrite(_Frozen):
    regex: str
    replace: str


class Transform(_Frozen):
    """A rule transform: the host header or the URL rewritten before forwarding."""

    type: Literal["host-header-rewrite", "url-rewrite"]
    rewrites: tuple[Rewrite, ...]


class QueryStringValue(_Frozen):
    key: str | None = None
    value: str


class Condition(_Frozen):
    field: Literal[
        "host-header",
        "path-pattern",
        "http-header",
        "http-request-method",
        "query-string",
        "source-ip",
    ]
    values: tuple[str, ...] = ()
    regex_values: tuple[str, ...] = ()
    http_header_name: str | None = None
    query_values: tuple[QueryStringValue, ...] = ()

    @property
    def value_count(self) -> int:
        return len(self.values) + len(self.regex_values) + len(self.query_values)


class MutualAuthentication(_Frozen):
    """mTLS of an HTTPS listener, normalised as AWS reports it (defaults filled in)."""

    mode: Literal["off", "passthrough", "verify"]
    trust_store_arn: str | None = None  # verify only
    ignore_client_certificate_expiry: bool = False  # verify only
    advertise_trust_store_ca_names: Literal["on", "off"] = "off"  # verify only


class Listener(_Frozen):
    id: str  # the port, as text
    port: int
    protocol: Literal["HTTP", "HTTPS"]
    ssl_policy: str | None = None
    certificates: tuple[str, ...] = ()  # first is the default certificate
    default_action: Action
    tags: dict[str, str]
    # listener attributes albctl sets (others are left as they are)
    attributes: dict[str, str] = Field(default_factory=dict)
    # None: left as it is (turning mTLS off takes an explicit mode "off", as in LBC)
    mutual_authentication: MutualAuthentication | None = None


class Rule(_Frozen):
    id: str
    listener: str  # Listener id
    ingress: str  # ns/name of the member that owns it
    priority: int
    conditions: tuple[Condition, ...]
    action: Action
    tags: dict[str, str]
    transforms: tuple[Transform, ...] = ()


class Stack(_Frozen):
    """Everything albctl manages for one IngressGroup."""

    group_id: str
    load_balancer: LoadBalancer
    security_group: SecurityGroup | None
    target_groups: tuple[TargetGroup, ...]
    listeners: tuple[Listener, ...]
    rules: tuple[Rule, ...]
    # which security group the targets' security groups admit traffic from: BACKEND_SG_ID,
    # MANAGED_SG_ID (backend security group disabled), or None (rules not managed)
    backend_rules_source: str | None = None
    # TLS Secrets imported into ACM, referenced by listeners as secret/<ns>/<name>
    certificates: tuple[ImportedCertificate, ...] = ()
    # the rules' priorities give their order only; the plan keeps existing rules where they
    # are and puts new ones in the gaps (model.plan.priorities): a Gateway's rules, where an
    # unrelated route must not move the others
    stable_priorities: bool = False
