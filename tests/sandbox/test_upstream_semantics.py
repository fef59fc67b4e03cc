"""Behaviours the controller depends on, checked against what kube-apiserver does.

Each test names the upstream code whose behaviour it asserts; everything goes through HTTP
(the official Python client, or raw requests where the client would reshape the body).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from sandbox_helpers import ingress

from albctl.sandbox import SandboxServer

GROUP = "albctl.io"
VERSION = "v1beta1"


def raw(
    sandbox: SandboxServer, method: str, path: str, body: Any = None, content_type: str = ""
) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sandbox.url + path, data=data, method=method)
    request.add_header("Content-Type", content_type or "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def pod(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "nodeName": "node-a",
            "containers": [
                {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
            ],
        },
    }
    body["metadata"].update(extra)
    return body


# --- 1. defaults on create --------------------------------------------------------------------


def test_service_ports_default_protocol_and_target_port(sandbox: SandboxServer) -> None:
    """pkg/apis/core/v1/defaults.go SetDefaults_Service: protocol TCP; a targetPort that is
    missing, 0 or "" becomes the port."""
    code, svc = raw(
        sandbox,
        "POST",
        "/api/v1/namespaces/default/services",
        {
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"app": "web"},
                "ports": [
                    {"name": "a", "port": 80},
                    {"name": "b", "port": 81, "targetPort": 0},
                    {"name": "c", "port": 82, "targetPort": ""},
                    {"name": "d", "port": 83, "targetPort": "http"},
                    {"name": "e", "port": 84, "targetPort": 8084, "protocol": "UDP"},
                ],
            },
        },
    )
    assert code == 201, svc
    ports = svc["spec"]["ports"]
    assert [p["targetPort"] for p in ports] == [80, 81, 82, "http", 8084]
    assert [p["protocol"] for p in ports] == ["TCP", "TCP", "TCP", "TCP", "UDP"]
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["sessionAffinity"] == "None"
    assert svc["spec"]["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in svc["spec"]


def test_endpoint_slice_ports_default_name_and_protocol(sandbox: SandboxServer) -> None:
    """pkg/apis/discovery/v1/defaults.go SetDefaults_EndpointPort: name "" and protocol TCP."""
    code, created = raw(
        sandbox,
        "POST",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        {
            "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"port": 8080}],
            "endpoints": [{"addresses": ["10.0.1.10"]}],
        },
    )
    assert code == 201, created
    assert created["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    # the sandbox runs no EndpointSlice controller: conditions are stored as written
    assert created["endpoints"] == [{"addresses": ["10.0.1.10"]}]


def test_pod_create_defaults_and_resets_status(kube: client.ApiClient) -> None:
    """pkg/apis/core/v1/defaults.go SetDefaults_PodSpec/SetDefaults_Container/
    SetDefaults_ContainerPort; pkg/registry/core/pod/strategy.go PrepareForCreate (status is
    reset to phase Pending: conditions sent on create are dropped)."""
    core = client.CoreV1Api(kube)
    body = pod("web-0")
    body["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    created = core.create_namespaced_pod("default", body)
    assert created.status.phase == "Pending"
    assert not created.status.conditions
    container = created.spec.containers[0]
    assert container.ports[0].protocol == "TCP"
    assert container.image_pull_policy == "IfNotPresent"
    assert created.spec.termination_grace_period_seconds == 30


# --- 3. status subresource --------------------------------------------------------------------


def test_pods_status_keeps_spec_and_owner_references_takes_metadata(
    sandbox: SandboxServer,
) -> None:
    """pkg/registry/core/pod/strategy.go podStatusStrategy.PrepareForUpdate: spec and
    ownerReferences come from the stored pod, the rest of the metadata from the request;
    generation does not move (rest/update.go BeforeUpdate)."""
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u-1"}
    code, created = raw(
        sandbox, "POST", "/api/v1/namespaces/default/pods", pod("web-0", ownerReferences=[owner])
    )
    assert code == 201, created
    body = json.loads(json.dumps(created))
    body["status"] = {"phase": "Running", "podIP": "10.0.1.10"}
    body["spec"]["containers"][0]["image"] = "nginx:9"
    body["metadata"]["labels"]["seen"] = "yes"
    body["metadata"]["ownerReferences"] = []
    code, put = raw(sandbox, "PUT", "/api/v1/namespaces/default/pods/web-0/status", body)
    assert code == 200, put
    assert put["status"]["podIP"] == "10.0.1.10"
    assert put["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert put["metadata"]["labels"] == {"app": "web", "seen": "yes"}
    assert put["metadata"]["ownerReferences"] == [owner]
    assert put["metadata"]["generation"] == created["metadata"]["generation"]


def test_ingress_status_keeps_spec_takes_metadata(kube: client.ApiClient) -> None:
    """pkg/registry/networking/ingress/strategy.go ingressStatusStrategy.PrepareForUpdate:
    only ``newIngress.Spec = oldIngress.Spec``."""
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    patched = net.patch_namespaced_ingress_status(
        "web",
        "default",
        {
            "metadata": {"labels": {"via": "status"}},
            "spec": {"ingressClassName": "hijacked"},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}},
        },
    )
    assert patched.spec.ingress_class_name == "alb"
    assert patched.metadata.labels == {"via": "status"}
    assert patched.metadata.generation == 1
    assert patched.status.load_balancer.ingress[0].hostname == "lb.example.com"


def test_custom_resource_status_takes_status_only(kube: client.ApiClient) -> None:
    """apiextensions-apiserver pkg/registry/customresource/status_strategy.go
    statusStrategy.PrepareForUpdate: the stored object with the new status; metadata and
    spec changes are dropped."""
    custom = client.CustomObjectsApi(kube)
    custom.create_cluster_custom_object(
        GROUP,
        VERSION,
        "loadbalancergroups",
        {"metadata": {"name": "shop"}, "spec": {"scheme": "internet-facing"}},
    )
    patched = custom.patch_cluster_custom_object_status(
        GROUP,
        VERSION,
        "loadbalancergroups",
        "shop",
        {"metadata": {"labels": {"via": "status"}}, "status": {"memberCount": 1}},
    )
    assert patched["status"] == {"memberCount": 1}
    assert "labels" not in patched["metadata"]
    assert patched["metadata"]["generation"] == 1


def test_endpoint_slice_generation_counts_labels(kube: client.ApiClient) -> None:
    """pkg/registry/discovery/endpointslice/strategy.go PrepareForUpdate: generation moves on
    any change but metadata, and on label changes; not on annotations."""
    discovery = client.DiscoveryV1Api(kube)
    discovery.create_namespaced_endpoint_slice(
        "default",
        {
            "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.1.10"]}],
        },
    )
    note = discovery.patch_namespaced_endpoint_slice(
        "web-1", "default", {"metadata": {"annotations": {"a": "b"}}}
    )
    assert note.metadata.generation == 1
    relabelled = discovery.patch_namespaced_endpoint_slice(
        "web-1", "default", {"metadata": {"labels": {"x": "y"}}}
    )
    assert relabelled.metadata.generation == 2
    moved = discovery.patch_namespaced_endpoint_slice(
        "web-1", "default", {"endpoints": [{"addresses": ["10.0.1.11"]}]}
    )
    assert moved.metadata.generation == 3


# --- 4. finalizers and deletion ---------------------------------------------------------------


def test_delete_with_finalizers_marks_then_updates_allowed_then_gone(
    kube: client.ApiClient,
) -> None:
    """generic/registry/store.go Delete -> updateForGracefulDeletionAndFinalizers ->
    markAsDeleting (deletionTimestamp, deletionGracePeriodSeconds 0, generation + 1);
    objectmeta.go ValidateNoNewFinalizers; store.go shouldDeleteDuringUpdate."""
    net = client.NetworkingV1Api(kube)
    body = ingress("web")
    body["metadata"]["finalizers"] = ["albctl.io/resources"]
    net.create_namespaced_ingress("default", body)
    net.delete_namespaced_ingress("web", "default")
    marked = net.read_namespaced_ingress("web", "default")
    assert marked.metadata.deletion_timestamp is not None
    assert marked.metadata.deletion_grace_period_seconds == 0
    assert marked.metadata.generation == 2

    relabelled = net.patch_namespaced_ingress(
        "web", "default", {"metadata": {"labels": {"a": "b"}}}
    )
    assert relabelled.metadata.labels == {"a": "b"}
    assert relabelled.metadata.deletion_timestamp == marked.metadata.deletion_timestamp

    with pytest.raises(ApiException) as info:
        net.patch_namespaced_ingress(
            "web", "default", {"metadata": {"finalizers": ["albctl.io/resources", "late/one"]}}
        )
    assert info.value.status == 422
    message = json.loads(info.value.body)["message"]
    assert 'found new finalizers []string{"late/one"}' in message

    net.patch_namespaced_ingress("web", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        net.read_namespaced_ingress("web", "default")
    assert gone.value.status == 404


def test_pod_finalizer_removed_through_status_ends_the_deletion(kube: client.ApiClient) -> None:
    """pods/status may change finalizers (podStatusStrategy keeps only spec, ownerReferences,
    deletionTimestamp); with deletionGracePeriodSeconds 0 the last finalizer's removal deletes
    the pod (store.go shouldDeleteDuringUpdate). The sandbox has no kubelet: a pod's DELETE
    acts as if the kubelet had confirmed at once (grace period 0)."""
    core = client.CoreV1Api(kube)
    core.create_namespaced_pod("default", pod("web-0", finalizers=["example.com/hold"]))
    core.delete_namespaced_pod("web-0", "default")
    marked = core.read_namespaced_pod("web-0", "default")
    assert marked.metadata.deletion_timestamp is not None
    assert marked.metadata.deletion_grace_period_seconds == 0
    core.patch_namespaced_pod_status("web-0", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("web-0", "default")
    assert gone.value.status == 404


# --- 6. pod conditions through pods/status ----------------------------------------------------


def test_pod_conditions_strategic_merge_by_type(kube: client.ApiClient) -> None:
    """PodStatus.conditions is ``patchMergeKey:"type" patchStrategy:"merge"`` (k8s.io/api
    core/v1 types.go): a strategic merge patch through pods/status adds or updates one
    condition and leaves the kubelet's alone; a null field is removed."""
    core = client.CoreV1Api(kube)
    core.create_namespaced_pod("default", pod("web-0"))
    kubelet = [
        {"type": "ContainersReady", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady"},
    ]
    core.patch_namespaced_pod_status(
        "web-0", "default", {"status": {"phase": "Running", "conditions": kubelet}}
    )
    gate = "target-health.albctl.io/tg"
    core.patch_namespaced_pod_status(
        "web-0",
        "default",
        {
            "status": {
                "conditions": [
                    {"type": gate, "status": "False", "lastProbeTime": "2024-01-01T00:00:00Z"}
                ]
            }
        },
    )
    updated = core.patch_namespaced_pod_status(
        "web-0",
        "default",
        {"status": {"conditions": [{"type": gate, "status": "True", "lastProbeTime": None}]}},
    )
    by_type = {c.type: c for c in updated.status.conditions}
    assert list(by_type) == ["ContainersReady", "Ready", gate]
    assert by_type[gate].status == "True"
    assert by_type[gate].last_probe_time is None
    assert by_type["Ready"].reason == "ReadinessGatesNotReady"
    assert updated.status.phase == "Running"
