"""``albctl migrate --to gateway``: IngressGroups written for albctl or LBC become a Gateway
per group (with the adopt annotation), HTTPRoutes and LBC's configuration kinds; the converted
Gateway is built again and routed against the group, and the report says what differs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from albctl.cli import app
from albctl.manifests import read_documents
from albctl.migrate.gateway import to_gateway
from albctl.model.names import load_balancer_name
from albctl.model.settings import BuildSettings
from tests.helpers import backend, ingress, ingress_class, rule, service

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = BuildSettings(cluster_name="demo")


def _shop() -> list[Any]:
    return [doc for _, docs in read_documents([ROOT / "examples" / "shop"]) for doc in docs]


def _kinds(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


def test_the_example_app_becomes_a_gateway_on_the_same_load_balancer() -> None:
    got = to_gateway(_shop(), SETTINGS)
    kinds = _kinds(got.documents)
    assert "Ingress" not in kinds and "IngressClass" not in kinds
    assert len(kinds["Service"]) == 4 and len(kinds["EndpointSlice"]) == 2  # passed through
    [gw] = kinds["Gateway"]
    assert gw["metadata"]["annotations"] == {"albctl.io/adopt-ingress-group": "shop"}
    assert [(li["port"], li["protocol"]) for li in gw["spec"]["listeners"]] == [
        (80, "HTTP"),
        (443, "HTTPS"),
        (443, "HTTPS"),
    ]  # certificates discovered by host, as the Ingresses did: a listener per host
    [lbc] = kinds["LoadBalancerConfiguration"]
    assert lbc["spec"]["loadBalancerName"] == load_balancer_name(
        "demo", "shop", True, "internet-facing"
    )
    assert lbc["spec"]["scheme"] == "internet-facing"
    assert sorted(r["metadata"]["name"] for r in kinds["HTTPRoute"]) == [
        "api",
        "shop-default-80",
        "storefront",
    ]
    specs = {c["metadata"]["name"]: c["spec"] for c in kinds["ListenerRuleConfiguration"]}
    assert {a["type"] for s in specs.values() for a in s["actions"]} == {
        "fixed-response",
        "forward",
    }
    tgcs = {c["metadata"]["name"]: c["spec"] for c in kinds["TargetGroupConfiguration"]}
    assert (
        tgcs["api"]["defaultConfiguration"]["healthCheckConfig"]["healthCheckPath"] == "/api/ping"
    )
    report = got.report.to_json()
    assert report["exitCode"] == 0
    routing = [f for i in got.report.ingresses for f in i.findings if f.annotation == "routing"]
    assert [f.status for f in routing] == ["mapped", "mapped"]


def _group(*ings: dict[str, Any], extra: tuple[dict[str, Any], ...] = ()) -> list[dict[str, Any]]:
    return [ingress_class(), *ings, service("a"), service("b"), *extra]


def test_a_group_that_relies_on_its_order_is_reported_with_the_request_that_differs() -> None:
    first = ingress(
        "broad",
        rules=[rule("x.example.com", ("/api", "Prefix", backend("a", 80)))],
        group_name="g",
        group_order="1",
        target_type="ip",
    )
    second = ingress(
        "narrow",
        rules=[rule("x.example.com", ("/api/v1", "Prefix", backend("b", 80)))],
        group_name="g",
        group_order="2",
        target_type="ip",
    )
    got = to_gateway(_group(first, second), SETTINGS)
    diffs = [
        (i.ingress, f.detail)
        for i in got.report.ingresses
        for f in i.findings
        if f.annotation == "routing" and f.status == "approximated"
    ]
    assert diffs == [
        (
            "default/narrow",
            "GET http://x.example.com:80/api/v1: forward default/a:80*1 on the Ingress, "
            "forward default/b:80*1 on the Gateway",
        )
    ]
    assert got.report.exit_code == 3


def test_what_the_gateway_cannot_carry_is_unsupported() -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/legacy/1"
    fwd = {"type": "forward", "forwardConfig": {"targetGroups": [{"targetGroupARN": arn}]}}
    ing = ingress(
        "web",
        annotations={
            "alb.ingress.kubernetes.io/actions.legacy": json.dumps(fwd),
            "alb.ingress.kubernetes.io/waf-acl-id": "0123-abcd",
        },
        rules=[rule(None, ("/", "Prefix", backend("legacy", "use-annotation")))],
    )
    got = to_gateway(_group(ing), SETTINGS)
    [rep] = got.report.ingresses
    unsupported = {f.annotation: f.detail for f in rep.findings if f.status == "unsupported"}
    assert "alb.ingress.kubernetes.io/waf-acl-id" in unsupported
    assert any(arn in d for d in unsupported.values())
    assert got.report.exit_code == 3


def test_lbc_classes_are_read_as_albctl_s() -> None:
    cls = ingress_class()
    cls["spec"]["controller"] = "ingress.k8s.aws/alb"
    ing = ingress("web", rules=[rule(None, ("/", "Prefix", backend("a", 80)))])
    got = to_gateway([cls, ing, service("a")], SETTINGS)
    assert [d["kind"] for d in got.documents].count("Gateway") == 1
    [rep] = got.report.ingresses
    assert rep.gateway == "default/web" and rep.routes == ["HTTPRoute/default/web"]


def test_cli_writes_yaml_and_the_report_and_needs_the_cluster_name(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app,
        [
            "migrate",
            "--to",
            "gateway",
            "--cluster-name",
            "demo",
            "-f",
            str(ROOT / "examples" / "shop"),
            "--report",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert {d["kind"] for d in docs} >= {"GatewayClass", "Gateway", "HTTPRoute"}
    assert json.loads(out.stderr)["exitCode"] == 0
    missing = CliRunner().invoke(
        app,
        ["migrate", "--to", "gateway", "-f", str(ROOT / "examples")],
        env={"ALBCTL_CLUSTER_NAME": ""},
    )
    assert missing.exit_code == 2 and "cluster name" in missing.output


def test_tls_secrets_become_certificate_refs_with_a_grant_for_another_namespace() -> None:
    ann = {"alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]'}
    first = ingress(
        "a",
        "shop",
        annotations=ann,
        group_name="g",
        group_order="1",
        target_type="ip",
        rules=[rule("a.example.com", ("/", "Prefix", backend("a", 80)))],
        tls=[{"hosts": ["a.example.com"], "secretName": "a-tls"}],
    )
    second = ingress(
        "b",
        "blog",
        annotations=ann,
        group_name="g",
        group_order="2",
        target_type="ip",
        rules=[rule("b.example.com", ("/", "Prefix", backend("b", 80)))],
        tls=[{"hosts": ["b.example.com"], "secretName": "b-tls"}],
    )
    got = to_gateway(
        [ingress_class(), first, second, service("a", "shop"), service("b", "blog")], SETTINGS
    )
    kinds = _kinds(got.documents)
    [gw] = kinds["Gateway"]
    assert gw["metadata"]["namespace"] == "shop"
    [li] = gw["spec"]["listeners"]
    assert li["tls"]["certificateRefs"] == [
        {"kind": "Secret", "name": "a-tls", "namespace": "shop"},
        {"kind": "Secret", "name": "b-tls", "namespace": "blog"},
    ]
    [grant] = kinds["ReferenceGrant"]
    assert grant["metadata"]["namespace"] == "blog"
    assert grant["spec"]["from"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "shop"}
    ]
    assert got.report.exit_code == 0, got.report.to_json()
