"""The group's load balancer, listeners and target groups (as the Ingress model built them)
as a Gateway's LoadBalancerConfiguration and the Services' TargetGroupConfigurations: the
fields docs/gateway.md lists, so the Gateway builds the same load balancer."""

from __future__ import annotations

from typing import Any

from albctl.model.desired import BACKEND_SG_ID, Listener, Stack, TargetGroup
from albctl.model.tags import SERVICE_TAG

OURS_PREFIX = "albctl.io/"
EVERYONE = {"0.0.0.0/0", "::/0"}


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(OURS_PREFIX) and k != SERVICE_TAG}


def load_balancer_spec(stack: Stack, subnets_given: bool) -> tuple[dict[str, Any], list[str]]:
    """(LoadBalancerConfiguration spec, what could not be carried over)."""
    lb = stack.load_balancer
    spec: dict[str, Any] = {
        "scheme": lb.scheme,
        "loadBalancerName": lb.name,  # the running load balancer keeps its name
    }
    problems: list[str] = []
    if lb.ip_address_type != "ipv4":
        spec["ipAddressType"] = lb.ip_address_type
    if subnets_given:
        spec["loadBalancerSubnets"] = [{"identifier": s} for s in lb.subnets]
    if stack.security_group is None:
        spec["securityGroups"] = [s for s in lb.security_groups if s != BACKEND_SG_ID]
        if BACKEND_SG_ID in lb.security_groups:
            spec["manageBackendSecurityGroupRules"] = True
    else:
        problems += _inbound(stack, spec)
    if lb.attributes:
        spec["loadBalancerAttributes"] = [{"key": k, "value": v} for k, v in lb.attributes.items()]
    tags = user_tags(lb.tags)
    if tags:
        spec["tags"] = tags
    if lb.web_acl:
        spec["wafV2"] = {"webACL": lb.web_acl}
    if lb.waf_classic_acl:
        problems.append("WAF Classic web ACL: LBC's Gateway configuration has no such field")
    if lb.shield_protection is not None:
        spec["shieldConfiguration"] = {"enabled": lb.shield_protection}
    if lb.capacity_units is not None:
        spec["minimumLoadBalancerCapacity"] = {"capacityUnits": lb.capacity_units}
    if lb.customer_owned_ipv4_pool:
        spec["customerOwnedIpv4Pool"] = lb.customer_owned_ipv4_pool
    if lb.ipam_ipv4_pool:
        spec["ipv4IPAMPoolId"] = lb.ipam_ipv4_pool
    listeners = [c for li in stack.listeners if (c := _listener(li))]
    if listeners:
        spec["listenerConfigurations"] = listeners
    return spec, problems


def _inbound(stack: Stack, spec: dict[str, Any]) -> list[str]:
    assert stack.security_group is not None
    by_port: dict[int, set[str]] = {}
    for r in stack.security_group.ingress:
        by_port.setdefault(r.from_port, set()).add(r.cidr or r.prefix_list)
    sources = {frozenset(v) for v in by_port.values()}
    problems = []
    if len(sources) > 1:
        problems.append(
            "listeners open to different sources: a LoadBalancerConfiguration opens every "
            "listener to the same sourceRanges and securityGroupPrefixes (all of them taken)"
        )
    every = set().union(*sources) if sources else set()
    cidrs = sorted(s for s in every if not s.startswith("pl-"))
    lists = sorted(s for s in every if s.startswith("pl-"))
    if cidrs and not set(cidrs) <= EVERYONE:
        spec["sourceRanges"] = cidrs
    if lists:
        spec["securityGroupPrefixes"] = lists
    return problems


def _listener(li: Listener) -> dict[str, Any] | None:
    out: dict[str, Any] = {"protocolPort": f"{li.protocol}:{li.port}"}
    certs = [c for c in li.certificates if c.startswith("arn:aws")]
    if certs:
        out["defaultCertificate"] = certs[0]
        if certs[1:]:
            out["certificates"] = certs[1:]
    if li.protocol == "HTTPS" and li.ssl_policy:
        out["sslPolicy"] = li.ssl_policy
    m = li.mutual_authentication
    if m is not None and m.mode != "off":
        mtls: dict[str, Any] = {"mode": m.mode}
        if m.mode == "verify":
            mtls["trustStore"] = m.trust_store_arn
            mtls["ignoreClientCertificateExpiry"] = m.ignore_client_certificate_expiry
            mtls["advertiseTrustStoreCaNames"] = m.advertise_trust_store_ca_names
        out["mutualAuthentication"] = mtls
    if li.attributes:
        out["listenerAttributes"] = [{"key": k, "value": v} for k, v in li.attributes.items()]
    return out if len(out) > 1 else None


def target_group_props(tg: TargetGroup, node_labels: dict[str, str]) -> dict[str, Any]:
    """TargetGroupProps that build the same target group (every health check field written
    out: the Gateway's defaults are LBC's, not the Ingress's)."""
    hc = tg.health_check
    grpc = tg.protocol_version == "GRPC"
    check: dict[str, Any] = {
        "healthCheckPath": hc.path,
        "healthCheckPort": hc.port,
        "healthCheckProtocol": hc.protocol,
        "healthCheckInterval": hc.interval_seconds,
        "healthCheckTimeout": hc.timeout_seconds,
        "healthyThresholdCount": hc.healthy_threshold,
        "unhealthyThresholdCount": hc.unhealthy_threshold,
        "matcher": {"grpcCode": hc.grpc_code} if grpc else {"httpCode": hc.http_code},
    }
    props: dict[str, Any] = {
        "targetType": tg.target_type,
        "protocol": tg.protocol,
        "protocolVersion": tg.protocol_version,
        "healthCheckConfig": check,
    }
    if tg.ip_address_type != "ipv4":
        props["ipAddressType"] = tg.ip_address_type
    if tg.attributes:
        props["targetGroupAttributes"] = [{"key": k, "value": v} for k, v in tg.attributes.items()]
    if tg.multi_cluster:
        props["enableMultiCluster"] = True
    if node_labels and tg.target_type == "instance":
        props["nodeSelector"] = {"matchLabels": node_labels}
    tags = user_tags(tg.tags)
    if tags:
        props["tags"] = tags
    return props
