"""LBC's gateway.k8s.aws kinds through the controller: ``albctl run`` against the sandbox API
server (which serves albctl's CRDs of these kinds) and a moto server. What the objects ask for
reaches AWS; an invalid field is a condition on the Gateway or the route, read from the API as a
user would, while the load balancer keeps serving as before."""

from __future__ import annotations

from typing import Any

import pytest

from albctl.kube.api import GATEWAY, GATEWAY_CLASS
from tests.e2e import test_controller as tc
from tests.e2e.test_controller import Live, wait_for
from tests.e2e.test_gateway_controller import _conds, _lb_of, _ns, _parent_conds, _parents, _where
from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route, listener, path
from tests.helpers import endpoint_slice, service

live = tc.live
pytestmark = pytest.mark.e2e
STACK = "gateway/shop/gw"


def _cfg(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "shop"}
    return {"apiVersion": "gateway.k8s.aws/v1beta1", "kind": kind, "metadata": meta, "spec": spec}


def _lbc(name: str | None = None) -> dict[str, Any]:
    attrs = [{"key": "idle_timeout.timeout_seconds", "value": "120"}]
    spec: dict[str, Any] = {"loadBalancerAttributes": attrs}
    if name:
        spec["loadBalancerName"] = name
    return _cfg("LoadBalancerConfiguration", "lb", spec)


def _tgc(interval: int) -> dict[str, Any]:
    hc = {"healthCheckPath": "/healthz", "healthCheckInterval": interval}
    spec = {"targetReference": {"name": "web"}, "defaultConfiguration": {"healthCheckConfig": hc}}
    return _cfg("TargetGroupConfiguration", "web", spec)


def _tgs(lv: Live) -> list[dict[str, Any]]:
    """The target groups of this test's load balancer (an endpoint may hold others)."""
    lb = _lb_of(lv, STACK)
    assert lb is not None
    elb = lv.e2e.clients.elbv2
    return list(elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"])


def _idle_timeout(lv: Live) -> str:
    lb = _lb_of(lv, STACK)
    assert lb is not None
    elb = lv.e2e.clients.elbv2
    attrs = elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])
    return str({a["Key"]: a["Value"] for a in attrs["Attributes"]}["idle_timeout.timeout_seconds"])


@pytest.mark.localstack
def test_configuration_kinds_reach_aws_and_invalid_fields_are_conditions(live: Live) -> None:
    gw = gateway("gw", "shop", listener("http"))
    gw["spec"]["infrastructure"] = {
        "parametersRef": {
            "group": "gateway.k8s.aws",
            "kind": "LoadBalancerConfiguration",
            "name": "lb",
        }
    }
    closed = {"type": "fixed-response", "fixedResponseConfig": {"statusCode": 503}}
    ext = {"group": "gateway.k8s.aws", "kind": "ListenerRuleConfiguration", "name": "closed"}
    live.apply(
        _ns("shop"),
        gateway_class(),
        _lbc(),
        _tgc(10),
        _cfg("ListenerRuleConfiguration", "closed", {"actions": [closed]}),
        gw,
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ["10.0.1.10"], "shop", port=8080),
        http_route(
            "web",
            "shop",
            {
                "matches": [path("/closed")],
                "filters": [{"type": "ExtensionRef", "extensionRef": ext}],
            },
            {"backendRefs": [backend_ref("web")]},
            parents=[{"name": "gw"}],
        ),
    )
    live.start_controller("--default-target-type", "ip")
    wait_for(
        "gateway programmed",
        lambda: _conds(live.api.get(GATEWAY, "gw", "shop")).get("Programmed", ("",))[0] == "True",
        timeout=60,
    )
    assert _idle_timeout(live) == "120"
    [tg] = _tgs(live)
    assert (tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"]) == ("/healthz", 10)
    assert _where(live, STACK, "http://shop.example.com/closed") == "503"
    assert _where(live, STACK, "http://shop.example.com/x") == "shop/web:80"

    # a field albctl refuses: the Gateway says so, the load balancer serves on as it was
    live.apply(_lbc(name="not_a_valid_name"))
    got = wait_for(
        "gateway not accepted",
        lambda: (
            (g := live.api.get(GATEWAY, "gw", "shop"))
            and _conds(g).get("Accepted", ("",))[0] == "False"
            and g
        ),
        timeout=60,
    )
    acc = next(c for c in got["status"]["conditions"] if c["type"] == "Accepted")
    assert acc["reason"] == "InvalidParameters"
    assert "LoadBalancerConfiguration/shop/lb: spec.loadBalancerName" in acc["message"]
    assert _idle_timeout(live) == "120"
    assert _where(live, STACK, "http://shop.example.com/closed") == "503"
    live.apply(_lbc())
    wait_for(
        "gateway accepted again",
        lambda: _conds(live.api.get(GATEWAY, "gw", "shop"))["Accepted"][0] == "True",
        timeout=60,
    )

    # an invalid TargetGroupConfiguration: its route reports it and keeps its rules
    live.apply(_tgc(3))
    [p] = wait_for(
        "route not accepted",
        lambda: [
            p for p in _parents(live, "shop", "web") if _parent_conds(p)["Accepted"][0] == "False"
        ],
        timeout=60,
    )
    assert _parent_conds(p)["Accepted"] == ("False", "UnsupportedValue")
    msg = next(c["message"] for c in p["conditions"] if c["type"] == "Accepted")
    assert "TargetGroupConfiguration/shop/web" in msg and "healthCheckInterval" in msg
    assert _where(live, STACK, "http://shop.example.com/x") == "shop/web:80"
    [tg] = _tgs(live)
    assert tg["HealthCheckIntervalSeconds"] == 10

    # a GatewayClass whose parametersRef names nothing: the class says so
    cls = gateway_class()
    cls["spec"]["parametersRef"] = {
        "group": "gateway.k8s.aws",
        "kind": "LoadBalancerConfiguration",
        "name": "org",
        "namespace": "kube-system",
    }
    live.apply(cls)
    gc = wait_for(
        "class not accepted",
        lambda: (
            (c := live.api.get(GATEWAY_CLASS, "alb"))
            and _conds(c).get("Accepted", ("",))[0] == "False"
            and c
        ),
        timeout=60,
    )
    assert _conds(gc)["Accepted"][1] == "InvalidParameters"
