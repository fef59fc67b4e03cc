"""LBC's gateway.k8s.aws kinds in the Gateway model (pure): every field the annotations also
have gives the same model value either way (one table, both languages built for real), merging
of Gateway and GatewayClass configurations, TargetGroupConfiguration levels, and invalid fields
reported on the Gateway or route while the rest keeps serving."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from albctl.model.builder import GroupInput, build_group
from albctl.model.desired import Stack
from albctl.model.gateway.build import GatewayBuild, build_gateway
from albctl.model.gateway.select import gateway_input, our_gateways
from albctl.model.groups import group_ingresses
from albctl.model.settings import BuildSettings
from albctl.model.tags import CLUSTER_TAG, INGRESS_TAG, RESOURCE_TAG, STACK_TAG
from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route, listener
from tests.helpers import (
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    inventory,
    node,
    objects,
    rule,
    service,
)

ANN = "alb.ingress.kubernetes.io/"
CFG = "gateway.k8s.aws/v1beta1"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/c1"
STORE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/corp/1"
ACL = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/corp/1"
POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/pool"
SETTINGS = BuildSettings(cluster_name="c", default_target_type="ip")
OURS = {CLUSTER_TAG, STACK_TAG, RESOURCE_TAG, INGRESS_TAG}


def _inv() -> Any:
    inv = inventory()
    subnets = tuple(s.model_copy(update={"ipv6": True}) for s in inv.subnets)
    return inv.model_copy(
        update={
            "subnets": subnets,
            "trust_stores_by_name": {"corp": STORE},
            "web_acls_by_name": {"corp": ACL},
        }
    )


def _backends() -> list[dict[str, Any]]:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "idp", "namespace": "default"},
        "data": {"clientID": "aWQ=", "clientSecret": "czNjcjN0LXZhbHVl"},
    }
    return [
        service("web"),
        endpoint_slice("web", ["10.0.1.5"]),
        node("n1", "i-1", az="a") | {"metadata": {"name": "n1", "labels": {"pool": "edge"}}},
        node("n2", "i-2", az="b"),
        secret,
    ]


def ingress_stack(ann: dict[str, str], https: bool = False) -> Stack:
    extra = {"listen-ports": '[{"HTTPS": 443}]', "certificate-arn": CERT} if https else {}
    ing = ingress(
        "web",
        annotations={ANN + k: v for k, v in {**extra, **ann}.items()},
        rules=[rule(None, ("/", "Prefix", backend(*_ingress_backend(ann))))],
    )
    objs = objects(ingress_class(), ing, *_backends())
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, [], SETTINGS)
    [g] = grouping.groups.values()
    services = {s.key: s for s in objs.services}
    res = build_group(
        GroupInput(
            g,
            services,
            objs.endpoint_slices,
            objs.nodes,
            _inv(),
            SETTINGS,
            secrets={s.key: s for s in objs.secrets},
        )
    )
    assert res.stack is not None, (res.group_error, res.invalid)
    return res.stack


def _ingress_backend(ann: dict[str, str]) -> tuple[str, int | str]:
    named = [k.removeprefix("actions.") for k in ann if k.startswith("actions.")]
    return (named[0], "use-annotation") if named else ("web", 80)


def config(kind: str, name: str, spec: dict[str, Any], ns: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": CFG,
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def gateway_build(
    lbc: dict[str, Any] | None = None,
    tgc: dict[str, Any] | None = None,
    lrc: dict[str, Any] | None = None,
    https: bool = False,
    extra: tuple[dict[str, Any], ...] = (),
) -> GatewayBuild:
    li = listener("https", 443, "HTTPS") if https else listener("http")
    gw = gateway("gw", "default", li)
    docs: list[dict[str, Any]] = [gateway_class(), *_backends(), *extra]
    if lbc is not None:
        if https:
            lbc = {
                "listenerConfigurations": [
                    {"protocolPort": "HTTPS:443", "defaultCertificate": CERT}
                ],
                **lbc,
            }
        gw["spec"]["infrastructure"] = {
            "parametersRef": {
                "group": "gateway.k8s.aws",
                "kind": "LoadBalancerConfiguration",
                "name": "lb",
            }
        }
        docs.append(config("LoadBalancerConfiguration", "lb", lbc))
    if tgc is not None:
        docs.append(
            config(
                "TargetGroupConfiguration",
                "web",
                {"targetReference": {"name": "web"}, "defaultConfiguration": tgc},
            )
        )
    r: dict[str, Any] = {"backendRefs": [backend_ref("web", 80)]}
    if lrc is not None:
        docs.append(config("ListenerRuleConfiguration", "rc", lrc))
        r["filters"] = [
            {
                "type": "ExtensionRef",
                "extensionRef": {
                    "group": "gateway.k8s.aws",
                    "kind": "ListenerRuleConfiguration",
                    "name": "rc",
                },
            }
        ]
    docs.append(http_route("web", "default", r, parents=[{"name": "gw"}]))
    objs = objects(gw, *docs)
    [g] = our_gateways(objs, SETTINGS).values()
    return build_gateway(gateway_input(objs, g, _inv(), SETTINGS))


def gateway_stack(**kw: Any) -> Stack:
    got = gateway_build(**kw)
    assert got.result.stack is not None, got.result.group_error
    assert not got.result.invalid, got.result.invalid
    return got.result.stack


def _user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in OURS and not k.startswith("albctl.io/")}


def _rule_action(st: Stack) -> Any:
    return st.rules[0].action if st.rules else st.listeners[0].default_action


def _oidc(action: Any) -> Any:
    return action.oidc.model_dump(exclude={"client_secret_digest"}) if action.oidc else None


LB = lambda st: st.load_balancer  # noqa: E731
SG = lambda st: st.security_group.ingress if st.security_group else None  # noqa: E731
LI = lambda st: st.listeners[0]  # noqa: E731
TG = lambda st: st.target_groups[0]  # noqa: E731

# (name, annotations, LoadBalancerConfiguration spec, what to compare, HTTPS)
LOAD_BALANCER: list[tuple[str, dict[str, str], dict[str, Any], Callable[[Stack], Any], bool]] = [
    (
        "scheme",
        {"scheme": "internet-facing"},
        {"scheme": "internet-facing"},
        lambda st: (LB(st).scheme, LB(st).subnets),
        False,
    ),
    (
        "name",
        {"load-balancer-name": "edge"},
        {"loadBalancerName": "edge"},
        lambda st: LB(st).name,
        False,
    ),
    (
        "ip type",
        {"ip-address-type": "dualstack"},
        {"ipAddressType": "dualstack"},
        lambda st: LB(st).ip_address_type,
        False,
    ),
    (
        "subnets",
        {"subnets": "private-a, subnet-prvb"},
        {"loadBalancerSubnets": [{"identifier": "private-a"}, {"identifier": "subnet-prvb"}]},
        lambda st: LB(st).subnets,
        False,
    ),
    (
        "security groups",
        {"security-groups": "sg-1,sg-2", "manage-backend-security-group-rules": "true"},
        {"securityGroups": ["sg-1", "sg-2"], "manageBackendSecurityGroupRules": True},
        lambda st: (LB(st).security_groups, st.backend_rules_source),
        False,
    ),
    ("waf", {"wafv2-acl-arn": ACL}, {"wafV2": {"webACL": ACL}}, lambda st: LB(st).web_acl, False),
    (
        "waf by name",
        {"wafv2-acl-name": "corp"},
        {"wafV2": {"webACL": "corp"}},
        lambda st: LB(st).web_acl,
        False,
    ),
    (
        "shield",
        {"shield-advanced-protection": "true"},
        {"shieldConfiguration": {"enabled": True}},
        lambda st: LB(st).shield_protection,
        False,
    ),
    (
        "capacity",
        {"minimum-load-balancer-capacity": "CapacityUnits=200"},
        {"minimumLoadBalancerCapacity": {"capacityUnits": 200}},
        lambda st: LB(st).capacity_units,
        False,
    ),
    (
        "ipam",
        {"ipam-ipv4-pool-id": "ipam-pool-0abc"},
        {"ipv4IPAMPoolId": "ipam-pool-0abc"},
        lambda st: LB(st).ipam_ipv4_pool,
        False,
    ),
    (
        "coip",
        {"customer-owned-ipv4-pool": "ipv4pool-coip-1"},
        {"customerOwnedIpv4Pool": "ipv4pool-coip-1"},
        lambda st: LB(st).customer_owned_ipv4_pool,
        False,
    ),
    (
        "attributes",
        {"load-balancer-attributes": "idle_timeout.timeout_seconds=120"},
        {"loadBalancerAttributes": [{"key": "idle_timeout.timeout_seconds", "value": "120"}]},
        lambda st: LB(st).attributes,
        False,
    ),
    (
        "tags",
        {"tags": "team=edge,cost=7"},
        {"tags": {"team": "edge", "cost": "7"}},
        lambda st: _user_tags(LB(st).tags),
        False,
    ),
    (
        "source ranges",
        {"inbound-cidrs": "10.1.2.3/8, 2001:db8::/32", "ip-address-type": "dualstack"},
        {"sourceRanges": ["10.1.2.3/8", "2001:db8::/32"], "ipAddressType": "dualstack"},
        SG,
        False,
    ),
    (
        "prefix lists",
        {"security-group-prefix-lists": "pl-1,pl-2"},
        {"securityGroupPrefixes": ["pl-1", "pl-2"]},
        SG,
        False,
    ),
    (
        "ssl policy",
        {"ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
        {
            "listenerConfigurations": [
                {
                    "protocolPort": "HTTPS:443",
                    "defaultCertificate": CERT,
                    "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                }
            ]
        },
        lambda st: (LI(st).ssl_policy, LI(st).certificates),
        True,
    ),
    (
        "mtls",
        {
            "mutual-authentication": '[{"port": 443, "mode": "verify", "trustStore": "corp", "ignoreClientCertificateExpiry": true}]'
        },
        {
            "listenerConfigurations": [
                {
                    "protocolPort": "HTTPS:443",
                    "defaultCertificate": CERT,
                    "mutualAuthentication": {
                        "mode": "verify",
                        "trustStore": "corp",
                        "ignoreClientCertificateExpiry": True,
                    },
                }
            ]
        },
        lambda st: LI(st).mutual_authentication,
        True,
    ),
    (
        "listener attributes",
        {"listener-attributes.HTTPS-443": "routing.http.response.server.enabled=false"},
        {
            "listenerConfigurations": [
                {
                    "protocolPort": "HTTPS:443",
                    "defaultCertificate": CERT,
                    "listenerAttributes": [
                        {"key": "routing.http.response.server.enabled", "value": "false"}
                    ],
                }
            ]
        },
        lambda st: LI(st).attributes,
        True,
    ),
]


@pytest.mark.parametrize("name,ann,spec,of,https", LOAD_BALANCER, ids=[c[0] for c in LOAD_BALANCER])
def test_load_balancer_configuration_means_what_the_annotation_means(
    name: str, ann: dict[str, str], spec: dict[str, Any], of: Callable[[Stack], Any], https: bool
) -> None:
    from_annotations = of(ingress_stack(ann, https))
    from_crd = of(gateway_stack(lbc=spec, https=https))
    assert from_crd == from_annotations
    # the field changed something
    assert from_crd != of(gateway_stack(lbc={} if https else None, https=https))


HEALTH = {
    "healthcheck-path": "/healthz",
    "healthcheck-port": "http",
    "healthcheck-protocol": "HTTPS",
    "healthcheck-interval-seconds": "20",
    "healthcheck-timeout-seconds": "7",
    "healthy-threshold-count": "4",
    "unhealthy-threshold-count": "5",
    "success-codes": "200-204",
}
HEALTH_CRD = {
    "healthCheckPath": "/healthz",
    "healthCheckPort": "http",
    "healthCheckProtocol": "HTTPS",
    "healthCheckInterval": 20,
    "healthCheckTimeout": 7,
    "healthyThresholdCount": 4,
    "unhealthyThresholdCount": 5,
    "matcher": {"httpCode": "200-204"},
}
TARGET_GROUP: list[tuple[str, dict[str, str], dict[str, Any], Callable[[Stack], Any]]] = [
    ("health check", HEALTH, {"healthCheckConfig": HEALTH_CRD}, lambda st: TG(st).health_check),
    (
        "grpc health check",
        {
            "backend-protocol-version": "GRPC",
            "success-codes": "0-5",
            "healthcheck-path": "/grpc.health.v1.Health/Check",
            "healthy-threshold-count": "3",
            "unhealthy-threshold-count": "3",
        },
        {
            "protocolVersion": "GRPC",
            "healthCheckConfig": {
                "matcher": {"grpcCode": "0-5"},
                "healthCheckPath": "/grpc.health.v1.Health/Check",
            },
        },
        lambda st: (TG(st).protocol_version, TG(st).health_check),
    ),
    (
        "target type",
        {"target-type": "instance"},
        {"targetType": "instance"},
        lambda st: (TG(st).target_type, TG(st).port, TG(st).targets),
    ),
    (
        "node selector",
        {"target-type": "instance", "target-node-labels": "pool=edge"},
        {"targetType": "instance", "nodeSelector": {"matchLabels": {"pool": "edge"}}},
        lambda st: TG(st).targets,
    ),
    ("protocol", {"backend-protocol": "HTTPS"}, {"protocol": "HTTPS"}, lambda st: TG(st).protocol),
    (
        "protocol version",
        {"backend-protocol-version": "HTTP2"},
        {"protocolVersion": "HTTP2"},
        lambda st: TG(st).protocol_version,
    ),
    (
        "attributes",
        {"target-group-attributes": "deregistration_delay.timeout_seconds=30"},
        {"targetGroupAttributes": [{"key": "deregistration_delay.timeout_seconds", "value": "30"}]},
        lambda st: TG(st).attributes,
    ),
    (
        "multi-cluster",
        {"multi-cluster-target-group": "true"},
        {"enableMultiCluster": True},
        lambda st: TG(st).multi_cluster,
    ),
]


@pytest.mark.parametrize("name,ann,props,of", TARGET_GROUP, ids=[c[0] for c in TARGET_GROUP])
def test_target_group_configuration_means_what_the_annotation_means(
    name: str, ann: dict[str, str], props: dict[str, Any], of: Callable[[Stack], Any]
) -> None:
    base = {
        "healthcheck-interval-seconds": "15",
        "healthy-threshold-count": "3",
        "unhealthy-threshold-count": "3",
        "success-codes": "200-399",
    }  # LBC's Gateway defaults, written out on the Ingress
    from_annotations = of(ingress_stack({**base, **ann}))
    from_crd = of(gateway_stack(tgc=props))
    assert from_crd == from_annotations
    assert from_crd != of(gateway_stack())


COGNITO = {"userPoolARN": POOL, "userPoolClientID": "cid", "userPoolDomain": "auth"}
OIDC = {
    "issuer": "https://idp.example.com",
    "authorizationEndpoint": "https://idp.example.com/auth",
    "tokenEndpoint": "https://idp.example.com/token",
    "userInfoEndpoint": "https://idp.example.com/userinfo",
}
AUTH_SETTINGS = {
    "auth-scope": "openid email",
    "auth-session-cookie": "s",
    "auth-session-timeout": "3600",
    "auth-on-unauthenticated-request": "deny",
}
AUTH_CRD = {
    "scope": "openid email",
    "sessionCookieName": "s",
    "sessionTimeout": 3600,
    "onUnauthenticatedRequest": "deny",
}
JWT = {
    "issuer": "https://idp.example.com",
    "jwksEndpoint": "https://idp.example.com/jwks",
    "additionalClaims": [{"name": "aud", "format": "single-string", "values": ["web"]}],
}
FIXED = {"statusCode": 418, "contentType": "application/json", "messageBody": '{"tea": 1}'}
STICKY = {"targetGroupStickinessConfig": {"enabled": True, "durationSeconds": 120}}
RULES: list[tuple[str, dict[str, str], dict[str, Any], Callable[[Stack], Any], bool]] = [
    (
        "cognito",
        {
            "auth-type": "cognito",
            "auth-idp-cognito": json.dumps(COGNITO),
            **AUTH_SETTINGS,
        },
        {
            "actions": [
                {
                    "type": "authenticate-cognito",
                    "authenticateCognitoConfig": {
                        "userPoolArn": POOL,
                        "userPoolClientId": "cid",
                        "userPoolDomain": "auth",
                        **AUTH_CRD,
                    },
                }
            ]
        },
        lambda st: _rule_action(st).cognito,
        True,
    ),
    (
        "oidc",
        {
            "auth-type": "oidc",
            "auth-idp-oidc": '{"issuer": "https://idp.example.com", "authorizationEndpoint": "https://idp.example.com/auth", "tokenEndpoint": "https://idp.example.com/token", "userInfoEndpoint": "https://idp.example.com/userinfo", "secretName": "idp"}',
            **AUTH_SETTINGS,
        },
        {
            "actions": [
                {
                    "type": "authenticate-oidc",
                    "authenticateOIDCConfig": {**OIDC, "secret": {"name": "idp"}, **AUTH_CRD},
                }
            ]
        },
        lambda st: _oidc(_rule_action(st)),
        True,
    ),
    (
        "jwt",
        {
            "jwt-validation": '{"issuer": "https://idp.example.com", "jwksEndpoint": "https://idp.example.com/jwks", "additionalClaims": [{"name": "aud", "format": "single-string", "values": ["web"]}]}'
        },
        {"actions": [{"type": "jwt-validation", "jwtValidationConfig": JWT}]},
        lambda st: _rule_action(st).jwt,
        True,
    ),
    (
        "fixed response",
        {
            "actions.teapot": '{"type": "fixed-response", "fixedResponseConfig": {"statusCode": "418", "contentType": "application/json", "messageBody": "{\\"tea\\": 1}"}}'
        },
        {"actions": [{"type": "fixed-response", "fixedResponseConfig": FIXED}]},
        lambda st: _rule_action(st).fixed_response,
        False,
    ),
    (
        "stickiness",
        {
            "actions.sticky": '{"type": "forward", "forwardConfig": {"targetGroups": [{"serviceName": "web", "servicePort": 80}], "targetGroupStickinessConfig": {"enabled": true, "durationSeconds": 120}}}'
        },
        {"actions": [{"type": "forward", "forwardConfig": STICKY}]},
        lambda st: (_rule_action(st).stickiness_enabled, _rule_action(st).stickiness_duration),
        False,
    ),
]


@pytest.mark.parametrize("name,ann,spec,of,https", RULES, ids=[c[0] for c in RULES])
def test_listener_rule_configuration_means_what_the_annotation_means(
    name: str, ann: dict[str, str], spec: dict[str, Any], of: Callable[[Stack], Any], https: bool
) -> None:
    lbc = {} if https else None
    from_annotations = of(ingress_stack(ann, https))
    from_crd = of(gateway_stack(lrc=spec, https=https, lbc=lbc))
    assert from_crd == from_annotations
    assert from_crd != of(gateway_stack(https=https, lbc=lbc))


def test_source_ip_condition_is_read_by_the_conditions_parser() -> None:
    ann = {
        "conditions.web": '[{"field": "source-ip", "sourceIpConfig": {"values": ["10.0.0.0/5"]}}]'
    }
    ing = ingress_stack(ann)
    gw = gateway_stack(
        lrc={"conditions": [{"field": "source-ip", "sourceIPConfig": {"values": ["10.0.0.0/5"]}}]}
    )
    pick = lambda st: [c for r in st.rules for c in r.conditions if c.field == "source-ip"]  # noqa: E731
    assert pick(gw) == pick(ing) and pick(gw)


# --- merging, levels, and errors -------------------------------------------------------------


def _class_and_gateway(mode: str | None) -> GatewayBuild:
    cls = gateway_class()
    cls["spec"]["parametersRef"] = {
        "group": "gateway.k8s.aws",
        "kind": "LoadBalancerConfiguration",
        "name": "org",
        "namespace": "kube-system",
    }
    org = {
        "scheme": "internet-facing",
        "tags": {"owner": "platform", "tier": "org"},
        **({"mergingMode": mode} if mode else {}),
    }
    gw = gateway("gw", "default", listener("http"))
    gw["spec"]["infrastructure"] = {
        "parametersRef": {
            "group": "gateway.k8s.aws",
            "kind": "LoadBalancerConfiguration",
            "name": "lb",
        }
    }
    docs = [
        cls,
        gw,
        *_backends(),
        config("LoadBalancerConfiguration", "org", org, "kube-system"),
        config(
            "LoadBalancerConfiguration",
            "lb",
            {"scheme": "internal", "tags": {"tier": "team"}, "loadBalancerName": "team-lb"},
        ),
        http_route(
            "web", "default", {"backendRefs": [backend_ref("web", 80)]}, parents=[{"name": "gw"}]
        ),
    ]
    objs = objects(*docs)
    [g] = our_gateways(objs, SETTINGS).values()
    return build_gateway(gateway_input(objs, g, _inv(), SETTINGS))


@pytest.mark.parametrize(
    "mode,scheme,tier", [(None, "internet-facing", "org"), ("prefer-gateway", "internal", "team")]
)
def test_gateway_and_gateway_class_configurations_merge_by_merging_mode(
    mode: str | None, scheme: str, tier: str
) -> None:
    st = _class_and_gateway(mode).result.stack
    assert st is not None
    lb = st.load_balancer
    assert (lb.scheme, lb.name) == (scheme, "team-lb")  # a field only one sets is kept
    assert _user_tags(lb.tags) == {"owner": "platform", "tier": tier}  # merged per key


def test_target_group_configuration_levels_and_route_specificity() -> None:
    default = config(
        "TargetGroupConfiguration",
        "defaults",
        {
            "defaultConfiguration": {
                "targetGroupAttributes": [{"key": "a", "value": "1"}],
                "healthCheckConfig": {"healthCheckPath": "/default"},
            }
        },
    )
    own = config(
        "TargetGroupConfiguration",
        "web",
        {
            "targetReference": {"name": "web"},
            "defaultConfiguration": {"targetGroupAttributes": [{"key": "b", "value": "2"}]},
            "routeConfigurations": [
                {
                    "routeIdentifier": {"kind": "HTTPRoute"},
                    "targetGroupProps": {"healthCheckConfig": {"healthCheckPath": "/kind"}},
                },
                {
                    "routeIdentifier": {"kind": "HTTPRoute", "namespace": "default", "name": "web"},
                    "targetGroupProps": {"healthCheckConfig": {"healthCheckPath": "/exact"}},
                },
                {
                    "routeIdentifier": {"kind": "HTTPRoute", "namespace": "other"},
                    "targetGroupProps": {"healthCheckConfig": {"healthCheckPath": "/other"}},
                },
            ],
        },
    )
    st = gateway_stack(
        lbc={"defaultTargetGroupConfiguration": {"name": "defaults"}}, extra=(default, own)
    )
    tg = TG(st)
    assert tg.health_check.path == "/exact"  # kind+namespace+name beats kind
    assert tg.attributes == {"a": "1", "b": "2"}  # attributes merge per key across levels
    assert tg.health_check.healthy_threshold == 3  # unset fields keep LBC's Gateway defaults


def test_invalid_load_balancer_configuration_is_a_gateway_condition_naming_the_field() -> None:
    got = gateway_build(lbc={"scheme": "public"})
    assert got.result.stack is None
    err = got.result.group_error
    assert err is not None and err.obj == "LoadBalancerConfiguration/default/lb"
    assert err.field == "spec.scheme"
    acc = got.status.conditions["Accepted"]
    assert (acc.status, acc.reason) == (False, "InvalidParameters")
    assert "spec.scheme" in acc.message


def test_an_invalid_target_group_configuration_freezes_only_its_route() -> None:
    bad = config(
        "TargetGroupConfiguration",
        "web",
        {
            "targetReference": {"name": "web"},
            "defaultConfiguration": {"healthCheckConfig": {"healthCheckInterval": 3}},
        },
    )
    objs_extra = (service("api"), bad)
    li = listener("http")
    gw = gateway("gw", "default", li)
    routes = [
        http_route(
            "web", "default", {"backendRefs": [backend_ref("web", 80)]}, parents=[{"name": "gw"}]
        ),
        http_route(
            "api",
            "default",
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                "backendRefs": [backend_ref("api", 80)],
            },
            parents=[{"name": "gw"}],
        ),
    ]
    objs = objects(gateway_class(), gw, *_backends(), *objs_extra, *routes)
    [g] = our_gateways(objs, SETTINGS).values()
    got = build_gateway(gateway_input(objs, g, _inv(), SETTINGS))
    assert got.result.stack is not None
    err = got.result.invalid["HTTPRoute/default/web"]
    assert err.obj == "TargetGroupConfiguration/default/web"
    assert err.field == "spec.defaultConfiguration.healthCheckConfig.healthCheckInterval"
    assert [r.ingress for r in got.result.stack.rules] == ["HTTPRoute/default/api"]
    [ps] = got.status.routes["HTTPRoute/default/web"]
    assert ps.conditions["Accepted"].reason == "UnsupportedValue"
    assert "healthCheckInterval" in ps.conditions["Accepted"].message


def test_nlb_only_fields_are_ignored_with_a_warning() -> None:
    got = gateway_build(
        lbc={
            "enableICMP": True,
            "loadBalancerSubnets": [
                {"identifier": "public-a", "eipAllocation": "eip-1"},
                {"identifier": "public-b"},
            ],
        }
    )
    msgs = [m for _, m in got.result.warnings]
    assert any("spec.enableICMP applies to NLBs" in m for m in msgs)
    assert any("loadBalancerSubnets[0].eipAllocation applies to NLBs" in m for m in msgs)
    assert got.result.stack is not None


def test_oidc_client_secret_stays_out_of_the_model() -> None:
    got = gateway_build(
        lrc={
            "actions": [
                {
                    "type": "authenticate-oidc",
                    "authenticateOIDCConfig": {**OIDC, "secret": {"name": "idp"}},
                }
            ]
        },
        https=True,
        lbc={},
    )
    assert got.result.stack is not None
    assert "s3cr3t-value" not in got.result.stack.model_dump_json()
    assert list(got.result.client_secrets.values()) == ["s3cr3t-value"]


def test_authentication_on_an_http_listener_is_refused() -> None:
    got = gateway_build(lrc={"actions": [{"type": "jwt-validation", "jwtValidationConfig": JWT}]})
    err = got.result.invalid["HTTPRoute/default/web"]
    assert err.obj == "ListenerRuleConfiguration/default/rc" and "HTTPS" in err.message


def test_redirect_query_means_what_the_actions_annotation_means() -> None:
    redirect = {
        "type": "redirect",
        "redirectConfig": {
            "host": "new.example.com",
            "query": "from=old",
            "statusCode": "HTTP_301",
        },
    }
    ing = ingress_stack({"actions.moved": json.dumps(redirect)})
    lrc = config(
        "ListenerRuleConfiguration",
        "rc",
        {"actions": [{"type": "redirect", "redirectConfig": {"query": "from=old"}}]},
    )
    rr = {"hostname": "new.example.com", "statusCode": 301}
    ext = {"group": "gateway.k8s.aws", "kind": "ListenerRuleConfiguration", "name": "rc"}
    route = http_route(
        "web",
        "default",
        {
            "filters": [
                {"type": "RequestRedirect", "requestRedirect": rr},
                {"type": "ExtensionRef", "extensionRef": ext},
            ]
        },
        parents=[{"name": "gw"}],
    )
    objs = objects(
        gateway("gw", "default", listener("http")), gateway_class(), *_backends(), lrc, route
    )
    [g] = our_gateways(objs, SETTINGS).values()
    gw = build_gateway(gateway_input(objs, g, _inv(), SETTINGS)).result.stack
    assert gw is not None
    assert _rule_action(gw).redirect == _rule_action(ing).redirect
    assert _rule_action(gw).redirect.query == "from=old"
