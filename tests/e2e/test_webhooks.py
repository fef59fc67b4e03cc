"""Admission webhooks end to end: ``albctl run`` serves them over HTTPS, the sandbox API server
calls them as kube-apiserver does (Service reference pointed at the controller's port, caBundle
of a test CA), a moto server plays AWS.

Pods get readiness gates and follow their targets' health; target health beyond "healthy" is
driven through ``ALBCTL_TEST_TARGET_HEALTH_FILE`` (moto reports ip targets healthy at once).
The kubelet and the EndpointSlice controller are simulated by :mod:`tests.e2e.kubelet`.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from albctl.kube.api import (
    ENDPOINT_SLICE,
    INGRESS,
    INGRESS_CLASS_PARAMS,
    LEASE,
    POD,
    Kind,
    NotFound,
)
from tests.e2e import test_controller as tc
from tests.e2e.conftest import owned
from tests.e2e.kubelet import Kubelet
from tests.e2e.test_controller import Live, _free_port, wait_for
from tests.helpers import backend, ingress, ingress_class, rule, service, write_yaml
from tests.sandbox.webhook_helpers import Authority

live = tc.live  # the same fixture: sandbox API server, moto server, controller subprocesses

pytestmark = pytest.mark.e2e
KUBECTL = shutil.which("kubectl")
NS, SVC = "albctl-system", "albctl-webhook"
DNS = f"{SVC}.{NS}.svc"
GATE = "target-health.albctl.io/"
MUTATING = Kind("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", False, "")
VALIDATING = Kind(
    "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", False, ""
)


@dataclass
class Hooks:
    live: Live
    port: int
    cert_dir: Path
    ca: Authority
    health_file: Path

    def install(self, stem: str, ca: Authority | None = None) -> int:
        """Put a new serving certificate in the controller's directory, key first (as a
        Secret volume update may land); its serial."""
        issued = (ca or self.ca).issue(stem, dns=(DNS,))
        os.replace(issued.key, self.cert_dir / "tls.key")
        os.replace(issued.cert, self.cert_dir / "tls.crt")
        return issued.serial

    def served_serial(self, ca: Authority | None = None) -> int:
        """The serial of the certificate the webhook port serves on a new connection."""
        ctx = ssl.create_default_context(
            cadata=(ca or self.ca).cert.public_bytes(Encoding.PEM).decode()
        )
        with (
            socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=DNS) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        return int(x509.load_der_x509_certificate(der).serial_number)

    def health(self, states: dict[str, Any]) -> None:
        """What DescribeTargetHealth says about these targets from now on."""
        tmp = self.health_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(states))
        os.replace(tmp, self.health_file)


def _client_config(path: str, bundle: str) -> dict[str, Any]:
    return {
        "service": {"namespace": NS, "name": SVC, "path": path, "port": 443},
        "caBundle": bundle,
    }


def webhook_configurations(bundle: str) -> list[dict[str, Any]]:
    """As the chart makes them, with the validation failing closed (so that a failed call
    shows)."""
    common = {"admissionReviewVersions": ["v1"], "sideEffects": "None", "timeoutSeconds": 5}
    pods = []
    for name, label, extra in (
        ("mpod-elbv2.albctl.io", "elbv2.k8s.aws/pod-readiness-gate-inject", []),
        (
            "mpod.albctl.io",
            "albctl.io/pod-readiness-gate-inject",
            [
                {
                    "key": "elbv2.k8s.aws/pod-readiness-gate-inject",
                    "operator": "NotIn",
                    "values": ["enabled"],
                }
            ],
        ),
    ):
        pods.append(
            {
                "name": name,
                **common,
                "failurePolicy": "Ignore",
                "clientConfig": _client_config("/mutate-v1-pod", bundle),
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": label, "operator": "In", "values": ["enabled"]},
                        *extra,
                    ]
                },
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
            }
        )
    validating = [
        {
            "name": "vingress.albctl.io",
            **common,
            "failurePolicy": "Fail",
            "clientConfig": _client_config("/validate-networking-v1-ingress", bundle),
            "rules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["ingresses"],
                }
            ],
        },
        {
            "name": "vingressclassparams.albctl.io",
            **common,
            "failurePolicy": "Fail",
            "clientConfig": _client_config(
                "/validate-albctl-io-v1beta1-ingressclassparams", bundle
            ),
            "rules": [
                {
                    "apiGroups": ["albctl.io"],
                    "apiVersions": ["v1beta1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["ingressclassparams"],
                }
            ],
        },
    ]
    meta = {"name": "albctl-webhook"}
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": meta,
            "webhooks": pods,
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": meta,
            "webhooks": validating,
        },
    ]


def _start(live: Live, *extra: str) -> Hooks:
    """The controller serving the webhooks with a certificate of a test CA, and the webhook
    configurations pointing at it."""
    tmp = live.e2e.tmp
    cert_dir = tmp / "serving-certs"
    cert_dir.mkdir()
    h = Hooks(live, _free_port(), cert_dir, Authority(tmp), tmp / "health.json")
    h.install("first")
    h.health({})
    live.e2e.env["ALBCTL_TEST_TARGET_HEALTH_FILE"] = str(h.health_file)
    live.sandbox.service_addresses[f"{NS}/{SVC}"] = ("127.0.0.1", h.port)
    live.start_controller(
        "--webhook-bind-address",
        f"127.0.0.1:{h.port}",
        "--webhook-cert-dir",
        str(cert_dir),
        *extra,
        resync="600s",
    )
    wait_for("the webhooks served", lambda: _quietly(h.served_serial), timeout=30)
    for conf in webhook_configurations(h.ca.bundle):
        live.api.create(MUTATING if conf["kind"].startswith("Mutating") else VALIDATING, conf)
    return h


@pytest.fixture
def hooks(live: Live) -> Hooks:
    return _start(live)


@pytest.fixture
def standby_hooks(live: Live) -> Hooks:
    """Served by a replica that is not the leader: another identity holds the Lease."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "albctl-leader", "namespace": "default"},
        "spec": {
            "holderIdentity": "another-replica",
            "leaseDurationSeconds": 3600,
            "acquireTime": now,
            "renewTime": now,
        },
    }
    live.api.create(LEASE, lease, "default")
    return _start(live, "--leader-elect", "--leader-election-namespace", "default")


def _quietly(fn: Any) -> Any:
    try:
        return fn()
    except OSError:
        return None


def _namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _web(ns: str, host: str) -> list[dict[str, Any]]:
    svc = service("web", ns, node_port=None, target_port=8080)
    svc["spec"]["selector"] = {"app": "web"}
    ing = ingress(
        "web",
        ns,
        group_name="shop",
        scheme="internet-facing",
        target_type="ip",
        rules=[rule(host, ("/", "Prefix", backend("web", 80)))],
    )
    return [svc, ing]


def _create_pod(lv: Live, ns: str, **labels: str) -> dict[str, Any]:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "web-", "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }
    return lv.api.create(POD, body, ns)


def _gate(lv: Live, ns: str, name: str) -> dict[str, Any] | None:
    pod = lv.api.get(POD, name, ns)
    return next(
        (c for c in pod["status"].get("conditions") or [] if c["type"].startswith(GATE)), None
    )


def _ready(lv: Live, ns: str, name: str) -> bool:
    conds = lv.api.get(POD, name, ns)["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def _registered(lv: Live, tg_name: str) -> set[str]:
    tg = next(t for t in owned(lv.e2e)["tgs"] if t["TargetGroupName"] == tg_name)
    health = lv.e2e.clients.elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    return {
        h["Target"]["Id"]
        for h in health["TargetHealthDescriptions"]
        if h["TargetHealth"]["State"] != "draining"
    }


def test_pods_get_gates_stay_not_ready_until_their_targets_are_healthy(
    live: Live, hooks: Hooks
) -> None:
    start = time.monotonic()
    live.apply(
        _namespace("shop", **{"albctl.io/pod-readiness-gate-inject": "enabled"}),
        _namespace("legacy", **{"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}),
        _namespace("plain"),
        ingress_class(),
        *_web("shop", "shop.example.com"),
        *_web("legacy", "legacy.example.com"),
        *_web("plain", "plain.example.com"),
    )
    wait_for("three target groups", lambda: len(owned(live.e2e)["tgs"]) == 3)
    names = {t["TargetGroupName"] for t in owned(live.e2e)["tgs"]}
    kubelet = Kubelet(live.api)
    for ns in ("shop", "legacy", "plain"):
        kubelet.track_service(ns, "web", {"app": "web"}, 8080)
    kubelet.start()
    try:
        ips = ["10.0.1.20", "10.0.1.21", "10.0.2.22"]
        initial = {
            "state": "initial",
            "reason": "Elb.RegistrationInProgress",
            "description": "Target registration is in progress",
        }
        hooks.health({ip: initial for ip in [*ips, "10.0.3.30"]})
        # a Deployment-like rollout: pods one after the other, named by the API server
        shop = [_create_pod(live, "shop", app="web") for _ in ips]
        [legacy] = [_create_pod(live, "legacy", app="web")]
        [plain] = [_create_pod(live, "plain", app="web")]
        gates = {tuple(g["conditionType"] for g in p["spec"]["readinessGates"]) for p in shop}
        [(shop_gate,)] = gates
        shop_tg = shop_gate.removeprefix(GATE)
        assert shop_tg in names  # the name albctl's model gave that target group
        [legacy_gate] = legacy["spec"]["readinessGates"]
        assert legacy_gate["conditionType"].removeprefix(GATE) in names - {shop_tg}
        assert "readinessGates" not in plain["spec"]  # namespace did not opt in
        for p, ip in zip(shop, ips, strict=True):
            kubelet.start_pod("shop", p["metadata"]["name"], ip)
        kubelet.start_pod("legacy", legacy["metadata"]["name"], "10.0.3.30")
        kubelet.start_pod("plain", plain["metadata"]["name"], "10.0.2.40")
        pods = [p["metadata"]["name"] for p in shop]

        # containers ready, gate not True: the pods are not Ready, so Kubernetes says
        # ready: false, serving: false for their endpoints; they are registered all the same
        wait_for("gated endpoints registered", lambda: _registered(live, shop_tg) == set(ips))
        slice_ = live.api.get(ENDPOINT_SLICE, "web-sim", "shop")
        assert {
            (e["conditions"]["ready"], e["conditions"]["serving"]) for e in slice_["endpoints"]
        } == {(False, False)}

        def reasons() -> list[str]:
            return [(_gate(live, "shop", n) or {}).get("reason", "") for n in pods]

        wait_for(
            "gates False while initial", lambda: reasons() == ["Elb.RegistrationInProgress"] * 3
        )
        assert not any(_ready(live, "shop", n) for n in pods)
        cond = _gate(live, "shop", pods[0])
        assert cond is not None and cond["status"] == "False"
        assert "10.0.1.20:8080" in cond["message"] and "initial" in cond["message"]
        print(f"gates False after {time.monotonic() - start:.1f}s")

        # health transitions, as DescribeTargetHealth reports them
        hooks.health(
            {
                ips[0]: {"state": "unhealthy", "reason": "Target.FailedHealthChecks"},
                ips[1]: {"state": "unused", "reason": "Target.NotInUse"},
                ips[2]: {"state": "draining", "reason": "Target.DeregistrationInProgress"},
                "10.0.3.30": initial,
            }
        )
        wait_for(
            "unhealthy, unused, draining",
            lambda: (
                reasons()
                == [
                    "Target.FailedHealthChecks",
                    "Target.NotInUse",
                    "Target.DeregistrationInProgress",
                ]
            ),
        )
        assert not any(_ready(live, "shop", n) for n in pods)
        flipped = time.monotonic()
        hooks.health({})  # moto's own answer: healthy
        wait_for(
            "every gate True and pods Ready",
            lambda: all(
                (_gate(live, "shop", n) or {}).get("status") == "True" and _ready(live, "shop", n)
                for n in pods
            ),
        )
        print(f"healthy -> Ready in {time.monotonic() - flipped:.1f}s")
        wait_for("legacy Ready", lambda: _ready(live, "legacy", legacy["metadata"]["name"]))
        # the pod of the namespace that did not opt in: Ready on its own, never touched
        wait_for("plain Ready", lambda: _ready(live, "plain", plain["metadata"]["name"]))
        assert _gate(live, "plain", plain["metadata"]["name"]) is None

        # every gate True: nothing is polled any more
        if live.e2e.recording:
            live.e2e.start_recording()
            time.sleep(2.5)
            calls = live.e2e.recorded_calls(agent="albctl/")
            assert calls["DescribeTargetHealth"] == 0, calls

        # a terminating pod (deleted, its containers shutting down) is deregistered at once
        kubelet.terminate("shop", pods[0])
        wait_for("deregistered", lambda: _registered(live, shop_tg) == set(ips[1:]))
        kubelet.finish("shop", pods[0])

        # a pod that stops being a target before its gate is True is not held back
        late = _create_pod(live, "shop", app="web")
        assert late["spec"]["readinessGates"] == [{"conditionType": shop_gate}]
        live.api.strategic_patch(
            POD, late["metadata"]["name"], {"metadata": {"labels": {"app": "other"}}}, "shop"
        )
        gate = wait_for(
            "NotATarget",
            lambda: (
                (_gate(live, "shop", late["metadata"]["name"]) or {}).get("reason") == "NotATarget"
                and _gate(live, "shop", late["metadata"]["name"])
            ),
        )
        assert gate["status"] == "True"
        assert not kubelet.errors, kubelet.errors
    finally:
        kubelet.stop()
    print(f"readiness gate test: {time.monotonic() - start:.1f}s")


def _kubectl_apply(lv: Live, *docs: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    assert KUBECTL
    path = write_yaml(lv.e2e.tmp / f"apply-{time.monotonic_ns()}.yaml", *docs)
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(lv.kubeconfig), "apply", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is needed to see what a user sees")
def test_kubectl_apply_of_a_bad_ingress_is_refused_and_the_certificate_rotates(
    live: Live, standby_hooks: Hooks
) -> None:
    """Answered by a standby replica (every replica serves the webhooks from its caches)."""
    hooks = standby_hooks
    live.apply(_namespace("shop"), ingress_class(), service("web", "shop", node_port=30080))
    paths = [rule("shop.example.com", ("/", "Prefix", backend("web", 80)))]

    bad = ingress("bad", "shop", success_codes="ok", rules=paths)
    proc = _kubectl_apply(live, bad)
    assert proc.returncode != 0
    assert (
        'admission webhook "vingress.albctl.io" denied the request: Ingress/shop/bad: '
        "annotation alb.ingress.kubernetes.io/success-codes: 'ok': expected codes or ranges"
    ) in proc.stderr, proc.stderr
    with pytest.raises(NotFound):
        live.api.get(INGRESS, "bad", "shop")

    # a conflict with the group as cached
    first = ingress("a", "shop", group_name="g", scheme="internet-facing", rules=paths)
    assert _kubectl_apply(live, first).returncode == 0
    second = ingress("b", "shop", group_name="g", scheme="internal", rules=paths)
    proc = wait_for(
        "the conflict refused",
        lambda: (p := _kubectl_apply(live, second)).returncode != 0 and p,
    )
    assert (
        "Ingress/shop/b: annotation alb.ingress.kubernetes.io/scheme: 'internal' conflicts "
        "with 'internet-facing' set by Ingress/shop/a earlier in the group"
    ) in proc.stderr
    with pytest.raises(NotFound):
        live.api.get(INGRESS, "b", "shop")

    # other classes are not albctl's business; a missing Service only warns
    other = ingress("other", "shop", ingress_class="nginx", success_codes="ok", rules=paths)
    assert _kubectl_apply(live, other).returncode == 0
    later = ingress(
        "later", "shop", rules=[rule("x.example.com", ("/", "Prefix", backend("later", 80)))]
    )
    proc = _kubectl_apply(live, later)
    assert proc.returncode == 0, proc.stderr
    assert "Warning: Ingress/shop/later" in proc.stderr and "not found" in proc.stderr

    params = {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "IngressClassParams",
        "metadata": {"name": "bad"},
        "spec": {"loadBalancerName": "-no-"},
    }
    proc = _kubectl_apply(live, params)
    assert proc.returncode != 0
    assert "IngressClassParams/bad: spec.loadBalancerName: '-no-': expected" in proc.stderr
    with pytest.raises(NotFound):
        live.api.get(INGRESS_CLASS_PARAMS, "bad")

    # rotation: the next connection gets the certificate now on disk
    before = hooks.served_serial()
    serial = hooks.install("second")
    assert serial != before
    assert hooks.served_serial() == serial
    proc = _kubectl_apply(live, bad)
    assert proc.returncode != 0 and "denied the request" in proc.stderr  # answered with it
    # a certificate of another CA: the API server's very next call fails to verify it ...
    (live.e2e.tmp / "other-ca").mkdir()
    other_ca = Authority(live.e2e.tmp / "other-ca", name="another CA")
    hooks.install("third", other_ca)
    good = ingress("good", "shop", rules=paths)
    proc = _kubectl_apply(live, good)
    assert proc.returncode != 0
    assert "x509: certificate signed by unknown authority" in proc.stderr, proc.stderr
    # ... until the caBundle names the new CA
    conf = live.api.get(VALIDATING, "albctl-webhook")
    for w in conf["webhooks"]:
        w["clientConfig"]["caBundle"] = other_ca.bundle
    live.api.replace(VALIDATING, conf)
    proc = _kubectl_apply(live, good)
    assert proc.returncode == 0, proc.stderr
    assert live.api.get(INGRESS, "good", "shop")
    # all along, the replica was a standby: nothing reconciled, nothing in AWS
    assert live.api.get(LEASE, "albctl-leader", "default")["spec"]["holderIdentity"] == (
        "another-replica"
    )
    assert owned(live.e2e)["lbs"] == []
