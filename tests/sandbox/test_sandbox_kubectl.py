"""The sandbox API server driven by stock kubectl: apply, get, describe, delete and watch.

kubectl is the strictest client we have (discovery, OpenAPI-based validation, client-side
apply patches, server-side Table printing), so these tests are what prove the sandbox can be
used by a person at a terminal.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from sandbox_helpers import ingress

from albctl.sandbox import SandboxServer

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

MANIFEST = """\
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: alb
spec:
  controller: albctl.io/alb
  parameters: {apiGroup: albctl.io, kind: IngressClassParams, name: shop}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: NodePort
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
  annotations:
    alb.ingress.kubernetes.io/scheme: internet-facing
spec:
  ingressClassName: alb
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: web, port: {name: http}}
"""


def _runner(kubeconfig: Path, cache: Path) -> Kubectl:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    return run


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    return _runner(kubeconfig, tmp_path / "kube-cache")


def _table(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_apply_get_describe_delete(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST)
    created = kubectl("apply", "-f", str(manifest)).stdout
    assert created.splitlines() == [
        "ingressclass.networking.k8s.io/alb created",
        "service/web created",
        "ingress.networking.k8s.io/web created",
    ]
    assert "unchanged" in kubectl("apply", "-f", str(manifest)).stdout
    manifest.write_text(MANIFEST.replace("shop.example.com", "www.example.com"))
    assert (
        "ingress.networking.k8s.io/web configured" in kubectl("apply", "-f", str(manifest)).stdout
    )

    obj = yaml.safe_load(kubectl("get", "ingress", "web", "-o", "yaml").stdout)
    assert obj["kind"] == "Ingress"
    assert obj["apiVersion"] == "networking.k8s.io/v1"
    assert obj["spec"]["rules"][0]["host"] == "www.example.com"
    assert obj["metadata"]["generation"] == 2
    assert obj["metadata"]["annotations"]["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]

    cluster_ip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert cluster_ip.startswith("10.96.")
    rows = _table(kubectl("get", "ingress").stdout)
    assert rows[0] == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert rows[1][:4] == ["web", "alb", "www.example.com", "80"]
    rows = _table(kubectl("get", "svc,ingressclass").stdout)
    assert ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"] in rows
    assert any(r[:2] == ["service/web", "NodePort"] for r in rows)
    assert any(
        r[:3]
        == [
            "ingressclass.networking.k8s.io/alb",
            "albctl.io/alb",
            "IngressClassParams.albctl.io/shop",
        ]
        for r in rows
    )

    described = kubectl("describe", "ingress", "web").stdout
    assert "Name:             web" in described
    assert "Ingress Class:    alb" in described
    assert "Rules:" in described
    assert "www.example.com" in described
    assert "web:http" in described

    deleted = kubectl("delete", "ingress", "web").stdout
    assert deleted.strip() == 'ingress.networking.k8s.io "web" deleted'
    missing = kubectl("get", "ingress", "web", check=False)
    assert missing.returncode == 1
    assert 'ingresses.networking.k8s.io "web" not found' in missing.stderr
    assert "No resources found in default namespace." in kubectl("get", "ingress").stderr


def test_apply_validation_needs_the_openapi_document(tmp_path: Path) -> None:
    """Without /openapi/v3 kubectl's default validation fails, as against a real server."""
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST)
    bare = SandboxServer(serve_openapi=False)
    bare.start()
    try:
        run = _runner(bare.write_kubeconfig(tmp_path / "kc"), tmp_path / "cache")
        refused = run("apply", "-f", str(manifest), check=False)
        assert refused.returncode != 0
        assert "--validate=false" in refused.stderr
        assert "created" in run("apply", "--validate=false", "-f", str(manifest)).stdout
    finally:
        bare.stop()


def test_get_custom_resources_and_crds(kubectl: Kubectl, kube: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube)
    custom.create_cluster_custom_object(
        "albctl.io",
        "v1beta1",
        "loadbalancergroups",
        {"kind": "LoadBalancerGroup", "metadata": {"name": "shop"}, "spec": {}},
    )
    custom.create_cluster_custom_object(
        "albctl.io",
        "v1beta1",
        "loadbalancergroups",
        {"kind": "LoadBalancerGroup", "metadata": {"name": "blog"}, "spec": {}},
    )
    custom.patch_cluster_custom_object_status(
        "albctl.io",
        "v1beta1",
        "loadbalancergroups",
        "shop",
        {
            "status": {
                "loadBalancer": {"dnsName": "k8s-shop-123.us-east-1.elb.amazonaws.com"},
                "memberCount": 3,
                "conditions": [
                    {"type": "Synced", "status": "False"},
                    {"type": "Ready", "status": "True"},
                ],
                "lastReconcile": {"time": "2020-01-01T00:00:00Z"},
            }
        },
    )
    rows = _table(kubectl("get", "lbg").stdout)
    assert rows[0] == ["NAME", "DNS", "MEMBERS", "READY", "LAST-RECONCILE", "AGE"]
    assert rows[1] == ["blog", "0s"] or rows[1][0] == "blog"  # missing values print as blanks
    assert rows[2][:4] == ["shop", "k8s-shop-123.us-east-1.elb.amazonaws.com", "3", "True"]
    assert rows[2][4].endswith("y") or rows[2][4].endswith("d")  # years ago, human readable

    lbg = yaml.safe_load(kubectl("get", "loadbalancergroup", "shop", "-o", "yaml").stdout)
    assert lbg["status"]["memberCount"] == 3
    assert "Dns Name:    k8s-shop-123" in kubectl("describe", "lbg", "shop").stdout

    custom.create_namespaced_custom_object(
        "albctl.io",
        "v1beta1",
        "default",
        "targetgroupbindings",
        {
            "kind": "TargetGroupBinding",
            "metadata": {"name": "web-80"},
            "spec": {"targetGroupARN": "arn:tg", "serviceRef": {"name": "web", "port": 80}},
        },
    )
    rows = _table(kubectl("get", "tgb").stdout)
    assert rows[0] == ["NAME", "SERVICE-NAME", "SERVICE-PORT", "TARGET-TYPE", "READY", "AGE"]
    assert rows[1][:3] == ["web-80", "web", "80"]

    crds = _table(kubectl("get", "crd").stdout)
    assert crds[0] == ["NAME", "CREATED", "AT"]
    assert [r[0] for r in crds[1:]] == [
        "gatewayclasses.gateway.networking.k8s.io",
        "gateways.gateway.networking.k8s.io",
        "grpcroutes.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "ingressclassparams.albctl.io",
        "listenerruleconfigurations.gateway.k8s.aws",
        "loadbalancerconfigurations.gateway.k8s.aws",
        "loadbalancergroups.albctl.io",
        "referencegrants.gateway.networking.k8s.io",
        "targetgroupbindings.albctl.io",
        "targetgroupconfigurations.gateway.k8s.aws",
    ]
    kubectl("delete", "lbg", "blog")
    assert [r[0] for r in _table(kubectl("get", "lbg").stdout)[1:]] == ["shop"]


def test_get_events_and_describe_shows_them(kubectl: Kubectl, kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    web = net.create_namespaced_ingress("default", ingress("web"))
    client.CoreV1Api(kube).create_namespaced_event(
        "default",
        {
            "metadata": {"name": "web.1"},
            "involvedObject": {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "name": "web",
                "namespace": "default",
                "uid": web.metadata.uid,
            },
            "reason": "FailedDeploy",
            "message": "subnet not found",
            "type": "Warning",
            "source": {"component": "albctl"},
            "firstTimestamp": "2025-01-01T00:00:00Z",
            "lastTimestamp": "2025-01-01T00:00:00Z",
            "count": 2,
        },
    )
    rows = _table(kubectl("get", "events").stdout)
    assert rows[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert rows[1][1:] == ["Warning", "FailedDeploy", "ingress/web", "subnet", "not", "found"]
    described = kubectl("describe", "ingress", "web").stdout
    assert "Warning  FailedDeploy" in described
    assert "subnet not found" in described


def _lines(proc: subprocess.Popen[str]) -> Iterator[str]:
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        yield line


def test_get_watch_sees_changes(
    kubectl: Kubectl, kube: client.ApiClient, kubeconfig: Path, tmp_path: Path
) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    proc = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(kubeconfig),
            "--cache-dir",
            str(tmp_path / "watch-cache"),
            "get",
            "ingress",
            "--watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[list[str]] = []
    try:
        for line in _lines(proc):
            seen.append(line.split())
            if line.startswith("web ") and len(seen) == 2:
                net.create_namespaced_ingress("default", ingress("api", host="api.example.com"))
            if line.startswith("api "):
                break
    finally:
        proc.kill()
        proc.wait()
    assert seen[0] == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert seen[1][:3] == ["web", "alb", "shop.example.com"]
    assert seen[-1][:3] == ["api", "alb", "api.example.com"]


def test_discovery_and_version(kubectl: Kubectl) -> None:
    resources = _table(kubectl("api-resources").stdout)
    by_name: dict[str, list[str]] = {}
    for row in resources[1:]:
        by_name.setdefault(row[0], row)
    assert by_name["ingresses"] == ["ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"]
    assert by_name["loadbalancergroups"] == [
        "loadbalancergroups",
        "lbg",
        "albctl.io/v1beta1",
        "false",
        "LoadBalancerGroup",
    ]
    assert by_name["leases"] == ["leases", "coordination.k8s.io/v1", "true", "Lease"]
    version: dict[str, Any] = yaml.safe_load(kubectl("version", "-o", "yaml").stdout)
    assert version["serverVersion"]["minor"] == "32"


def test_create_subcommands_and_namespace_lifecycle(kubectl: Kubectl) -> None:
    """``kubectl create namespace|service|ingress`` send protobuf bodies, not JSON."""
    assert kubectl("create", "namespace", "shop").stdout.strip() == "namespace/shop created"
    exists = kubectl("create", "namespace", "shop", check=False)
    assert exists.returncode == 1
    assert 'namespaces "shop" already exists' in exists.stderr
    kubectl("create", "service", "nodeport", "web", "--tcp=80:8080", "-n", "shop")
    kubectl(
        "create",
        "ingress",
        "web",
        "-n",
        "shop",
        "--class=alb",
        "--rule=shop.example.com/*=web:80,tls=shop-cert",
    )
    svc = yaml.safe_load(kubectl("get", "svc", "web", "-n", "shop", "-o", "yaml").stdout)
    assert svc["spec"]["ports"][0]["targetPort"] == 8080
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767
    ing = yaml.safe_load(kubectl("get", "ingress", "web", "-n", "shop", "-o", "yaml").stdout)
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": "web",
        "port": {"number": 80},
    }
    assert ing["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-cert"}]
    kubectl("label", "namespace", "shop", "team=web")
    assert "team=web" in kubectl("get", "ns", "shop", "--show-labels").stdout
    kubectl("delete", "namespace", "shop")
    assert kubectl("get", "ns", "shop", check=False).returncode == 1
    assert kubectl("get", "ingress", "-A").stderr.strip() == "No resources found"


GATEWAY_MANIFEST = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: albctl
spec:
  controllerName: albctl.io/alb
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: same-namespace
  namespace: default
spec:
  gatewayClassName: albctl
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Same
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata:
  name: exact-matching
  namespace: default
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path:
        type: Exact
        value: /
    backendRefs:
    - name: infra-backend-v1
      port: 8080
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: allow
  namespace: default
spec:
  from:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    namespace: other
  to:
  - group: ""
    kind: Service
"""


def test_kubectl_applies_gateway_api_manifests_and_status_is_a_subresource(
    kubectl: Kubectl, kube: client.ApiClient, tmp_path: Path
) -> None:
    manifest = tmp_path / "gateway.yaml"
    manifest.write_text(GATEWAY_MANIFEST)
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert out == [
        "gatewayclass.gateway.networking.k8s.io/albctl created",
        "gateway.gateway.networking.k8s.io/same-namespace created",
        "httproute.gateway.networking.k8s.io/exact-matching created",
        "referencegrant.gateway.networking.k8s.io/allow created",
    ]
    # a v1beta1 HTTPRoute is the same object read as v1 (one storage)
    got = yaml.safe_load(
        kubectl(
            "get", "httproutes.v1.gateway.networking.k8s.io", "exact-matching", "-o", "yaml"
        ).stdout
    )
    assert got["apiVersion"] == "gateway.networking.k8s.io/v1"
    custom = client.CustomObjectsApi(kube)
    status = {
        "status": {
            "conditions": [
                {
                    "type": "Programmed",
                    "status": "True",
                    "reason": "Programmed",
                    "message": "",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
            "addresses": [{"type": "Hostname", "value": "lb.example.com"}],
        }
    }
    custom.patch_namespaced_custom_object_status(
        "gateway.networking.k8s.io", "v1", "default", "gateways", "same-namespace", status
    )
    rows = _table(kubectl("get", "gateway").stdout)
    assert rows[0] == ["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"]
    assert rows[1][:4] == ["same-namespace", "albctl", "lb.example.com", "True"]
    # a write of the main resource bumps the generation (spec changed), keeps the status
    gw = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", "default", "gateways", "same-namespace"
    )
    assert gw["metadata"]["generation"] == 1
    gw["spec"]["listeners"][0]["port"] = 8080
    gw["status"] = {}
    custom.replace_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", "default", "gateways", "same-namespace", gw
    )
    gw = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", "default", "gateways", "same-namespace"
    )
    assert gw["metadata"]["generation"] == 2
    assert gw["status"]["addresses"] == [{"type": "Hostname", "value": "lb.example.com"}]
