"""The admission webhooks: AdmissionReview handlers, and the HTTPS server with its certificate
reloaded from disk."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from albctl.manifests import ObjectSet
from albctl.model.settings import BuildSettings
from albctl.webhook.handlers import (
    MUTATE_POD,
    VALIDATE_INGRESS,
    VALIDATE_PARAMS,
    AdmissionHandlers,
    BadReview,
)
from albctl.webhook.server import ServingCertificate, WebhookServer
from tests.helpers import backend, ingress, ingress_class, objects, rule, service
from tests.sandbox.webhook_helpers import Authority

SETTINGS = BuildSettings(cluster_name="c1")
DNS = "albctl-webhook.albctl-system.svc"


def _cluster() -> ObjectSet:
    svc = service("web", "shop", node_port=None, target_port=8080)
    svc["spec"]["selector"] = {"app": "web"}
    return objects(
        ingress_class(),
        svc,
        ingress(
            "web",
            "shop",
            target_type="ip",
            rules=[rule("shop.example.com", ("/", "Prefix", backend("web", 80)))],
        ),
    )


def review(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u-1", **request},
    }


def pod_request(labels: dict[str, str], gates: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx"}]}
    if gates is not None:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    return review(
        {
            "operation": "CREATE",
            "namespace": "shop",
            "object": {"metadata": {"generateName": "web-", "labels": labels}, "spec": spec},
        }
    )


def patch_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    resp = answer["response"]
    assert resp["uid"] == "u-1" and resp["allowed"] is True
    assert resp["patchType"] == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(resp["patch"]))
    return ops


@pytest.fixture
def handlers() -> AdmissionHandlers:
    objs = _cluster()
    return AdmissionHandlers(SETTINGS, lambda: objs)


def test_pods_get_one_gate_per_target_group(handlers: AdmissionHandlers) -> None:
    ops = patch_of(handlers.review(MUTATE_POD, pod_request({"app": "web"})))
    [op] = ops
    assert op["op"] == "add" and op["path"] == "/spec/readinessGates"
    [gate] = op["value"]
    assert gate["conditionType"].startswith("target-health.albctl.io/k8s-shop-web-")
    # gates of its own are kept: ours are appended
    ops = patch_of(handlers.review(MUTATE_POD, pod_request({"app": "web"}, ["example.com/x"])))
    assert ops == [{"op": "add", "path": "/spec/readinessGates/-", "value": gate}]
    # already there (a second webhook, a re-invocation): nothing to add
    answer = handlers.review(MUTATE_POD, pod_request({"app": "web"}, [gate["conditionType"]]))
    assert answer["response"] == {"uid": "u-1", "allowed": True}


def test_pods_no_service_selects_or_updates_are_left_alone(handlers: AdmissionHandlers) -> None:
    answer = handlers.review(MUTATE_POD, pod_request({"app": "other"}))
    assert answer["response"] == {"uid": "u-1", "allowed": True}
    update = pod_request({"app": "web"})
    update["request"]["operation"] = "UPDATE"
    assert handlers.review(MUTATE_POD, update)["response"] == {"uid": "u-1", "allowed": True}


def test_a_pod_is_never_refused() -> None:
    def broken() -> ObjectSet:
        raise RuntimeError("cache unavailable")

    results: list[tuple[str, str]] = []
    h = AdmissionHandlers(SETTINGS, broken, on_result=lambda p, r: results.append((p, r)))
    answer = h.review(MUTATE_POD, pod_request({"app": "web"}))
    assert answer["response"] == {"uid": "u-1", "allowed": True}
    assert results == [(MUTATE_POD, "error")]


def ingress_request(obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {
        "operation": "UPDATE" if old else "CREATE",
        "namespace": "shop",
        "name": obj["metadata"]["name"],
        "object": obj,
    }
    if old:
        req["oldObject"] = old
    return review(req)


def test_a_bad_ingress_is_refused_with_the_model_message(handlers: AdmissionHandlers) -> None:
    bad = ingress(
        "bad",
        "shop",
        scheme="public",
        rules=[rule("x.example.com", ("/", "Prefix", backend("web", 80)))],
    )
    resp = handlers.review(VALIDATE_INGRESS, ingress_request(bad))["response"]
    assert resp == {
        "uid": "u-1",
        "allowed": False,
        "status": {
            "code": 403,
            "reason": "Forbidden",
            "message": "Ingress/shop/bad: annotation alb.ingress.kubernetes.io/scheme: got "
            "'public', expected one of internet-facing, internal",
        },
    }


def test_warnings_and_unparsable_objects(handlers: AdmissionHandlers) -> None:
    later = ingress("later", "shop", rules=[rule(None, ("/", "Prefix", backend("later", 80)))])
    resp = handlers.review(VALIDATE_INGRESS, ingress_request(later))["response"]
    assert resp["allowed"] is True and "Service shop/later not found" in resp["warnings"][0]
    broken = ingress("broken", "shop")
    broken["spec"]["rules"] = [{"http": {"paths": [{"path": "/"}]}}]  # no backend
    resp = handlers.review(VALIDATE_INGRESS, ingress_request(broken))["response"]
    assert resp["allowed"] is False
    assert resp["status"]["message"].startswith("Ingress/shop/broken: spec.rules.0.http.paths.0")
    params = review(
        {
            "operation": "CREATE",
            "name": "p",
            "object": {"metadata": {"name": "p"}, "spec": {"loadBalancerName": "-x"}},
        }
    )
    resp = handlers.review(VALIDATE_PARAMS, params)["response"]
    assert resp["allowed"] is False
    assert resp["status"]["message"].startswith("IngressClassParams/p: spec.loadBalancerName")


def test_malformed_reviews(handlers: AdmissionHandlers) -> None:
    with pytest.raises(BadReview):
        handlers.review(MUTATE_POD, {"kind": "AdmissionReview"})
    with pytest.raises(BadReview):
        handlers.review(
            MUTATE_POD, {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}
        )
    with pytest.raises(BadReview, match="no webhook at /nope"):
        handlers.review("/nope", pod_request({}))


# --- the HTTPS server ---------------------------------------------------------------------------


class Served:
    def __init__(self, tmp: Path) -> None:
        self.ca = Authority(tmp)
        self.tmp = tmp
        self.dir = tmp / "certs"
        self.dir.mkdir()
        objs = _cluster()
        self.server = WebhookServer(
            "127.0.0.1:0", ServingCertificate(self.dir), AdmissionHandlers(SETTINGS, lambda: objs)
        )
        self.server.start()

    def install(self, stem: str, ca: Authority | None = None) -> int:
        issued = (ca or self.ca).issue(stem, dns=(DNS,))
        os.replace(issued.key, self.dir / "tls.key")
        os.replace(issued.cert, self.dir / "tls.crt")
        return issued.serial

    def context(self, ca: Authority | None = None) -> ssl.SSLContext:
        pem = (ca or self.ca).cert.public_bytes(Encoding.PEM).decode()
        return ssl.create_default_context(cadata=pem)

    def serial(self, ca: Authority | None = None) -> int:
        with (
            socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw,
            self.context(ca).wrap_socket(raw, server_hostname=DNS) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        return int(x509.load_der_x509_certificate(der).serial_number)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=5)
        conn.sock = self.context().wrap_socket(
            socket.create_connection(("127.0.0.1", self.server.port), timeout=5),
            server_hostname=DNS,
        )
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        out = resp.status, resp.read()
        conn.close()
        return out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    try:
        yield s
    finally:
        s.server.stop()


def test_no_certificate_yet_then_served(served: Served) -> None:
    assert not served.server.serving
    with pytest.raises((ssl.SSLError, OSError)):
        served.serial()
    serial = served.install("first")
    assert served.serial() == serial
    assert served.server.serving


def test_a_rotated_certificate_is_served_from_the_next_connection(served: Served) -> None:
    first = served.install("first")
    assert served.serial() == first
    second = served.install("second")
    assert served.serial() == second
    assert served.server.certificate.loads == 2
    # a certificate without its key (half-written rotation): the previous pair stays in service
    (served.tmp / "o").mkdir()
    other = Authority(served.tmp / "o")
    issued = other.issue("lonely", dns=(DNS,))
    os.replace(issued.cert, served.dir / "tls.crt")
    assert served.serial() == second
    os.replace(issued.key, served.dir / "tls.key")
    assert served.serial(other) == issued.serial


def test_reviews_over_https(served: Served) -> None:
    served.install("first")
    status, body = served.post(
        MUTATE_POD + "?timeout=10s", json.dumps(pod_request({"app": "web"})).encode()
    )
    assert status == 200
    assert json.loads(body)["response"]["patchType"] == "JSONPatch"
    status, _ = served.post("/elsewhere", json.dumps(pod_request({})).encode())
    assert status == 404
    status, _ = served.post(VALIDATE_INGRESS, b"not json")
    assert status == 400


def test_the_port_in_use_is_a_clear_error(served: Served) -> None:
    with pytest.raises(OSError):
        WebhookServer(f"127.0.0.1:{served.server.port}", ServingCertificate(served.dir), None)  # type: ignore[arg-type]
