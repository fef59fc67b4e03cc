"""The sandbox API server driven by the official Python client, as the controller drives it.

Covers CRUD, optimistic concurrency, finalizers, the status subresource, generation,
watches (resume, bookmarks, 410 Gone, broken streams), selectors, the three patch types,
custom resources, leases, events and Service allocation.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from sandbox_helpers import ingress

from albctl.sandbox import SandboxServer
from albctl.sandbox.errors import ApiError
from albctl.sandbox.selectors import FieldSelector, LabelSelector

GROUP = "albctl.io"
VERSION = "v1beta1"


def status_body(err: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(err.body)
    return body


def raw(
    sandbox: SandboxServer, method: str, path: str, body: Any = None, content_type: str = ""
) -> tuple[int, dict[str, Any]]:
    """A request without the client's own checks (it validates bodies before sending)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sandbox.url + path, data=data, method=method)
    request.add_header("Content-Type", content_type or "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def raises_api(code: int, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as info:
        fn(*args, **kwargs)
    assert info.value.status == code, info.value.body
    return status_body(info.value)


# --- CRUD -------------------------------------------------------------------------------------


def test_ingress_create_get_list_replace_patch_delete(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    created = net.create_namespaced_ingress("default", ingress("web", app="shop"))
    assert created.metadata.uid
    assert created.metadata.generation == 1
    assert created.metadata.creation_timestamp is not None
    first_rv = int(created.metadata.resource_version)

    got = net.read_namespaced_ingress("web", "default")
    assert got.spec.rules[0].host == "shop.example.com"
    assert got.metadata.uid == created.metadata.uid

    listed = net.list_namespaced_ingress("default")
    assert [i.metadata.name for i in listed.items] == ["web"]
    assert int(listed.metadata.resource_version) >= first_rv
    everywhere = net.list_ingress_for_all_namespaces()
    assert [(i.metadata.namespace, i.metadata.name) for i in everywhere.items] == [
        ("default", "web")
    ]

    got.spec.rules[0].host = "new.example.com"
    replaced = net.replace_namespaced_ingress("web", "default", got)
    assert replaced.spec.rules[0].host == "new.example.com"
    assert int(replaced.metadata.resource_version) > first_rv

    patched = net.patch_namespaced_ingress(
        "web", "default", {"metadata": {"annotations": {"a": "b"}}}
    )
    assert patched.metadata.annotations == {"a": "b"}
    assert patched.spec.rules[0].host == "new.example.com"

    net.delete_namespaced_ingress("web", "default")
    body = raises_api(404, net.read_namespaced_ingress, "web", "default")
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["reason"] == "NotFound"
    assert body["code"] == 404
    assert body["message"] == 'ingresses.networking.k8s.io "web" not found'
    assert body["details"]["name"] == "web"
    assert body["details"]["kind"] == "ingresses"


def test_create_conflicts_and_generate_name(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    body = raises_api(409, net.create_namespaced_ingress, "default", ingress("web"))
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'ingresses.networking.k8s.io "web" already exists'

    generated = ingress("ignored")
    generated["metadata"] = {"generateName": "web-"}
    made = {net.create_namespaced_ingress("default", generated).metadata.name for _ in range(3)}
    assert len(made) == 3
    assert all(name.startswith("web-") and len(name) == len("web-") + 5 for name in made)


def test_validation_and_namespaces(kube: client.ApiClient, sandbox: SandboxServer) -> None:
    net = client.NetworkingV1Api(kube)
    core = client.CoreV1Api(kube)
    body = raises_api(404, net.create_namespaced_ingress, "nowhere", ingress("web"))
    assert body["message"] == 'namespaces "nowhere" not found'

    other_ns = ingress("web")
    other_ns["metadata"]["namespace"] = "kube-system"
    body = raises_api(400, net.create_namespaced_ingress, "default", other_ns)
    assert body["reason"] == "BadRequest"

    nameless = ingress("x")
    nameless["metadata"] = {}
    body = raises_api(422, net.create_namespaced_ingress, "default", nameless)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"

    no_path_type = ingress("bad")
    del no_path_type["spec"]["rules"][0]["http"]["paths"][0]["pathType"]
    code, body = raw(
        sandbox, "POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", no_path_type
    )
    assert code == 422
    assert body["details"]["causes"][0]["field"] == "spec.rules[0].http.paths[0].pathType"
    code, body = raw(sandbox, "POST", "/apis/networking.k8s.io/v1/ingresses", ingress("x"))
    assert (code, body["reason"]) == (405, "MethodNotAllowed")
    code, body = raw(sandbox, "GET", "/apis/networking.k8s.io/v1/namespaces/default/nothing")
    assert (code, body["reason"]) == (404, "NotFound")

    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system"} <= names


def test_namespace_deletion_takes_its_objects(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    net = client.NetworkingV1Api(kube)
    core.create_namespace({"metadata": {"name": "shop"}})
    assert core.read_namespace("shop").status.phase == "Active"
    net.create_namespaced_ingress("shop", ingress("web"))
    held = ingress("held")
    held["metadata"]["finalizers"] = ["albctl.io/test"]
    net.create_namespaced_ingress("shop", held)

    core.delete_namespace("shop")
    assert core.read_namespace("shop").status.phase == "Terminating"
    raises_api(404, net.read_namespaced_ingress, "web", "shop")
    body = raises_api(403, net.create_namespaced_ingress, "shop", ingress("late"))
    assert "being terminated" in body["message"]

    net.patch_namespaced_ingress("held", "shop", {"metadata": {"finalizers": None}})
    raises_api(404, core.read_namespace, "shop")


# --- concurrency, finalizers, status, generation ----------------------------------------------


def test_stale_resource_version_is_a_conflict(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    stale = net.create_namespaced_ingress("default", ingress("web"))
    net.patch_namespaced_ingress("web", "default", {"metadata": {"labels": {"touched": "yes"}}})

    stale.spec.rules[0].host = "lost.example.com"
    body = raises_api(409, net.replace_namespaced_ingress, "web", "default", stale)
    assert body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]

    raises_api(
        409,
        net.patch_namespaced_ingress,
        "web",
        "default",
        {"metadata": {"resourceVersion": stale.metadata.resource_version}},
    )
    fresh = net.read_namespaced_ingress("web", "default")
    fresh.spec.rules[0].host = "kept.example.com"
    assert net.replace_namespaced_ingress("web", "default", fresh).spec.rules[0].host == (
        "kept.example.com"
    )


def test_finalizers_hold_deletion_until_removed(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    obj = ingress("web")
    obj["metadata"]["finalizers"] = ["albctl.io/resources"]
    net.create_namespaced_ingress("default", obj)

    net.delete_namespaced_ingress("web", "default")
    pending = net.read_namespaced_ingress("web", "default")
    assert pending.metadata.deletion_timestamp is not None
    assert pending.metadata.finalizers == ["albctl.io/resources"]

    # deleting again is a no-op that returns the object as it is
    net.delete_namespaced_ingress("web", "default")
    again = net.read_namespaced_ingress("web", "default")
    assert again.metadata.resource_version == pending.metadata.resource_version

    body = raises_api(
        422,
        net.patch_namespaced_ingress,
        "web",
        "default",
        {"metadata": {"finalizers": ["albctl.io/resources", "late/one"]}},
    )
    assert "no new finalizers" in body["message"]

    net.patch_namespaced_ingress(
        "web",
        "default",
        [{"op": "remove", "path": "/metadata/finalizers/0"}],
    )
    raises_api(404, net.read_namespaced_ingress, "web", "default")


def test_status_subresource_is_separate_from_spec(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    address = {"loadBalancer": {"ingress": [{"hostname": "k8s-shop.elb.amazonaws.com"}]}}

    updated = net.patch_namespaced_ingress_status(
        "web",
        "default",
        {"status": address, "spec": {"ingressClassName": "hijacked"}},
    )
    assert updated.status.load_balancer.ingress[0].hostname == "k8s-shop.elb.amazonaws.com"
    assert updated.spec.ingress_class_name == "alb"
    assert updated.metadata.generation == 1

    current = net.read_namespaced_ingress("web", "default")
    current.spec.rules[0].host = "other.example.com"
    current.status.load_balancer.ingress[0].hostname = "ignored.example.com"
    replaced = net.replace_namespaced_ingress("web", "default", current)
    assert replaced.spec.rules[0].host == "other.example.com"
    assert replaced.status.load_balancer.ingress[0].hostname == "k8s-shop.elb.amazonaws.com"

    # PUT on /status with a full object
    latest = net.read_namespaced_ingress("web", "default")
    latest.status.load_balancer.ingress[0].hostname = "put.example.com"
    latest.spec.rules[0].host = "not-applied.example.com"
    put = net.replace_namespaced_ingress_status("web", "default", latest)
    assert put.status.load_balancer.ingress[0].hostname == "put.example.com"
    assert put.spec.rules[0].host == "other.example.com"

    # status on create is dropped, as for the real kind
    with_status = ingress("born-with-status")
    with_status["status"] = address
    created = net.create_namespaced_ingress("default", with_status)
    assert not (created.status and created.status.load_balancer.ingress)


def test_generation_bumps_only_on_spec_change(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    meta_only = net.patch_namespaced_ingress("web", "default", {"metadata": {"labels": {"a": "b"}}})
    assert meta_only.metadata.generation == 1
    status_only = net.patch_namespaced_ingress_status(
        "web", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}}
    )
    assert status_only.metadata.generation == 1
    spec = net.patch_namespaced_ingress("web", "default", {"spec": {"ingressClassName": "other"}})
    assert spec.metadata.generation == 2
    # a write that changes nothing keeps the resourceVersion
    same = net.patch_namespaced_ingress("web", "default", {"spec": {"ingressClassName": "other"}})
    assert same.metadata.resource_version == spec.metadata.resource_version
    assert same.metadata.generation == 2


# --- watch ------------------------------------------------------------------------------------


def test_watch_from_resource_version_sees_later_changes(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    rv = net.list_namespaced_ingress("default").metadata.resource_version

    def later() -> None:
        time.sleep(0.2)
        net.patch_namespaced_ingress("web", "default", {"metadata": {"labels": {"x": "1"}}})
        net.create_namespaced_ingress("default", ingress("api"))
        net.delete_namespaced_ingress("web", "default")

    worker = threading.Thread(target=later)
    worker.start()
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(
        net.list_namespaced_ingress, "default", resource_version=rv, timeout_seconds=5
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "DELETED":
            w.stop()
    worker.join()
    assert seen == [("MODIFIED", "web"), ("ADDED", "api"), ("DELETED", "web")]


def test_watch_without_resource_version_starts_with_current_objects(
    kube: client.ApiClient,
) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("a", tier="front"))
    net.create_namespaced_ingress("default", ingress("b", tier="back"))
    w = watch.Watch()
    events = []
    for event in w.stream(
        net.list_namespaced_ingress, "default", label_selector="tier=front", timeout_seconds=1
    ):
        events.append((event["type"], event["object"].metadata.name))
    assert events == [("ADDED", "a")]


def test_watch_selector_turns_unmatching_updates_into_deletes(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web", tier="front"))
    rv = net.read_namespaced_ingress("web", "default").metadata.resource_version
    net.patch_namespaced_ingress("web", "default", {"metadata": {"labels": {"tier": "back"}}})
    net.patch_namespaced_ingress("web", "default", {"metadata": {"labels": {"tier": "front"}}})
    w = watch.Watch()
    events = [
        e["type"]
        for e in w.stream(
            net.list_namespaced_ingress,
            "default",
            label_selector="tier=front",
            resource_version=rv,
            timeout_seconds=1,
        )
    ]
    assert events == ["DELETED", "ADDED"]


def test_watch_sends_bookmarks(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    rv = net.list_namespaced_ingress("default").metadata.resource_version
    w = watch.Watch()
    started = time.monotonic()
    bookmark: dict[str, Any] = {}
    for event in w.stream(
        net.list_namespaced_ingress,
        "default",
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    ):
        if event["type"] == "BOOKMARK":
            bookmark = event["raw_object"]
            w.stop()
    assert time.monotonic() - started < 2
    assert bookmark["kind"] == "Ingress"
    assert bookmark["apiVersion"] == "networking.k8s.io/v1"
    assert bookmark["metadata"]["resourceVersion"] == rv


def test_expired_history_answers_410_gone(kube: client.ApiClient, sandbox: SandboxServer) -> None:
    net = client.NetworkingV1Api(kube)
    old_rv = net.create_namespaced_ingress("default", ingress("web")).metadata.resource_version
    net.patch_namespaced_ingress("web", "default", {"metadata": {"labels": {"a": "b"}}})
    sandbox.expire_history()

    w = watch.Watch()
    with pytest.raises(ApiException) as info:
        for _ in w.stream(
            net.list_namespaced_ingress, "default", resource_version=old_rv, timeout_seconds=2
        ):
            pass
    assert info.value.status == 410

    # the raw stream: one ERROR event carrying a Status, then the end of the stream
    resp = net.list_namespaced_ingress(
        "default", watch=True, resource_version=old_rv, _preload_content=False
    )
    lines = [line for line in resp.read().decode().splitlines() if line]
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert event["object"]["kind"] == "Status"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"

    # a fresh list gives a version that can be watched from again
    current = net.list_namespaced_ingress("default").metadata.resource_version
    assert (
        list(
            w.stream(
                net.list_namespaced_ingress, "default", resource_version=current, timeout_seconds=1
            )
        )
        == []
    )


def test_history_is_bounded() -> None:
    small = SandboxServer(history_size=3)
    small.start()
    try:
        rt = small.registry.lookup("networking.k8s.io", "v1", "ingresses")
        assert rt is not None
        first = small.store.create(rt, "default", ingress("web"))
        for n in range(5):
            small.store.patch(
                rt,
                "default",
                "web",
                "application/merge-patch+json",
                {"metadata": {"labels": {"n": str(n)}}},
            )
        no_labels, no_fields = LabelSelector(), FieldSelector()
        with pytest.raises(ApiError) as info:
            small.store.watch(
                rt, "default", no_labels, no_fields, first["metadata"]["resourceVersion"]
            )
        assert info.value.code == 410
        recent = str(small.store.resource_version - 2)
        assert small.store.watch(rt, "default", no_labels, no_fields, recent) is not None
    finally:
        small.stop()


def test_break_watches_ends_open_streams(kube: client.ApiClient, sandbox: SandboxServer) -> None:
    net = client.NetworkingV1Api(kube)
    rv = net.list_namespaced_ingress("default").metadata.resource_version
    ended = threading.Event()

    def consume() -> None:
        resp = net.list_namespaced_ingress(
            "default", watch=True, resource_version=rv, timeout_seconds=20, _preload_content=False
        )
        resp.read()
        ended.set()

    reader = threading.Thread(target=consume)
    reader.start()
    time.sleep(0.3)
    assert not ended.is_set()
    sandbox.break_watches()
    assert ended.wait(3)
    reader.join()


# --- selectors --------------------------------------------------------------------------------


def test_label_and_field_selectors(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("a", app="shop", tier="front"))
    net.create_namespaced_ingress("default", ingress("b", app="shop", tier="back"))
    net.create_namespaced_ingress("default", ingress("c", app="blog"))

    def names(**kwargs: Any) -> list[str]:
        return [i.metadata.name for i in net.list_namespaced_ingress("default", **kwargs).items]

    assert names(label_selector="app=shop") == ["a", "b"]
    assert names(label_selector="app==shop,tier=back") == ["b"]
    assert names(label_selector="app!=shop") == ["c"]
    assert names(label_selector="tier in (front, back)") == ["a", "b"]
    assert names(label_selector="tier notin (front)") == ["b", "c"]
    assert names(label_selector="tier") == ["a", "b"]
    assert names(label_selector="!tier") == ["c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b,metadata.namespace=default") == ["a", "c"]
    body = raises_api(400, net.list_namespaced_ingress, "default", field_selector="spec.x=1")
    assert "field label not supported" in body["message"]
    raises_api(400, net.list_namespaced_ingress, "default", label_selector="a in (b")

    page = net.list_namespaced_ingress("default", limit=2)
    assert [i.metadata.name for i in page.items] == ["a", "b"]
    assert page.metadata._continue
    rest = net.list_namespaced_ingress("default", limit=2, _continue=page.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["c"]
    assert not rest.metadata._continue


# --- patch types ------------------------------------------------------------------------------


def test_strategic_merge_patch_merges_keyed_lists(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web", "finalizers": ["a/one"]},
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
            },
        },
    )
    patched = core.patch_namespaced_service(
        "web",
        "default",
        {
            "metadata": {"finalizers": ["b/two"]},
            "spec": {"ports": [{"port": 443, "targetPort": 8443}, {"name": "admin", "port": 9000}]},
        },
    )
    ports = {p.port: (p.name, p.target_port) for p in patched.spec.ports}
    assert ports == {80: ("http", 80), 443: ("https", 8443), 9000: ("admin", 9000)}
    assert patched.metadata.finalizers == ["a/one", "b/two"]

    deleted = core.patch_namespaced_service(
        "web", "default", {"spec": {"ports": [{"port": 9000, "$patch": "delete"}]}}
    )
    assert sorted(p.port for p in deleted.spec.ports) == [80, 443]

    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:1"}]
            },
        },
    )
    pod = core.patch_namespaced_pod(
        "p", "default", {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}
    )
    assert [(c.name, c.image) for c in pod.spec.containers] == [("app", "a:2"), ("side", "s:1")]


def test_json_patch_and_merge_patch(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web", app="shop"))
    patched = net.patch_namespaced_ingress(
        "web",
        "default",
        [
            {"op": "test", "path": "/metadata/labels/app", "value": "shop"},
            {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
            {"op": "replace", "path": "/spec/rules/0/host", "value": "json.example.com"},
            {"op": "copy", "from": "/spec/rules/0", "path": "/spec/rules/-"},
            {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/service"},
            {"op": "remove", "path": "/spec/ingressClassName"},
        ],
    )
    assert patched.metadata.labels == {"tier": "front", "service": "shop"}
    assert [r.host for r in patched.spec.rules] == ["json.example.com", "json.example.com"]
    assert patched.spec.ingress_class_name is None

    body = raises_api(
        422,
        net.patch_namespaced_ingress,
        "web",
        "default",
        [{"op": "test", "path": "/metadata/labels/tier", "value": "back"}],
    )
    assert body["reason"] == "Invalid"

    merged = net.patch_namespaced_ingress(
        "web",
        "default",
        {"spec": {"rules": [{"host": "only.example.com"}]}, "metadata": {"labels": {"tier": None}}},
        _content_type="application/merge-patch+json",
    )
    assert [r.host for r in merged.spec.rules] == ["only.example.com"]
    assert merged.metadata.labels == {"service": "shop"}


# --- custom resources -------------------------------------------------------------------------


def test_load_balancer_group_and_status(kube: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube)
    created = custom.create_cluster_custom_object(
        GROUP,
        VERSION,
        "loadbalancergroups",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "LoadBalancerGroup",
            "metadata": {"name": "shop"},
            "spec": {"scheme": "internet-facing"},
            "status": {"memberCount": 99},
        },
    )
    assert created["metadata"]["generation"] == 1
    assert "status" not in created

    status = {
        "loadBalancer": {"dnsName": "k8s-shop.elb.amazonaws.com"},
        "memberCount": 2,
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    patched = custom.patch_cluster_custom_object_status(
        GROUP, VERSION, "loadbalancergroups", "shop", {"status": status, "spec": {"x": 1}}
    )
    assert patched["status"] == status
    assert patched["spec"] == {"scheme": "internet-facing"}
    assert patched["metadata"]["generation"] == 1

    spec = custom.patch_cluster_custom_object(
        GROUP, VERSION, "loadbalancergroups", "shop", {"spec": {"scheme": "internal"}}
    )
    assert spec["metadata"]["generation"] == 2
    assert spec["status"] == status

    listed = custom.list_cluster_custom_object(GROUP, VERSION, "loadbalancergroups")
    assert listed["kind"] == "LoadBalancerGroupList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["shop"]
    assert listed["items"][0]["kind"] == "LoadBalancerGroup"

    body = raises_api(
        415,
        custom.patch_cluster_custom_object,
        GROUP,
        VERSION,
        "loadbalancergroups",
        "shop",
        {"spec": {}},
        _content_type="application/strategic-merge-patch+json",
    )
    assert body["reason"] == "UnsupportedMediaType"

    custom.delete_cluster_custom_object(GROUP, VERSION, "loadbalancergroups", "shop")
    raises_api(404, custom.get_cluster_custom_object, GROUP, VERSION, "loadbalancergroups", "shop")


def test_target_group_binding_and_ingress_class_params(kube: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube)
    tgb = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TargetGroupBinding",
        "metadata": {"name": "web-80"},
        "spec": {
            "targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1",
            "serviceRef": {"name": "web", "port": 80},
        },
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", "targetgroupbindings", tgb)
    body = raises_api(
        404,
        custom.create_namespaced_custom_object,
        GROUP,
        VERSION,
        "missing",
        "targetgroupbindings",
        tgb,
    )
    assert body["message"] == 'namespaces "missing" not found'
    custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "default",
        "targetgroupbindings",
        "web-80",
        {"status": {"observedGeneration": 1}},
    )
    got = custom.get_namespaced_custom_object(
        GROUP, VERSION, "default", "targetgroupbindings", "web-80"
    )
    assert got["status"] == {"observedGeneration": 1}
    assert got["spec"]["serviceRef"] == {"name": "web", "port": 80}

    custom.create_cluster_custom_object(
        GROUP,
        VERSION,
        "ingressclassparams",
        {
            "kind": "IngressClassParams",
            "metadata": {"name": "shop"},
            "spec": {"group": {"name": "shop"}},
        },
    )
    params = custom.get_cluster_custom_object(GROUP, VERSION, "ingressclassparams", "shop")
    assert params["apiVersion"] == f"{GROUP}/{VERSION}"
    assert params["spec"]["group"]["name"] == "shop"

    crds = client.ApiextensionsV1Api(kube).list_custom_resource_definition()
    assert sorted(c.metadata.name for c in crds.items if c.spec.group == GROUP) == [
        "ingressclassparams.albctl.io",
        "loadbalancergroups.albctl.io",
        "targetgroupbindings.albctl.io",
    ]


# --- leases, events, services, endpoint slices ------------------------------------------------


def test_lease_leader_election(kube: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(kube)
    now = "2025-01-01T00:00:00.000000Z"
    lease = leases.create_namespaced_lease(
        "kube-system",
        {
            "metadata": {"name": "albctl-leader"},
            "spec": {
                "holderIdentity": "pod-a",
                "leaseDurationSeconds": 15,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        },
    )
    # two candidates read the same version; only the first write wins
    seen_by_b = leases.read_namespaced_lease("albctl-leader", "kube-system")
    lease.spec.renew_time = "2025-01-01T00:00:05.000000Z"
    renewed = leases.replace_namespaced_lease("albctl-leader", "kube-system", lease)
    assert renewed.spec.holder_identity == "pod-a"
    seen_by_b.spec.holder_identity = "pod-b"
    body = raises_api(
        409, leases.replace_namespaced_lease, "albctl-leader", "kube-system", seen_by_b
    )
    assert body["reason"] == "Conflict"
    current = leases.read_namespaced_lease("albctl-leader", "kube-system")
    assert current.spec.holder_identity == "pod-a"
    assert current.spec.renew_time.second == 5


def test_events_field_selectors_and_both_event_apis(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    for name, kind in (("web", "Ingress"), ("api", "Ingress"), ("web", "Service")):
        core.create_namespaced_event(
            "default",
            {
                "metadata": {"generateName": f"{name}."},
                "involvedObject": {"kind": kind, "name": name, "namespace": "default"},
                "reason": "Reconciled",
                "message": f"{kind} {name} reconciled",
                "type": "Normal",
                "source": {"component": "albctl"},
                "count": 1,
                "eventTime": "2025-01-01T00:00:00.000000Z",
            },
        )
    events = client.EventsV1Api(kube)
    events.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "web.v1"},
            "eventTime": "2025-01-01T00:00:00.000000Z",
            "reportingController": "albctl.io/alb",
            "reportingInstance": "albctl-0",
            "action": "Reconcile",
            "reason": "FailedDeploy",
            "regarding": {"kind": "Ingress", "name": "web", "namespace": "default"},
            "note": "subnet not found",
            "type": "Warning",
        },
    )

    def messages(selector: str) -> list[str]:
        found = core.list_namespaced_event("default", field_selector=selector).items
        return sorted(e.message for e in found)

    assert messages("involvedObject.name=web,involvedObject.kind=Ingress") == [
        "Ingress web reconciled",
        "subnet not found",
    ]
    assert messages("type=Warning") == ["subnet not found"]
    assert messages("reason=Reconciled,involvedObject.name=api") == ["Ingress api reconciled"]

    as_v1 = events.list_namespaced_event("default", field_selector="regarding.name=api").items
    assert [(e.note, e.regarding.kind) for e in as_v1] == [("Ingress api reconciled", "Ingress")]
    core_view = core.read_namespaced_event("web.v1", "default")
    assert core_view.involved_object.name == "web"
    assert core_view.reporting_component == "albctl.io/alb"


def test_service_gets_cluster_ip_and_node_ports(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    svc = core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080},
                    {"name": "pinned", "port": 81, "nodePort": 30081},
                ],
            },
        },
    )
    assert svc.spec.cluster_ip.startswith("10.96.")
    assert svc.spec.cluster_ips == [svc.spec.cluster_ip]
    node_ports = [p.node_port for p in svc.spec.ports]
    assert node_ports[1] == 30081
    assert 30000 <= node_ports[0] <= 32767
    assert all(p.protocol == "TCP" for p in svc.spec.ports)

    # kubectl apply style updates omit allocated values; they are kept
    fresh = {
        "metadata": {"name": "web", "labels": {"v": "2"}},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "pinned", "port": 81, "nodePort": 30081},
            ],
        },
    }
    replaced = core.replace_namespaced_service("web", "default", fresh)
    assert replaced.spec.cluster_ip == svc.spec.cluster_ip
    assert [p.node_port for p in replaced.spec.ports] == node_ports

    clash = core.create_namespaced_service
    body = raises_api(
        422,
        clash,
        "default",
        {
            "metadata": {"name": "other"},
            "spec": {"type": "NodePort", "ports": [{"port": 1, "nodePort": 30081}]},
        },
    )
    assert "already allocated" in body["message"]
    plain = core.create_namespaced_service(
        "default", {"metadata": {"name": "plain"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert plain.spec.type == "ClusterIP"
    assert plain.spec.cluster_ip not in (None, svc.spec.cluster_ip)
    assert plain.spec.ports[0].node_port is None


def test_endpoint_slices_nodes_and_pods(kube: client.ApiClient) -> None:
    discovery = client.DiscoveryV1Api(kube)
    core = client.CoreV1Api(kube)
    discovery.create_namespaced_endpoint_slice(
        "default",
        {
            "metadata": {"name": "web-abc12", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.0.1.10"], "conditions": {"ready": True}}],
        },
    )
    slices = discovery.list_endpoint_slice_for_all_namespaces(
        label_selector="kubernetes.io/service-name=web"
    ).items
    assert [s.endpoints[0].addresses for s in slices] == [["10.0.1.10"]]

    node = core.create_node(
        {
            "metadata": {"name": "node-a"},
            "spec": {"providerID": "aws:///us-east-1a/i-1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    assert node.status.conditions[0].type == "Ready"
    assert node.spec.provider_id == "aws:///us-east-1a/i-1"

    pod = core.create_namespaced_pod(
        "default",
        {"metadata": {"name": "web-0"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
    )
    assert pod.status.phase == "Pending"
    running = core.patch_namespaced_pod_status(
        "web-0", "default", {"status": {"phase": "Running", "podIP": "10.0.1.10"}}
    )
    assert running.status.pod_ip == "10.0.1.10"
    on_ip = core.list_pod_for_all_namespaces(field_selector="status.podIP=10.0.1.10").items
    assert [p.metadata.name for p in on_ip] == ["web-0"]


def test_owner_references_cascade_or_orphan(kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    custom = client.CustomObjectsApi(kube)
    for name in ("web", "api"):
        owner = net.create_namespaced_ingress("default", ingress(name))
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            "default",
            "targetgroupbindings",
            {
                "kind": "TargetGroupBinding",
                "metadata": {
                    "name": f"{name}-tgb",
                    "ownerReferences": [
                        {
                            "apiVersion": "networking.k8s.io/v1",
                            "kind": "Ingress",
                            "name": name,
                            "uid": owner.metadata.uid,
                        }
                    ],
                },
                "spec": {"targetGroupARN": "arn", "serviceRef": {"name": name, "port": 80}},
            },
        )
    net.delete_namespaced_ingress("web", "default")
    net.delete_namespaced_ingress("api", "default", propagation_policy="Orphan")
    left = custom.list_namespaced_custom_object(GROUP, VERSION, "default", "targetgroupbindings")
    assert [
        (i["metadata"]["name"], i["metadata"].get("ownerReferences")) for i in left["items"]
    ] == [("api-tgb", None)]


def test_restart_keeps_data_and_dry_run_keeps_nothing(
    kube: client.ApiClient, sandbox: SandboxServer
) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    dry = net.create_namespaced_ingress("default", ingress("dry"), dry_run="All")
    assert dry.metadata.uid
    raises_api(404, net.read_namespaced_ingress, "dry", "default")

    port = sandbox.port
    sandbox.stop()
    sandbox.start()
    assert sandbox.port == port
    assert [i.metadata.name for i in net.list_namespaced_ingress("default").items] == ["web"]


def test_metadata_only_responses(sandbox: SandboxServer, kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web", app="shop"))
    request = urllib.request.Request(
        sandbox.url + "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
        headers={
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
            "application/json"
        },
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["items"][0]["metadata"]["labels"] == {"app": "shop"}
    assert "spec" not in body["items"][0]


def test_watch_on_an_object_path(sandbox: SandboxServer, kube: client.ApiClient) -> None:
    net = client.NetworkingV1Api(kube)
    net.create_namespaced_ingress("default", ingress("web"))
    net.create_namespaced_ingress("default", ingress("api"))
    path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web?watch=1&timeoutSeconds=1"
    with urllib.request.urlopen(sandbox.url + path, timeout=5) as resp:
        assert resp.headers["Transfer-Encoding"] == "chunked"
        events = [json.loads(line) for line in resp.read().splitlines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "web")]


def test_concurrent_writers_and_a_watcher(kube: client.ApiClient, sandbox: SandboxServer) -> None:
    net = client.NetworkingV1Api(kube)
    for n in range(4):
        net.create_namespaced_ingress("default", ingress(f"web-{n}"))
    start_rv = net.list_namespaced_ingress("default").metadata.resource_version

    def writer(n: int) -> None:
        api = client.NetworkingV1Api(client.ApiClient(kube.configuration))
        for i in range(20):
            api.patch_namespaced_ingress(
                f"web-{n}", "default", {"metadata": {"labels": {"i": str(i)}}}
            )

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rt = sandbox.registry.lookup("networking.k8s.io", "v1", "ingresses")
    assert rt is not None
    w = watch.Watch()
    versions = [
        int(e["raw_object"]["metadata"]["resourceVersion"])
        for e in w.stream(
            net.list_namespaced_ingress, "default", resource_version=start_rv, timeout_seconds=1
        )
    ]
    assert len(versions) == 80
    assert versions == sorted(set(versions))
    assert {o["metadata"]["labels"]["i"] for o in sandbox.store.objects(rt)} == {"19"}
