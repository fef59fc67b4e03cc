"""Admission webhooks: the sandbox calls real HTTPS webhooks as kube-apiserver does.

A webhook server runs in the test process with a certificate from a test CA; configurations
are registered through the API; outcomes are checked through the official Python client and
kubectl. Nothing of the sandbox is mocked.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from sandbox_helpers import ingress
from webhook_helpers import (
    SERVICE_DNS,
    Authority,
    HookServer,
    Issued,
    Raw,
    add_label,
    allow,
    configuration,
    deny,
    json_patch,
    rule,
    slow,
    webhook,
)

from albctl.sandbox import SandboxServer
from albctl.sandbox.__main__ import main as sandbox_main
from albctl.sandbox.admission import (
    Attributes,
    Caller,
    dry_run_refusal,
    object_selector_matches,
    rule_matches,
    user_info,
)
from albctl.sandbox.registry import Registry
from albctl.sandbox.server import parse_service_address

MUTATING = "MutatingWebhookConfiguration"
VALIDATING = "ValidatingWebhookConfiguration"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def serving(ca: Authority) -> Issued:
    return ca.issue("hook")


@pytest.fixture
def hooks(serving: Issued) -> Iterator[HookServer]:
    server = HookServer(serving)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def admission(kube: client.ApiClient) -> client.AdmissionregistrationV1Api:
    return client.AdmissionregistrationV1Api(kube)


def register(api: client.AdmissionregistrationV1Api, body: dict[str, Any]) -> None:
    if body["kind"] == MUTATING:
        api.create_mutating_webhook_configuration(body)
    else:
        api.create_validating_webhook_configuration(body)


def url_config(hooks: HookServer, path: str, ca: Authority) -> dict[str, Any]:
    return {"url": hooks.url(path), "caBundle": ca.bundle}


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }


def api_error(fn: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as info:
        fn(*args, **kwargs)
    body: dict[str, Any] = json.loads(info.value.body)
    return int(info.value.status), body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- mutating ---------------------------------------------------------------------------------


def test_mutating_webhooks_patch_in_name_order_and_the_result_is_stored(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    gates = [{"conditionType": "target-health.albctl.io/web"}]
    hooks.routes["/gates"] = json_patch(
        lambda obj: [{"op": "add", "path": "/spec/readinessGates", "value": gates}]
    )
    hooks.routes["/label"] = add_label("albctl.io/mutated", "true")
    # registered in reverse order: configurations run sorted by name
    register(
        admission,
        configuration(
            MUTATING,
            "b-label",
            webhook("label.albctl.io", url_config(hooks, "/label", ca), [rule(["pods"])]),
        ),
    )
    register(
        admission,
        configuration(
            MUTATING,
            "a-gates",
            webhook("gates.albctl.io", url_config(hooks, "/gates", ca), [rule(["pods"])]),
        ),
    )
    core = client.CoreV1Api(kube)
    created = core.create_namespaced_pod("default", pod("web", app="web"))
    assert [g.condition_type for g in created.spec.readiness_gates] == [gates[0]["conditionType"]]
    stored = core.read_namespaced_pod("web", "default")
    assert stored.metadata.labels == {"app": "web", "albctl.io/mutated": "true"}
    assert stored.spec.readiness_gates[0].condition_type == "target-health.albctl.io/web"
    assert stored.spec.containers[0].image_pull_policy == "IfNotPresent"  # defaulted after

    first, second = hooks.calls_to("/gates")[0], hooks.calls_to("/label")[0]
    assert hooks.calls.index(first) < hooks.calls.index(second)
    assert "readinessGates" in second.request["object"]["spec"]  # saw the first one's patch
    request = first.request
    assert first.path == "/gates?timeout=10s"
    assert request["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert request["resource"] == {"group": "", "version": "v1", "resource": "pods"}
    assert request["requestKind"] == request["kind"]
    assert request["operation"] == "CREATE"
    assert (request["name"], request["namespace"]) == ("web", "default")
    assert request["userInfo"]["username"] == "sandbox-admin"
    assert request["dryRun"] is False
    assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
    assert request["oldObject"] is None
    assert "uid" not in request["object"]["metadata"]  # mutating webhooks run before that

    core.patch_namespaced_pod("web", "default", {"metadata": {"labels": {"tier": "front"}}})
    update = hooks.calls_to("/label")[-1].request
    assert update["operation"] == "UPDATE"
    assert update["options"]["kind"] == "UpdateOptions"  # patchToUpdateOptions
    assert update["oldObject"]["metadata"]["labels"] == {"app": "web", "albctl.io/mutated": "true"}
    assert update["object"]["metadata"]["uid"] == stored.metadata.uid


def test_mutating_webhooks_see_the_object_defaulted(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    """The request body is defaulted while it is decoded, before any webhook, and each
    webhook's patch is defaulted before the next one sees it (apiserver mutating/dispatcher.go
    callAttrMutatingHook: ``o.GetObjectDefaulter().Default(attr.VersionedObject)``)."""
    extra = {"name": "metrics", "port": 9090}
    hooks.routes["/port"] = json_patch(
        lambda obj: [{"op": "add", "path": "/spec/ports/-", "value": extra}]
    )
    hooks.routes["/look"] = allow()
    for name, path in (("a-port", "/port"), ("b-look", "/look")):
        register(
            admission,
            configuration(
                MUTATING,
                name,
                webhook(f"{name}.albctl.io", url_config(hooks, path, ca), [rule(["services"])]),
            ),
        )
    core = client.CoreV1Api(kube)
    core.create_namespaced_service(
        "default",
        {"metadata": {"name": "web"}, "spec": {"ports": [{"name": "http", "port": 80}]}},
    )
    first = hooks.calls_to("/port")[0].request["object"]["spec"]
    assert first["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]
    assert first["type"] == "ClusterIP"
    assert "clusterIP" not in first  # allocated by the registry, after admission
    second = hooks.calls_to("/look")[0].request["object"]["spec"]
    assert second["ports"][1] == {**extra, "protocol": "TCP", "targetPort": 9090}


# --- validating -------------------------------------------------------------------------------


def test_validating_denial_reaches_the_client_and_nothing_is_stored(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    def host_policy(request: dict[str, Any]) -> dict[str, Any]:
        host = request["object"]["spec"]["rules"][0]["host"]
        if host.endswith(".example.com"):
            return {"allowed": True}
        return deny(f"host {host} is not allowed", 403, "Forbidden")(request)

    hooks.routes["/ingress"] = host_policy
    hooks.routes["/status"] = deny("status is read-only here")
    register(
        admission,
        configuration(
            VALIDATING,
            "ingress-policy",
            webhook(
                "hosts.albctl.io",
                url_config(hooks, "/ingress", ca),
                [rule(["ingresses"], groups=("networking.k8s.io",), versions=("v1",))],
            ),
            webhook(
                "status.albctl.io",
                url_config(hooks, "/status", ca),
                [rule(["ingresses/status"], operations=("UPDATE",))],
            ),
        ),
    )
    net = client.NetworkingV1Api(kube)
    code, status = api_error(net.create_namespaced_ingress, "default", ingress("web", "evil.org"))
    assert code == 403
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        'admission webhook "hosts.albctl.io" denied the request: host evil.org is not allowed'
    )
    assert net.list_namespaced_ingress("default").items == []

    created = net.create_namespaced_ingress("default", ingress("web"))
    assert len(hooks.calls_to("/ingress")) == 2
    assert hooks.calls_to("/ingress")[-1].request["object"]["metadata"]["uid"]  # the final form
    created.spec.rules[0].host = "evil.org"
    code, _ = api_error(net.replace_namespaced_ingress, "web", "default", created)
    assert code == 403
    stored = net.read_namespaced_ingress("web", "default")
    assert stored.spec.rules[0].host == "shop.example.com"
    assert stored.metadata.resource_version == created.metadata.resource_version

    assert hooks.calls_to("/status") == []  # only the status subresource is listed
    code, status = api_error(
        net.patch_namespaced_ingress_status,
        "web",
        "default",
        {"status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}},
    )
    assert code == 400
    assert "reason" not in status  # the webhook gave none: the apiserver adds none
    assert status["message"] == (
        'admission webhook "status.albctl.io" denied the request: status is read-only here'
    )
    assert hooks.calls_to("/status")[0].request["subResource"] == "status"


def test_delete_is_admitted_with_the_old_object(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/delete"] = deny("this one stays", 409)
    register(
        admission,
        configuration(
            VALIDATING,
            "keep",
            webhook(
                "keep.albctl.io",
                url_config(hooks, "/delete", ca),
                [rule(["secrets"], operations=("DELETE",))],
                objectSelector={"matchLabels": {"keep": "yes"}},
            ),
        ),
    )
    core = client.CoreV1Api(kube)
    for name, keep in (("kept", "yes"), ("gone", "no")):
        core.create_namespaced_secret(
            "default", {"metadata": {"name": name, "labels": {"keep": keep}}}
        )
    code, status = api_error(core.delete_namespaced_secret, "kept", "default")
    assert (code, status["message"]) == (
        409,
        'admission webhook "keep.albctl.io" denied the request: this one stays',
    )
    core.delete_namespaced_secret("gone", "default")
    assert [s.metadata.name for s in core.list_namespaced_secret("default").items] == ["kept"]
    (call,) = hooks.calls_to("/delete")
    assert call.request["operation"] == "DELETE"
    assert call.request["object"] is None
    assert call.request["oldObject"]["metadata"]["name"] == "kept"
    assert call.request["options"]["kind"] == "DeleteOptions"


# --- selectors --------------------------------------------------------------------------------


def test_namespace_and_object_selectors(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/label"] = add_label("injected", "yes")
    hooks.routes["/ns"] = allow()
    register(
        admission,
        configuration(
            MUTATING,
            "inject",
            webhook(
                "inject.albctl.io",
                url_config(hooks, "/label", ca),
                [rule(["pods"], scope="Namespaced")],
                namespaceSelector={"matchLabels": {"webhooks": "enabled"}},
                objectSelector={
                    "matchExpressions": [
                        {"key": "opt-out", "operator": "DoesNotExist"},
                        {"key": "app", "operator": "NotIn", "values": ["legacy"]},
                    ]
                },
            ),
            webhook(
                "namespaces.albctl.io",
                url_config(hooks, "/ns", ca),
                [rule(["namespaces"], operations=("CREATE",), scope="Cluster")],
                namespaceSelector={"matchExpressions": [{"key": "team", "operator": "Exists"}]},
            ),
        ),
    )
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": "on", "labels": {"webhooks": "enabled"}}})
    core.create_namespace({"metadata": {"name": "off", "labels": {"team": "a"}}})
    assert [c.request["name"] for c in hooks.calls_to("/ns")] == ["off"]  # its own labels

    def labels(namespace: str, name: str, **given: str) -> dict[str, str]:
        created = core.create_namespaced_pod(namespace, pod(name, **given))
        return dict(created.metadata.labels or {})

    assert labels("on", "a", app="web") == {"app": "web", "injected": "yes"}
    assert labels("off", "b", app="web") == {"app": "web"}
    assert labels("default", "c", app="web") == {"app": "web"}
    assert labels("on", "d", app="web", **{"opt-out": "1"}) == {"app": "web", "opt-out": "1"}
    assert labels("on", "e", app="legacy") == {"app": "legacy"}
    assert len(hooks.calls_to("/label")) == 1


@pytest.mark.parametrize(
    ("resources", "scope", "target", "expected"),
    [
        (["pods"], None, ("", "pods", ""), True),
        (["pods"], None, ("", "pods", "status"), False),
        (["pods/status"], None, ("", "pods", "status"), True),
        (["pods/*"], None, ("", "pods", "status"), True),
        (["pods/*"], None, ("", "pods", ""), True),
        (["*"], None, ("", "pods", ""), True),
        (["*"], None, ("", "pods", "status"), False),
        (["*/status"], None, ("networking.k8s.io", "ingresses", "status"), True),
        (["*/*"], None, ("networking.k8s.io", "ingresses", "status"), True),
        (["services"], None, ("", "pods", ""), False),
        (["*"], "Namespaced", ("", "pods", ""), True),
        (["*"], "Namespaced", ("", "namespaces", ""), False),
        (["*"], "Cluster", ("", "namespaces", ""), True),
        (["*"], "Cluster", ("networking.k8s.io", "ingresses", ""), False),
    ],
)
def test_rule_matching(
    resources: list[str], scope: str | None, target: tuple[str, str, str], expected: bool
) -> None:
    group, plural, subresource = target
    rt = Registry().lookup(group, "v1", plural)
    assert rt is not None
    attrs = Attributes(rt, "UPDATE", "", "x", subresource, False, Caller())
    assert rule_matches(rule(resources, scope=scope), attrs) is expected
    assert not rule_matches(rule(resources, operations=("CREATE",), scope=scope), attrs)
    assert not rule_matches(rule(resources, groups=("other.io",), scope=scope), attrs)
    assert not rule_matches(rule(resources, versions=("v2",), scope=scope), attrs)


def test_object_selector_matches_the_new_or_the_old_object() -> None:
    hook = {"objectSelector": {"matchLabels": {"app": "web"}}}
    web, api = {"metadata": {"labels": {"app": "web"}}}, {"metadata": {"labels": {"app": "api"}}}
    assert object_selector_matches(hook, web, None)
    assert object_selector_matches(hook, api, web)  # an update that removes the label
    assert object_selector_matches(hook, None, web)  # a delete
    assert not object_selector_matches(hook, api, None)
    assert object_selector_matches({"objectSelector": {}}, None, None)
    bad = {"objectSelector": {"matchExpressions": [{"key": "app", "operator": "Bogus"}]}}
    assert not object_selector_matches(bad, web, web)


# --- failures ---------------------------------------------------------------------------------


def test_failure_policy_when_the_webhook_is_down(
    kube: client.ApiClient, admission: client.AdmissionregistrationV1Api, ca: Authority
) -> None:
    down = f"https://127.0.0.1:{free_port()}/validate"
    for policy in ("Fail", "Ignore"):
        register(
            admission,
            configuration(
                VALIDATING,
                policy.lower(),
                webhook(
                    f"{policy.lower()}.albctl.io",
                    {"url": down, "caBundle": ca.bundle},
                    [rule(["secrets", "services"])],
                    failurePolicy=policy,
                    objectSelector={"matchLabels": {"policy": policy}},
                ),
            ),
        )
    core = client.CoreV1Api(kube)

    def service(name: str, policy: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "labels": {"policy": policy}},
            "spec": {"ports": [{"port": 80}]},
        }

    code, status = api_error(core.create_namespaced_service, "default", service("a", "Fail"))
    assert code == 500
    assert status["reason"] == "InternalError"
    assert status["message"] == (
        'Internal error occurred: failed calling webhook "fail.albctl.io": failed to call '
        f'webhook: Post "{down}?timeout=10s": dial tcp {down.split("/")[2]}: connect: '
        "connection refused"
    )
    assert core.list_namespaced_service("default").items == []
    core.create_namespaced_service("default", service("b", "Ignore"))
    assert [s.metadata.name for s in core.list_namespaced_service("default").items] == ["b"]


def test_tls_is_verified_with_the_ca_bundle_only(
    kube: client.ApiClient,
    sandbox: SandboxServer,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
    tmp_path: Path,
) -> None:
    other = Authority(tmp_path, "another CA")
    # the certificate is valid for hook.webhooks.svc, not for this service's name
    sandbox.service_addresses["webhooks/other"] = ("127.0.0.1", hooks.port)
    configs = {
        "wrong-ca": {"url": hooks.url("/v"), "caBundle": other.bundle},
        "no-ca": {"url": hooks.url("/v")},
        "wrong-name": {
            "service": {"namespace": "webhooks", "name": "other", "path": "/v"},
            "caBundle": ca.bundle,
        },
    }
    for name, client_config in configs.items():
        register(
            admission,
            configuration(
                VALIDATING,
                name,
                webhook(
                    f"{name}.albctl.io",
                    client_config,
                    [rule(["secrets"])],
                    objectSelector={"matchLabels": {"case": name}},
                ),
            ),
        )
    core = client.CoreV1Api(kube)
    reasons = {}
    for name in configs:
        code, status = api_error(
            core.create_namespaced_secret,
            "default",
            {"metadata": {"name": name, "labels": {"case": name}}},
        )
        assert code == 500
        reasons[name] = status["message"]
    unknown = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    assert reasons["wrong-ca"].endswith(f'Post "{hooks.url("/v")}?timeout=10s": {unknown}')
    assert reasons["no-ca"].endswith(unknown)
    assert reasons["wrong-name"].endswith(
        'Post "https://other.webhooks.svc:443/v?timeout=10s": tls: failed to verify '
        "certificate: x509: certificate is not valid for other.webhooks.svc"
    )
    assert core.list_namespaced_secret("default").items == []
    assert hooks.calls == []


def test_timeout_seconds_is_honoured(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/slow"] = slow(2.5, allow())
    for policy in ("Fail", "Ignore"):
        register(
            admission,
            configuration(
                VALIDATING,
                f"slow-{policy.lower()}",
                webhook(
                    f"slow-{policy.lower()}.albctl.io",
                    url_config(hooks, "/slow", ca),
                    [rule(["secrets"])],
                    timeoutSeconds=1,
                    failurePolicy=policy,
                    objectSelector={"matchLabels": {"policy": policy}},
                ),
            ),
        )
    core = client.CoreV1Api(kube)
    started = time.monotonic()
    code, status = api_error(
        core.create_namespaced_secret,
        "default",
        {"metadata": {"name": "a", "labels": {"policy": "Fail"}}},
    )
    assert time.monotonic() - started < 2.0
    assert code == 500
    assert status["message"].endswith(
        f'failed to call webhook: Post "{hooks.url("/slow")}?timeout=1s": context deadline exceeded'
    )
    started = time.monotonic()
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "b", "labels": {"policy": "Ignore"}}}
    )
    assert time.monotonic() - started < 2.0
    assert [c.metadata.name for c in core.list_namespaced_secret("default").items] == ["b"]


def test_invalid_responses_and_unsupported_review_versions(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/wrong-uid"] = lambda request: {"uid": "not-it", "allowed": True}
    hooks.routes["/garbage"] = lambda request: Raw(b"<html>oops</html>")
    hooks.routes["/patching-validator"] = json_patch(lambda obj: [])
    cases = {
        "wrong-uid": ('expected response.uid="', {}),
        "garbage": ("received invalid webhook response: Expecting value", {}),
        "patching-validator": ("validating webhook may not return response.patch", {}),
        "v1beta1-only": (
            "webhook does not accept known AdmissionReview versions",
            {"admissionReviewVersions": ["v1beta1"]},
        ),
    }
    for name, (_, extra) in cases.items():
        register(
            admission,
            configuration(
                VALIDATING,
                name,
                webhook(
                    f"{name}.albctl.io",
                    url_config(hooks, f"/{name}", ca),
                    [rule(["secrets"])],
                    objectSelector={"matchLabels": {"case": name}},
                    **extra,
                ),
            ),
        )
    core = client.CoreV1Api(kube)
    for name, (expected, _) in cases.items():
        code, status = api_error(
            core.create_namespaced_secret,
            "default",
            {"metadata": {"name": name, "labels": {"case": name}}},
        )
        assert code == 500
        assert status["message"].startswith(
            f'Internal error occurred: failed calling webhook "{name}.albctl.io": '
        )
        assert expected in status["message"]
    assert hooks.calls_to("/v1beta1-only") == []


# --- where the webhook is ---------------------------------------------------------------------


def _service_config(ca: Authority, path: str = "/mutate") -> dict[str, Any]:
    return {
        "service": {"namespace": "webhooks", "name": "hook", "path": path},
        "caBundle": ca.bundle,
    }


def test_service_reference_resolved_through_endpoint_slices(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/mutate"] = add_label("via", "service")
    register(
        admission,
        configuration(
            MUTATING,
            "svc",
            webhook("svc.albctl.io", _service_config(ca), [rule(["secrets"])]),
        ),
    )
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": "webhooks"}})
    code, status = api_error(core.create_namespaced_secret, "default", {"metadata": {"name": "a"}})
    assert code == 500
    assert status["message"].endswith('failed to call webhook: service "hook" not found')

    core.create_namespaced_service(
        "webhooks",
        {
            "metadata": {"name": "hook"},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 9443}]},
        },
    )
    code, status = api_error(core.create_namespaced_secret, "default", {"metadata": {"name": "a"}})
    assert status["message"].endswith("service webhooks/hook has no endpoints")

    client.DiscoveryV1Api(kube).create_namespaced_endpoint_slice(
        "webhooks",
        {
            "metadata": {"name": "hook-1", "labels": {"kubernetes.io/service-name": "hook"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["127.0.0.9"], "conditions": {"ready": False}},
                {"addresses": ["127.0.0.1"], "conditions": {"ready": True}},
            ],
            "ports": [{"name": "https", "port": hooks.port, "protocol": "TCP"}],
        },
    )
    created = core.create_namespaced_secret("default", {"metadata": {"name": "a"}})
    assert created.metadata.labels == {"via": "service"}
    (call,) = hooks.calls_to("/mutate")
    assert call.host == f"{SERVICE_DNS}:443"
    assert call.server_name == SERVICE_DNS
    assert call.path == "/mutate?timeout=10s"


def test_service_reference_resolved_through_the_override(
    tmp_path: Path, hooks: HookServer, ca: Authority
) -> None:
    hooks.routes["/mutate"] = add_label("via", "override")
    server = SandboxServer(service_addresses={"webhooks/hook": ("127.0.0.1", hooks.port)})
    server.start()
    try:
        api = config.new_client_from_config(str(server.write_kubeconfig(tmp_path / "kc")))
        register(
            client.AdmissionregistrationV1Api(api),
            configuration(
                MUTATING,
                "svc",
                webhook("svc.albctl.io", _service_config(ca), [rule(["secrets"])]),
            ),
        )
        core = client.CoreV1Api(api)
        created = core.create_namespaced_secret("default", {"metadata": {"name": "a"}})
        assert created.metadata.labels == {"via": "override"}
        assert hooks.calls[0].server_name == SERVICE_DNS

        # the mapping is read on every call: the sandbox's dict may be changed live
        server.service_addresses["webhooks/hook"] = ("127.0.0.1", free_port())
        code, status = api_error(
            core.create_namespaced_secret, "default", {"metadata": {"name": "b"}}
        )
        assert code == 500 and "connection refused" in status["message"]
    finally:
        server.stop()


def test_service_address_flag() -> None:
    assert parse_service_address("webhooks/hook=127.0.0.1:9443") == (
        "webhooks/hook",
        ("127.0.0.1", 9443),
    )
    assert parse_service_address("a/b=[::1]:443") == ("a/b", ("::1", 443))
    for bad in ("hook=127.0.0.1:9443", "a/b=127.0.0.1", "a/b=host:http", "a/b=h:70000"):
        with pytest.raises(ValueError):
            parse_service_address(bad)
    with pytest.raises(SystemExit) as exited:
        sandbox_main(["--service-address", "nonsense"])
    assert exited.value.code == 2


# --- dry run, certificates, re-entrancy -------------------------------------------------------


def test_dry_run_reaches_webhooks_without_side_effects(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/label"] = add_label("seen", "dry")
    register(
        admission,
        configuration(
            MUTATING,
            "dry",
            webhook(
                "dry.albctl.io",
                url_config(hooks, "/label", ca),
                [rule(["secrets"])],
                sideEffects="NoneOnDryRun",
            ),
        ),
    )
    core = client.CoreV1Api(kube)
    preview = core.create_namespaced_secret("default", {"metadata": {"name": "a"}}, dry_run="All")
    assert preview.metadata.labels == {"seen": "dry"}
    assert core.list_namespaced_secret("default").items == []
    request = hooks.calls[0].request
    assert request["dryRun"] is True
    assert request["options"]["dryRun"] == ["All"]

    code, status = api_error(
        admission.create_validating_webhook_configuration,
        configuration(
            VALIDATING,
            "some",
            webhook(
                "some.albctl.io", url_config(hooks, "/x", ca), [rule(["*"])], sideEffects="Some"
            ),
        ),
    )
    assert code == 422
    assert 'webhooks[0].sideEffects: Unsupported value: "Some"' in status["message"]
    refusal = dry_run_refusal({"name": "old.albctl.io", "sideEffects": "Unknown"})
    assert refusal is not None and refusal.code == 400
    assert refusal.message == 'admission webhook "old.albctl.io" does not support dry run'


def test_a_rotated_serving_certificate_still_verifies(
    kube: client.ApiClient,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    hooks.routes["/label"] = add_label("ok", "yes")
    register(
        admission,
        configuration(
            MUTATING,
            "rot",
            webhook("rot.albctl.io", url_config(hooks, "/label", ca), [rule(["secrets"])]),
        ),
    )
    core = client.CoreV1Api(kube)
    core.create_namespaced_secret("default", {"metadata": {"name": "before"}})
    renewed = ca.issue("renewed")
    hooks.load(renewed)
    context = ssl.create_default_context(
        cadata=ca.cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    with (
        socket.create_connection(("127.0.0.1", hooks.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        presented = tls.getpeercert()
    assert presented is not None and int(str(presented["serialNumber"]), 16) == renewed.serial
    after = core.create_namespaced_secret("default", {"metadata": {"name": "after"}})
    assert after.metadata.labels == {"ok": "yes"}
    assert len(hooks.calls_to("/label")) == 2


def test_a_webhook_may_call_the_api_while_it_is_called(
    kube: client.ApiClient,
    sandbox: SandboxServer,
    admission: client.AdmissionregistrationV1Api,
    hooks: HookServer,
    ca: Authority,
) -> None:
    def look_up(request: dict[str, Any]) -> dict[str, Any]:
        with urllib.request.urlopen(f"{sandbox.url}/api/v1/namespaces/default", timeout=5) as r:
            labels = json.loads(r.read())["metadata"]["labels"]
        return {"allowed": True, "warnings": [f"namespace has {len(labels)} label(s)"]}

    hooks.routes["/lookup"] = look_up
    register(
        admission,
        configuration(
            VALIDATING,
            "lookup",
            webhook("lookup.albctl.io", url_config(hooks, "/lookup", ca), [rule(["secrets"])]),
        ),
    )
    core = client.CoreV1Api(kube)
    started = time.monotonic()
    core.create_namespaced_secret("default", {"metadata": {"name": "a"}})
    assert time.monotonic() - started < 2.0
    assert [c.metadata.name for c in core.list_namespaced_secret("default").items] == ["a"]


def test_user_info() -> None:
    assert user_info("Bearer sandbox-token")["username"] == "sandbox-admin"
    assert user_info(None)["groups"] == ["system:masters", "system:authenticated"]
    claims = json.dumps({"sub": "system:serviceaccount:kube-system:albctl"}).encode()
    token = "e30." + base64.urlsafe_b64encode(claims).decode().rstrip("=") + ".sig"
    user = user_info(f"Bearer {token}")
    assert user["username"] == "system:serviceaccount:kube-system:albctl"
    assert "system:serviceaccounts:kube-system" in user["groups"]


def test_configuration_validation(admission: client.AdmissionregistrationV1Api) -> None:
    bad = configuration(
        VALIDATING,
        "bad",
        webhook("short", {"url": "http://127.0.0.1/x"}, [rule(["pods"])], timeoutSeconds=31),
    )
    code, status = api_error(admission.create_validating_webhook_configuration, bad)
    assert code == 422
    message = status["message"]
    assert message.startswith('ValidatingWebhookConfiguration.admissionregistration.k8s.io "bad"')
    assert 'webhooks[0].name: Invalid value: "short"' in message
    assert "'https' is the only allowed URL scheme" in message
    assert "the timeout value must be between 1 and 30 seconds" in message

    good = configuration(
        MUTATING,
        "good",
        webhook(
            "good.albctl.io",
            {"service": {"namespace": "webhooks", "name": "hook"}},
            [rule(["pods"])],
        ),
    )
    created = admission.create_mutating_webhook_configuration(good)
    hook = created.webhooks[0]
    assert (hook.failure_policy, hook.match_policy, hook.timeout_seconds) == (
        "Fail",
        "Equivalent",
        10,
    )
    assert hook.reinvocation_policy == "Never"
    assert hook.client_config.service.port == 443
    assert hook.rules[0].scope == "*"


# --- kubectl ----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_apply_get_delete_and_denials(
    kubeconfig: Path, tmp_path: Path, hooks: HookServer, ca: Authority
) -> None:
    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "c"), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    hooks.routes["/ingress"] = lambda request: (
        {"allowed": True, "warnings": ["annotation x is deprecated"]}
        if request["object"]["spec"]["rules"][0]["host"].endswith(".example.com")
        else deny("only *.example.com hosts")(request)
    )
    config = tmp_path / "hooks.yaml"
    config.write_text(
        yaml.safe_dump(
            configuration(
                VALIDATING,
                "ingress-policy",
                webhook(
                    "hosts.albctl.io",
                    url_config(hooks, "/ingress", ca),
                    [rule(["ingresses"], groups=("networking.k8s.io",))],
                ),
            )
        )
    )
    applied = kubectl("apply", "-f", str(config))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (
        "validatingwebhookconfiguration.admissionregistration.k8s.io/ingress-policy created"
    )
    rows = [
        line.split()
        for line in kubectl("get", "validatingwebhookconfigurations").stdout.splitlines()
    ]
    assert rows[0] == ["NAME", "WEBHOOKS", "AGE"]
    assert rows[1][:2] == ["ingress-policy", "1"]

    manifest = tmp_path / "ingress.yaml"
    manifest.write_text(yaml.safe_dump(ingress("web", "evil.org")))
    denied = kubectl("apply", "-f", str(manifest))
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        f'Error from server: error when creating "{manifest}": admission webhook '
        '"hosts.albctl.io" denied the request: only *.example.com hosts'
    )
    assert "No resources found" in kubectl("get", "ingress").stderr

    manifest.write_text(yaml.safe_dump(ingress("web")))
    allowed = kubectl("apply", "-f", str(manifest))
    assert allowed.returncode == 0, allowed.stderr
    assert "Warning: annotation x is deprecated" in allowed.stderr

    deleted = kubectl("delete", "validatingwebhookconfiguration", "ingress-policy")
    assert deleted.returncode == 0, deleted.stderr
    manifest.write_text(yaml.safe_dump(ingress("web", "evil.org")))
    assert kubectl("apply", "-f", str(manifest)).returncode == 0
