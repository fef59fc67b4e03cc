"""The sandbox serves exactly the CRDs the helm chart installs."""

from __future__ import annotations

from pathlib import Path

from albctl.sandbox.crds import CRD_DIR, builtin_crds

ROOT = Path(__file__).resolve().parents[2]


def test_package_crds_are_the_chart_crds() -> None:
    chart = {p.name: p.read_text() for p in (ROOT / "helm" / "albctl" / "crds").glob("*.yaml")}
    package = {p.name: p.read_text() for p in CRD_DIR.glob("*.yaml")}
    assert chart and chart == package


def test_sandbox_serves_the_chart_crds_and_the_gateway_api_kinds() -> None:
    names = sorted(c["metadata"]["name"] for c in builtin_crds())
    assert names == [
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
