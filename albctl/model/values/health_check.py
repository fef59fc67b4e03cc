"""Target group health checks: one set of values (from the healthcheck-* annotations or a
TargetGroupConfiguration's ``healthCheckConfig``) onto the model's health check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from albctl.errors import InvalidInputError
from albctl.model.desired import HealthCheck
from albctl.model.objects import Service, ServicePort

# ALB's limits (CreateTargetGroup): seconds and counts
INTERVAL = (5, 300)
TIMEOUT = (2, 120)
THRESHOLD = (2, 10)
PROTOCOLS = ("HTTP", "HTTPS")

# fail(key, message): keys port, protocol, path, interval, timeout, healthy, unhealthy, codes
FieldFail = Callable[[str, str], InvalidInputError]


@dataclass(frozen=True)
class HealthCheckValues:
    """What the user set; None takes the default."""

    port: str | None = None
    protocol: str | None = None
    path: str | None = None
    interval: int | None = None
    timeout: int | None = None
    healthy: int | None = None
    unhealthy: int | None = None
    codes: str | None = None


def health_check(
    v: HealthCheckValues,
    defaults: HealthCheck,
    svc: Service,
    sp: ServicePort,
    target_type: str,
    grpc: bool,
    fail: FieldFail,
) -> HealthCheck:
    for key, value, (low, high) in (
        ("interval", v.interval, INTERVAL),
        ("timeout", v.timeout, TIMEOUT),
        ("healthy", v.healthy, THRESHOLD),
        ("unhealthy", v.unhealthy, THRESHOLD),
    ):
        if value is not None and not low <= value <= high:
            raise fail(key, f"{value} is out of range {low}..{high}")
    if v.protocol is not None and v.protocol not in PROTOCOLS:
        raise fail("protocol", f"{v.protocol!r}: an ALB target group checks with HTTP or HTTPS")
    interval = v.interval or defaults.interval_seconds
    timeout = v.timeout or defaults.timeout_seconds
    if timeout >= interval:
        raise fail("timeout", f"timeout {timeout}s must be shorter than the interval {interval}s")
    codes = v.codes or ((defaults.grpc_code or "12") if grpc else (defaults.http_code or "200"))
    _check_codes(codes, grpc, fail)
    return HealthCheck(
        protocol=v.protocol or defaults.protocol,
        port=_port(v.port or defaults.port, svc, target_type, fail),
        path=v.path or ("/AWS.ALB/healthcheck" if grpc else defaults.path),
        interval_seconds=interval,
        timeout_seconds=timeout,
        healthy_threshold=v.healthy or defaults.healthy_threshold,
        unhealthy_threshold=v.unhealthy or defaults.unhealthy_threshold,
        http_code=None if grpc else codes,
        grpc_code=codes if grpc else None,
    )


def _port(port: str, svc: Service, target_type: str, fail: FieldFail) -> str:
    """``traffic-port``, a number, or a Service port name (its nodePort for instance
    targets, its numeric targetPort for ip targets)."""
    if port == "traffic-port":
        return port
    if port.isdigit():
        if not 1 <= int(port) <= 65535:
            raise fail("port", f"{port} is not a port number")
        return port
    named = next((p for p in svc.spec.ports if p.name == port), None)
    if named is None:
        raise fail("port", f"Service {svc.key} has no port named {port!r}")
    if target_type == "instance":
        if named.node_port is None:
            raise fail("port", f"port {port!r} has no nodePort")
        return str(named.node_port)
    if not isinstance(named.target_port, int):
        raise fail("port", f"port {port!r} has a named targetPort")
    return str(named.target_port)


def _check_codes(codes: str, grpc: bool, fail: FieldFail) -> None:
    limit = 99 if grpc else 599
    low = 0 if grpc else 200
    for part in codes.split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= limit for b in bounds):
            raise fail(
                "codes",
                f"{codes!r}: expected codes or ranges like 200,201 or 200-299"
                + (" (gRPC codes 0-99)" if grpc else ""),
            )
