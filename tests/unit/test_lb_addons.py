"""Load balancer add-ons and listener settings in the model and the plan: every refused value
names the object, the annotation (or IngressClassParams field) and what the user wrote; the
plan compares only what the desired state manages."""

from __future__ import annotations

from typing import Any

import pytest

from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.desired import (
    BACKEND_SG_ID,
    MANAGED_SG_ID,
    Listener,
    MutualAuthentication,
    Target,
)
from albctl.model.diff import diff_stack
from albctl.model.groups import group_ingresses
from albctl.model.inventory import Inventory
from albctl.model.observed import (
    ObservedListener,
    ObservedLoadBalancer,
    ObservedSecurityGroup,
    ObservedStack,
    ObservedTargetGroup,
)
from albctl.model.plan.load_balancer import SHIELD_PROTECTION_NAME
from albctl.model.settings import BuildSettings
from albctl.model.tags import TARGETS_RECORD_PREFIX, recorded_targets, target_hash, targets_record
from tests.helpers import (
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    inventory,
    objects,
    rule,
    service,
)

ANN = "alb.ingress.kubernetes.io/"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/c1"
STORE_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/corp/1"


def build(*docs: dict[str, Any], inv: Inventory | None = None) -> dict[str, BuildResult]:
    objs = objects(ingress_class(), service("web"), *docs)
    s = BuildSettings(cluster_name="c")
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, s)
    inv = inv or inventory().model_copy(update={"trust_stores_by_name": {"corp": STORE_ARN}})
    services = {x.key: x for x in objs.services}
    return {
        gid: build_group(GroupInput(g, services, objs.endpoint_slices, objs.nodes, inv, s))
        for gid, g in grouping.groups.items()
    }


def web(name: str = "web", **ann: str) -> dict[str, Any]:
    return ingress(name, rules=[rule("a.example.com", ("/", "Prefix", backend("web", 80)))], **ann)


def error_of(*docs: dict[str, Any]) -> str:
    [res] = [r for r in build(*docs).values() if r.invalid]
    [err] = res.invalid.values()
    return str(err)


HTTPS = {"listen_ports": '[{"HTTPS": 443}]', "certificate_arn": CERT}


# --- what each annotation builds --------------------------------------------------------------


def test_addons_reach_the_load_balancer() -> None:
    [res] = build(
        web(
            waf_acl_id="0f1e2d3c-aaaa",
            shield_advanced_protection="true",
            minimum_load_balancer_capacity="CapacityUnits=250",
            ipam_ipv4_pool_id="ipam-pool-0abc",
            customer_owned_ipv4_pool="ipv4pool-coip-0abc",
        )
    ).values()
    assert res.stack is not None
    lb = res.stack.load_balancer
    assert (lb.waf_classic_acl, lb.shield_protection, lb.capacity_units) == (
        "0f1e2d3c-aaaa",
        True,
        250,
    )
    assert (lb.ipam_ipv4_pool, lb.customer_owned_ipv4_pool) == (
        "ipam-pool-0abc",
        "ipv4pool-coip-0abc",
    )


def test_absent_addons_are_left_as_they_are() -> None:
    [res] = build(web()).values()
    assert res.stack is not None
    lb = res.stack.load_balancer
    assert (lb.waf_classic_acl, lb.shield_protection, lb.capacity_units) == (None, None, None)


def test_web_acl_id_is_the_old_name_and_waf_acl_id_wins() -> None:
    [res] = build(web(web_acl_id="old-id")).values()
    assert res.stack is not None and res.stack.load_balancer.waf_classic_acl == "old-id"
    [res] = build(web(web_acl_id="old-id", waf_acl_id="none")).values()
    assert res.stack is not None and res.stack.load_balancer.waf_classic_acl == ""


@pytest.mark.parametrize(
    ("ann", "value", "says"),
    [
        ("waf_acl_id", "not an id!", "expected a WAF Classic web ACL id"),
        ("shield_advanced_protection", "yes", "expected 'true' or 'false'"),
        ("minimum_load_balancer_capacity", "CapacityUnits=lots", "CapacityUnits=<a whole number>"),
        ("minimum_load_balancer_capacity", "Units=10", "CapacityUnits=<a whole number>"),
        ("customer_owned_ipv4_pool", "", "expected a customer-owned IPv4 pool id"),
        ("ipam_ipv4_pool_id", "pool-1", "expected an IPAM pool id"),
    ],
)
def test_bad_values_name_ingress_annotation_and_value(ann: str, value: str, says: str) -> None:
    msg = error_of(web(**{ann: value}))
    assert msg.startswith("Ingress/default/web: annotation " + ANN + ann.replace("_", "-"))
    assert repr(value) in msg and says in msg


def test_members_disagreeing_on_shield_conflict_naming_both() -> None:
    a = web("a", group_name="g", group_order="1", shield_advanced_protection="true")
    b = web("b", group_name="g", group_order="2", shield_advanced_protection="false")
    msg = error_of(a, b)
    assert msg.startswith(f"Ingress/default/b: annotation {ANN}shield-advanced-protection")
    assert "Ingress/default/a" in msg


def test_customer_owned_pool_cannot_change_on_an_existing_load_balancer() -> None:
    inv = inventory().model_copy(
        update={
            "existing_scheme": "internal",
            "existing_customer_owned_ipv4_pool": "ipv4pool-coip-1",
        }
    )
    same = build(web(customer_owned_ipv4_pool="ipv4pool-coip-1"), inv=inv)
    assert not next(iter(same.values())).invalid
    [res] = build(web(customer_owned_ipv4_pool="ipv4pool-coip-2"), inv=inv).values()
    msg = str(res.invalid["default/web"])
    assert f"annotation {ANN}customer-owned-ipv4-pool" in msg
    assert "'ipv4pool-coip-2'" in msg and "'ipv4pool-coip-1'" in msg and "recreate" in msg
    # a scheme change makes a new load balancer: the new pool is fine
    moved = build(
        web(customer_owned_ipv4_pool="ipv4pool-coip-2", scheme="internet-facing"), inv=inv
    )
    assert not next(iter(moved.values())).invalid


def params(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "IngressClassParams",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_ingress_class_params_capacity_ipam_and_listener_attributes_win() -> None:
    docs = [
        ingress_class("p", params="p"),
        params(
            "p",
            {
                "minimumLoadBalancerCapacity": {"capacityUnits": 500},
                "ipamConfiguration": {"ipv4IPAMPoolId": "ipam-pool-0fff"},
                "listeners": [
                    {
                        "protocol": "HTTP",
                        "port": 80,
                        "listenerAttributes": [
                            {"key": "routing.http.response.server.enabled", "value": "true"}
                        ],
                    },
                    {
                        "protocol": "HTTP",
                        "port": 8080,
                        "listenerAttributes": [{"key": "x", "value": "y"}],
                    },
                ],
            },
        ),
        ingress(
            "web",
            ingress_class="p",
            rules=[rule(None, ("/", "Prefix", backend("web", 80)))],
            minimum_load_balancer_capacity="CapacityUnits=1",
            ipam_ipv4_pool_id="ipam-pool-0aaa",
            **{
                "listener-attributes.HTTP-80": "routing.http.response.server.enabled=false,"
                "routing.http.xff_header_processing.mode=remove"
            },
        ),
    ]
    [res] = build(*docs).values()
    assert res.stack is not None
    lb = res.stack.load_balancer
    assert (lb.capacity_units, lb.ipam_ipv4_pool) == (500, "ipam-pool-0fff")
    # per key: the class wins where it sets the key; listeners are never created from there
    [li] = res.stack.listeners
    assert li.attributes == {
        "routing.http.response.server.enabled": "true",
        "routing.http.xff_header_processing.mode": "remove",
    }


def test_bad_ipam_pool_in_params_names_the_params_field() -> None:
    docs = [
        ingress_class("p", params="p"),
        params("p", {"ipamConfiguration": {"ipv4IPAMPoolId": "nope"}}),
        ingress("web", ingress_class="p", rules=[rule(None, ("/", "Prefix", backend("web", 80)))]),
    ]
    msg = error_of(*docs)
    assert msg.startswith("IngressClassParams/p: spec.ipamConfiguration.ipv4IPAMPoolId")
    assert "'nope'" in msg


# --- listener attributes and mTLS -----------------------------------------------------------


def test_listener_attributes_merge_per_key_across_members() -> None:
    a = web("a", group_name="g", **{"listener-attributes.HTTP-80": "k1=v1"})
    b = web("b", group_name="g", **{"listener-attributes.HTTP-80": "k2=v2,k1=v1"})
    [res] = build(a, b).values()
    assert res.stack is not None and not res.invalid
    assert res.stack.listeners[0].attributes == {"k1": "v1", "k2": "v2"}


MTLS = ANN + "mutual-authentication"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('[{"port": 443, "mode": "verify"}]', "mode verify needs a trustStore"),
        (
            '[{"port": 443, "mode": "passthrough", "ignoreClientCertificateExpiry": true}]',
            "mode passthrough does not take ignoreClientCertificateExpiry",
        ),
        (
            '[{"port": 443, "mode": "off", "advertiseTrustStoreCaNames": "on"}]',
            "mode off does not take advertiseTrustStoreCaNames",
        ),
        ('[{"port": 443, "mode": "strict"}]', "mode must be one of off, passthrough, verify"),
        ('[{"port": 443}]', "mode must be one of"),
        ('[{"port": 80, "mode": "off"}]', "port 80 is not an HTTPS port in listen-ports"),
        (
            '[{"port": 443, "mode": "verify", "trustStore": "missing"}]',
            "no trust store named 'missing'",
        ),
        (
            '[{"port": 443, "mode": "verify", "trustStore": "corp", "advertiseTrustStoreCaNames": "yes"}]',
            "advertiseTrustStoreCaNames must be on or off",
        ),
        ('{"port": 443}', "expected a JSON list"),
        (
            '[{"port": 443, "mode": "off"}, {"port": 443, "mode": "off"}]',
            "port 443 is listed twice",
        ),
    ],
)
def test_mutual_authentication_validation(value: str, says: str) -> None:
    ports = '[{"HTTP": 80}, {"HTTPS": 443}]'
    msg = error_of(web(listen_ports=ports, certificate_arn=CERT, annotations={MTLS: value}))
    assert msg.startswith(f"Ingress/default/web: annotation {MTLS}")
    assert says in msg


def test_mutual_authentication_resolves_names_and_fills_defaults() -> None:
    value = '[{"Port": 443, "Mode": "verify", "TrustStore": "corp", "ignoreClientCertificateExpiry": true}]'
    [res] = build(web(**HTTPS, annotations={MTLS: value})).values()
    assert res.stack is not None
    assert res.stack.listeners[0].mutual_authentication == MutualAuthentication(
        mode="verify",
        trust_store_arn=STORE_ARN,
        ignore_client_certificate_expiry=True,
        advertise_trust_store_ca_names="off",
    )


def test_members_sharing_a_port_must_agree_on_mutual_authentication() -> None:
    a = web("a", group_name="g", **HTTPS, annotations={MTLS: '[{"port": 443, "mode": "off"}]'})
    b = web(
        "b", group_name="g", **HTTPS, annotations={MTLS: '[{"port": 443, "mode": "passthrough"}]'}
    )
    msg = error_of(a, b)
    assert msg.startswith(f"Ingress/default/b: annotation {MTLS}[port 443]")
    assert "Ingress/default/a" in msg and "passthrough" in msg


# --- IPv6 -------------------------------------------------------------------------------------


def ipv6_docs(**ann: str) -> list[dict[str, Any]]:
    svc = service("v6", node_port=None, target_port=9000)
    svc["spec"]["ipFamilies"] = ["IPv6", "IPv4"]
    v6 = endpoint_slice("v6", ["2600:1f18::a"], port=9000, suffix="six")
    v6["addressType"] = "IPv6"
    v4 = endpoint_slice("v6", ["10.0.1.10"], port=9000, suffix="four")
    return [
        svc,
        v6,
        v4,
        ingress(
            "v6", target_type="ip", rules=[rule(None, ("/", "Prefix", backend("v6", 80)))], **ann
        ),
    ]


def test_ipv6_service_gets_ipv6_pod_targets_behind_a_dualstack_alb() -> None:
    docs = ipv6_docs(ip_address_type="dualstack", subnets="subnet-prva, subnet-prvb")
    [res] = build(*docs).values()
    assert res.stack is not None
    [tg] = res.stack.target_groups
    assert tg.ip_address_type == "ipv6"
    assert tg.targets == (Target(id="2600:1f18::a", port=9000),)


def test_ipv6_service_behind_an_ipv4_alb_is_refused() -> None:
    msg = error_of(*ipv6_docs(ip_address_type="ipv4"))
    assert msg.startswith(f"Ingress/default/v6: annotation {ANN}ip-address-type: 'ipv4'")
    assert "default/v6:80 is IPv6" in msg


def test_multi_cluster_on_ingress_or_service() -> None:
    for docs in (
        [web(multi_cluster_target_group="true")],
        [service("web", annotations={ANN + "multi-cluster-target-group": "true"}), web()],
    ):
        [res] = build(*docs).values()
        assert res.stack is not None and res.stack.target_groups[0].multi_cluster


# --- the plan ---------------------------------------------------------------------------------


def observed_for(res: BuildResult, **lb_fields: Any) -> ObservedStack:
    """AWS holding exactly the desired stack, with ``lb_fields`` on its load balancer."""
    assert res.stack is not None
    s = res.stack
    lb = s.load_balancer
    sg_ids = {MANAGED_SG_ID: "sg-managed", BACKEND_SG_ID: "sg-backend"}
    olb = ObservedLoadBalancer(
        arn="arn:lb",
        resource_id=lb.id,
        name=lb.name,
        dns_name="x",
        scheme=lb.scheme,
        ip_address_type=lb.ip_address_type,
        subnets=lb.subnets,
        security_groups=tuple(sg_ids.get(g, g) for g in lb.security_groups),
        attributes=dict(lb.attributes),
        tags=dict(lb.tags),
        **lb_fields,
    )
    sgs = ()
    if s.security_group is not None:
        sg = s.security_group
        sgs = (
            ObservedSecurityGroup(
                group_id="sg-managed",
                resource_id=sg.id,
                name=sg.name,
                ingress=sg.ingress,
                tags=sg.tags,
            ),
        )
    tgs = tuple(
        ObservedTargetGroup(
            arn=f"arn:tg/{tg.id}",
            **tg.model_dump(exclude={"id", "ingress", "service", "multi_cluster"}),
            resource_id=tg.id,
        )
        for tg in s.target_groups
    )
    return ObservedStack(
        group_id=s.group_id,
        load_balancers=(olb,),
        listeners=tuple(listener_as_observed(li) for li in s.listeners),
        target_groups=tgs,
        security_groups=sgs,
        backend_security_group="sg-backend",
    )


def listener_as_observed(li: Listener, **changes: Any) -> ObservedListener:
    fields = li.model_dump(exclude={"id"})
    fields.update(changes)
    return ObservedListener(
        arn=f"arn:listener/{li.id}",
        load_balancer_arn="arn:lb",
        resource_id=li.id,
        default_action=li.default_action,
        **{k: v for k, v in fields.items() if k != "default_action"},
    )


def lb_change(res: BuildResult, obs: ObservedStack) -> Any:
    plan = diff_stack(res.stack, obs)
    return next((c for c in plan.changes if c.kind == "LoadBalancer"), None)


def test_plan_compares_only_managed_addons() -> None:
    [res] = build(
        web(
            waf_acl_id="acl-1",
            shield_advanced_protection="true",
            minimum_load_balancer_capacity="CapacityUnits=10",
        )
    ).values()
    converged = observed_for(
        res,
        waf_classic_acl="acl-1",
        shield_protection_id="p-1",
        shield_protection_name=SHIELD_PROTECTION_NAME,
        capacity_units=10,
    )
    assert lb_change(res, converged) is None
    drifted = observed_for(res, waf_classic_acl="", shield_protection_id="", capacity_units=0)
    ch = lb_change(res, drifted)
    assert set(ch.ops) == {"waf_classic", "shield", "capacity"}
    assert ch.details["waf_classic_acl"] == {"from": "none", "to": "acl-1"}
    # unmanaged: nothing read, nothing compared
    [plain] = build(web()).values()
    assert lb_change(plain, observed_for(plain, waf_classic_acl="", capacity_units=3)) is None


def test_shield_false_removes_only_albctls_own_protection() -> None:
    [res] = build(web(shield_advanced_protection="false")).values()
    ours = observed_for(
        res, shield_protection_id="p", shield_protection_name=SHIELD_PROTECTION_NAME
    )
    assert lb_change(res, ours).details["shield_protection"] == {"from": True, "to": False}
    theirs = observed_for(res, shield_protection_id="p", shield_protection_name="security team")
    assert lb_change(res, theirs) is None


def test_ipam_pool_removed_from_the_annotations_is_detached() -> None:
    [res] = build(web()).values()
    ch = lb_change(res, observed_for(res, ipam_ipv4_pool="ipam-pool-0old"))
    assert ch.ops == ("ipam_pools",) and ch.details["ipam_ipv4_pool"]["to"] == "none"


def test_listener_mtls_and_attribute_drift_is_planned() -> None:
    value = '[{"port": 443, "mode": "verify", "trustStore": "corp"}]'
    [res] = build(
        web(**HTTPS, annotations={MTLS: value, ANN + "listener-attributes.HTTPS-443": "a=1"})
    ).values()
    obs = observed_for(res)
    assert [c for c in diff_stack(res.stack, obs).changes if c.kind == "Listener"] == []
    assert res.stack is not None
    li = res.stack.listeners[0]
    drift = obs.model_copy(
        update={
            "listeners": (
                listener_as_observed(
                    li,
                    mutual_authentication=MutualAuthentication(mode="off"),
                    attributes={"a": "2"},
                ),
            )
        }
    )
    [ch] = [c for c in diff_stack(res.stack, drift).changes if c.kind == "Listener"]
    assert set(ch.ops) == {"listener", "attributes"}
    assert ch.details["attributes"] == {"a": "1"}
    assert ch.details["mutual_authentication"]["trust_store_arn"] == STORE_ARN


def test_multi_cluster_deregisters_only_targets_albctl_recorded() -> None:
    [res] = build(web(multi_cluster_target_group="true"), *nodes("i-1", "i-2")).values()
    assert res.stack is not None
    [tg] = res.stack.target_groups
    assert {t.id for t in tg.targets} == {"i-1", "i-2"}
    obs = observed_for(res)
    [otg] = obs.target_groups
    # AWS holds i-1 and i-3 (recorded as ours, its node is gone) and i-9 (another cluster's)
    record = targets_record([("i-1", 30080), ("i-3", 30080)], 40)
    otg = otg.model_copy(
        update={
            "targets": (
                Target(id="i-1", port=30080),
                Target(id="i-3", port=30080),
                Target(id="i-9", port=30080),
            ),
            "tags": {**otg.tags, **record},
        }
    )
    plan = diff_stack(res.stack, obs.model_copy(update={"target_groups": (otg,)}))
    [ch] = [c for c in plan.changes if c.kind == "Targets"]
    assert ch.details["register"] == ["i-2:30080"]
    assert ch.details["deregister"] == ["i-3:30080"]
    assert recorded_targets(ch.details["record"]) == {
        target_hash("i-1", 30080),
        target_hash("i-2", 30080),
    }
    # the record tags are never taken for user tags to remove
    assert not any(c.kind == "TargetGroup" for c in plan.changes)


def test_targets_record_fits_the_tag_budget() -> None:
    many = [(f"10.0.{i // 250}.{i % 250}", 80) for i in range(1000)]
    record = targets_record(many, 40)
    assert all(k.startswith(TARGETS_RECORD_PREFIX) for k in record)
    assert len(record) <= 40 and all(len(v) <= 256 for v in record.values())
    assert len(recorded_targets(record)) == 1000
    assert (
        len(targets_record(many, 3)) == 3
    )  # what does not fit is not recorded (never deregistered)


def nodes(*ids: str) -> list[dict[str, Any]]:
    from tests.helpers import node

    return [node(f"n{i}", iid) for i, iid in enumerate(ids)]
