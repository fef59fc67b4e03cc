"""Target group health checks (healthcheck-* and success-codes annotations)."""

from __future__ import annotations

from albctl.model.annotations import Annotations
from albctl.model.desired import HealthCheck
from albctl.model.objects import Service, ServicePort


def health_check(
    ann: Annotations,
    svc: Service,
    sp: ServicePort,
    target_type: str,
    protocol: str,
    version: str,
) -> HealthCheck:
    port = ann.string("healthcheck-port", service_override=True) or "traffic-port"
    if port != "traffic-port" and not port.isdigit():
        named = next((p for p in svc.spec.ports if p.name == port), None)
        if named is None:
            raise ann.error(
                ann.obj, "healthcheck-port", f"Service {svc.key} has no port named {port!r}"
            )
        if target_type == "instance":
            if named.node_port is None:
                raise ann.error(ann.obj, "healthcheck-port", f"port {port!r} has no nodePort")
            port = str(named.node_port)
        else:
            if not isinstance(named.target_port, int):
                raise ann.error(
                    ann.obj, "healthcheck-port", f"port {port!r} has a named targetPort"
                )
            port = str(named.target_port)
    elif port.isdigit() and not 1 <= int(port) <= 65535:
        raise ann.error(ann.obj, "healthcheck-port", f"{port} is not a port number")
    hc_protocol = (
        ann.choice("healthcheck-protocol", ("HTTP", "HTTPS"), service_override=True) or protocol
    )
    grpc = version == "GRPC"
    path = ann.string("healthcheck-path", service_override=True) or (
        "/AWS.ALB/healthcheck" if grpc else "/"
    )
    interval = ann.integer("healthcheck-interval-seconds", True, 5, 300) or 15
    timeout = ann.integer("healthcheck-timeout-seconds", True, 2, 120) or 5
    if timeout >= interval:
        raise ann.error(
            ann.obj,
            "healthcheck-timeout-seconds",
            f"timeout {timeout}s must be shorter than the interval {interval}s",
        )
    healthy = ann.integer("healthy-threshold-count", True, 2, 10) or 2
    unhealthy = ann.integer("unhealthy-threshold-count", True, 2, 10) or 2
    codes = ann.string("success-codes", service_override=True) or ("12" if grpc else "200")
    _check_codes(ann, codes, grpc)
    return HealthCheck(
        protocol=hc_protocol,
        port=port,
        path=path,
        interval_seconds=interval,
        timeout_seconds=timeout,
        healthy_threshold=healthy,
        unhealthy_threshold=unhealthy,
        http_code=None if grpc else codes,
        grpc_code=codes if grpc else None,
    )


def _check_codes(ann: Annotations, codes: str, grpc: bool) -> None:
    limit = 99 if grpc else 599
    low = 0 if grpc else 200
    for part in codes.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= limit for b in bounds):
            raise ann.error(
                ann.obj,
                "success-codes",
                f"{codes!r}: expected codes or ranges like 200,201 or 200-299"
                + (" (gRPC codes 0-99)" if grpc else ""),
            )
