"""An IngressGroup moved onto a Gateway through the controller: ``albctl run`` against the
sandbox API server and a moto server. The group's ALB serves; ``albctl migrate --to gateway``
writes the Gateway (annotated ``albctl.io/adopt-ingress-group``) and its routes; applied, the
Gateway takes the same load balancer over; the Ingresses deleted afterwards take nothing along."""

from __future__ import annotations

import pytest

from albctl.aws.routes import read_table
from albctl.kube.api import GATEWAY, INGRESS, NotFound
from albctl.migrate.gateway import to_gateway
from albctl.model.router import parse_request, route
from albctl.model.settings import BuildSettings
from tests.e2e import test_controller as tc
from tests.e2e.conftest import owned
from tests.e2e.test_controller import Live, wait_for
from tests.e2e.test_gateway_controller import _conds, _lb_of

live = tc.live
pytestmark = pytest.mark.e2e
REQUESTS = ["http://www.example.com/", "http://www.example.com/api/x", "http://other.example.com/"]
GATEWAY_KINDS = (
    "GatewayClass",
    "Gateway",
    "HTTPRoute",
    "LoadBalancerConfiguration",
    "TargetGroupConfiguration",
    "ListenerRuleConfiguration",
    "ReferenceGrant",
)


def _served(lv: Live) -> tuple[str, str, list[str]]:
    [lb] = owned(lv.e2e)["lbs"]
    table = read_table(lv.e2e.clients, lb["LoadBalancerArn"])
    out = []
    for url in REQUESTS:
        a = route(table, parse_request("GET", url, [])).action
        if a.type == "forward":
            out.append(",".join(sorted(str(table.services.get(f.target_group)) for f in a.forward)))
        else:
            out.append(f"{a.type} {a.fixed_response.status_code if a.fixed_response else ''}")
    return lb["LoadBalancerArn"], lb["DNSName"], out


def _gone(lv: Live, name: str) -> bool:
    try:
        lv.api.get(INGRESS, name, "web")
    except NotFound:
        return True
    return False


@pytest.mark.localstack
def test_a_gateway_takes_the_group_over_and_the_ingresses_go_without_it(live: Live) -> None:
    app = tc.app(live)
    for d in app:  # /api before / (the order the Gateway API's precedence gives too)
        if d["kind"] == "Ingress" and d["metadata"]["name"] == "api":
            d["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.order"] = "0"
    live.apply(*app)
    live.start_controller()
    wait_for("the group's ALB", lambda: tc.converged(live), timeout=60)
    before = _served(live)
    assert before[2] == ["web/front:80", "web/api:80", "fixed-response 404"]
    migrated = to_gateway(app, BuildSettings(cluster_name=live.e2e.cluster))
    assert migrated.report.exit_code == 0, migrated.report.to_json()
    live.apply(*[d for d in migrated.documents if d["kind"] in GATEWAY_KINDS])
    wait_for(
        "the gateway has the ALB",
        lambda: (
            _lb_of(live, "gateway/web/web") is not None
            and _conds(live.api.get(GATEWAY, "web", "web")).get("Programmed", ("",))[0] == "True"
        ),
        timeout=60,
    )
    assert _served(live) == before  # same ARN, same DNS name, same routing
    gw = live.api.get(GATEWAY, "web", "web")
    assert gw["status"]["addresses"] == [{"type": "Hostname", "value": before[1]}]
    for name in ("front", "api"):
        live.api.delete(INGRESS, name, "web")
    wait_for("the Ingresses gone", lambda: _gone(live, "front") and _gone(live, "api"), timeout=60)
    assert _served(live) == before
    log = live.logs_text()
    assert "group handed over" in log and "adopted ingress group" in log
