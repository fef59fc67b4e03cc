"""Fault scenarios for ``albctl run``: the live loop (sandbox API server, the controller as a
subprocess) with AWS behind the fault-injecting proxy. Every scenario ends with AWS holding
exactly the desired state (:func:`tests.faults.scenarios.assert_exact`)."""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from typing import Any

import pytest

from albctl.kube.api import ENDPOINT_SLICE, INGRESS, LOAD_BALANCER_GROUP, NotFound
from tests.faults.conftest import TIMEOUT, FaultLive, scale
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

# each scenario is bounded (its waits have their own, shorter timeouts)
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(TIMEOUT)]


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
    time.sleep(2.5)  # a resync more: nothing created twice while AWS catches up
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


EACH = [("reconcile", i) for i in range(len(RECONCILE_STEPS))] + [
    ("delete", i) for i in range(len(DELETE_STEPS))
]


@pytest.mark.skipif(
    not os.environ.get("ALBCTL_FAULTS_KILL_EACH"),
    reason="one fresh run per step: ALBCTL_FAULTS_KILL_EACH=1 (benchmarks/faults.py)",
)
@pytest.mark.parametrize(("phase", "index"), EACH, ids=[f"{p}-{i}" for p, i in EACH])
def test_kill_9_at_one_step_from_scratch(flive: FaultLive, phase: str, index: int) -> None:
    """The unchained form: from scratch, kill -9 right after step ``index`` (the answer
    lost), restart, converge (or finish the delete)."""
    e2e, api = flive.e2e, flive.api
    flive.apply(*groups_docs(1, 2))
    steps = RECONCILE_STEPS if phase == "reconcile" else DELETE_STEPS
    op, what = steps[index]
    nth = sum(1 for o, _ in steps[: index + 1] if o == op)
    if phase == "delete":
        ctl = flive.run(resync="600s")
        converges(e2e, api, {"g0"})
        ctl.kill()
        api.delete(INGRESS, "g0m0", "shop")
        api.delete(INGRESS, "g0m1", "shop")
    proxy = flive.proxy
    assert proxy is not None
    seam = proxy.hang(after_forward=True, operations={op}, nth=nth, name=f"kill after {what}")
    ctl = flive.run(resync="600s")
    assert seam.hit.wait(45), f"never got to {what}"
    ctl.kill()
    seam.disable()
    if phase == "delete":
        for name in ("g0m0", "g0m1"):
            ing = _ingress(flive, name)
            assert ing is not None and "albctl.io/ingress-group" in ing["metadata"]["finalizers"]
    start = time.monotonic()
    flive.run(resync="600s")
    if phase == "reconcile":
        converges(e2e, api, {"g0"})
    else:
        wait_for(
            "the Ingresses gone", lambda: not (_ingress(flive, "g0m0") or _ingress(flive, "g0m1"))
        )
        res = owned_resources(e2e.clients, e2e.cluster)
        assert {k: v for k, v in res.items() if v} == {}, res
    print(f"killed after {what} ({phase}): restart converged in {time.monotonic() - start:.1f}s")


# --- throttling -------------------------------------------------------------------------------


def churn_endpoints(
    flive: FaultLive, services: list[str], changes: int, seed: int, pause: float = 0.05
) -> dict[str, list[str]]:
    """Move ``changes`` endpoints in all (one removed and one added per change) over the
    EndpointSlices of ``services``; the final addresses by service."""
    rng = random.Random(seed)
    current = {
        s: [e["addresses"][0] for e in flive.api.get(ENDPOINT_SLICE, f"{s}-a", "shop")["endpoints"]]
        for s in services
    }
    done = 0
    while done < changes:
        s = rng.choice(services)
        addrs = current[s]
        addrs.remove(rng.choice(addrs))
        while True:
            new = f"10.0.{rng.choice((100, 101, 102))}.{rng.randint(20, 250)}"
            if new not in addrs:
                break
        addrs.append(new)
        body = {"endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addrs]}
        flive.api.merge_patch(ENDPOINT_SLICE, f"{s}-a", body, "shop")
        done += 2
        time.sleep(pause)
    return current


def throttle_events(flive: FaultLive) -> list[dict[str, Any]]:
    return [
        e
        for e in events(flive.api, "AWSThrottled")
        if e["involvedObject"]["kind"] == "LoadBalancerGroup"
    ]


def test_half_the_calls_throttled_while_ingresses_come_and_endpoints_churn(
    flive: FaultLive,
) -> None:
    """50% of every AWS call throttled (each service's own error) for a while, while
    N groups of Ingresses are created and endpoints move; then AWS answers again. Sizes:
    ALBCTL_FAULTS_THROTTLE_{GROUPS,MEMBERS,CHURN,SECONDS} (benchmarks/faults.py runs the
    full size: 5 groups of 4 Ingresses, 200 endpoint changes, 60 s)."""
    proxy = flive.proxy
    assert proxy is not None
    n_groups, members = scale("throttle_groups", 3), scale("throttle_members", 2)
    changes, seconds = scale("throttle_churn", 40), scale("throttle_seconds", 8)
    stacks = {f"g{i}" for i in range(n_groups)}
    services = [f"g{g}m{m}" for g in range(n_groups) for m in range(members)]
    throttle = proxy.throttle(probability=0.5, name="half")
    ctl = flive.run(resync="5s", workers=4)
    start = time.monotonic()
    flive.apply(*groups_docs(n_groups, members, endpoints=4))
    wait_for("the Ingresses listed", lambda: ctl.metric("albctl_aws_api_calls_total") > 0)
    churn_endpoints(flive, services, changes, seed=proxy.seed, pause=seconds / changes)
    time.sleep(max(0.0, seconds - (time.monotonic() - start)))
    throttle.disable()
    throttled_for = time.monotonic() - start
    took = converges(flive.e2e, flive.api, stacks, timeout=120 + 2 * seconds)
    throttles = ctl.metric("albctl_aws_throttles_total")
    injected = proxy.injected_counts()
    assert throttles > 0 and sum(injected.values()) > 0
    evs = throttle_events(flive)
    # one Event per group, repeats counted on it
    assert sorted(e["involvedObject"]["name"] for e in evs) == sorted(
        {e["involvedObject"]["name"] for e in evs}
    )
    assert evs and all(e["count"] >= 1 for e in evs)
    assert "retried with backoff" in evs[0]["message"]
    calls = proxy.snapshot()
    during = [c for c in calls if c.time <= start + throttled_for]
    print(
        f"{n_groups}x{members} Ingresses, {changes} endpoint changes; {len(calls)} AWS calls, "
        f"{len(during)} of them in the {throttled_for:.0f}s of throttling, "
        f"{sum(injected.values())} throttled ({len(during) and sum(injected.values()) / len(during):.0%}), "
        f"metric {throttles:.0f}; converged {took:.1f}s after the "
        f"throttling stopped; AWSThrottled events {[(e['involvedObject']['name'], e['count']) for e in evs]}; "
        f"FailedDeploy events {len(events(flive.api, 'FailedDeploy'))}"
    )


def _slow_docs() -> list[dict[str, Any]]:
    """Group ``slow``: one Ingress ``slow`` with Service ``slow`` (ip targets)."""
    out = []
    for d in groups_docs(1, 1, endpoints=4):
        if d["kind"] not in ("Service", "EndpointSlice", "Ingress"):
            continue
        d["metadata"]["name"] = d["metadata"]["name"].replace("g0m0", "slow")
        if d["kind"] == "EndpointSlice":
            d["metadata"]["labels"]["kubernetes.io/service-name"] = "slow"
        if d["kind"] == "Ingress":
            d["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"] = "slow"
            path = d["spec"]["rules"][0]["http"]["paths"][0]
            path["backend"]["service"]["name"] = "slow"
            d["spec"]["rules"][0]["host"] = "slow.example.com"
        out.append(d)
    return out


def test_one_slow_group_does_not_starve_the_others(flive: FaultLive) -> None:
    """Every AWS write of group ``slow`` is refused while its endpoints churn: the other
    groups converge meanwhile, ``slow`` is retried with growing pauses (not on every endpoint
    change), and converges once AWS takes its writes again."""
    proxy = flive.proxy
    assert proxy is not None
    fault = proxy.error(
        403, code="AccessDenied", body_contains="slow", mutating_only=True, name="slow group"
    )
    flive.run(resync="600s", workers=2)
    start = time.monotonic()
    flive.apply(*groups_docs(3, 1), *_slow_docs())
    others = converges(flive.e2e, flive.api, {"g0", "g1", "g2"}, timeout=90, check_plan=False)
    churn_endpoints(flive, ["slow"], 30, seed=proxy.seed, pause=0.2)  # 3 s of churn
    time.sleep(2)
    failed = [c.time for c in proxy.snapshot() if c.rule == "slow group"]
    fault.disable()
    took = converges(flive.e2e, flive.api, {"g0", "g1", "g2", "slow"}, timeout=120)
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(failed)]
    print(
        f"other groups converged in {others:.1f}s while every write of group slow was refused "
        f"({fault.fired} refused); slow failed {len(failed)} times, pauses {gaps}; it converged "
        f"{took:.1f}s after AWS took its writes again ({time.monotonic() - start:.0f}s in all)"
    )
    assert failed, "the slow group was never tried"
    # backing off: no tight loop (15 endpoint changes of slow came meanwhile)
    span = failed[-1] - failed[0]
    assert len(failed) <= 3 + math.log2(1 + span / 0.4), (len(failed), gaps)
