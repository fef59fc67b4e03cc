"""Target group health checks (healthcheck-* and success-codes annotations)."""

from __future__ import annotations

from albctl.errors import InvalidInputError
from albctl.model.annotations import Annotations
from albctl.model.desired import HealthCheck
from albctl.model.objects import Service, ServicePort
from albctl.model.values.health_check import (
    INTERVAL,
    THRESHOLD,
    TIMEOUT,
    HealthCheckValues,
)
from albctl.model.values.health_check import health_check as combine

ANNOTATIONS = {
    "port": "healthcheck-port",
    "protocol": "healthcheck-protocol",
    "path": "healthcheck-path",
    "interval": "healthcheck-interval-seconds",
    "timeout": "healthcheck-timeout-seconds",
    "healthy": "healthy-threshold-count",
    "unhealthy": "unhealthy-threshold-count",
    "codes": "success-codes",
}


def health_check(
    ann: Annotations,
    svc: Service,
    sp: ServicePort,
    target_type: str,
    protocol: str,
    version: str,
) -> HealthCheck:
    values = HealthCheckValues(
        port=ann.string("healthcheck-port", service_override=True),
        protocol=ann.choice("healthcheck-protocol", ("HTTP", "HTTPS"), service_override=True),
        path=ann.string("healthcheck-path", service_override=True),
        interval=ann.integer("healthcheck-interval-seconds", True, *INTERVAL),
        timeout=ann.integer("healthcheck-timeout-seconds", True, *TIMEOUT),
        healthy=ann.integer("healthy-threshold-count", True, *THRESHOLD),
        unhealthy=ann.integer("unhealthy-threshold-count", True, *THRESHOLD),
        codes=ann.string("success-codes", service_override=True),
    )

    def fail(key: str, message: str) -> InvalidInputError:
        return ann.error(ann.obj, ANNOTATIONS[key], message)

    return combine(values, defaults(protocol), svc, sp, target_type, version == "GRPC", fail)


def defaults(protocol: str) -> HealthCheck:
    """LBC's Ingress defaults: the traffic port, ``/``, every 15 s, timeout 5 s, 2 healthy /
    2 unhealthy, code 200 (gRPC: ``/AWS.ALB/healthcheck``, code 12)."""
    return HealthCheck(
        protocol=protocol,
        port="traffic-port",
        path="/",
        interval_seconds=15,
        timeout_seconds=5,
        healthy_threshold=2,
        unhealthy_threshold=2,
        http_code="200",
        grpc_code="12",
    )
