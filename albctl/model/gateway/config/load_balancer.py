"""LoadBalancerConfiguration: the Gateway's (``spec.infrastructure.parametersRef``, same
namespace) and its GatewayClass's (``spec.parametersRef``, with a namespace), merged as LBC
does (docs/guide/gateway/customization.md, loadbalancerconfig.md): a field set in only one is
taken; a field set in both comes from the GatewayClass's, unless the GatewayClass's
``mergingMode`` is ``prefer-gateway``; ``tags`` and ``loadBalancerAttributes`` merge per key
and ``listenerConfigurations`` per ``protocolPort``, the preferred one winning on a clash.

Values go through the checks the annotations use (:mod:`albctl.model.values`) into the same
load balancer settings. Fields that only mean something on a Network Load Balancer are ignored
with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.desired import MutualAuthentication
from albctl.model.gateway.config.objects import (
    GROUP,
    LOAD_BALANCER_CONFIGURATION,
    ConfigObject,
    ListenerConfiguration,
    LoadBalancerConfigurationSpec,
    read_spec,
)
from albctl.model.gateway.inputs import GatewayInput
from albctl.model.gateway.objects import GatewayClass
from albctl.model.values import Fail
from albctl.model.values import listener as lv
from albctl.model.values import load_balancer as lbv

NLB_ONLY = (
    "enforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
    "disableSecurityGroup",
    "enableICMP",
)
_MERGED_BY_KEY = ("tags", "loadBalancerAttributes", "listenerConfigurations")


@dataclass
class ListenerSettings:
    certificates: list[str] = field(default_factory=list)  # the default first
    ssl_policy: str | None = None
    mtls: MutualAuthentication | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadBalancerSettings:
    """What the Gateway's LoadBalancerConfigurations ask for (empty when it has none)."""

    settings: dict[str, Any] = field(default_factory=dict)  # the Ingress builder's keys
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    cidrs: list[str] | None = None
    prefix_lists: list[str] | None = None
    listeners: dict[tuple[str, int], ListenerSettings] = field(default_factory=dict)
    default_tgcs: list[ConfigObject] = field(default_factory=list)  # preferred first
    sources: dict[str, str] = field(default_factory=dict)  # field -> the object that set it
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, name: str) -> Fail:
        return lambda m: InvalidInputError(self.sources[name], f"spec.{name}", m)


def configurations(inp: GatewayInput) -> list[ConfigObject]:
    """The Gateway's LoadBalancerConfigurations, preferred first."""
    gw = inp.gateway
    got: list[tuple[str, ConfigObject]] = []
    cls = inp.gateway_class
    ref = cls.spec.parameters_ref if cls else None
    if ref is not None:
        obj = f"GatewayClass/{cls.metadata.name}" if cls else "GatewayClass"
        got.append(("class", _find(inp, ref.group, ref.kind, ref.namespace, ref.name, obj)))
    infra = gw.spec.infrastructure
    if infra is not None and infra.parameters_ref is not None:
        r = infra.parameters_ref
        got.append(("gateway", _find(inp, r.group, r.kind, gw.metadata.namespace, r.name, inp.obj)))
    if len(got) < 2:
        return [c for _, c in got]
    mode = read_spec(got[0][1], LoadBalancerConfigurationSpec).merging_mode
    return [got[1][1], got[0][1]] if mode == "prefer-gateway" else [got[0][1], got[1][1]]


def class_parameters_error(cls: GatewayClass, configs: Sequence[ConfigObject]) -> str | None:
    """What is wrong with a GatewayClass's ``parametersRef`` (its ``Accepted`` condition says
    ``InvalidParameters``), or None."""
    ref = cls.spec.parameters_ref
    if ref is None:
        return None
    found = {c.obj: c for c in configs}
    obj = f"GatewayClass/{cls.metadata.name}"
    try:
        got = _lookup(found, ref.group, ref.kind, ref.namespace, ref.name, obj)
        read_spec(got, LoadBalancerConfigurationSpec)
    except InvalidInputError as exc:
        return str(exc)
    return None


def _find(
    inp: GatewayInput, group: str, kind: str, ns: str | None, name: str, obj: str
) -> ConfigObject:
    return _lookup(inp.configs, group, kind, ns, name, obj)


def _lookup(
    configs: Mapping[str, ConfigObject],
    group: str,
    kind: str,
    ns: str | None,
    name: str,
    obj: str,
) -> ConfigObject:
    where = "spec.parametersRef" if obj.startswith("GatewayClass") else "spec.infrastructure"
    if group != GROUP or kind != LOAD_BALANCER_CONFIGURATION:
        raise InvalidInputError(
            obj, where, f"{group}/{kind}: albctl reads {GROUP}/{LOAD_BALANCER_CONFIGURATION}"
        )
    if not ns:
        raise InvalidInputError(obj, f"{where}.namespace", "required for a namespaced kind")
    found = configs.get(f"{kind}/{ns}/{name}")
    if found is None:
        raise InvalidInputError(obj, where, f"{kind} {ns}/{name} not found")
    return found


def merged(configs: list[ConfigObject]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the merged spec as the CRD spells it, field -> object that set it)."""
    spec: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for c in reversed(configs):  # the preferred one last
        data = read_spec(c, LoadBalancerConfigurationSpec).model_dump(
            by_alias=True, exclude_none=True, exclude_defaults=True
        )
        for k, v in data.items():
            sources[k] = c.obj
            if k == "tags":
                spec[k] = {**spec.get(k, {}), **v}
            elif k in _MERGED_BY_KEY:
                key = "key" if k == "loadBalancerAttributes" else "protocolPort"
                kept = {e[key]: e for e in spec.get(k, [])}
                kept.update({e[key]: e for e in v})
                spec[k] = list(kept.values())
            else:
                spec[k] = v
    return spec, sources


def load_balancer_settings(inp: GatewayInput) -> LoadBalancerSettings:
    configs = configurations(inp)
    out = LoadBalancerSettings()
    if not configs:
        return out
    raw, out.sources = merged(configs)
    spec = LoadBalancerConfigurationSpec.model_validate(raw)
    out.settings = _settings(inp, spec, out)
    out.attributes = {a.key: a.value for a in spec.load_balancer_attributes}
    out.tags = dict(spec.tags or {})
    if spec.source_ranges is not None:
        out.cidrs = lbv.cidrs(spec.source_ranges, out.fail("sourceRanges"))
    if spec.security_group_prefixes is not None:
        out.prefix_lists = lbv.prefix_lists(
            spec.security_group_prefixes, out.fail("securityGroupPrefixes")
        )
    for i, lc in enumerate(spec.listener_configurations or ()):
        _listener(inp, out, i, lc)
    out.default_tgcs = _default_tgcs(inp, configs)
    for name in NLB_ONLY:
        if raw.get(name) is not None:
            out.warnings.append((out.sources[name], f"spec.{name} applies to NLBs: ignored"))
    return out


def _settings(
    inp: GatewayInput, spec: LoadBalancerConfigurationSpec, out: LoadBalancerSettings
) -> dict[str, Any]:
    inv = inp.inventory
    s: dict[str, Any] = {}
    scheme = spec.scheme or inp.settings.default_scheme
    if spec.scheme:
        s["scheme"] = spec.scheme
    if spec.load_balancer_name:
        s["name"] = lbv.lb_name(spec.load_balancer_name, out.fail("loadBalancerName"))
    if spec.ip_address_type:
        s["ip_address_type"] = spec.ip_address_type
    subnets = _subnets(inp, spec, out)
    if subnets is not None:
        s["subnets"] = tuple(sorted(subnets))
    if spec.security_groups is not None:
        s["security_groups"] = tuple(
            lbv.security_groups(inv, spec.security_groups, out.fail("securityGroups"))
        )
    if spec.manage_backend_security_group_rules is not None:
        s["manage_backend_rules"] = spec.manage_backend_security_group_rules
    if spec.waf_v2 is not None:
        acl, fail = spec.waf_v2.web_acl, out.fail("wafV2")
        arn = acl.startswith("arn:")
        s["web_acl"] = lbv.web_acl_arn(acl, fail) if arn else lbv.web_acl_by_name(inv, acl, fail)
    if spec.shield_configuration is not None:
        s["shield_protection"] = spec.shield_configuration.enabled
    if spec.minimum_load_balancer_capacity is not None:
        units = spec.minimum_load_balancer_capacity.capacity_units
        s["capacity_units"] = lbv.capacity_units(units, out.fail("minimumLoadBalancerCapacity"))
    if spec.customer_owned_ipv4_pool:
        fail = out.fail("customerOwnedIpv4Pool")
        pool = spec.customer_owned_ipv4_pool
        s["customer_owned_ipv4_pool"] = lbv.customer_owned_pool(
            inv, pool, scheme, fail, "the Gateway"
        )
    if spec.ipv4_ipam_pool_id:
        s["ipam_ipv4_pool"] = lbv.ipam_pool(spec.ipv4_ipam_pool_id, out.fail("ipv4IPAMPoolId"))
    if spec.vpc_id and inv.vpc_id and spec.vpc_id != inv.vpc_id:
        raise out.fail("vpcId")(f"{spec.vpc_id}: the load balancer is made in {inv.vpc_id}")
    return s


def _subnets(
    inp: GatewayInput, spec: LoadBalancerConfigurationSpec, out: LoadBalancerSettings
) -> list[str] | None:
    if spec.load_balancer_subnets is not None:
        nlb = ("eipAllocation", "privateIPv4Allocation", "ipv6Allocation", "sourceNatIPv6Prefix")
        for i, sc in enumerate(spec.load_balancer_subnets):
            dumped = sc.model_dump(by_alias=True, exclude_none=True)
            for name in nlb:
                if name in dumped:
                    where = f"spec.loadBalancerSubnets[{i}].{name}"
                    out.warnings.append(
                        (out.sources["loadBalancerSubnets"], f"{where} applies to NLBs: ignored")
                    )
        return [sc.identifier for sc in spec.load_balancer_subnets]
    if spec.load_balancer_subnets_selector is not None and inp.inventory.aws_known:
        return lbv.subnets_by_tags(inp.inventory, spec.load_balancer_subnets_selector)
    return None


def _listener(
    inp: GatewayInput, out: LoadBalancerSettings, i: int, lc: ListenerConfiguration
) -> None:
    proto, _, port_text = lc.protocol_port.partition(":")
    where = f"listenerConfigurations[{i}]"
    src = out.sources["listenerConfigurations"]

    def fail(sub: str) -> Fail:
        return lambda m: InvalidInputError(src, f"spec.{where}.{sub}", m)

    if proto not in ("HTTP", "HTTPS") or not port_text:
        out.warnings.append(
            (src, f"spec.{where}.protocolPort {lc.protocol_port!r}: not an ALB listener: ignored")
        )
        return
    ls = ListenerSettings(ssl_policy=lc.ssl_policy)
    certs = ([lc.default_certificate] if lc.default_certificate else []) + list(lc.certificates)
    ls.certificates = list(dict.fromkeys(lv.certificate_arns(certs, fail("certificates"))))
    if lc.mutual_authentication is not None:
        m = lc.mutual_authentication
        given = m.model_dump(by_alias=True, exclude_none=True)
        given.pop("mode")
        ls.mtls = lv.mutual_authentication(
            inp.inventory, m.mode, given, fail("mutualAuthentication")
        )
    ls.attributes = {a.key: a.value for a in lc.listener_attributes}
    for name, value in (
        ("alpnPolicy", lc.alpn_policy not in (None, "None")),
        ("targetGroupStickiness", lc.target_group_stickiness is not None),
        ("quicEnabled", lc.quic_enabled is not None),
    ):
        if value:
            out.warnings.append((src, f"spec.{where}.{name} applies to NLBs: ignored"))
    out.listeners[(proto, int(port_text))] = ls


def _default_tgcs(inp: GatewayInput, configs: list[ConfigObject]) -> list[ConfigObject]:
    """The default TargetGroupConfigurations the configurations name, preferred first (each in
    its configuration's namespace, without a targetReference)."""
    out: list[ConfigObject] = []
    for c in configs:
        ref = read_spec(c, LoadBalancerConfigurationSpec).default_target_group_configuration
        if ref is None:
            continue
        key = f"TargetGroupConfiguration/{c.metadata.namespace}/{ref.name}"
        tgc = inp.configs.get(key)
        where = "spec.defaultTargetGroupConfiguration"
        if tgc is None:
            raise InvalidInputError(c.obj, where, f"{key.partition('/')[2]} not found")
        if tgc.spec.get("targetReference"):
            raise InvalidInputError(
                c.obj, where, f"{tgc.obj} has a targetReference: a default must not"
            )
        out.append(tgc)
    return out
