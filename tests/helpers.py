"""Shared builders for tests: manifests as dicts, a seeded inventory, YAML writing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from albctl.manifests import ObjectSet, parse_documents
from albctl.model.inventory import CertificateInfo, Inventory, SubnetInfo

ANN = "alb.ingress.kubernetes.io/"
REGION = "us-east-1"


def ingress(
    name: str,
    namespace: str = "default",
    annotations: dict[str, str] | None = None,
    rules: list[dict[str, Any]] | None = None,
    default_backend: dict[str, Any] | None = None,
    tls: list[dict[str, Any]] | None = None,
    ingress_class: str | None = "alb",
    **short: str,
) -> dict[str, Any]:
    ann = dict(annotations or {})
    for k, v in short.items():
        key = k.replace("group_", "group.") if k.startswith("group_") else k.replace("_", "-")
        ann[ANN + key] = v
    spec: dict[str, Any] = {}
    if ingress_class:
        spec["ingressClassName"] = ingress_class
    if rules is not None:
        spec["rules"] = rules
    if default_backend is not None:
        spec["defaultBackend"] = default_backend
    if tls is not None:
        spec["tls"] = tls
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace, "annotations": ann},
        "spec": spec,
    }


def backend(service: str, port: int | str) -> dict[str, Any]:
    key = "number" if isinstance(port, int) else "name"
    return {"service": {"name": service, "port": {key: port}}}


def rule(host: str | None, *paths: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    r: dict[str, Any] = {
        "http": {"paths": [{"path": p, "pathType": t, "backend": b} for p, t, b in paths]}
    }
    if host:
        r["host"] = host
    return r


def service(
    name: str,
    namespace: str = "default",
    port: int = 80,
    node_port: int | None = 30080,
    target_port: int | str = 8080,
    port_name: str = "http",
    annotations: dict[str, str] | None = None,
    type_: str | None = None,
) -> dict[str, Any]:
    p: dict[str, Any] = {"name": port_name, "port": port, "targetPort": target_port}
    if node_port is not None:
        p["nodePort"] = node_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "annotations": annotations or {},
        },
        "spec": {"type": type_ or ("NodePort" if node_port else "ClusterIP"), "ports": [p]},
    }


def endpoint_slice(
    service_name: str,
    addresses: list[str],
    namespace: str = "default",
    port: int = 8080,
    port_name: str = "http",
    not_ready: list[str] | None = None,
    suffix: str = "a",
) -> dict[str, Any]:
    eps = [{"addresses": [a], "conditions": {"ready": True}} for a in addresses]
    eps += [
        {"addresses": [a], "conditions": {"ready": False, "terminating": True}}
        for a in not_ready or []
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-{suffix}",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
        "endpoints": eps,
    }


def node(name: str, instance_id: str, ready: bool = True, az: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "spec": {"providerID": f"aws:///{REGION}{az}/{instance_id}"},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def target_group_binding(
    name: str,
    namespace: str = "default",
    service_name: str = "web",
    port: int | str = 80,
    arn: str | None = None,
    tg_name: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A TargetGroupBinding; extra ``spec`` keys are passed as they are (camelCase)."""
    body: dict[str, Any] = {"serviceRef": {"name": service_name, "port": port}}
    if arn is not None:
        body["targetGroupARN"] = arn
    if tg_name is not None:
        body["targetGroupName"] = tg_name
    body.update(spec)
    return {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def ingress_class(
    name: str = "alb",
    controller: str = "albctl.io/alb",
    default: bool = False,
    params: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    spec: dict[str, Any] = {"controller": controller}
    if params:
        spec["parameters"] = {"apiGroup": "albctl.io", "kind": "IngressClassParams", "name": params}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": meta,
        "spec": spec,
    }


def objects(*docs: dict[str, Any]) -> ObjectSet:
    out = ObjectSet()
    parse_documents([json.loads(json.dumps(d)) for d in docs], "test", out)
    return out


def write_yaml(path: Path, *docs: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return path


def inventory(certs: dict[str, list[str]] | None = None) -> Inventory:
    """Three AZs of public and private subnets, plus certificates (domain -> SANs)."""
    subnets = []
    for i, az in enumerate("abc"):
        subnets.append(
            SubnetInfo(
                id=f"subnet-pub{az}",
                az=f"{REGION}{az}",
                vpc_id="vpc-1",
                tags={"kubernetes.io/role/elb": "1", "Name": f"public-{az}"},
            )
        )
        subnets.append(
            SubnetInfo(
                id=f"subnet-prv{az}",
                az=f"{REGION}{az}",
                vpc_id="vpc-1",
                tags={"kubernetes.io/role/internal-elb": "1", "Name": f"private-{az}"},
            )
        )
        del i
    cert_infos = tuple(
        CertificateInfo(
            arn=f"arn:aws:acm:{REGION}:123456789012:certificate/{d.replace('*', 'star')}",
            domains=(d, *sans),
        )
        for d, sans in (certs or {}).items()
    )
    return Inventory(vpc_id="vpc-1", subnets=tuple(subnets), certificates=cert_infos)


class RawBody:
    """A raw HTTP body as botocore reads it, for a ``before-send`` handler's AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body
