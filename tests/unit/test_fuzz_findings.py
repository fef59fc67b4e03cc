"""What the fuzzing found, pinned: the model refuses what AWS would refuse (so one bad member
cannot fail its whole group's apply), naming the object and the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.faults.fuzzing import base_docs, run_model
from tests.helpers import ANN


def _victim(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "Ingress" and d["metadata"]["name"] == "victim")


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("bücher.example", "/v"),  # not punycode
        ("a b.example.com", "/v"),
        ("v.example.com", "/a b"),
        ("v.example.com", "/" + "x" * 200),
        ("v.example.com", "/a[0]"),
    ],
)
def test_hosts_and_paths_an_alb_rule_refuses_leave_the_member_out(host: str, path: str) -> None:
    docs = base_docs()
    r = _victim(docs)["spec"]["rules"][0]
    r["host"] = host
    r["http"]["paths"][0]["path"] = path
    r["http"]["paths"][0]["pathType"] = "ImplementationSpecific"
    out = run_model(docs)
    assert out.invalid == {"fuzz/victim"}
    [err] = out.errors
    assert err.obj == "Ingress/fuzz/victim" and err.field.startswith("spec.rules[0]")


def test_condition_values_with_control_characters_leave_the_member_out() -> None:
    docs = base_docs()
    vic = _victim(docs)
    cond = [
        {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X", "values": ["a\x07"]}}
    ]
    vic["metadata"]["annotations"][ANN + "conditions.victim"] = json.dumps(cond)
    out = run_model(docs)
    assert out.invalid == {"fuzz/victim"}
    assert "control characters" in str(out.errors[0])


def test_endpoints_aws_cannot_register_are_not_targets() -> None:
    docs = base_docs()
    es = next(
        d for d in docs if d["kind"] == "EndpointSlice" and d["metadata"]["name"] == "victim-a"
    )
    es["endpoints"] += [
        {"addresses": ["not-an-ip"], "conditions": {"ready": True}},
        {"addresses": ["10.0.100.21"], "conditions": {"ready": True}},
    ]
    out = run_model(docs)
    assert not out.invalid
    [res] = out.results
    assert res.stack is not None
    tg = next(t for t in res.stack.target_groups if "victim" in t.id)
    assert {t.id for t in tg.targets} == {"10.0.100.20", "10.0.100.21"}
