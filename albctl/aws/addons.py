"""What sits around a load balancer and its listeners beyond the ELBv2 basics: WAF Classic,
Shield Advanced, the capacity reservation, IPAM pools, listener attributes and mTLS.

Each is read only where the desired state sets it (albctl compares only what it manages) and
written with the calls AWS offers for it. WAF Classic (``waf-regional``) exists in neither
moto nor LocalStack, nor do trust stores or capacity reservations in moto; their calls are
tested at the client seam with botocore's Stubber.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, error_code
from albctl.errors import AwsError
from albctl.logs import log_event
from albctl.model.annotations import PREFIX as ANN
from albctl.model.desired import LoadBalancer, MutualAuthentication
from albctl.model.plan.load_balancer import SHIELD_PROTECTION_NAME

log = logging.getLogger(__name__)

# what AWS-compatible endpoints answer for a Shield call they do not emulate (moto raises
# NotImplementedError in-process and answers HTTP 500 as a server; LocalStack answers 501)
_NOT_EMULATED = {"500", "501", "NotImplemented", "InternalFailure", "InternalError"}


# --- listeners -------------------------------------------------------------------------------


def mtls_to_aws(m: MutualAuthentication) -> dict[str, Any]:
    out: dict[str, Any] = {"Mode": m.mode}
    if m.mode == "verify":
        out["TrustStoreArn"] = m.trust_store_arn
        out["IgnoreClientCertificateExpiry"] = m.ignore_client_certificate_expiry
        out["AdvertiseTrustStoreCaNames"] = m.advertise_trust_store_ca_names
    return out


def mtls_from_aws(listener: Mapping[str, Any]) -> MutualAuthentication | None:
    """The listener's mTLS as albctl compares it; an HTTPS listener without any is "off"."""
    if listener.get("Protocol") != "HTTPS":
        return None
    raw = listener.get("MutualAuthentication") or {}
    mode = raw.get("Mode", "off")
    if mode != "verify":
        return MutualAuthentication(mode=mode)
    return MutualAuthentication(
        mode="verify",
        trust_store_arn=raw.get("TrustStoreArn"),
        ignore_client_certificate_expiry=bool(raw.get("IgnoreClientCertificateExpiry", False)),
        advertise_trust_store_ca_names=raw.get("AdvertiseTrustStoreCaNames", "off"),
    )


def listener_attributes(clients: AwsClients, arn: str) -> dict[str, str]:
    resp = clients.elbv2.describe_listener_attributes(ListenerArn=arn)
    return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}


def set_listener_attributes(clients: Any, arn: str, attributes: Mapping[str, str]) -> None:
    clients.elbv2.modify_listener_attributes(
        ListenerArn=arn,
        Attributes=[{"Key": k, "Value": v} for k, v in sorted(attributes.items())],
    )


def trust_stores(clients: AwsClients, names: set[str]) -> dict[str, str]:
    """Trust store ARNs by name, for the names mutual-authentication annotations give."""
    wanted = sorted(n for n in names if n and not n.startswith("arn:"))
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 20):
        try:
            found = clients.elbv2.describe_trust_stores(Names=wanted[i : i + 20])
        except ClientError as exc:
            # a missing name: the model reports it, naming the annotation
            if error_code(exc) != "TrustStoreNotFound":
                raise
            found = _trust_stores_one_by_one(clients, wanted[i : i + 20])
        for ts in found.get("TrustStores", []):
            out[ts["Name"]] = ts["TrustStoreArn"]
    return out


def _trust_stores_one_by_one(clients: AwsClients, names: list[str]) -> dict[str, Any]:
    stores: list[Any] = []
    for n in names:
        try:
            stores += clients.elbv2.describe_trust_stores(Names=[n]).get("TrustStores", [])
        except ClientError as exc:
            if error_code(exc) != "TrustStoreNotFound":
                raise
    return {"TrustStores": stores}


# --- load balancer: reads ----------------------------------------------------------------------


def waf_classic_acl(clients: AwsClients, lb_arn: str) -> str:
    """The WAF Classic web ACL id associated with the load balancer, "" for none."""
    got = clients.wafregional.get_web_acl_for_resource(ResourceArn=lb_arn)
    return str((got.get("WebACLSummary") or {}).get("WebACLId", ""))


def shield_protection(clients: AwsClients, lb_arn: str) -> tuple[str, str]:
    """(protection id, name) of the load balancer's Shield Advanced protection; ("", "")."""
    try:
        p = clients.shield.describe_protection(ResourceArn=lb_arn)["Protection"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return "", ""
        raise
    return str(p.get("Id", "")), str(p.get("Name", ""))


def capacity_units(clients: AwsClients, lb_arn: str) -> int:
    """The minimum capacity units reserved, 0 for none."""
    resp = clients.elbv2.describe_capacity_reservation(LoadBalancerArn=lb_arn)
    return int((resp.get("MinimumLoadBalancerCapacity") or {}).get("CapacityUnits", 0))


def read_load_balancer(clients: AwsClients, lb_arn: str, lb: LoadBalancer) -> dict[str, Any]:
    """The observed fields of the add-ons ``lb`` manages (the others stay unread)."""
    out: dict[str, Any] = {}
    if lb.waf_classic_acl is not None:
        out["waf_classic_acl"] = waf_classic_acl(clients, lb_arn)
    if lb.shield_protection is not None:
        pid, name = shield_protection(clients, lb_arn)
        out["shield_protection_id"], out["shield_protection_name"] = pid, name
    if lb.capacity_units is not None:
        out["capacity_units"] = capacity_units(clients, lb_arn)
    return out


# --- load balancer: writes ---------------------------------------------------------------------


def create_parameters(lb: LoadBalancer) -> dict[str, Any]:
    """CreateLoadBalancer parameters of the address pools."""
    out: dict[str, Any] = {}
    if lb.customer_owned_ipv4_pool:
        out["CustomerOwnedIpv4Pool"] = lb.customer_owned_ipv4_pool
    if lb.ipam_ipv4_pool:
        out["IpamPools"] = {"Ipv4IpamPoolId": lb.ipam_ipv4_pool}
    return out


def apply_load_balancer(
    clients: Any, lb_arn: str, lb: LoadBalancer, ops: tuple[str, ...], group: str
) -> None:
    """The add-on updates of a plan's load balancer change (``ops``; all of them at create)."""
    if "ipam_pools" in ops:
        if lb.ipam_ipv4_pool:
            clients.elbv2.modify_ip_pools(
                LoadBalancerArn=lb_arn, IpamPools={"Ipv4IpamPoolId": lb.ipam_ipv4_pool}
            )
        else:
            clients.elbv2.modify_ip_pools(LoadBalancerArn=lb_arn, RemoveIpamPools=["ipv4"])
    if "capacity" in ops and lb.capacity_units is not None:
        if lb.capacity_units:
            clients.elbv2.modify_capacity_reservation(
                LoadBalancerArn=lb_arn,
                MinimumLoadBalancerCapacity={"CapacityUnits": lb.capacity_units},
            )
        else:
            clients.elbv2.modify_capacity_reservation(
                LoadBalancerArn=lb_arn, ResetCapacityReservation=True
            )
    if "waf_classic" in ops and lb.waf_classic_acl is not None:
        if lb.waf_classic_acl:
            clients.wafregional.associate_web_acl(WebACLId=lb.waf_classic_acl, ResourceArn=lb_arn)
        else:
            clients.wafregional.disassociate_web_acl(ResourceArn=lb_arn)
    if "shield" in ops and lb.shield_protection is not None:
        _apply_shield(clients, lb_arn, lb, group)


def creation_ops(lb: LoadBalancer) -> tuple[str, ...]:
    """The add-on operations a new load balancer needs (nothing is set on it yet)."""
    ops = []
    if lb.capacity_units:
        ops.append("capacity")
    if lb.waf_classic_acl:
        ops.append("waf_classic")
    if lb.shield_protection:
        ops.append("shield")
    return tuple(ops)


def _apply_shield(clients: Any, lb_arn: str, lb: LoadBalancer, group: str) -> None:
    """Protect (tagged like the load balancer, so only albctl's protections can be deleted
    by its IAM policy), or remove the protection albctl made; one made by someone else stays."""
    if lb.shield_protection:
        _check_subscription(clients, group)
        clients.shield.create_protection(
            Name=SHIELD_PROTECTION_NAME,
            ResourceArn=lb_arn,
            Tags=[{"Key": k, "Value": v} for k, v in sorted(lb.tags.items())],
        )
        return
    pid, name = shield_protection(clients, lb_arn)
    if pid and name == SHIELD_PROTECTION_NAME:
        clients.shield.delete_protection(ProtectionId=pid)


def _check_subscription(clients: Any, group: str) -> None:
    """Refuse to protect without an active Shield Advanced subscription, with a clear error
    (CreateProtection's own is vague). An endpoint that does not emulate the call (moto,
    LocalStack) leaves the state unknown: the check is skipped and CreateProtection decides."""
    try:
        state = clients.shield.get_subscription_state()["SubscriptionState"]
    except NotImplementedError:
        state = "UNKNOWN"
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) not in _NOT_EMULATED:
            raise
        state = "UNKNOWN"
    if state == "UNKNOWN":
        log_event(log, "shield subscription state unknown", group=group)
    elif state != "ACTIVE":
        raise AwsError(
            f"annotation {ANN}shield-advanced-protection of group {group} is 'true', but the "
            f"account's Shield Advanced subscription is {state}: subscribe first, or set it "
            "to 'false'"
        )


__all__ = [
    "apply_load_balancer",
    "create_parameters",
    "creation_ops",
    "listener_attributes",
    "mtls_from_aws",
    "mtls_to_aws",
    "read_load_balancer",
    "set_listener_attributes",
    "trust_stores",
]
