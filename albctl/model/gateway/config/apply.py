"""Resolved TargetGroupConfiguration props onto target group settings, through the checks
the annotations use (:mod:`albctl.model.values.health_check`, tag checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from albctl.errors import InvalidInputError
from albctl.model.desired import HealthCheck
from albctl.model.gateway.config.target_group import ResolvedProps
from albctl.model.ingress.tags import check_user_tags
from albctl.model.objects import LabelSelector, Service, ServicePort
from albctl.model.values.health_check import HealthCheckValues, health_check

TG_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
_HC_FIELDS = {
    "port": "healthCheckPort",
    "protocol": "healthCheckProtocol",
    "path": "healthCheckPath",
    "interval": "healthCheckInterval",
    "timeout": "healthCheckTimeout",
    "healthy": "healthyThresholdCount",
    "unhealthy": "unhealthyThresholdCount",
    "codes": "matcher",
}


@dataclass
class TargetGroupSettings:
    target_type: Literal["instance", "ip"]
    protocol: str
    version: str
    ip_type: Literal["ipv4", "ipv6"] = "ipv4"
    name: str | None = None
    node_selector: LabelSelector = field(default_factory=LabelSelector)
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    multi_cluster: bool = False


def tg_settings(rp: ResolvedProps, grpc: bool, default_target_type: str) -> TargetGroupSettings:
    p = rp.props
    if p.protocol is not None and p.protocol not in ("HTTP", "HTTPS"):
        raise rp.fail("protocol")(f"{p.protocol}: an ALB target group speaks HTTP or HTTPS")
    if p.target_control_port is not None:
        raise rp.fail("targetControlPort")("not supported by albctl yet")
    target_type = p.target_type or default_target_type
    out = TargetGroupSettings(
        target_type="ip" if target_type == "ip" else "instance",
        protocol=p.protocol or "HTTP",
        version=p.protocol_version or ("GRPC" if grpc else "HTTP1"),
        ip_type=p.ip_address_type or "ipv4",
        node_selector=p.node_selector or LabelSelector(),
        attributes={a.key: a.value for a in p.target_group_attributes or ()},
        tags=dict(p.tags or {}),
        multi_cluster=bool(p.enable_multi_cluster),
    )
    if p.target_group_name is not None:
        if not TG_NAME.fullmatch(p.target_group_name):
            raise rp.fail("targetGroupName")(
                f"{p.target_group_name!r}: expected 1-32 letters, digits or '-', not starting "
                "or ending with '-'"
            )
        out.name = p.target_group_name
    if out.tags:
        obj, path = rp.sources["tags"]
        try:
            check_user_tags(obj, out.tags, f"{path}.tags")
        except InvalidInputError as exc:
            raise rp.fail("tags")(exc.message) from None
    return out


def tg_health_check(
    rp: ResolvedProps,
    defaults: HealthCheck,
    svc: Service,
    sp: ServicePort,
    target_type: str,
    grpc: bool,
) -> HealthCheck:
    hc = rp.props.health_check_config
    if hc is None:
        return defaults
    codes = None
    if hc.matcher is not None:
        wrong = hc.matcher.http_code if grpc else hc.matcher.grpc_code
        if wrong is not None:
            sub = "matcher.httpCode" if grpc else "matcher.grpcCode"
            want = "grpcCode (the target group speaks gRPC)" if grpc else "httpCode"
            raise rp.fail("healthCheckConfig", sub)(f"set {want} instead")
        codes = hc.matcher.grpc_code if grpc else hc.matcher.http_code
    values = HealthCheckValues(
        port=hc.health_check_port,
        protocol=hc.health_check_protocol,
        path=hc.health_check_path,
        interval=hc.health_check_interval,
        timeout=hc.health_check_timeout,
        healthy=hc.healthy_threshold_count,
        unhealthy=hc.unhealthy_threshold_count,
        codes=codes,
    )

    def fail(key: str, message: str) -> InvalidInputError:
        return rp.fail("healthCheckConfig", _HC_FIELDS[key])(message)

    return health_check(values, defaults, svc, sp, target_type, grpc, fail)
