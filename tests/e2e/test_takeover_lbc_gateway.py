"""``albctl run --take-over-lbc`` and LBC's ALB Gateways, end to end: a Gateway's stack as LBC
tags it (tests/aws/test_takeover_lbc_gateway.py builds it) in a moto server; albctl's controller,
watching the same Gateway through the sandbox API server, adopts it in place."""

from __future__ import annotations

import pytest

from albctl.aws.clients import AwsClients
from albctl.kube.api import GATEWAY
from tests.aws.test_gateway import _docs
from tests.aws.test_takeover_lbc_gateway import _as_lbcs
from tests.e2e import test_controller as tc
from tests.e2e.test_controller import Live, wait_for
from tests.e2e.test_gateway_controller import _conds, _lb_of, _ns
from tests.helpers import write_yaml

live = tc.live
pytestmark = pytest.mark.e2e


def test_the_controller_takes_lbcs_gateway_over_in_place(live: Live) -> None:
    e = live.e2e
    files = write_yaml(e.tmp / "gateway.yaml", *_docs())
    e.albctl("apply", "-f", str(files), "--default-target-type", "ip", check=True)
    c: AwsClients = e.clients
    ids = _as_lbcs(c, e.cluster)
    [lb] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    assert _lb_of(live, "gateway/infra/gw") is None  # LBC's now, not albctl's
    live.apply(_ns("infra"), _ns("shop"), _ns("ops"), *_docs())
    live.start_controller("--take-over-lbc", "--default-target-type", "ip")
    wait_for(
        "albctl's gateway on LBC's load balancer",
        lambda: (
            _lb_of(live, "gateway/infra/gw") is not None
            and _conds(live.api.get(GATEWAY, "gw", "infra")).get("Programmed", ("",))[0] == "True"
        ),
        timeout=60,
    )
    [after] = c.elbv2.describe_load_balancers()["LoadBalancers"]
    assert (after["LoadBalancerArn"], after["DNSName"]) == (lb["LoadBalancerArn"], lb["DNSName"])
    tgs = {t["TargetGroupArn"] for t in c.elbv2.describe_target_groups()["TargetGroups"]}
    assert tgs == {arn for arn, rid in ids.items() if ":targetgroup/" in arn}
    assert "Adopted" in live.logs_text() or "adopted LBC's gateway" in live.logs_text()
