"""Property: whatever valid Ingresses go in, one apply converges AWS (the next plan is empty),
moving from one configuration to another converges too, and delete leaves nothing owned."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from albctl.aws.clients import AwsClients
from albctl.aws.seed import Seeded, node_manifests, seed
from albctl.config import Settings
from albctl.controller.engine import Engine
from tests.helpers import (
    REGION,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    objects,
    rule,
    service,
)

HOSTS = st.sampled_from([None, "a.example.com", "*.b.example.com", "shop.example.com"])
PATH = st.tuples(
    st.sampled_from(["/", "/api", "/static/", "/v1/items", "/x"]),
    st.sampled_from(["Prefix", "Exact", "ImplementationSpecific"]),
)
ACTIONS = {
    "fixed": {
        "type": "fixed-response",
        "fixedResponseConfig": {
            "statusCode": "503",
            "contentType": "text/plain",
            "messageBody": "down",
        },
    },
    "moved": {
        "type": "redirect",
        "redirectConfig": {"host": "new.example.com", "statusCode": "HTTP_302"},
    },
    "split": {
        "type": "forward",
        "forwardConfig": {
            "targetGroups": [
                {"serviceName": "svc-a", "servicePort": 80, "weight": 70},
                {"serviceName": "svc-b", "servicePort": 80, "weight": 30},
            ],
            "targetGroupStickinessConfig": {"enabled": True, "durationSeconds": 60},
        },
    },
}
CONDITIONS = st.sampled_from(
    [
        None,
        [
            {
                "field": "http-header",
                "httpHeaderConfig": {"httpHeaderName": "X-Env", "values": ["beta"]},
            }
        ],
        [{"field": "http-request-method", "httpRequestMethodConfig": {"values": ["GET", "HEAD"]}}],
        [{"field": "query-string", "queryStringConfig": {"values": [{"key": "v", "value": "2"}]}}],
        [{"field": "source-ip", "sourceIpConfig": {"values": ["10.0.0.0/8"]}}],
    ]
)


@st.composite
def member(draw: Any, i: int) -> dict[str, Any]:
    ann: dict[str, str] = {
        "group_name": "prop",
        "group_order": str(draw(st.integers(-2, 2))),
        "scheme": "internet-facing",
    }
    https = draw(st.booleans())
    if https:
        ann["listen_ports"] = '[{"HTTP": 80}, {"HTTPS": 443}]'
        ann["certificate_arn"] = "CERT"
    if draw(st.booleans()):
        ann["target_type"] = "ip"
    if draw(st.booleans()):
        ann["healthcheck_path"] = draw(st.sampled_from(["/healthz", "/ping"]))
        ann["healthcheck_interval_seconds"] = str(draw(st.integers(10, 30)))
        ann["success_codes"] = draw(st.sampled_from(["200", "200-299", "200,204"]))
    if draw(st.booleans()):
        ann["target_group_attributes"] = "deregistration_delay.timeout_seconds=" + str(
            draw(st.integers(0, 60))
        )
    if draw(st.booleans()):
        ann["tags"] = f"owner{i}=team{i}"
    paths = []
    for n, (p, kind) in enumerate(
        draw(st.lists(PATH, min_size=1, max_size=3, unique_by=lambda x: x[0]))
    ):
        choice = draw(st.sampled_from(["svc-a", "svc-b", *ACTIONS]))
        if choice in ACTIONS:
            ann[f"actions.{choice}"] = json.dumps(ACTIONS[choice])
            b = backend(choice, "use-annotation")
        else:
            b = backend(choice, 80)
        cond = draw(CONDITIONS)
        if cond and n == 0:
            ann[f"conditions.{choice}"] = json.dumps(cond)
        paths.append((p, kind, b))
    return {"host": draw(HOSTS), "paths": paths, "ann": ann}


@st.composite
def configs(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 3))
    out = [draw(member(i)) for i in range(n)]
    # group-wide settings every member agrees on
    if draw(st.booleans()):
        idle = draw(st.sampled_from([60, 120]))
        for m in out:
            m["ann"]["load_balancer_attributes"] = f"idle_timeout.timeout_seconds={idle}"
    return out


def manifests(cfg: list[dict[str, Any]], s: Seeded) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [ingress_class(), *node_manifests(s.instances, REGION)]
    for name, np in (("svc-a", 30001), ("svc-b", 30002)):
        docs.append(service(name, "prop", node_port=np))
        docs.append(endpoint_slice(name, [f"10.0.1.{np % 100}", f"10.0.2.{np % 100}"], "prop"))
    redirect = any("listen_ports" in m["ann"] for m in cfg)
    for i, m in enumerate(cfg):
        ann = {
            k: (s.certificates["*.example.com"] if v == "CERT" else v) for k, v in m["ann"].items()
        }
        if redirect and "listen_ports" in ann:
            ann["ssl_redirect"] = "443"
        elif redirect:
            ann["listen_ports"] = '[{"HTTP": 80}, {"HTTPS": 443}]'
            ann["certificate_arn"] = s.certificates["*.example.com"]
            ann["ssl_redirect"] = "443"
        docs.append(ingress(f"m{i}", "prop", rules=[rule(m["host"], *m["paths"])], **ann))
    return docs


@contextmanager
def fresh_aws() -> Iterator[tuple[AwsClients, Seeded]]:
    from moto import mock_aws

    with mock_aws():
        clients = AwsClients(region=REGION)
        yield (
            clients,
            seed(clients, "prop", instances=2, certificates={"*.example.com": ["example.com"]}),
        )


def _converges(engine: Engine, docs: list[dict[str, Any]]) -> None:
    report = engine.run(objects(*docs), "apply")
    assert report.ok, [
        (o.invalid, o.error, o.build and o.build.group_error) for o in report.outcomes
    ]
    again = engine.run(objects(*docs), "plan")
    leftover = [c.to_json() for o in again.outcomes for c in o.plan.changes]
    assert leftover == [], leftover


@settings(
    max_examples=int(os.environ.get("ALBCTL_PROPERTY_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(configs(), configs())
def test_any_configuration_converges_and_moves_to_any_other(
    first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    with fresh_aws() as (clients, seeded):
        engine = Engine(Settings(cluster_name="prop", region=REGION), clients)
        _converges(engine, manifests(first, seeded))
        _converges(engine, manifests(second, seeded))
        assert engine.run(objects(*manifests(second, seeded)), "delete").ok
        lbs = clients.elbv2.describe_load_balancers()["LoadBalancers"]
        tgs = clients.elbv2.describe_target_groups()["TargetGroups"]
        assert lbs == [] and tgs == []
