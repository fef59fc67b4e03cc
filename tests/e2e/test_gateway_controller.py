"""Gateways through the controller: ``albctl run`` against the sandbox API server (which serves
the Gateway API kinds) and a moto server. Status is read from the API as a user would
(conditions with their reasons and observedGeneration), AWS through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from albctl.aws.routes import read_table
from albctl.kube.api import GATEWAY, GATEWAY_CLASS, HTTP_ROUTE, LOAD_BALANCER_GROUP, NotFound
from albctl.model.router import parse_request, route
from tests.e2e import test_controller as tc
from tests.e2e.conftest import owned
from tests.e2e.test_controller import Live, wait_for
from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route, listener, path
from tests.helpers import endpoint_slice, service

live = tc.live
pytestmark = pytest.mark.e2e


def _ns(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _conds(obj: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    return {
        c["type"]: (c["status"], c["reason"], c.get("observedGeneration", -1))
        for c in (obj.get("status") or {}).get("conditions") or []
    }


def _parents(lv: Live, ns: str, name: str) -> list[dict[str, Any]]:
    obj = lv.api.get(HTTP_ROUTE, name, ns)
    return list((obj.get("status") or {}).get("parents") or [])


def _parent_conds(p: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in p.get("conditions") or []}


def _lb_of(lv: Live, stack: str) -> dict[str, Any] | None:
    elb = lv.e2e.clients.elbv2
    for lb in owned(lv.e2e)["lbs"]:
        tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]
        if {t["Key"]: t["Value"] for t in tags["Tags"]}.get("albctl.io/stack") == stack:
            return dict(lb)
    return None


def _where(lv: Live, stack: str, url: str) -> str:
    lb = _lb_of(lv, stack)
    assert lb is not None
    table = read_table(lv.e2e.clients, lb["LoadBalancerArn"])
    a = route(table, parse_request("GET", url, [])).action
    if a.type == "forward":
        return ",".join(sorted(table.services.get(f.target_group, "?") for f in a.forward))
    assert a.fixed_response is not None
    return a.fixed_response.status_code


@pytest.mark.localstack
def test_gateway_status_route_status_and_a_route_moved_between_gateways(live: Live) -> None:
    live.apply(
        _ns("infra"),
        _ns("shop"),
        gateway_class(),
        gateway("gw", "infra", listener("http")),
        gateway("gw2", "infra", listener("http", hostname="*.example.org")),
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ["10.0.1.10"], "shop", port=8080),
        http_route("web", "shop", {"matches": [path("/")], "backendRefs": [backend_ref("web")]}),
        http_route(
            "broken",
            "shop",
            {"matches": [path("/gone")], "backendRefs": [backend_ref("missing")]},
            hostnames=["broken.example.com"],
        ),
        http_route(
            "lost",
            "shop",
            {"backendRefs": [backend_ref("web")]},
            parents=[{"name": "gw", "namespace": "infra", "sectionName": "nope"}],
        ),
    )
    live.start_controller("--default-target-type", "ip")
    gw = wait_for(
        "gateway programmed",
        lambda: (
            (g := live.api.get(GATEWAY, "gw", "infra"))
            and _conds(g).get("Programmed", ("",))[0] == "True"
            and g
        ),
        timeout=60,
    )
    assert _conds(gw)["Accepted"] == ("True", "Accepted", 1)
    lb = _lb_of(live, "gateway/infra/gw")
    assert lb is not None
    assert gw["status"]["addresses"] == [{"type": "Hostname", "value": lb["DNSName"]}]
    [ls] = gw["status"]["listeners"]
    assert ls["attachedRoutes"] == 2  # web and broken; lost names no listener
    assert ls["supportedKinds"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]
    assert "albctl.io/gateway" in gw["metadata"]["finalizers"]
    gc = live.api.get(GATEWAY_CLASS, "alb")
    assert _conds(gc)["Accepted"][:2] == ("True", "Accepted")
    [p] = wait_for("web route status", lambda: _parents(live, "shop", "web"))
    assert p["controllerName"] == "albctl.io/alb"
    assert p["parentRef"]["name"] == "gw"
    assert _parent_conds(p) == {
        "Accepted": ("True", "Accepted"),
        "ResolvedRefs": ("True", "ResolvedRefs"),
    }
    [p] = _parents(live, "shop", "broken")
    assert _parent_conds(p)["ResolvedRefs"] == ("False", "BackendNotFound")
    [p] = _parents(live, "shop", "lost")
    assert _parent_conds(p)["Accepted"] == ("False", "NoMatchingParent")
    assert _where(live, "gateway/infra/gw", "http://shop.example.com/x") == "shop/web:80"
    assert _where(live, "gateway/infra/gw", "http://broken.example.com/gone") == "500"
    # the live plan of the Gateway: nothing to change
    proc = live.e2e.albctl(
        "plan",
        "--kubeconfig",
        str(live.kubeconfig),
        "--group",
        "gateway.infra.gw",
        "--default-target-type",
        "ip",
        "-o",
        "json",
    )
    assert json.loads(proc.stdout) == {"changes": []}, proc.stdout + proc.stderr
    # each Gateway is a load balancer group for the review commands
    lbg = live.api.get(LOAD_BALANCER_GROUP, "gateway.infra.gw")
    assert lbg["status"]["groupID"] == "gateway/infra/gw"
    assert {m["name"]: m["state"] for m in lbg["status"]["members"]} == {
        "broken": "Invalid",
        "lost": "Invalid",
        "web": "Active",
    }

    # the route moves to gw2: its rules and its status entry follow it
    moved = http_route(
        "web",
        "shop",
        {"matches": [path("/")], "backendRefs": [backend_ref("web")]},
        parents=[{"name": "gw2", "namespace": "infra"}],
        hostnames=["shop.example.org"],
    )
    live.apply(moved)
    wait_for(
        "status entry moved",
        lambda: [p["parentRef"]["name"] for p in _parents(live, "shop", "web")] == ["gw2"],
        timeout=60,
    )
    wait_for(
        "rules moved",
        lambda: (
            _where(live, "gateway/infra/gw", "http://shop.example.com/x") == "404"
            and _where(live, "gateway/infra/gw2", "http://shop.example.org/x") == "shop/web:80"
        ),
        timeout=60,
    )
    gw = live.api.get(GATEWAY, "gw", "infra")
    assert gw["status"]["listeners"][0]["attachedRoutes"] == 1  # broken only

    # deleting a Gateway deletes its load balancer, then lets the Gateway go
    live.api.delete(GATEWAY, "gw", "infra")
    wait_for("load balancer deleted", lambda: _lb_of(live, "gateway/infra/gw") is None, timeout=60)

    def gone() -> bool:
        try:
            live.api.get(GATEWAY, "gw", "infra")
        except NotFound:
            return True
        return False

    wait_for("gateway gone", gone, timeout=30)
    assert _lb_of(live, "gateway/infra/gw2") is not None  # the other one is untouched
    wait_for(
        "broken route's entry removed",
        lambda: _parents(live, "shop", "broken") == [],
        timeout=30,
    )


def test_the_controller_starts_without_the_gateway_api_and_takes_it_up_once_installed(
    live: Live,
) -> None:
    import yaml

    from albctl.kube.api import Kind
    from albctl.sandbox.crds import GATEWAY_CRDS

    crd = Kind("apiextensions.k8s.io", "v1", "customresourcedefinitions", False, "")
    for plural in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"):
        live.api.delete(crd, f"{plural}.gateway.networking.k8s.io")
    live.start_controller("--default-target-type", "ip")
    live.apply(*tc.app(live))
    wait_for("the ALB of the Ingresses", lambda: tc.converged(live), timeout=60)
    log = live.logs[-1].read_text()
    assert "gateway API off" in log
    # the CRDs installed while albctl runs: it starts watching them, no restart
    for doc in yaml.safe_load_all(GATEWAY_CRDS.read_text()):
        if doc:
            live.api.create(crd, doc)
    live.apply(
        _ns("infra"),
        gateway_class(),
        gateway("gw", "infra", listener("http")),
        http_route(
            "web", "web", {"backendRefs": [backend_ref("api")]}, hostnames=["gw.example.com"]
        ),
    )
    wait_for("the gateway's ALB", lambda: _lb_of(live, "gateway/infra/gw"), timeout=60)
    wait_for("gateway API on", lambda: "gateway API on" in live.logs[-1].read_text())
