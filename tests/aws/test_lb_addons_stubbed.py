"""AWS calls of the add-ons that neither moto nor LocalStack emulate, checked at the client
seam with botocore's Stubber: WAF Classic (waf-regional exists in neither), trust stores and
mTLS listeners, the capacity reservation, IPAM pools, and Shield's subscription check (moto
has protections but not GetSubscriptionState). Each test states the exact calls and
parameters; ``assert_no_pending_responses`` fails a test whose expected call was not made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from albctl.aws import addons
from albctl.aws.apply import Applier, ApplyResult
from albctl.aws.clients import AwsClients
from albctl.errors import AwsError
from albctl.model.desired import (
    Action,
    FixedResponseConfig,
    Listener,
    LoadBalancer,
    MutualAuthentication,
)
from albctl.model.diff import Change
from albctl.model.plan.load_balancer import SHIELD_PROTECTION_NAME
from tests.helpers import REGION

LB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/k8s-a/1"
LISTENER_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/k8s-a/1/2"
STORE_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/corp/3"
P1 = "a1b2c3d4-0000-1111-2222-333344445555"
P2 = "a1b2c3d4-0000-1111-2222-333344446666"
TAGS = {"albctl.io/cluster": "c", "albctl.io/stack": "g", "albctl.io/resource": "LoadBalancer"}


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return AwsClients(region=REGION)


@pytest.fixture
def stub(clients: AwsClients) -> Iterator[dict[str, Stubber]]:
    stubs = {name: Stubber(getattr(clients, name)) for name in ("elbv2", "wafregional", "shield")}
    for s in stubs.values():
        s.activate()
    yield stubs
    for s in stubs.values():
        s.assert_no_pending_responses()
        s.deactivate()


def lb(**fields: Any) -> LoadBalancer:
    return LoadBalancer(
        name="k8s-a",
        scheme="internal",
        ip_address_type="ipv4",
        subnets=("subnet-a", "subnet-b"),
        security_groups=("sg-1",),
        attributes={},
        tags=TAGS,
        **fields,
    )


# --- WAF Classic --------------------------------------------------------------------------------


def test_waf_classic_association_calls(clients: AwsClients, stub: dict[str, Stubber]) -> None:
    waf = stub["wafregional"]
    waf.add_response("associate_web_acl", {}, {"WebACLId": "acl-1", "ResourceArn": LB_ARN})
    waf.add_response("disassociate_web_acl", {}, {"ResourceArn": LB_ARN})
    addons.apply_load_balancer(clients, LB_ARN, lb(waf_classic_acl="acl-1"), ("waf_classic",), "g")
    addons.apply_load_balancer(clients, LB_ARN, lb(waf_classic_acl=""), ("waf_classic",), "g")


def test_waf_classic_read(clients: AwsClients, stub: dict[str, Stubber]) -> None:
    waf = stub["wafregional"]
    waf.add_response(
        "get_web_acl_for_resource",
        {"WebACLSummary": {"WebACLId": "acl-1", "Name": "corp"}},
        {"ResourceArn": LB_ARN},
    )
    waf.add_response("get_web_acl_for_resource", {}, {"ResourceArn": LB_ARN})
    assert addons.read_load_balancer(clients, LB_ARN, lb(waf_classic_acl="x")) == {
        "waf_classic_acl": "acl-1"
    }
    assert addons.waf_classic_acl(clients, LB_ARN) == ""


def test_unmanaged_addons_make_no_call(clients: AwsClients, stub: dict[str, Stubber]) -> None:
    # no response queued: any call would fail the test
    assert addons.read_load_balancer(clients, LB_ARN, lb()) == {}
    addons.apply_load_balancer(clients, LB_ARN, lb(), addons.creation_ops(lb()), "g")


# --- capacity reservation and IPAM ------------------------------------------------------------


def test_capacity_reservation_set_and_reset(clients: AwsClients, stub: dict[str, Stubber]) -> None:
    elb = stub["elbv2"]
    elb.add_response(
        "modify_capacity_reservation",
        {},
        {"LoadBalancerArn": LB_ARN, "MinimumLoadBalancerCapacity": {"CapacityUnits": 300}},
    )
    elb.add_response(
        "modify_capacity_reservation",
        {},
        {"LoadBalancerArn": LB_ARN, "ResetCapacityReservation": True},
    )
    elb.add_response(
        "describe_capacity_reservation",
        {"MinimumLoadBalancerCapacity": {"CapacityUnits": 300}},
        {"LoadBalancerArn": LB_ARN},
    )
    addons.apply_load_balancer(clients, LB_ARN, lb(capacity_units=300), ("capacity",), "g")
    addons.apply_load_balancer(clients, LB_ARN, lb(capacity_units=0), ("capacity",), "g")
    assert addons.capacity_units(clients, LB_ARN) == 300


def test_ipam_pool_attach_and_detach(clients: AwsClients, stub: dict[str, Stubber]) -> None:
    elb = stub["elbv2"]
    elb.add_response(
        "modify_ip_pools",
        {},
        {"LoadBalancerArn": LB_ARN, "IpamPools": {"Ipv4IpamPoolId": "ipam-pool-0a"}},
    )
    elb.add_response(
        "modify_ip_pools", {}, {"LoadBalancerArn": LB_ARN, "RemoveIpamPools": ["ipv4"]}
    )
    addons.apply_load_balancer(
        clients, LB_ARN, lb(ipam_ipv4_pool="ipam-pool-0a"), ("ipam_pools",), "g"
    )
    addons.apply_load_balancer(clients, LB_ARN, lb(), ("ipam_pools",), "g")


def test_pools_go_into_create_load_balancer() -> None:
    got = addons.create_parameters(
        lb(customer_owned_ipv4_pool="ipv4pool-coip-1", ipam_ipv4_pool="ipam-pool-0a")
    )
    assert got == {
        "CustomerOwnedIpv4Pool": "ipv4pool-coip-1",
        "IpamPools": {"Ipv4IpamPoolId": "ipam-pool-0a"},
    }
    assert addons.create_parameters(lb()) == {}


# --- Shield -------------------------------------------------------------------------------------


def test_shield_protects_only_with_an_active_subscription(
    clients: AwsClients, stub: dict[str, Stubber]
) -> None:
    shield = stub["shield"]
    shield.add_response("get_subscription_state", {"SubscriptionState": "ACTIVE"}, {})
    shield.add_response(
        "create_protection",
        {"ProtectionId": P1},
        {
            "Name": SHIELD_PROTECTION_NAME,
            "ResourceArn": LB_ARN,
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())],
        },
    )
    shield.add_response("get_subscription_state", {"SubscriptionState": "INACTIVE"}, {})
    addons.apply_load_balancer(clients, LB_ARN, lb(shield_protection=True), ("shield",), "g")
    with pytest.raises(AwsError) as err:
        addons.apply_load_balancer(clients, LB_ARN, lb(shield_protection=True), ("shield",), "g")
    assert "alb.ingress.kubernetes.io/shield-advanced-protection" in str(err.value)
    assert "INACTIVE" in str(err.value) and "group g" in str(err.value)


def test_shield_subscription_state_unknown_on_an_emulator(
    clients: AwsClients, stub: dict[str, Stubber]
) -> None:
    """LocalStack answers 501 for GetSubscriptionState: the check is skipped."""
    shield = stub["shield"]
    shield.add_client_error("get_subscription_state", "InternalFailure", http_status_code=501)
    shield.add_response(
        "create_protection",
        {"ProtectionId": P1},
        {
            "Name": SHIELD_PROTECTION_NAME,
            "ResourceArn": LB_ARN,
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())],
        },
    )
    addons.apply_load_balancer(clients, LB_ARN, lb(shield_protection=True), ("shield",), "g")


def test_shield_off_deletes_only_albctls_protection(
    clients: AwsClients, stub: dict[str, Stubber]
) -> None:
    shield = stub["shield"]
    ours = {"Protection": {"Id": P1, "Name": SHIELD_PROTECTION_NAME, "ResourceArn": LB_ARN}}
    shield.add_response("describe_protection", ours, {"ResourceArn": LB_ARN})
    shield.add_response("delete_protection", {}, {"ProtectionId": P1})
    theirs = {"Protection": {"Id": P2, "Name": "security team", "ResourceArn": LB_ARN}}
    shield.add_response("describe_protection", theirs, {"ResourceArn": LB_ARN})
    addons.apply_load_balancer(clients, LB_ARN, lb(shield_protection=False), ("shield",), "g")
    addons.apply_load_balancer(clients, LB_ARN, lb(shield_protection=False), ("shield",), "g")


# --- trust stores and mTLS listeners -----------------------------------------------------------


def test_trust_store_names_are_resolved_in_one_call(
    clients: AwsClients, stub: dict[str, Stubber]
) -> None:
    stub["elbv2"].add_response(
        "describe_trust_stores",
        {"TrustStores": [{"Name": "corp", "TrustStoreArn": STORE_ARN}]},
        {"Names": ["corp"]},
    )
    assert addons.trust_stores(clients, {"corp", STORE_ARN}) == {"corp": STORE_ARN}
    assert addons.trust_stores(clients, set()) == {}  # no call


def test_a_missing_trust_store_leaves_the_others_resolved(
    clients: AwsClients, stub: dict[str, Stubber]
) -> None:
    elb = stub["elbv2"]
    elb.add_client_error("describe_trust_stores", "TrustStoreNotFound")
    elb.add_response(
        "describe_trust_stores",
        {"TrustStores": [{"Name": "corp", "TrustStoreArn": STORE_ARN}]},
        {"Names": ["corp"]},
    )
    elb.add_client_error("describe_trust_stores", "TrustStoreNotFound")
    assert addons.trust_stores(clients, {"corp", "gone"}) == {"corp": STORE_ARN}


MTLS = MutualAuthentication(
    mode="verify", trust_store_arn=STORE_ARN, advertise_trust_store_ca_names="on"
)


def https_listener() -> Listener:
    return Listener(
        id="443",
        port=443,
        protocol="HTTPS",
        ssl_policy="ELBSecurityPolicy-2016-08",
        certificates=("arn:aws:acm:us-east-1:123456789012:certificate/c1",),
        default_action=Action(
            type="fixed-response",
            fixed_response=FixedResponseConfig(status_code="404", content_type="text/plain"),
        ),
        tags=TAGS,
        attributes={"routing.http.response.server.enabled": "false"},
        mutual_authentication=MTLS,
    )


def test_https_listener_is_created_with_mtls_and_attributes(
    clients: AwsClients, stub: dict[str, Stubber]
) -> None:
    elb = stub["elbv2"]
    li = https_listener()
    elb.add_response(
        "create_listener",
        {"Listeners": [{"ListenerArn": LISTENER_ARN}]},
        {
            "LoadBalancerArn": LB_ARN,
            "Protocol": "HTTPS",
            "Port": 443,
            "DefaultActions": [
                {
                    "Type": "fixed-response",
                    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
                }
            ],
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())],
            "SslPolicy": "ELBSecurityPolicy-2016-08",
            "Certificates": [{"CertificateArn": li.certificates[0]}],
            "MutualAuthentication": {
                "Mode": "verify",
                "TrustStoreArn": STORE_ARN,
                "IgnoreClientCertificateExpiry": False,
                "AdvertiseTrustStoreCaNames": "on",
            },
        },
    )
    elb.add_response(
        "modify_listener_attributes",
        {},
        {
            "ListenerArn": LISTENER_ARN,
            "Attributes": [{"Key": "routing.http.response.server.enabled", "Value": "false"}],
        },
    )
    applier = Applier(clients, "c", None)
    applier.lb_arn, applier.listener_arns = LB_ARN, {}
    applier._create_Listener(Change("create", "Listener", "443", desired=li), ApplyResult("g"))
    assert applier.listener_arns == {"443": LISTENER_ARN}


def test_mtls_read_back_compares_equal() -> None:
    described = {
        "Protocol": "HTTPS",
        "MutualAuthentication": {
            "Mode": "verify",
            "TrustStoreArn": STORE_ARN,
            "IgnoreClientCertificateExpiry": False,
            "AdvertiseTrustStoreCaNames": "on",
            "TrustStoreAssociationStatus": "active",
        },
    }
    assert addons.mtls_from_aws(described) == MTLS
    assert addons.mtls_from_aws({"Protocol": "HTTPS"}) == MutualAuthentication(mode="off")
    assert addons.mtls_from_aws({"Protocol": "HTTP"}) is None
    assert addons.mtls_to_aws(MutualAuthentication(mode="passthrough")) == {"Mode": "passthrough"}
