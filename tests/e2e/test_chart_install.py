"""Install like a platform team: the chart's CRDs and IngressClass applied to the sandbox API,
the controller started with the command line the chart renders, then a first Ingress."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from albctl.kube.api import INGRESS, POD, KubeError
from tests.e2e import test_controller as tc
from tests.e2e.test_controller import Live, _free_port, app, converged, wait_for

live = tc.live  # the same fixture: sandbox API server, moto server, controller subprocesses

helm = pytest.importorskip("helm_python", reason="helm-python-sdk renders the chart in-process")
pytestmark = pytest.mark.e2e
CHART = Path(__file__).resolve().parents[2] / "helm" / "albctl"


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(CHART) as chart:
        out = chart.render(values, name="albctl", namespace="kube-system")
    docs: list[dict[str, Any]] = []
    for name, text in sorted(out.items()):
        if name.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def test_chart_crds_and_ingress_class_on_the_sandbox_then_the_rendered_controller(
    live: Live,
) -> None:
    docs = _render(
        {
            "clusterName": live.e2e.cluster,
            "ingressClass": "alb-chart",
            "vpcId": live.e2e.seeded.vpc_id,
        }
    )
    kubectl = shutil.which("kubectl")
    crd_files = sorted((CHART / "crds").glob("*.yaml"))
    if kubectl:
        for f in crd_files:
            proc = subprocess.run(
                [kubectl, "--kubeconfig", str(live.kubeconfig), "apply", "-f", str(f)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 0, proc.stderr
    [klass] = [d for d in docs if d["kind"] == "IngressClass"]
    assert klass["spec"]["controller"] == "albctl.io/alb"
    live.apply(klass)
    [deploy] = [d for d in docs if d["kind"] == "Deployment"]
    [container] = deploy["spec"]["template"]["spec"]["containers"]
    args = list(container["args"])

    def set_flag(flag: str, value: str) -> None:
        for i, a in enumerate(args):
            if a == flag:
                args[i + 1] = value
                return
            if a.startswith(flag + "="):
                args[i] = f"{flag}={value}"
                return
        args.extend([flag, value])

    # outside a pod: our kubeconfig, local ports, the Lease in a namespace of the sandbox, the
    # webhook certificate the chart generated in a directory (the Secret's volume in a pod)
    [secret] = [d for d in docs if d["kind"] == "Secret"]
    certs = live.e2e.tmp / "webhook-tls"
    certs.mkdir()
    for key in ("tls.crt", "tls.key"):
        (certs / key).write_bytes(base64.b64decode(secret["data"][key]))
    port = _free_port()
    [svc] = [
        d for d in docs if d["kind"] == "Service" and d["metadata"]["name"].endswith("-webhook")
    ]
    live.sandbox.service_addresses[f"kube-system/{svc['metadata']['name']}"] = ("127.0.0.1", port)
    set_flag("--metrics-bind-address", f"127.0.0.1:{_free_port()}")
    set_flag("--health-probe-bind-address", f"127.0.0.1:{_free_port()}")
    set_flag("--leader-election-namespace", "default")
    set_flag("--log-format", "text")
    set_flag("--webhook-bind-address", f"127.0.0.1:{port}")
    set_flag("--webhook-cert-dir", str(certs))
    live.start_controller(*args)
    # the chart's webhook configurations, with the caBundle of the certificate it generated
    for d in docs:
        if d["kind"].endswith("WebhookConfiguration"):
            live.apply(d)
    objs = app(live)
    for d in objs:
        if d["kind"] == "Ingress":
            d["spec"]["ingressClassName"] = "alb-chart"
        if d["kind"] == "Namespace":
            d["metadata"]["labels"] = {"albctl.io/pod-readiness-gate-inject": "enabled"}
        if d["kind"] == "Service" and d["metadata"]["name"] == "api":
            d["spec"]["selector"] = {"app": "api"}
    live.apply(*[d for d in objs if d["kind"] != "IngressClass"])
    state = wait_for("the ALB made through the chart's class", lambda: converged(live), timeout=45)
    assert state["lb"]["Scheme"] == "internet-facing"
    lease = live.api.get(_lease(), "albctl-leader", "default")
    assert lease["spec"]["holderIdentity"]
    # both webhooks answer the API server through the chart's Service reference
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "api-0", "namespace": "web", "labels": {"app": "api"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }
    created = live.api.create(POD, pod, "web")
    [gate] = created["spec"]["readinessGates"]
    assert gate["conditionType"].startswith("target-health.albctl.io/k8s-web-api-")
    bad = next(d for d in objs if d["kind"] == "Ingress")
    bad["metadata"]["name"] = "bad"
    bad["metadata"]["annotations"]["alb.ingress.kubernetes.io/scheme"] = "public"
    with pytest.raises(KubeError) as err:
        live.api.create(INGRESS, bad, "web")
    assert "Ingress/web/bad: annotation alb.ingress.kubernetes.io/scheme: got 'public'" in str(
        err.value
    )


def _lease() -> Any:
    from albctl.kube.api import LEASE

    return LEASE
