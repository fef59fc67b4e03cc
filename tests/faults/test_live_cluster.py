"""Fault scenarios on the Kubernetes side of ``albctl run`` (API server restarts, a revoked
list permission, other controllers) and by other hands (edits in AWS, rotated credentials).
Every scenario ends with AWS holding exactly the desired state."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from albctl.kube.api import EVENT, INGRESS, LEASE, KubeApi
from albctl.sandbox import SandboxServer
from tests.e2e.test_controller import KUBECTL
from tests.faults.conftest import TIMEOUT, FaultLive
from tests.faults.proxy import Call, FaultProxy
from tests.faults.scenarios import (
    assert_exact,
    converges,
    events,
    groups_docs,
    owned_resources,
    wait_for,
)
from tests.helpers import write_yaml

# each scenario is bounded (its waits have their own, shorter timeouts)
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(TIMEOUT)]

DELETES = ("Delete", "Deregister", "Revoke", "RemoveTags", "RemoveListenerCertificates")


def deletes(calls: list[Call]) -> list[str]:
    return [c.operation for c in calls if c.operation.startswith(DELETES)]


def test_api_server_restarted_mid_reconcile(flive: FaultLive) -> None:
    """The API server goes away while a reconcile is half done (an AWS call held), its
    resourceVersions expire, it comes back: the controller re-lists and converges, and
    deletes nothing."""
    proxy = flive.proxy
    assert proxy is not None
    ctl = flive.run(resync="3s")
    flive.apply(*groups_docs(1, 1))
    converges(flive.e2e, flive.api, {"g0"})
    seen = len(proxy.snapshot())
    hold = proxy.hang(operations={"CreateTargetGroup"}, nth=1, name="mid-reconcile")
    flive.apply(*groups_docs(1, 2))  # a second member: a new target group and rule
    assert hold.hit.wait(30)
    flive.sandbox.stop()
    flive.sandbox.expire_history()
    hold.release()  # the held call's connection drops: botocore sends it again
    time.sleep(2)  # the reconcile finishes without the API server (status writes fail)
    flive.sandbox.start()
    took = converges(flive.e2e, flive.api, {"g0"}, timeout=60)
    wait_for(
        "both members' status",
        lambda: all(
            (flive.api.get(INGRESS, n, "shop").get("status") or {})
            .get("loadBalancer", {})
            .get("ingress")
            for n in ("g0m0", "g0m1")
        ),
    )
    text = ctl.text()
    assert "watch expired, re-listing" in text or "watch failed" in text
    assert deletes(proxy.snapshot()[seen:]) == []
    print(f"API server down ~2s mid-reconcile; converged {took:.1f}s after it came back")


def test_a_revoked_list_permission_never_tears_load_balancers_down(flive: FaultLive) -> None:
    """Listing and watching Ingresses is refused (403) mid-run, and the controller is
    restarted meanwhile; later it is restarted watching only one namespace (an Ingress it
    cannot list is one it must not act on): no load balancer is deleted. With the permission
    back everything is as it was, and an Ingress really deleted still goes."""
    proxy = flive.proxy
    assert proxy is not None
    e2e = flive.e2e
    other = groups_docs(1, 1, namespace="team")
    for d in other:  # group t0 in namespace team
        if d["kind"] == "Ingress":
            d["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"] = "t0"
    flive.apply(*groups_docs(2, 1), *[d for d in other if d["kind"] != "IngressClass"])
    stacks = {"g0", "g1", "t0"}
    ctl = flive.run(resync="1s")
    converges(e2e, flive.api, stacks, timeout=60)

    def lbs() -> set[str]:
        return {t["arn"] for t in owned_resources(e2e.clients, e2e.cluster)["LoadBalancer"]}

    before, seen = lbs(), len(proxy.snapshot())
    # revoked while running: the watches end, re-listing is refused, resyncs go on
    flive.sandbox.deny("ingresses")
    flive.sandbox.break_watches()
    wait_for("resyncs with the list refused", lambda: ctl.text().count("periodic resync") >= 4)
    wait_for("the refusal", lambda: "403" in ctl.text())
    # restarted while revoked: it does not reconcile from what it cannot list
    ctl.kill()
    ctl = flive.run(resync="1s")
    time.sleep(3)
    assert "caches synced" not in ctl.text()
    assert deletes(proxy.snapshot()[seen:]) == [] and lbs() == before
    flive.sandbox.allow()
    wait_for("caches synced", lambda: "caches synced" in ctl.text(), timeout=40)
    converges(e2e, flive.api, stacks, timeout=60)
    # restarted watching namespace shop only: group t0 is out of sight, not deleted
    ctl.kill()
    ctl = flive.run("--watch-namespace", "shop", resync="1s")
    wait_for(
        "t0 refused",
        lambda: any(
            "no Ingress albctl can read is leaving it" in e["message"]
            for e in events(flive.api, "FailedDeploy")
        ),
    )
    time.sleep(2)
    assert deletes(proxy.snapshot()[seen:]) == [] and lbs() == before
    ctl.kill()
    flive.run(resync="1s")
    converges(e2e, flive.api, stacks, timeout=60)
    assert lbs() == before
    # a real deletion is still honoured
    flive.api.delete(INGRESS, "g0m0", "team")
    converges(e2e, flive.api, {"g0", "g1"}, timeout=60)
    print(f"no delete while Ingresses could not be listed: {proxy.summary() or 'no AWS fault'}")


def test_a_class_mistake_that_drops_every_ingress_keeps_the_load_balancers(
    flive: FaultLive,
) -> None:
    """The IngressClass is pointed at another controller: every Ingress leaves albctl at
    once while readable. Nothing is deleted (Warning FailedDeploy says why); fixed, all is
    as it was."""
    from tests.helpers import ingress_class

    proxy = flive.proxy
    assert proxy is not None
    flive.run(resync="1s")
    flive.apply(*groups_docs(2, 1))
    converges(flive.e2e, flive.api, {"g0", "g1"})
    seen = len(proxy.snapshot())
    flive.apply(ingress_class("alb", controller="example.com/other"))
    wait_for(
        "the refusal reported",
        lambda: any("left its class at once" in e["message"] for e in events(flive.api)),
    )
    time.sleep(2)
    assert deletes(proxy.snapshot()[seen:]) == []
    flive.apply(ingress_class("alb"))
    took = converges(flive.e2e, flive.api, {"g0", "g1"})
    assert deletes(proxy.snapshot()[seen:]) == []
    print(f"class pointed elsewhere and back: no delete; converged {took:.1f}s after the fix")


def _hand_rule(flive: FaultLive, listener: str, priority: int) -> str:
    arn: str = flive.e2e.clients.elbv2.create_rule(
        ListenerArn=listener,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "Values": ["/by-hand"]}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "418", "ContentType": "text/plain"},
            }
        ],
    )["Rules"][0]["RuleArn"]
    return arn


def _rules(flive: FaultLive, listener: str) -> dict[str, dict[str, Any]]:
    return {
        r["RuleArn"]: r
        for r in flive.e2e.clients.elbv2.describe_rules(ListenerArn=listener)["Rules"]
        if not r["IsDefault"]
    }


def test_hand_edits_while_running(flive: FaultLive) -> None:
    """A rule added by hand keeps its priority and is never touched (even when a new rule
    of ours needs a place); our rule changed by hand is put back (DriftCorrected); our
    target group deleted by hand is recreated and its rule re-pointed; a listener removed by
    hand is recreated."""
    proxy = flive.proxy
    assert proxy is not None
    elb = flive.e2e.clients.elbv2
    flive.run(resync="1s")
    flive.apply(*groups_docs(1, 2))
    converges(flive.e2e, flive.api, {"g0"})
    took: dict[str, float] = {}
    res = owned_resources(flive.e2e.clients, flive.e2e.cluster)
    lb = res["LoadBalancer"][0]["arn"]
    listener = elb.describe_listeners(LoadBalancerArn=lb)["Listeners"][0]["ListenerArn"]
    ours = {a: r for a, r in _rules(flive, listener).items()}
    assert sorted(int(r["Priority"]) for r in ours.values()) == [1, 2]
    hand = _hand_rule(flive, listener, 3)
    # a third member: its rule goes around the hand-made one
    flive.apply(*groups_docs(1, 3))
    start = time.monotonic()
    converges(flive.e2e, flive.api, {"g0"})
    took["new rule around a hand-made one"] = time.monotonic() - start
    rules = _rules(flive, listener)
    assert rules[hand]["Priority"] == "3" and len(rules) == 4
    # our rule changed by hand
    mine = sorted(ours, key=lambda a: int(ours[a]["Priority"]))[0]
    elb.modify_rule(
        RuleArn=mine,
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"},
            }
        ],
    )
    start = time.monotonic()
    converges(flive.e2e, flive.api, {"g0"})
    took["rule put back"] = time.monotonic() - start
    drift = wait_for(
        "DriftCorrected",
        lambda: [e for e in events(flive.api, "DriftCorrected") if "ListenerRule" in e["message"]],
    )
    assert "put back" in drift[0]["message"]
    # our target group deleted by hand (its rule first pointed elsewhere, as AWS requires)
    tg = next(t for t in res["TargetGroup"] if t.get("albctl.io/ingress") == "shop/g0m1")
    victim = next(
        a
        for a, r in _rules(flive, listener).items()
        if any(
            x.get("TargetGroupArn") == tg["arn"]
            or tg["arn"]
            in [g["TargetGroupArn"] for g in (x.get("ForwardConfig") or {}).get("TargetGroups", [])]
            for x in r["Actions"]
        )
    )
    elb.modify_rule(
        RuleArn=victim,
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
            }
        ],
    )
    elb.delete_target_group(TargetGroupArn=tg["arn"])
    start = time.monotonic()
    converges(flive.e2e, flive.api, {"g0"})
    took["target group recreated"] = time.monotonic() - start
    now = owned_resources(flive.e2e.clients, flive.e2e.cluster)
    new_tg = next(t for t in now["TargetGroup"] if t.get("albctl.io/ingress") == "shop/g0m1")
    assert new_tg["arn"] != tg["arn"]
    # the listener removed by hand (its rules go with it, the hand-made one too)
    assert _rules(flive, listener)[hand]["Priority"] == "3"
    untouched = [c for c in proxy.snapshot() if c.mutating and hand in c.values()]
    assert untouched == [], "albctl touched the hand-made rule"
    elb.delete_listener(ListenerArn=listener)
    start = time.monotonic()
    converges(flive.e2e, flive.api, {"g0"})
    took["listener recreated"] = time.monotonic() - start
    print("hand edits put back, seconds: " + ", ".join(f"{k}={v:.1f}" for k, v in took.items()))


# --- other controllers ------------------------------------------------------------------------


def _ids_named(calls: list[Call]) -> set[str]:
    return {v for c in calls if c.mutating for v in c.values() if v.startswith(("arn:aws:", "sg-"))}


def test_two_clusters_in_one_account_and_a_standby_without_the_lease(
    flive: FaultLive, endpoint: str
) -> None:
    """Cluster e2e (two replicas, one holding the Lease) and cluster other (one replica),
    the same Ingresses in both, one VPC, one account: each touches only its own resources,
    and the replica without the Lease makes no write at all."""
    e2e = flive.e2e
    for sid in e2e.seeded.public_subnets + e2e.seeded.private_subnets:  # subnets for both
        e2e.clients.ec2.create_tags(
            Resources=[sid], Tags=[{"Key": "kubernetes.io/cluster/other", "Value": "shared"}]
        )
    other_sandbox = SandboxServer(bookmark_interval=0.5)
    other_sandbox.start()
    proxies = {n: FaultProxy(endpoint).start() for n in ("standby", "other")}
    try:
        kubeconfig = other_sandbox.write_kubeconfig(e2e.tmp / "other.kubeconfig")
        other_api = KubeApi(str(kubeconfig), user_agent="albctl-tests/0.1")
        lease = (
            "--leader-elect",
            "--leader-election-namespace",
            "default",
            "--lease-duration",
            "3s",
        )
        leader = flive.run(*lease, name="leader", leader_elect=True)
        wait_for(
            "a leader",
            lambda: flive.api.get(LEASE, "albctl-leader", "default")["spec"].get("holderIdentity"),
        )
        standby = flive.run(
            *lease,
            name="standby",
            leader_elect=True,
            env=flive.env(proxies["standby"]),
        )
        flive.run(
            name="other",
            kubeconfig=kubeconfig,
            env=flive.env(proxies["other"], ALBCTL_CLUSTER_NAME="other"),
        )
        docs = groups_docs(2, 1)
        flive.apply(*docs)
        _apply(kubeconfig, docs, e2e.tmp)
        converges(e2e, flive.api, {"g0", "g1"})
        converges_other = lambda: assert_exact(e2e, other_api, {"g0", "g1"}, cluster="other")  # noqa: E731
        wait_for("cluster other converged", lambda: converges_other() is not None, timeout=60)
        # changes and a deletion in each
        flive.apply(*groups_docs(2, 2))
        _apply(kubeconfig, groups_docs(2, 2), e2e.tmp)
        flive.api.delete(INGRESS, "g1m0", "shop")
        flive.api.delete(INGRESS, "g1m1", "shop")
        other_api.delete(INGRESS, "g0m1", "shop")
        converges(e2e, flive.api, {"g0"})
        wait_for("cluster other converged", lambda: converges_other() is not None, timeout=60)
        mine = owned_resources(e2e.clients, e2e.cluster)
        theirs = owned_resources(e2e.clients, "other")
        their_ids = {t["arn"] for v in theirs.values() for t in v}
        my_ids = {t["arn"] for v in mine.values() for t in v}
        assert _ids_named(flive.proxy.snapshot()) & their_ids == set()  # type: ignore[union-attr]
        assert _ids_named(proxies["other"].snapshot()) & my_ids == set()
        # the standby: no AWS write, no Event, and it never led
        holder = flive.api.get(LEASE, "albctl-leader", "default")["spec"]["holderIdentity"]
        assert holder in leader.text() and holder not in standby.text()
        assert proxies["standby"].counts(mutating=True) == {}
        reporters = {e.get("reportingInstance") for e in flive.api.list(EVENT)["items"]}
        assert reporters == {holder}
        print(
            f"cluster e2e: {sum(flive.proxy.counts(mutating=True).values())} writes, "  # type: ignore[union-attr]
            f"cluster other: {sum(proxies['other'].counts(mutating=True).values())} writes, "
            f"standby: {sum(proxies['standby'].counts().values())} calls, none a write"
        )
    finally:
        for p in proxies.values():
            p.stop()
        from tests.faults.conftest import _stop_all

        _stop_all([c.proc for c in flive.controllers])
        other_sandbox.stop()


def _apply(kubeconfig: Path, docs: list[dict[str, Any]], tmp: Path) -> None:
    docs = [json.loads(json.dumps(d)) for d in docs]
    for d in docs:
        d["metadata"].pop("uid", None)  # the API server assigns uids
    path = write_yaml(tmp / f"other-{time.monotonic_ns()}.yaml", *docs)
    proc = subprocess.run(
        [KUBECTL or "kubectl", "--kubeconfig", str(kubeconfig), "apply", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


# --- credentials ------------------------------------------------------------------------------


def test_expired_credentials_are_reloaded_without_a_restart(flive: FaultLive) -> None:
    """The controller's access key expires (AWS answers ExpiredToken to it from now on) and
    a new one is in the shared credentials file: the running controller carries on."""
    proxy = flive.proxy
    assert proxy is not None
    creds = flive.e2e.tmp / "credentials"
    creds.write_text("[default]\naws_access_key_id = KEY1\naws_secret_access_key = s\n")
    env = flive.env()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(var, None)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(creds)
    env["AWS_CONFIG_FILE"] = str(flive.e2e.tmp / "aws-config")
    ctl = flive.run(resync="2s", env=env)
    flive.apply(*groups_docs(1, 1))
    converges(flive.e2e, flive.api, {"g0"})
    proxy.expired_token({"KEY1"})
    creds.write_text("[default]\naws_access_key_id = KEY2\naws_secret_access_key = s\n")
    flive.apply(*groups_docs(1, 2))
    took = converges(flive.e2e, flive.api, {"g0"})
    keys = [c.access_key for c in proxy.snapshot()]
    assert "KEY2" in keys and ctl.proc.poll() is None
    assert "reloaded from the credential chain" in ctl.text()
    print(f"{proxy.summary()} injected; converged {took:.1f}s after the key expired")
