"""An IngressGroup's load balancer taken over by a Gateway (``albctl.io/adopt-ingress-group``)
through the one-shot engine against moto: the example app on Ingresses, converted by
``albctl migrate --to gateway``, applied: the same load balancer (ARN, DNS name), every request of
a fixed list served as before, no Create call for what existed, creates and modifies before any
delete; then the Ingresses deleted without removing anything. And what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from albctl.aws.clients import AwsClients
from albctl.aws.routes import read_table
from albctl.aws.seed import node_manifests
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from albctl.manifests import read_documents
from albctl.migrate.gateway import to_gateway
from albctl.model.router import parse_request, route
from albctl.model.settings import BuildSettings
from tests.conftest import AwsEnv
from tests.helpers import REGION, objects

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = [
    ("GET", "https://shop.example.com/", []),
    ("GET", "https://shop.example.com/assets/app.js", []),
    ("GET", "http://shop.example.com/cart", []),
    ("GET", "https://api.example.com/v0/orders", []),
    ("GET", "https://api.example.com/v1/orders", []),
    ("GET", "https://api.example.com/v1/orders", ["X-Canary: always"]),
    ("GET", "https://other.example.com/", []),
]


def _app(env: AwsEnv) -> list[dict[str, Any]]:
    docs = [d for _, got in read_documents([ROOT / "examples" / "shop"]) for d in got if d]
    nodes = node_manifests(env.seeded.instances, REGION)  # type: ignore[attr-defined]
    return [d for d in docs if d["kind"] != "Node"] + nodes


def _ingresses(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in ("Ingress", "IngressClass")]


def _run(env: AwsEnv, mode: str, docs: list[dict[str, Any]]) -> Report:
    settings = Settings(cluster_name=env.cluster, region=REGION, default_target_type="ip")  # type: ignore[arg-type]
    return Engine(settings, env.clients).run(objects(*docs), mode)  # type: ignore[arg-type]


def _served(c: AwsClients) -> dict[str, str]:
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    table = read_table(c, lb["LoadBalancerArn"])
    out = {}
    for method, url, headers in REQUESTS:
        a = route(table, parse_request(method, url, headers)).action
        if a.type == "forward":
            got = ",".join(
                sorted(f"{table.services.get(f.target_group)}*{f.weight}" for f in a.forward)
            )
        elif a.redirect is not None:
            got = f"redirect {a.redirect.protocol}:{a.redirect.port}"
        else:
            assert a.fixed_response is not None
            got = f"fixed {a.fixed_response.status_code}"
        out[f"{method} {url} {headers}"] = got
    return out


@pytest.fixture
def calls(aws: AwsEnv) -> Iterator[list[str]]:
    """The ELBv2 operations, in the order they were sent."""
    c: AwsClients = aws.clients  # type: ignore[assignment]
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    c.elbv2.meta.events.register("before-call", record)  # this client's calls only
    yield seen


def test_a_gateway_takes_the_groups_load_balancer_over_in_place(
    aws: AwsEnv, calls: list[str]
) -> None:
    c: AwsClients = aws.clients  # type: ignore[assignment]
    app = _app(aws)
    assert _run(aws, "apply", app).ok
    [before] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    served = _served(c)
    tgs_before = {t["TargetGroupArn"] for t in c.elbv2.describe_target_groups()["TargetGroups"]}
    migrated = to_gateway(app, BuildSettings(cluster_name=aws.cluster, default_target_type="ip"))
    assert migrated.report.exit_code == 0, migrated.report.to_json()
    calls.clear()
    # the Gateway beside the Ingresses still in the files: the group is handed over
    report = _run(aws, "apply", migrated.documents + _ingresses(app))
    assert report.ok, [o.error for o in report.outcomes]
    [o] = report.outcomes
    assert o.group_id == "gateway/shop/shop"
    assert [ch.action for ch in o.plan.changes][:3] == ["adopt"] * 3
    [after] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    assert (after["LoadBalancerArn"], after["DNSName"]) == (
        before["LoadBalancerArn"],
        before["DNSName"],
    )
    assert _served(c) == served
    assert not [
        op for op in calls if op in ("CreateLoadBalancer", "CreateListener", "CreateTargetGroup")
    ]
    assert {
        t["TargetGroupArn"] for t in c.elbv2.describe_target_groups()["TargetGroups"]
    } == tgs_before
    deletes = [i for i, op in enumerate(calls) if op.startswith("Delete")]
    writes = [
        i for i, op in enumerate(calls) if op in ("CreateRule", "ModifyRule", "SetRulePriorities")
    ]
    assert not deletes or not writes or max(writes) < min(deletes), " ".join(calls)
    tags = c.elbv2.describe_tags(ResourceArns=[after["LoadBalancerArn"]])["TagDescriptions"][0]
    assert {t["Key"]: t["Value"] for t in tags["Tags"]}["albctl.io/stack"] == "gateway/shop/shop"
    assert any("its Ingresses are not reconciled" in n for n in report.notes)
    # the Ingresses deleted: nothing of the adopted load balancer goes with them
    gone = _run(aws, "delete", _ingresses(app))
    assert gone.ok and not [ch for o in gone.outcomes for ch in o.plan.changes]
    again = _run(aws, "apply", migrated.documents)
    assert not again.has_changes, [ch.to_json() for o in again.outcomes for ch in o.plan.changes]
    assert _served(c) == served
    # a later delete of the Gateway is clean: nothing of the stack left
    assert _run(aws, "delete", migrated.documents).ok
    assert c.elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert c.elbv2.describe_target_groups()["TargetGroups"] == []


def test_an_unknown_group_is_refused_and_nothing_is_created(aws: AwsEnv) -> None:
    c: AwsClients = aws.clients  # type: ignore[assignment]
    app = _app(aws)
    migrated = to_gateway(app, BuildSettings(cluster_name=aws.cluster, default_target_type="ip"))
    docs = [d for d in migrated.documents if d["kind"] != "Ingress"]
    report = _run(aws, "apply", docs)
    [o] = report.outcomes
    assert not report.ok
    assert o.error is not None and "annotation albctl.io/adopt-ingress-group" in o.error
    assert "no load balancer of IngressGroup 'shop'" in o.error
    assert c.elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_a_gateway_that_would_route_differently_is_refused(aws: AwsEnv) -> None:
    c: AwsClients = aws.clients  # type: ignore[assignment]
    app = _app(aws)
    assert _run(aws, "apply", app).ok
    served = _served(c)
    migrated = to_gateway(app, BuildSettings(cluster_name=aws.cluster, default_target_type="ip"))
    docs = [d for d in migrated.documents]
    for d in docs:  # the storefront's assets now go to the storefront
        if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == "storefront":
            d["spec"]["rules"][0]["backendRefs"] = [{"name": "storefront", "port": 80}]
    report = _run(aws, "apply", docs + _ingresses(app))
    [o] = report.outcomes
    assert o.error is not None and "would serve requests differently" in o.error
    assert "/assets" in o.error
    assert _served(c) == served
    tags = c.elbv2.describe_tags(
        ResourceArns=[c.elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]]
    )["TagDescriptions"][0]
    assert {t["Key"]: t["Value"] for t in tags["Tags"]}["albctl.io/stack"] == "shop"


def test_a_certificate_imported_from_a_tls_secret_goes_with_the_load_balancer(
    aws: AwsEnv, calls: list[str]
) -> None:
    from tests.helpers import backend, endpoint_slice, ingress, ingress_class, rule, service
    from tests.tls_helpers import tls_secret

    c: AwsClients = aws.clients  # type: ignore[assignment]
    app = [
        ingress_class(),
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ["10.0.1.10"], "shop", port=8080),
        tls_secret("web-tls", "shop", ["secure.example.org"]),
        ingress(
            "web",
            "shop",
            annotations={"alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]'},
            target_type="ip",
            rules=[rule("secure.example.org", ("/", "Prefix", backend("web", 80)))],
            tls=[{"hosts": ["secure.example.org"], "secretName": "web-tls"}],
        ),
    ]
    assert _run(aws, "apply", app).ok

    def imported() -> list[str]:
        return [
            x["CertificateArn"]
            for x in c.acm.list_certificates()["CertificateSummaryList"]
            if x["DomainName"] == "secure.example.org"
        ]

    [cert_arn] = imported()
    migrated = to_gateway(app, BuildSettings(cluster_name=aws.cluster, default_target_type="ip"))
    calls.clear()
    acm: list[str] = []
    c.acm.meta.events.register("before-call", lambda model, **_: acm.append(model.name))
    report = _run(aws, "apply", migrated.documents + _ingresses(app))
    assert report.ok, [o.error for o in report.outcomes]
    assert "ImportCertificate" not in acm
    assert imported() == [cert_arn]
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    [li] = c.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert li["Certificates"][0]["CertificateArn"] == cert_arn
    tags = c.acm.list_tags_for_certificate(CertificateArn=cert_arn)["Tags"]
    assert {t["Key"]: t.get("Value") for t in tags}["albctl.io/stack"] == "gateway/shop/web"
