"""Where each ``alb.ingress.kubernetes.io/*`` annotation of a member Ingress went on the Gateway
side, as a report finding (the annotation language's table: docs/gateway.md)."""

from __future__ import annotations

from albctl.migrate.report import IngressReport, Status
from albctl.model.annotations import PREFIX

LOAD_BALANCER = {
    "scheme": "scheme",
    "load-balancer-name": "loadBalancerName",
    "ip-address-type": "ipAddressType",
    "subnets": "loadBalancerSubnets",
    "security-groups": "securityGroups",
    "manage-backend-security-group-rules": "manageBackendSecurityGroupRules",
    "inbound-cidrs": "sourceRanges",
    "security-group-prefix-lists": "securityGroupPrefixes",
    "load-balancer-attributes": "loadBalancerAttributes",
    "tags": "tags",
    "wafv2-acl-arn": "wafV2.webACL",
    "wafv2-acl-name": "wafV2.webACL",
    "shield-advanced-protection": "shieldConfiguration.enabled",
    "minimum-load-balancer-capacity": "minimumLoadBalancerCapacity",
    "customer-owned-ipv4-pool": "customerOwnedIpv4Pool",
    "ipam-ipv4-pool-id": "ipv4IPAMPoolId",
    "certificate-arn": "listenerConfigurations[].certificates",
    "ssl-policy": "listenerConfigurations[].sslPolicy",
    "mutual-authentication": "listenerConfigurations[].mutualAuthentication",
}
TARGET_GROUP = {
    "target-type": "targetType",
    "backend-protocol": "protocol",
    "backend-protocol-version": "protocolVersion",
    "target-group-attributes": "targetGroupAttributes",
    "target-node-labels": "nodeSelector",
    "multi-cluster-target-group": "enableMultiCluster",
    "healthcheck-port": "healthCheckConfig.healthCheckPort",
    "healthcheck-protocol": "healthCheckConfig.healthCheckProtocol",
    "healthcheck-path": "healthCheckConfig.healthCheckPath",
    "healthcheck-interval-seconds": "healthCheckConfig.healthCheckInterval",
    "healthcheck-timeout-seconds": "healthCheckConfig.healthCheckTimeout",
    "healthy-threshold-count": "healthCheckConfig.healthyThresholdCount",
    "unhealthy-threshold-count": "healthCheckConfig.unhealthyThresholdCount",
    "success-codes": "healthCheckConfig.matcher",
}
RULE = (
    "auth-type",
    "auth-idp-cognito",
    "auth-idp-oidc",
    "auth-scope",
    "auth-session-cookie",
    "auth-session-timeout",
    "auth-on-unauthenticated-request",
    "jwt-validation",
)
UNSUPPORTED = {
    "waf-acl-id": "WAF Classic: LBC's Gateway configuration has no such field; use wafv2",
    "web-acl-id": "WAF Classic: LBC's Gateway configuration has no such field; use wafv2",
}


def annotation_findings(rep: IngressReport, annotations: dict[str, str], gateway: str) -> None:
    ns, name = gateway.split("/")
    lbc = f"LoadBalancerConfiguration/{ns}/{name}"
    for key in sorted(annotations):
        if not key.startswith(PREFIX):
            continue
        a = key.removeprefix(PREFIX)
        status, detail, where = _where(a, lbc, gateway)
        rep.add(key, status, detail, where)


def _where(a: str, lbc: str, gateway: str) -> tuple[Status, str, tuple[str, ...]]:
    if a in LOAD_BALANCER:
        return "mapped", "the Gateway's load balancer", (f"{lbc} spec.{LOAD_BALANCER[a]}",)
    if a.startswith("listener-attributes."):
        return "mapped", "the listener's attributes", (f"{lbc} spec.listenerConfigurations[]",)
    if a in TARGET_GROUP:
        where = (
            f"TargetGroupConfiguration of each Service, spec.defaultConfiguration.{TARGET_GROUP[a]}"
        )
        return "mapped", "the Services' target groups", (where,)
    if a in ("listen-ports", "ssl-redirect"):
        detail = "Gateway listeners" + (
            ", and a redirecting HTTPRoute" if a == "ssl-redirect" else ""
        )
        return "mapped", detail, (f"Gateway/{gateway} spec.listeners",)
    if a == "group.name":
        return "mapped", "one Gateway for the group", (f"Gateway/{gateway}",)
    if a == "group.order":
        return (
            "mapped",
            "the Gateway API ranks rules by their matches, not by an order; the routing check "
            "below compares every rule",
            (),
        )
    if a.startswith(("actions.", "conditions.", "transforms.")) or a in RULE:
        return "mapped", "HTTPRoute rules and ListenerRuleConfigurations", ("HTTPRoute",)
    if a in UNSUPPORTED:
        return "unsupported", UNSUPPORTED[a], ()
    return "unsupported", "not read by albctl", ()
