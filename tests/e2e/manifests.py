"""The end-to-end manifests: every core annotation, two groups, realistic Services."""

from __future__ import annotations

import json
from typing import Any

from albctl.aws.seed import Seeded, node_manifests
from tests.helpers import REGION, backend, endpoint_slice, ingress, ingress_class, rule, service


def store(seeded: Seeded, cluster: str, **changes: Any) -> list[dict[str, Any]]:
    front = {
        "group_name": "store",
        "group_order": "1",
        "scheme": "internet-facing",
        "load_balancer_name": "store-alb",
        "listen_ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
        "ssl_redirect": "443",
        "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "certificate_arn": seeded.certificates["shop.example.com"],
        "inbound_cidrs": "10.0.0.0/8, 172.16.0.0/12",
        "tags": "team=store,env=e2e",
        "load_balancer_attributes": "idle_timeout.timeout_seconds=120",
        "subnets": f"{cluster}-public-a, {cluster}-public-b",
        "ip_address_type": "ipv4",
        "target_type": "instance",
        "backend_protocol": "HTTP",
        "healthcheck_port": "traffic-port",
    }
    front.update(changes.pop("front", {}))
    api = {
        "group_name": "store",
        "group_order": "2",
        "listen_ports": '[{"HTTPS": 443}]',
        "target_type": "ip",
        "backend_protocol_version": "HTTP2",
        "healthcheck_path": "/api/health",
        "healthcheck_protocol": "HTTPS",
        "healthcheck_port": "9443",
        "healthcheck_interval_seconds": "20",
        "healthcheck_timeout_seconds": "7",
        "healthy_threshold_count": "3",
        "unhealthy_threshold_count": "4",
        "success_codes": "200-299",
        "target_group_attributes": "deregistration_delay.timeout_seconds=15",
        "actions.split": json.dumps(
            {
                "type": "forward",
                "forwardConfig": {
                    "targetGroups": [
                        {"serviceName": "api", "servicePort": 443, "weight": 75},
                        {"serviceName": "api-next", "servicePort": 443, "weight": 25},
                    ],
                    "targetGroupStickinessConfig": {"enabled": True, "durationSeconds": 600},
                },
            }
        ),
        "actions.moved": json.dumps(
            {
                "type": "redirect",
                "redirectConfig": {
                    "host": "new.example.com",
                    "path": "/#{path}",
                    "statusCode": "HTTP_301",
                },
            }
        ),
        "actions.closed": json.dumps(
            {
                "type": "fixed-response",
                "fixedResponseConfig": {
                    "statusCode": "503",
                    "contentType": "text/plain",
                    "messageBody": "maintenance",
                },
            }
        ),
        "conditions.split": json.dumps(
            [
                {
                    "field": "http-header",
                    "httpHeaderConfig": {"httpHeaderName": "X-Client", "values": ["mobile"]},
                },
                {
                    "field": "query-string",
                    "queryStringConfig": {"values": [{"key": "v", "value": "2"}]},
                },
            ]
        ),
        "conditions.closed": json.dumps(
            [
                {"field": "http-request-method", "httpRequestMethodConfig": {"values": ["POST"]}},
                {"field": "source-ip", "sourceIpConfig": {"values": ["192.168.0.0/16"]}},
            ]
        ),
    }
    api.update(changes.pop("api", {}))
    docs = [
        ingress_class(),
        service("front", "store", node_port=30500),
        service("api", "store", port=443, node_port=None, target_port=8443, port_name="https"),
        service("api-next", "store", port=443, node_port=None, target_port=8443, port_name="https"),
        endpoint_slice(
            "api",
            changes.pop("api_ips", ["10.0.1.5", "10.0.2.6"]),
            "store",
            port=8443,
            port_name="https",
        ),
        endpoint_slice("api-next", ["10.0.3.7"], "store", port=8443, port_name="https"),
        ingress(
            "front",
            "store",
            tls=[{"hosts": ["shop.example.com"]}],
            rules=[rule("shop.example.com", ("/", "Prefix", backend("front", 80)))],
            **front,
        ),
        ingress(
            "api",
            "store",
            rules=[
                rule(
                    "api.example.com",
                    ("/old", "Prefix", backend("moved", "use-annotation")),
                    ("/write", "Exact", backend("closed", "use-annotation")),
                    ("/", "Prefix", backend("split", "use-annotation")),
                )
            ],
            **api,
        ),
        *node_manifests(seeded.instances, REGION),
    ]
    assert not changes, f"unknown changes {changes}"
    return docs


def internal(seeded: Seeded) -> list[dict[str, Any]]:
    return [
        service("grpc", "ops", port=50051, node_port=None, target_port=50051, port_name="grpc"),
        endpoint_slice("grpc", ["10.0.1.50"], "ops", port=50051, port_name="grpc"),
        ingress(
            "grpc",
            "ops",
            rules=[rule("grpc.internal.example.com", ("/", "Prefix", backend("grpc", "grpc")))],
            scheme="internal",
            ip_address_type="dualstack",
            security_groups="corp-frontend",
            subnets=", ".join(seeded.private_subnets),
            target_type="ip",
            backend_protocol_version="GRPC",
        ),
    ]
