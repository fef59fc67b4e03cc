"""The load balancer, its managed security group and the certificates imported for it."""

from __future__ import annotations

from typing import Any

from albctl.model.desired import BACKEND_SG_ID, MANAGED_SG_ID, LoadBalancer, SecurityGroup, Stack
from albctl.model.inventory import OwnedCertificate
from albctl.model.observed import ObservedLoadBalancer, ObservedSecurityGroup, ObservedStack
from albctl.model.plan.changes import Change, Update, attr_diff, tag_diff

# the name albctl gives the Shield Advanced protections it creates; others are never deleted
SHIELD_PROTECTION_NAME = "albctl.io managed"


def delete_certificate(oc: OwnedCertificate) -> Change:
    return Change("delete", "Certificate", oc.resource_id, {"arn": oc.arn}, observed=oc)


def diff_certificates(
    desired: Stack, observed: ObservedStack, ch: list[Change], deletes: list[Change], frozen: bool
) -> None:
    have = {c.resource_id: c for c in observed.certificates}
    for c in desired.certificates:
        o = have.get(c.id)
        details: dict[str, Any] = {"secret": c.secret, "domains": list(c.domains)}
        if c.not_after:
            details["notAfter"] = c.not_after
        if o is None:
            ch.append(Change("create", "Certificate", c.id, details, desired=c))
            continue
        tags = tag_diff(c.tags, o.tags)
        if o.fingerprint != c.fingerprint:
            details["fingerprint"] = {"from": o.fingerprint[:16], "to": c.fingerprint[:16]}
            ch.append(Change("update", "Certificate", c.id, details, c, o, ops=("reimport",)))
        elif tags:
            ch.append(Change("update", "Certificate", c.id, {"tags": tags}, c, o, ops=("tags",)))
    wanted = {c.id for c in desired.certificates}
    if not frozen:
        deletes += [delete_certificate(o) for rid, o in sorted(have.items()) if rid not in wanted]


def diff_security_group(
    sg: SecurityGroup, obs: ObservedSecurityGroup | None, ch: list[Change]
) -> None:
    if obs is None:
        ch.append(
            Change(
                "create",
                "SecurityGroup",
                sg.id,
                {"name": sg.name, "ingress": [f"{r.source}:{r.from_port}" for r in sg.ingress]},
                desired=sg,
            )
        )
        return
    want, have = set(sg.ingress), set(obs.ingress)
    u = Update("SecurityGroup", sg.id, sg, obs)
    if want != have:
        u.ops.append("ingress")
        if want - have:
            u.details["authorize"] = sorted(f"{r.source}:{r.from_port}" for r in want - have)
        if have - want:
            u.details["revoke"] = sorted(f"{r.source}:{r.from_port}" for r in have - want)
    u.tags(sg.tags, obs.tags)
    ch += u.changes()


def _update_load_balancer(
    lb: LoadBalancer,
    obs: ObservedLoadBalancer,
    obs_sg: ObservedSecurityGroup | None,
    ch: list[Change],
    backend_sg: str | None = None,
) -> None:
    u = Update("LoadBalancer", lb.id, lb, obs)
    if tuple(sorted(obs.subnets)) != lb.subnets:
        u.ops.append("subnets")
        u.details["subnets"] = {"from": sorted(obs.subnets), "to": list(lb.subnets)}
    refs = {BACKEND_SG_ID: backend_sg, MANAGED_SG_ID: obs_sg.group_id if obs_sg else None}
    want_sgs = [refs.get(s, s) for s in lb.security_groups]
    if None in want_sgs or sorted(str(s) for s in want_sgs) != sorted(obs.security_groups):
        u.ops.append("security_groups")
        u.details["security_groups"] = {
            "from": list(obs.security_groups),
            "to": list(lb.security_groups),
        }
    if obs.ip_address_type != lb.ip_address_type:
        u.ops.append("ip_address_type")
        u.details["ip_address_type"] = {"from": obs.ip_address_type, "to": lb.ip_address_type}
    attrs = attr_diff(lb.attributes, obs.attributes)
    if attrs:
        u.ops.append("attributes")
        u.details["attributes"] = attrs
    if lb.web_acl is not None and obs.web_acl != lb.web_acl:
        u.ops.append("web_acl")
        u.details["web_acl"] = {"from": obs.web_acl or "none", "to": lb.web_acl or "none"}
    _update_addons(lb, obs, u)
    u.tags(lb.tags, obs.tags)
    ch += u.changes()


def _update_addons(lb: LoadBalancer, obs: ObservedLoadBalancer, u: Update) -> None:
    """WAF Classic, Shield Advanced, capacity reservation and the IPAM pool: each compared
    only when the desired state sets it (None: left as it is)."""
    waf = lb.waf_classic_acl
    if waf is not None and obs.waf_classic_acl is not None and obs.waf_classic_acl != waf:
        u.add(
            "waf_classic",
            "waf_classic_acl",
            {"from": obs.waf_classic_acl or "none", "to": waf or "none"},
        )
    shield, have = lb.shield_protection, obs.shield_protection_id
    if shield is not None and have is not None:
        if shield and not have:
            u.add("shield", "shield_protection", {"from": False, "to": True})
        elif not shield and have and obs.shield_protection_name == SHIELD_PROTECTION_NAME:
            u.add("shield", "shield_protection", {"from": True, "to": False})
    units = lb.capacity_units
    if units is not None and obs.capacity_units is not None and obs.capacity_units != units:
        u.add("capacity", "capacity_units", {"from": obs.capacity_units, "to": units})
    if (obs.ipam_ipv4_pool or None) != lb.ipam_ipv4_pool:
        u.add(
            "ipam_pools",
            "ipam_ipv4_pool",
            {"from": obs.ipam_ipv4_pool or "none", "to": lb.ipam_ipv4_pool or "none"},
        )


def _details(lb: LoadBalancer) -> dict[str, Any]:
    out: dict[str, Any] = {"name": lb.name, "scheme": lb.scheme, "subnets": list(lb.subnets)}
    for key in (
        "customer_owned_ipv4_pool",
        "ipam_ipv4_pool",
        "capacity_units",
        "waf_classic_acl",
        "shield_protection",
    ):
        value = getattr(lb, key)
        if value not in (None, ""):
            out[key] = value
    return out


def diff_load_balancer(
    lb: LoadBalancer,
    observed: ObservedStack,
    obs_lb: ObservedLoadBalancer | None,
    obs_sg: ObservedSecurityGroup | None,
    ch: list[Change],
    deletes: list[Change],
) -> bool:
    """Create, replace (the scheme changed) or update the load balancer, and delete any second
    one of the stack; True when it is replaced."""
    replaced = False
    if obs_lb is None:
        ch.append(Change("create", "LoadBalancer", lb.id, _details(lb), desired=lb))
    elif obs_lb.scheme != lb.scheme:
        replaced = True
        changed = {"scheme": {"from": obs_lb.scheme, "to": lb.scheme}}
        ch.append(
            Change(
                "replace",
                "LoadBalancer",
                lb.id,
                {"name": lb.name, "changed": changed},
                desired=lb,
                observed=obs_lb,
            )
        )
    else:
        _update_load_balancer(lb, obs_lb, obs_sg, ch, observed.backend_security_group)
    for other in observed.load_balancers:
        if other is not obs_lb:
            deletes.append(
                Change(
                    "delete",
                    "LoadBalancer",
                    other.resource_id,
                    {"name": other.name},
                    observed=other,
                )
            )
    return replaced
