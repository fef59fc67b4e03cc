"""Unit tests of the sandbox's pure parts: selectors, patches, JSONPath, printing, routing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from sandbox_helpers import ingress

from albctl.sandbox import SandboxServer, events, jsonpath, tables
from albctl.sandbox.errors import ApiError
from albctl.sandbox.history import Change, History
from albctl.sandbox.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from albctl.sandbox.registry import Registry
from albctl.sandbox.routes import DocRoute, ResourceRoute, resolve
from albctl.sandbox.selectors import parse_field_selector, parse_label_selector

# --- selectors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {}, False),
        ("app!=web", {}, True),
        ("app!=web", {"app": "web"}, False),
        ("app in (web, api),tier", {"app": "api", "tier": ""}, True),
        ("app notin (web)", {"app": "api"}, True),
        ("!app", {"app": "x"}, False),
        ("example.com/role=edge", {"example.com/role": "edge"}, True),
        ("size>3", {"size": "4"}, True),
        ("size<3", {"size": "4"}, False),
        ("app=", {"app": ""}, True),
        ("", {"anything": "goes"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize("bad", ["app in (a", "=x", "a b", "app in a", "x>y", "Bad Key=1"])
def test_label_selector_errors_are_bad_requests(bad: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_label_selector(bad)
    assert info.value.code == 400


def test_field_selectors_with_escapes_and_labels() -> None:
    labels = {"metadata.name": "metadata.name", "source": "source.component"}
    obj = {"metadata": {"name": "a,b"}, "source": {"component": "albctl"}}
    assert parse_field_selector(r"metadata.name=a\,b", labels).matches(obj)
    assert parse_field_selector("source==albctl,metadata.name!=x", labels).matches(obj)
    assert not parse_field_selector("source=kubelet", labels).matches(obj)
    with pytest.raises(ApiError):
        parse_field_selector("spec.nodeName=x", labels)


# --- patches ----------------------------------------------------------------------------------


def test_merge_patch_is_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3]}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3]}


def test_json_patch_pointer_escapes_and_errors() -> None:
    doc = {"metadata": {"annotations": {"a/b": "1", "m~n": "2"}}, "list": [1, 2]}
    out = json_patch(
        doc,
        [
            {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "x"},
            {"op": "remove", "path": "/metadata/annotations/m~0n"},
            {"op": "add", "path": "/list/0", "value": 0},
        ],
    )
    assert out == {"metadata": {"annotations": {"a/b": "x"}}, "list": [0, 1, 2]}
    assert doc["list"] == [1, 2]  # the input is not modified
    for bad in (
        [{"op": "remove", "path": "/nope"}],
        [{"op": "replace", "path": "/list/5", "value": 1}],
        [{"op": "test", "path": "/list/0", "value": True}],
        [{"op": "move", "from": "/metadata", "path": "/metadata/x"}],
        [{"op": "frobnicate", "path": "/"}],
    ):
        with pytest.raises(PatchError):
            json_patch(doc, bad)


def test_strategic_merge_patch_directives() -> None:
    original = {
        "metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}},
        "spec": {
            "containers": [
                {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "s:1"},
            ],
            "volumes": [{"name": "v1"}, {"name": "v2"}],
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        },
    }
    patch = {
        "metadata": {
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "labels": {"$patch": "replace", "z": "3"},
        },
        "spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
            "containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}],
            "volumes": [{"$patch": "replace"}, {"name": "v3"}],
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
        },
    }
    out = strategic_merge_patch(original, patch, "Pod")
    assert out["metadata"] == {"finalizers": ["b"], "labels": {"z": "3"}}
    assert [c["name"] for c in out["spec"]["containers"]] == ["side", "app"]
    assert out["spec"]["containers"][1]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    assert out["spec"]["volumes"] == [{"name": "v3"}]
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    # kinds without merge keys replace lists
    ing = strategic_merge_patch(
        {"spec": {"rules": [{"host": "a"}]}}, {"spec": {"rules": [{"host": "b"}]}}, "Ingress"
    )
    assert ing == {"spec": {"rules": [{"host": "b"}]}}
    assert (
        strategic_merge_patch({"spec": {"x": 1}}, {"spec": {"$patch": "delete"}}, "Ingress") == {}
    )


# --- JSONPath, tables, event conversion, history ----------------------------------------------


def test_printer_column_jsonpath() -> None:
    obj = {
        "status": {
            "conditions": [
                {"type": "Synced", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "lb": {"dns.name": "x"},
        },
        "spec": {"items": [{"n": 1}, {"n": 2}]},
    }
    assert jsonpath.evaluate('.status.conditions[?(@.type=="Ready")].status', obj) == ["True"]
    assert jsonpath.evaluate(".status.conditions[?(@.type!='Ready')].type", obj) == ["Synced"]
    assert jsonpath.evaluate("{.spec.items[*].n}", obj) == [1, 2]
    assert jsonpath.evaluate(".spec.items[-1].n", obj) == [2]
    assert jsonpath.evaluate(r".status.lb.dns\.name", obj) == ["x"]
    assert jsonpath.evaluate(".status.missing.deeper", obj) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (20 * 3600, "20h"),
        (3 * 86400, "3d"),
        (400 * 86400, "400d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_durations_match_kubectl(seconds: int, text: str) -> None:
    assert tables.human_duration(seconds) == text


def test_event_conversion_round_trips() -> None:
    core = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Ingress", "name": "web"},
        "message": "hello",
        "reportingComponent": "albctl",
        "count": 3,
        "type": "Normal",
    }
    v1 = events.core_to_events_v1(core)
    assert v1["regarding"] == {"kind": "Ingress", "name": "web"}
    assert v1["note"] == "hello"
    assert v1["reportingController"] == "albctl"
    assert v1["deprecatedCount"] == 3
    assert v1["apiVersion"] == "events.k8s.io/v1"
    assert events.events_v1_to_core(v1) == core


def test_history_compaction_watermark() -> None:
    history = History(2)
    for rv in (1, 2, 3):
        history.append(Change(rv, "ADDED", "x", "", {}, None))
    assert history.compacted == 1
    assert [c.rv for c in history.since(1)] == [2, 3]
    with pytest.raises(ApiError) as info:
        history.since(0)
    assert info.value.code == 410
    history.expire(3)
    assert history.since(3) == []
    with pytest.raises(ApiError):
        history.since(2)


def test_routes() -> None:
    registry = Registry()
    ns = resolve(registry, "/api/v1/namespaces/shop")
    assert isinstance(ns, ResourceRoute)
    assert (ns.rt.kind, ns.namespace, ns.name) == ("Namespace", None, "shop")
    status = resolve(registry, "/api/v1/namespaces/shop/status")
    assert isinstance(status, ResourceRoute)
    assert (status.rt.kind, status.name, status.subresource) == ("Namespace", "shop", "status")
    svc = resolve(registry, "/api/v1/namespaces/shop/services/web/status")
    assert isinstance(svc, ResourceRoute)
    assert (svc.rt.kind, svc.namespace, svc.name, svc.subresource) == (
        "Service",
        "shop",
        "web",
        "status",
    )
    legacy = resolve(registry, "/apis/networking.k8s.io/v1/watch/namespaces/shop/ingresses")
    assert isinstance(legacy, ResourceRoute)
    assert legacy.watch
    assert legacy.namespace == "shop"
    assert resolve(registry, "/apis/albctl.io/v1beta1") == DocRoute(
        "resources", "albctl.io", "v1beta1"
    )
    for bad in (
        "/api/v1/namespaces/shop/nodes",
        "/api/v1/services/web",
        "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web/scale",
        "/apis/nope/v1/things",
        "/api/v2",
    ):
        with pytest.raises(ApiError):
            resolve(registry, bad)


# --- CRDs and the command line ----------------------------------------------------------------


def test_user_defined_crd_is_served_and_removed(kube: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(kube)
    custom = client.CustomObjectsApi(kube)
    ext.create_custom_resource_definition(
        {
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
    )
    crd = ext.read_custom_resource_definition("widgets.example.com")
    assert {c.type for c in crd.status.conditions} == {"Established", "NamesAccepted"}
    custom.create_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", {"kind": "Widget", "metadata": {"name": "w"}}
    )
    listed = custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w"]
    ext.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(client.ApiException) as info:
        custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert info.value.status == 404


def test_sandbox_generic_ingress_table(kube: client.ApiClient, sandbox: SandboxServer) -> None:
    client.NetworkingV1Api(kube).create_namespaced_ingress("default", ingress("web"))
    rt = sandbox.registry.lookup("networking.k8s.io", "v1", "ingresses")
    assert rt is not None
    table = tables.table(rt, sandbox.store.objects(rt), resource_version="9")
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Class",
        "Hosts",
        "Address",
        "Ports",
        "Age",
    ]
    assert table["rows"][0]["cells"][:5] == ["web", "alb", "shop.example.com", "", "80"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "albctl.sandbox", "--port", "0", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("sandbox API server listening on http://127.0.0.1:")
        assert line.endswith(f"(kubeconfig: {kubeconfig})")
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["current-context"] == "sandbox"
        assert config["clusters"][0]["cluster"]["server"] == line.split()[5]
        assert config["users"][0] == {"name": "sandbox", "user": {"token": "sandbox-token"}}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def _get(sandbox: SandboxServer, path: str, accept: str = "application/json") -> tuple[str, Any]:
    request = urllib.request.Request(sandbox.url + path, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as resp:
        return resp.headers["Content-Type"], json.loads(resp.read())


def test_discovery_documents(sandbox: SandboxServer) -> None:
    _, version = _get(sandbox, "/version")
    assert (version["major"], version["minor"]) == ("1", "32")
    _, api = _get(sandbox, "/api")
    assert api["kind"] == "APIVersions"
    assert api["versions"] == ["v1"]
    _, core = _get(sandbox, "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    assert names["services"]["shortNames"] == ["svc"]
    assert names["services/status"]["verbs"] == ["get", "patch", "update"]
    assert names["nodes"]["namespaced"] is False
    _, groups = _get(sandbox, "/apis")
    assert {g["name"] for g in groups["groups"]} >= {
        "networking.k8s.io",
        "discovery.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "apiextensions.k8s.io",
        "albctl.io",
    }
    _, albctl = _get(sandbox, "/apis/albctl.io/v1beta1")
    by_name = {r["name"]: r for r in albctl["resources"]}
    assert by_name["targetgroupbindings"]["namespaced"] is True
    assert by_name["targetgroupbindings"]["shortNames"] == ["tgb"]
    assert "loadbalancergroups/status" in by_name
    assert "ingressclassparams/status" not in by_name

    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    content_type, doc = _get(sandbox, "/apis", aggregated + ",application/json")
    assert content_type == aggregated
    assert doc["kind"] == "APIGroupDiscoveryList"
    networking = next(i for i in doc["items"] if i["metadata"]["name"] == "networking.k8s.io")
    ingresses = next(
        r for r in networking["versions"][0]["resources"] if r["resource"] == "ingresses"
    )
    assert ingresses["scope"] == "Namespaced"
    assert ingresses["subresources"][0]["subresource"] == "status"

    _, index = _get(sandbox, "/openapi/v3")
    url = index["paths"]["apis/networking.k8s.io/v1"]["serverRelativeURL"]
    _, spec = _get(sandbox, url)
    patch = spec["paths"]["/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}"][
        "patch"
    ]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Ingress"
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    with pytest.raises(urllib.error.HTTPError) as info:
        _get(sandbox, "/openapi/v2")
    assert info.value.code == 404
