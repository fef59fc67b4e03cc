"""Fault scenarios for ``albctl run``: the live loop (sandbox API server, the controller as a
subprocess) with AWS behind the fault-injecting proxy. Every scenario ends with AWS holding
exactly the desired state (:func:`tests.faults.scenarios.assert_exact`)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from albctl.kube.api import INGRESS, LOAD_BALANCER_GROUP, NotFound
from tests.faults.conftest import FaultLive
from tests.faults.scenarios import (
    assert_exact,
    converges,
    duplicates,
    events,
    groups_docs,
    lbg_history,
    owned_resources,
    wait_for,
)

pytestmark = pytest.mark.e2e


def test_eventual_consistency_on_every_create(flive: FaultLive) -> None:
    proxy = flive.proxy
    assert proxy is not None
    proxy.eventual_consistency(
        hide_for=2,
        not_found_for=1,
        not_found_ops=(
            "RegisterTargets",
            "CreateRule",
            "CreateListener",
            "AuthorizeSecurityGroupIngress",
            "ModifyTargetGroupAttributes",
        ),
    )
    flive.run(resync="2s")
    flive.apply(*groups_docs(2, 2))
    took = converges(flive.e2e, flive.api, {"g0", "g1"}, timeout=90)
    time.sleep(4)  # two resyncs more: nothing created twice while AWS catches up
    assert_exact(flive.e2e, flive.api, {"g0", "g1"})
    assert events(flive.api, "FailedDeploy") == []
    assert all(h["result"] != "Failed" for g in ("g0", "g1") for h in lbg_history(flive.api, g))
    print(f"converged in {took:.1f}s; injected {proxy.injected_counts()}")


# --- kill -9 at each step ---------------------------------------------------------------------

RECONCILE_STEPS = [
    ("CreateSecurityGroup", "the backend security group"),
    ("CreateSecurityGroup", "the load balancer's security group"),
    ("AuthorizeSecurityGroupIngress", "its rules"),
    ("CreateTargetGroup", "target group 1"),
    ("CreateTargetGroup", "target group 2"),
    ("CreateLoadBalancer", "the load balancer"),
    ("CreateListener", "the listener"),
    ("CreateRule", "rule 1"),
    ("CreateRule", "rule 2"),
    ("RegisterTargets", "the targets of group 1"),
    ("RegisterTargets", "the targets of group 2"),
]
# one member leaves, then the last one: the whole stack goes
LEAVE_STEPS = [("DeleteRule", "its rule"), ("DeleteTargetGroup", "its target group")]
DELETE_STEPS = [
    ("DeleteLoadBalancer", "the load balancer"),
    ("DeleteTargetGroup", "the last target group"),
    ("DeleteSecurityGroup", "the load balancer's security group"),
    ("DeleteSecurityGroup", "the backend security group"),
]


def kill_after(flive: FaultLive, op: str, what: str, timeout: float = 45) -> float:
    """Start a controller, let AWS do its next ``op`` but lose the answer, kill -9 the
    controller there; the seconds it took."""
    proxy = flive.proxy
    assert proxy is not None
    start = time.monotonic()
    seam = proxy.hang(after_forward=True, operations={op}, nth=1, name=f"kill after {what}")
    ctl = flive.run(resync="600s")
    try:
        assert seam.hit.wait(timeout), f"the controller never got to {what}: {ctl.text()[-3000:]}"
    finally:
        ctl.kill()
        seam.disable()
    return time.monotonic() - start


def _ingress(flive: FaultLive, name: str) -> dict[str, Any] | None:
    try:
        return flive.api.get(INGRESS, name, "shop")
    except NotFound:
        return None


def _of_member(res: dict[str, list[dict[str, str]]], key: str) -> list[str]:
    return [
        f"{kind} {t['arn']}"
        for kind in ("Rule", "TargetGroup")
        for t in res[kind]
        if t.get("albctl.io/ingress") == key
    ]


def test_kill_9_at_each_step_of_a_reconcile_and_of_a_delete(flive: FaultLive) -> None:
    """Chained: the controller is killed right after AWS did each step (the answer lost),
    restarted, killed after the next step...; then it converges. The same for a member
    leaving and for the whole group going. A finalizer is only ever gone when AWS is clean."""
    e2e, api = flive.e2e, flive.api
    flive.apply(*groups_docs(1, 2))
    took: dict[str, float] = {}
    for op, what in RECONCILE_STEPS:
        took[what] = kill_after(flive, op, what)
        assert duplicates(owned_resources(e2e.clients, e2e.cluster)) == {}
    flive.run(resync="600s")
    took["converge"] = converges(e2e, api, {"g0"})
    flive.controllers[-1].kill()

    api.delete(INGRESS, "g0m1", "shop")
    for op, what in LEAVE_STEPS:
        took[f"leave: {what}"] = kill_after(flive, op, what)
        ing = _ingress(flive, "g0m1")
        assert ing is not None and "albctl.io/ingress-group" in ing["metadata"]["finalizers"]
    flive.run(resync="600s")
    wait_for("g0m1 gone", lambda: _ingress(flive, "g0m1") is None)
    assert _of_member(owned_resources(e2e.clients, e2e.cluster), "shop/g0m1") == []
    took["leave: converge"] = converges(e2e, api, {"g0"})
    flive.controllers[-1].kill()

    api.delete(INGRESS, "g0m0", "shop")
    for op, what in DELETE_STEPS:
        took[f"delete: {what}"] = kill_after(flive, op, what)
        ing = _ingress(flive, "g0m0")
        assert ing is not None and "albctl.io/ingress-group" in ing["metadata"]["finalizers"]
    flive.run(resync="600s")
    wait_for("g0m0 gone", lambda: _ingress(flive, "g0m0") is None)
    res = owned_resources(e2e.clients, e2e.cluster)
    assert {k: v for k, v in res.items() if v} == {}, res
    wait_for("the LoadBalancerGroup gone", lambda: not _lbg_exists(flive, "g0"))
    print(
        "kill -9 then restart, seconds per step: "
        + ", ".join(f"{k}={v:.1f}" for k, v in took.items())
    )


def _lbg_exists(flive: FaultLive, name: str) -> bool:
    try:
        flive.api.get(LOAD_BALANCER_GROUP, name)
    except NotFound:
        return False
    return True
