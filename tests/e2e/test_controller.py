"""The whole loop: ``albctl run`` as a subprocess, the sandbox API server, a moto server.

Objects are created with kubectl (when installed) or the official Python client; every check
reads AWS through boto3 and Kubernetes through the API, as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from albctl.aws.seed import node_manifests
from albctl.kube.api import (
    EVENT,
    GATEWAY,
    GRPC_ROUTE,
    HTTP_ROUTE,
    INGRESS,
    LOAD_BALANCER_GROUP,
    POD,
    TARGET_GROUP_BINDING,
    KubeApi,
    NotFound,
)
from albctl.sandbox import SandboxServer
from tests.e2e.conftest import E2E, owned
from tests.gateway_helpers import (
    backend_ref,
    gateway,
    gateway_class,
    http_route,
    listener,
    reference_grant,
)
from tests.helpers import (
    REGION,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    rule,
    service,
    target_group_binding,
    write_yaml,
)
from tests.tls_helpers import tls_secret

pytestmark = pytest.mark.e2e
T = TypeVar("T")
KUBECTL = shutil.which("kubectl")


def wait_for(
    what: str, fn: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, KeyError, IndexError, StopIteration, NotFound) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    e2e: E2E
    sandbox: SandboxServer
    kubeconfig: Path
    api: KubeApi
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start_controller(
        self, *extra: str, name: str = "ctl", resync: str = "3s"
    ) -> subprocess.Popen[str]:
        log = self.e2e.tmp / f"{name}-{len(self.procs)}.log"
        self.logs.append(log)
        cmd = [
            sys.executable,
            "-m",
            "albctl.cli",
            "run",
            "--kubeconfig",
            str(self.kubeconfig),
            "--metrics-bind-address",
            f"127.0.0.1:{_free_port()}",
            "--health-probe-bind-address",
            f"127.0.0.1:{_free_port()}",
            "--resync-period",
            resync,
            "--workers",
            "2",
            "--log-level",
            "debug",
            *extra,
        ]
        if "--leader-elect" not in extra:
            cmd.append("--no-leader-elect")
        if not any(x.startswith("--webhook-bind-address") for x in extra):
            cmd += ["--webhook-bind-address", "0"]
        proc = subprocess.Popen(
            cmd, env=self.e2e.env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True
        )
        self.procs.append(proc)
        return proc

    def apply(self, *docs: dict[str, Any]) -> None:
        docs = tuple(json.loads(json.dumps(d)) for d in docs)
        for d in docs:
            d["metadata"].pop("uid", None)  # the API server assigns uids
        path = write_yaml(self.e2e.tmp / f"apply-{time.monotonic_ns()}.yaml", *docs)
        if KUBECTL:
            proc = subprocess.run(
                [KUBECTL, "--kubeconfig", str(self.kubeconfig), "apply", "-f", str(path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 0, f"kubectl apply failed: {proc.stderr}"
            return
        from tests.e2e.kubeapply import apply_docs

        apply_docs(self.api, docs)

    def ingress(self, ns: str, name: str) -> dict[str, Any]:
        return self.api.get(INGRESS, name, ns)

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        items = self.api.list(EVENT)["items"]
        return [e for e in items if reason is None or e["reason"] == reason]

    def logs_text(self) -> str:
        return "\n".join(p.read_text() for p in self.logs if p.exists())


@pytest.fixture
def live(e2e: E2E) -> Iterator[Live]:
    server = SandboxServer(bookmark_interval=0.5)
    server.start()
    kubeconfig = server.write_kubeconfig(e2e.tmp / "kubeconfig")
    api = KubeApi(str(kubeconfig), user_agent="albctl-tests/0.1")
    lv = Live(e2e, server, kubeconfig, api)
    try:
        yield lv
    finally:
        for p in lv.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in lv.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        server.stop()
        if os.environ.get("ALBCTL_E2E_SHOW_LOGS"):
            print(lv.logs_text())


def app(lv: Live, api_ips: list[str] | None = None, **ann: str) -> list[dict[str, Any]]:
    """Namespace web: a group of two Ingresses (instance + ip targets)."""
    seeded = lv.e2e.seeded
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
        ingress_class(),
        *node_manifests(seeded.instances, REGION),
        service("front", "web", node_port=30100),
        service("api", "web", node_port=None, target_port=9000),
        endpoint_slice(
            "api", api_ips if api_ips is not None else ["10.0.1.10", "10.0.2.11"], "web", port=9000
        ),
        ingress(
            "front",
            "web",
            group_name="web",
            group_order="1",
            scheme="internet-facing",
            rules=[rule("www.example.com", ("/", "Prefix", backend("front", 80)))],
            **ann,
        ),
        ingress(
            "api",
            "web",
            group_name="web",
            group_order="2",
            scheme="internet-facing",
            target_type="ip",
            rules=[rule("www.example.com", ("/api", "Prefix", backend("api", 80)))],
        ),
    ]


def converged(lv: Live, n_rules: int = 2) -> dict[str, Any]:
    """The ALB of group web with its rules, once it is there."""
    lbs = owned(lv.e2e)["lbs"]
    assert len(lbs) == 1, lbs
    lb = lbs[0]
    ls = lv.e2e.clients.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert len(ls) == 1
    rules = [
        r
        for r in lv.e2e.clients.elbv2.describe_rules(ListenerArn=ls[0]["ListenerArn"])["Rules"]
        if not r["IsDefault"]
    ]
    assert len(rules) == n_rules, rules
    return {"lb": lb, "listener": ls[0], "rules": rules}


def tg_targets(lv: Live, port: int) -> set[str]:
    tg = next(t for t in owned(lv.e2e)["tgs"] if t["Port"] == port)
    health = lv.e2e.clients.elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])[
        "TargetHealthDescriptions"
    ]
    return {h["Target"]["Id"] for h in health}


def test_ingress_to_alb_status_events_and_lbg(live: Live) -> None:
    live.start_controller()
    start = time.monotonic()
    live.apply(*app(live))
    state = wait_for("the ALB with 2 rules", lambda: converged(live))
    hostname = state["lb"]["DNSName"]
    for name in ("front", "api"):
        wait_for(
            f"status of {name}",
            lambda n=name: (
                live.ingress("web", n)["status"]["loadBalancer"]["ingress"][0]["hostname"]
                == hostname
            ),
        )
        assert "albctl.io/ingress-group" in live.ingress("web", name)["metadata"]["finalizers"]
    elapsed = time.monotonic() - start
    print(f"converged in {elapsed:.2f}s")
    assert tg_targets(live, 30100) == set(live.e2e.seeded.instances)
    assert tg_targets(live, 9000) == {"10.0.1.10", "10.0.2.11"}
    wait_for(
        "Reconciled events",
        lambda: (
            {e["involvedObject"]["name"] for e in live.events("Reconciled")}
            >= {"front", "api", "web"}
        ),
    )
    lbg = wait_for(
        "the LoadBalancerGroup",
        lambda: live.api.get(LOAD_BALANCER_GROUP, "web").get("status", {}).get("loadBalancer"),
    )
    status = wait_for(
        "Ready and Synced",
        lambda: _lbg_status_if(
            live,
            lambda st: (
                {c["type"]: c["status"] for c in st["conditions"]}
                == {"Ready": "True", "Synced": "True"}
            ),
        ),
    )
    assert lbg["dnsName"] == hostname and status["memberCount"] == 2
    assert status["history"][0]["changes"] and status["history"][0]["awsCalls"] > 0
    if KUBECTL:
        out = subprocess.run(
            [KUBECTL, "--kubeconfig", str(live.kubeconfig), "get", "lbg"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "web" in out and hostname in out


def test_endpoint_change_only_touches_targets(live: Live) -> None:
    live.start_controller(resync="600s")
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    wait_for("api targets", lambda: tg_targets(live, 9000) == {"10.0.1.10", "10.0.2.11"})
    time.sleep(1.5)  # let the first reconciles settle
    if not live.e2e.recording:
        pytest.skip("counting the controller's AWS calls needs moto's request recorder")
    live.e2e.start_recording()
    ips = ["10.0.1.10", "10.0.3.30", "10.0.3.31", "10.0.3.32"]
    live.apply(endpoint_slice("api", ips, "web", port=9000))
    wait_for("scaled targets", lambda: tg_targets(live, 9000) == set(ips))
    calls = live.e2e.recorded_calls(agent="albctl/")  # the controller's calls only
    mutating = live.e2e.mutating(calls)
    assert set(mutating) <= {"RegisterTargets", "DeregisterTargets"}, mutating
    assert mutating["RegisterTargets"] == 1 and mutating["DeregisterTargets"] == 1
    assert calls["DescribeSubnets"] == 0 and calls["DescribeRules"] == 0  # no full reconcile
    print(f"AWS calls for one EndpointSlice change: {dict(calls)}")


def test_annotation_edit_updates_in_place_and_invalid_member_keeps_its_rules(live: Live) -> None:
    live.start_controller()
    live.apply(*app(live))
    state = wait_for("the ALB", lambda: converged(live))
    arns_before = {t["TargetGroupArn"] for t in owned(live.e2e)["tgs"]}
    api_rule = next(
        r
        for r in state["rules"]
        if any(
            "/api" in v
            for c in r["Conditions"]
            for v in c.get("Values", []) + c.get("PathPatternConfig", {}).get("Values", [])
        )
    )
    # edit: health check path of front (in place)
    live.apply(*app(live, healthcheck_path="/ready"))
    wait_for(
        "health check path",
        lambda: (
            next(t for t in owned(live.e2e)["tgs"] if t["Port"] == 30100)["HealthCheckPath"]
            == "/ready"
        ),
    )
    assert {t["TargetGroupArn"] for t in owned(live.e2e)["tgs"]} == arns_before
    # api becomes invalid: Warning event, its rule stays; front still updates
    docs = app(live, healthcheck_path="/v2")
    docs[-1]["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] = "pods"
    live.apply(*docs)
    wait_for(
        "InvalidIngress event",
        lambda: any(
            e["involvedObject"]["name"] == "api" and "target-type" in e["message"]
            for e in live.events("InvalidIngress")
        ),
    )
    wait_for(
        "front updated",
        lambda: (
            next(t for t in owned(live.e2e)["tgs"] if t["Port"] == 30100)["HealthCheckPath"]
            == "/v2"
        ),
    )
    state = converged(live)
    assert api_rule["RuleArn"] in {r["RuleArn"] for r in state["rules"]}
    assert {t["TargetGroupArn"] for t in owned(live.e2e)["tgs"]} == arns_before
    status = wait_for(
        "members in the LoadBalancerGroup",
        lambda: _lbg_status_if(
            live,
            lambda st: (
                {m["name"]: m["state"] for m in st["members"]}
                == {"front": "Active", "api": "Invalid"}
            ),
        ),
    )
    assert {m["name"]: m["state"] for m in status["members"]} == {
        "front": "Active",
        "api": "Invalid",
    }
    assert "target-type" in next(m["message"] for m in status["members"] if m["name"] == "api")


def test_delete_cleans_aws_and_removes_the_finalizer(live: Live) -> None:
    live.start_controller()
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    live.api.delete(INGRESS, "api", "web")
    wait_for("api rule gone", lambda: converged(live, n_rules=1))
    wait_for("api Ingress gone", lambda: _gone(live, "web", "api"))
    live.api.delete(INGRESS, "front", "web")
    wait_for("front Ingress gone", lambda: _gone(live, "web", "front"))
    wait_for("nothing owned left", lambda: owned(live.e2e) == {"lbs": [], "tgs": [], "sgs": []})
    wait_for("LoadBalancerGroup deleted", lambda: _lbg_gone(live, "web"))


def _lbg_status_if(lv: Live, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The status of LoadBalancerGroup web when ``pred`` holds for it."""
    st: dict[str, Any] = lv.api.get(LOAD_BALANCER_GROUP, "web").get("status") or {}
    return st if st and pred(st) else None


def _gone(lv: Live, ns: str, name: str) -> bool:
    try:
        lv.ingress(ns, name)
        return False
    except NotFound:
        return True


def _lbg_gone(lv: Live, name: str) -> bool:
    try:
        lv.api.get(LOAD_BALANCER_GROUP, name)
        return False
    except NotFound:
        return True


def test_kill_9_mid_reconcile_then_restart_converges_without_leaks(live: Live) -> None:
    docs = app(live)
    for i in range(6):
        docs.append(service(f"svc{i}", "web", node_port=30200 + i))
        docs.append(
            ingress(
                f"extra{i}",
                "web",
                group_name="web",
                group_order=str(10 + i),
                scheme="internet-facing",
                rules=[rule(f"e{i}.example.com", ("/", "Prefix", backend(f"svc{i}", 80)))],
            )
        )
    proc = live.start_controller()
    live.apply(*docs)
    # kill as soon as the controller has created its first target group: the reconcile is half done
    wait_for(
        "first AWS write",
        lambda: "kind=TargetGroup" in live.logs[-1].read_text(),
        timeout=30,
        interval=0.005,
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    half = owned(live.e2e)
    live.start_controller()
    wait_for("the ALB with 8 rules", lambda: converged(live, n_rules=8), timeout=60)
    full = owned(live.e2e)
    kinds = sorted(
        t["Value"] for g in full["sgs"] for t in g["Tags"] if t["Key"] == "albctl.io/resource"
    )
    assert len(full["lbs"]) == 1 and kinds == ["ManagedLBSecurityGroup", "backend-sg"]
    assert len(full["tgs"]) == 8, [t["TargetGroupName"] for t in full["tgs"]]
    assert len({t["TargetGroupName"] for t in full["tgs"]}) == 8
    print(
        f"killed with {len(half['tgs'])} target groups and {len(half['lbs'])} load balancers in AWS"
    )


def test_broken_watches_and_expired_versions_relist_and_converge(live: Live) -> None:
    live.start_controller()
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    # a write of a kind albctl does not watch: every watch's last version (bookmarks carry the
    # newest while the cluster is idle) is now older than the newest, and so too old to resume
    live.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bump", "namespace": "web"},
            "data": {},
        }
    )
    live.sandbox.expire_history()
    live.sandbox.break_watches()
    time.sleep(0.5)
    live.apply(endpoint_slice("api", ["10.0.2.99"], "web", port=9000))
    wait_for("targets after re-list", lambda: tg_targets(live, 9000) == {"10.0.2.99"}, timeout=40)
    live.apply(*app(live, api_ips=["10.0.2.99"], healthcheck_path="/after-relist"))
    wait_for(
        "update after re-list",
        lambda: (
            next(t for t in owned(live.e2e)["tgs"] if t["Port"] == 30100)["HealthCheckPath"]
            == "/after-relist"
        ),
    )
    assert (
        "re-listing" in live.logs_text()
        or "watch expired" in live.logs_text()
        or "watch failed" in live.logs_text()
    )


def test_two_replicas_only_the_leader_writes_and_a_standby_takes_over(live: Live) -> None:
    args = ("--leader-elect", "--leader-election-namespace", "default", "--lease-duration", "3s")
    first = live.start_controller(*args, name="a")
    wait_for(
        "a leader",
        lambda: live.api.get(_lease_kind(), "albctl-leader", "default")["spec"].get(
            "holderIdentity"
        ),
    )
    second = live.start_controller(*args, name="b")
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    holder = live.api.get(_lease_kind(), "albctl-leader", "default")["spec"]["holderIdentity"]
    logs = {p: log for p, log in zip(live.procs, live.logs, strict=True)}
    writers = [p for p in (first, second) if "msg=applied" in logs[p].read_text()]
    assert len(writers) == 1
    leader, standby = (first, second) if writers[0] is first else (second, first)
    assert "leadership acquired" in logs[leader].read_text()
    assert "msg=applied" not in logs[standby].read_text()
    leader.send_signal(signal.SIGKILL)
    leader.wait(timeout=10)
    wait_for(
        "standby takes over",
        lambda: (
            live.api.get(_lease_kind(), "albctl-leader", "default")["spec"].get("holderIdentity")
            not in (None, holder)
        ),
        timeout=20,
    )
    live.apply(*app(live, healthcheck_path="/new-leader"))
    wait_for(
        "new leader applies",
        lambda: (
            next(t for t in owned(live.e2e)["tgs"] if t["Port"] == 30100)["HealthCheckPath"]
            == "/new-leader"
        ),
        timeout=30,
    )
    assert "msg=applied" in logs[standby].read_text()
    # graceful shutdown releases the lease at once
    standby.send_signal(signal.SIGTERM)
    standby.wait(timeout=30)
    assert standby.returncode == 0
    assert not live.api.get(_lease_kind(), "albctl-leader", "default")["spec"].get("holderIdentity")
    assert "lease released" in logs[standby].read_text()


def _lease_kind() -> Any:
    from albctl.kube.api import LEASE

    return LEASE


def _albctl(lv: Live, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "albctl.cli", *args],
        env=lv.e2e.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_review_commands_status_events_history_and_live_plan(live: Live) -> None:
    proc = live.start_controller(resync="600s")
    live.apply(*app(live))
    state = wait_for("the ALB", lambda: converged(live))
    wait_for(
        "LoadBalancerGroup status",
        lambda: live.api.get(LOAD_BALANCER_GROUP, "web").get("status", {}).get("loadBalancer"),
    )
    k = ("--kubeconfig", str(live.kubeconfig))
    out = _albctl(live, "status", *k)
    assert out.returncode == 0 and "web" in out.stdout and state["lb"]["DNSName"] in out.stdout
    data = json.loads(_albctl(live, "status", "web", *k, "-o", "json").stdout)
    [g] = data["groups"]
    assert g["name"] == "web" and g["memberCount"] == 2
    tree = g["loadBalancerTree"]
    assert tree["loadBalancer"]["arn"] == state["lb"]["LoadBalancerArn"]
    assert {
        t["name"] for li in tree["listeners"] for r in li["rules"] for t in r["targetGroups"]
    } == {t["TargetGroupName"] for t in owned(live.e2e)["tgs"]}
    text = _albctl(live, "status", "web", *k).stdout
    assert "web/front" in text and "Active" in text and "HTTP:80" in text
    ev = json.loads(_albctl(live, "events", "--group", "web", *k, "-o", "json").stdout)["events"]
    assert ev and all(set(e) == {"time", "type", "reason", "object", "message"} for e in ev)
    assert {e["object"] for e in ev} >= {"LoadBalancerGroup/web", "Ingress/web/front"}
    assert [e["time"] for e in ev] == sorted(e["time"] for e in ev)
    only = json.loads(
        _albctl(
            live, "events", "--ingress", "web/api", "--reason", "Reconciled", *k, "-o", "json"
        ).stdout
    )["events"]
    assert only and all(
        e["object"] == "Ingress/web/api" and e["reason"] == "Reconciled" for e in only
    )
    wait_for(
        "a successful reconcile in history",
        lambda: (
            live.api.get(LOAD_BALANCER_GROUP, "web")["status"]["history"][0]["result"]
            == "Succeeded"
        ),
    )
    hist = json.loads(_albctl(live, "history", "web", *k, "-o", "json").stdout)["history"]
    assert hist[0]["result"] == "Succeeded" and any(
        c["kind"] == "LoadBalancer" for h in hist for c in h["changes"]
    )
    assert "Succeeded" in _albctl(live, "history", "web", *k).stdout
    # the live plan: nothing to do, then a pending change, with no write anywhere
    plan = _albctl(live, "plan", *k, "-o", "json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout) == {"changes": []}
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    live.apply(*app(live, healthcheck_path="/preview"))
    live.e2e.start_recording()
    rv_before = live.api.list(INGRESS)["metadata"]["resourceVersion"]
    plan = _albctl(live, "plan", *k, "--group", "web", "-o", "json", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    changes = json.loads(plan.stdout)["changes"]
    assert [(c["action"], c["kind"]) for c in changes] == [("update", "TargetGroup")]
    assert changes[0]["details"]["health_check"] == {"path": "/preview"}
    if live.e2e.recording:
        assert live.e2e.mutating(live.e2e.recorded_calls()) == {}
    assert live.api.list(INGRESS)["metadata"]["resourceVersion"] == rv_before  # no Kubernetes write
    bad = _albctl(live, "status", "--kubeconfig", str(live.e2e.tmp / "nope"))
    assert bad.returncode == 1 and "Kubernetes configuration" in bad.stderr


def test_drift_made_by_hand_is_corrected_and_reported(live: Live) -> None:
    live.start_controller(resync="2s")
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    time.sleep(1)
    tg = next(t for t in owned(live.e2e)["tgs"] if t["Port"] == 30100)
    live.e2e.clients.elbv2.modify_target_group(
        TargetGroupArn=tg["TargetGroupArn"], HealthCheckPath="/by-hand"
    )
    wait_for("drift corrected", lambda: _tg_path(live, tg["TargetGroupArn"]) == "/")
    ev = wait_for(
        "DriftCorrected event",
        lambda: [
            e
            for e in live.events("DriftCorrected")
            if e["involvedObject"]["kind"] == "LoadBalancerGroup"
        ],
    )
    assert "TargetGroup" in ev[0]["message"] and "health_check" in ev[0]["message"]
    # the history is written after the reconcile's Events
    wait_for(
        "the correction in history",
        lambda: any(
            c["kind"] == "TargetGroup" and c["action"] == "update"
            for h in live.api.get(LOAD_BALANCER_GROUP, "web")["status"]["history"]
            for c in h["changes"]
        ),
    )


def _tg_path(lv: Live, arn: str) -> str:
    return str(
        lv.e2e.clients.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0][
            "HealthCheckPath"
        ]
    )


def test_leaving_the_group_or_the_class_cleans_up_like_a_delete(live: Live) -> None:
    live.start_controller()
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    # api moves to its own group: a second ALB, and its rule leaves the first one
    docs = app(live)
    docs[-1]["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"] = "api-only"
    live.apply(*docs)
    wait_for("two ALBs", lambda: len(owned(live.e2e)["lbs"]) == 2)
    web_lb = next(
        lb
        for lb in owned(live.e2e)["lbs"]
        if lb["DNSName"]
        == live.ingress("web", "front")["status"]["loadBalancer"]["ingress"][0]["hostname"]
    )
    listener = live.e2e.clients.elbv2.describe_listeners(LoadBalancerArn=web_lb["LoadBalancerArn"])[
        "Listeners"
    ][0]
    wait_for(
        "api rule gone from web",
        lambda: (
            len(
                [
                    r
                    for r in live.e2e.clients.elbv2.describe_rules(
                        ListenerArn=listener["ListenerArn"]
                    )["Rules"]
                    if not r["IsDefault"]
                ]
            )
            == 1
        ),
    )
    assert (
        "albctl.io/ingress-group" in live.ingress("web", "api")["metadata"]["finalizers"]
    )  # still ours
    # api moves to another controller's class: its ALB goes away and the finalizer is removed
    docs[-1]["spec"]["ingressClassName"] = "nginx"
    live.apply(ingress_class("nginx", controller="k8s.io/ingress-nginx"), *docs)
    wait_for("api-only ALB deleted", lambda: len(owned(live.e2e)["lbs"]) == 1, timeout=40)
    wait_for(
        "finalizer removed",
        lambda: (
            "albctl.io/ingress-group"
            not in (live.ingress("web", "api")["metadata"].get("finalizers") or [])
        ),
    )
    assert not live.ingress("web", "api").get("status", {}).get("loadBalancer", {}).get("ingress")
    wait_for("LoadBalancerGroup api-only deleted", lambda: _lbg_gone(live, "api-only"))


def test_repeated_failures_are_one_aggregated_event_and_metrics_are_served(live: Live) -> None:
    metrics_port = _free_port()
    health_port = _free_port()
    live.start_controller(
        "--metrics-bind-address",
        f"127.0.0.1:{metrics_port}",
        "--health-probe-bind-address",
        f"127.0.0.1:{health_port}",
        resync="1s",
    )
    docs = app(live)
    docs[-1]["metadata"]["annotations"]["alb.ingress.kubernetes.io/success-codes"] = "ok"
    live.apply(*docs)
    wait_for("the ALB with the valid member", lambda: converged(live, n_rules=1))
    wait_for(
        "repeats counted",
        lambda: (
            max(
                (
                    e.get("count", 1)
                    for e in live.events("InvalidIngress")
                    if e["involvedObject"]["name"] == "api"
                ),
                default=0,
            )
            >= 3
        ),
        timeout=30,
    )
    same = [e for e in live.events("InvalidIngress") if e["involvedObject"]["name"] == "api"]
    assert len(same) == 1  # one object, count bumped
    import urllib.request

    text = (
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        .read()
        .decode()
    )
    assert 'albctl_reconcile_total{result="PartiallyApplied"}' in text
    assert 'albctl_aws_api_calls_total{operation="CreateLoadBalancer",service="elbv2"} 1.0' in text
    assert 'albctl_last_reconcile_success_timestamp_seconds{group="web"}' in text
    assert 'albctl_invalid_ingresses{group="web"} 1.0' in text
    assert (
        urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz", timeout=5).status == 200
    )
    assert urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=5).status == 200


def test_events_watch_follows_new_events(live: Live) -> None:
    live.start_controller(resync="600s")
    live.apply(*app(live))
    wait_for("the ALB", lambda: converged(live))
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "albctl.cli",
            "events",
            "-w",
            "--reason",
            "InvalidIngress",
            "-o",
            "json",
            "--kubeconfig",
            str(live.kubeconfig),
        ],
        env=live.e2e.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)
        docs = app(live)
        docs[-1]["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthy-threshold-count"] = (
            "99"
        )
        live.apply(*docs)
        assert follower.stdout is not None
        line = follower.stdout.readline()
        event = json.loads(line)
        assert event["reason"] == "InvalidIngress" and "healthy-threshold-count" in event["message"]
    finally:
        follower.kill()


def test_unreachable_cluster_gives_a_clear_message(e2e: E2E) -> None:
    port = _free_port()
    kubeconfig = e2e.tmp / "dead.kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "dead",
                "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
            }
        )
    )
    for args in (["status"], ["events"], ["history", "web"], ["plan", "--cluster-name", "c"]):
        proc = subprocess.run(
            [sys.executable, "-m", "albctl.cli", *args, "--kubeconfig", str(kubeconfig)],
            env=e2e.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, (args, proc.stderr)
        assert "cannot reach the Kubernetes API" in proc.stderr, (args, proc.stderr)


def _permission_of(method: str, path: str) -> tuple[str, str, str] | None:
    """(api group, resource[/subresource], verb) of one API request; None for a discovery
    request (``/apis/<group>/<version>``: allowed to every user by the default
    ``system:discovery`` ClusterRole, not the chart's to grant)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(path)
    segs = [p for p in parts.path.split("/") if p]
    if segs[0] == "api":
        group, rest = "", segs[2:]
    else:
        group, rest = segs[1], segs[3:]
    if not rest:
        return None
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    watch = parse_qs(parts.query).get("watch", [""])[0] in ("true", "1")
    verb = {
        "GET": "get" if named else ("watch" if watch else "list"),
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }[method]
    return group, resource, verb


def test_controller_uses_exactly_the_declared_permissions(live: Live) -> None:
    from albctl.kube.permissions import CLUSTER_PERMISSIONS, NAMESPACED_PERMISSIONS

    # sharded: the shard Leases and the member Lease use every Lease verb declared (list,
    # delete); a single leader uses a subset of them (get, create, update)
    proc = live.start_controller(
        "--leader-elect",
        "--leader-election-namespace",
        "default",
        "--lease-duration",
        "3s",
        "--shards",
        "2",
        resync="1s",
    )
    docs = app(live)
    docs[-1]["metadata"]["annotations"]["alb.ingress.kubernetes.io/success-codes"] = (
        "ok"  # repeated Warning
    )
    # a TLS Secret named by an Ingress: read with get
    docs[-1]["spec"]["tls"] = [{"hosts": ["www.example.com"], "secretName": "www-tls"}]
    docs.append(tls_secret("www-tls", "web", ["www.example.com"]))
    live.apply(*docs)
    wait_for("the ALB", lambda: converged(live, n_rules=1))
    wait_for(
        "a repeated event",
        lambda: any(e.get("count", 1) > 1 for e in live.events("InvalidIngress")),
        timeout=30,
    )
    # a TargetGroupBinding's whole life: finalizer, status, release
    arn = external_tg(live, "tf-audit")
    live.apply(
        service("bound", "web", node_port=None, target_port=8080),
        endpoint_slice("bound", ["10.0.1.50"], "web", port=8080),
        target_group_binding("bound", "web", "bound", 80, arn=arn),
    )
    wait_for("binding Ready", lambda: (binding_ready(live, "web", "bound") or {}).get("status"))
    live.api.delete(TARGET_GROUP_BINDING, "bound", "web")
    wait_for("binding gone", lambda: _gone_binding(live, "web", "bound"))
    # a pod with albctl's readiness gate (written by hand) for no target group of albctl's:
    # the gate is set True through pods/status
    gated = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "gated", "namespace": "web", "labels": {"app": "none"}},
        "spec": {
            "containers": [{"name": "app", "image": "nginx"}],
            "readinessGates": [{"conditionType": "target-health.albctl.io/k8s-web-none-0"}],
        },
    }
    live.api.create(POD, gated, "web")
    wait_for(
        "the gate set True",
        lambda: any(
            c["type"].startswith("target-health.albctl.io/") and c["status"] == "True"
            for c in live.api.get(POD, "gated", "web")["status"].get("conditions") or []
        ),
    )
    # a Gateway's whole life: its class accepted, finalizer, Gateway and route status, the
    # namespaces and ReferenceGrants it reads, its deletion
    live.apply(
        gateway_class(),
        gateway("gw", "web", listener("http", from_="Selector")),
        reference_grant("web", "other"),
        http_route(
            "r",
            "web",
            {"backendRefs": [backend_ref("api")]},
            parents=[{"name": "gw", "namespace": "web"}],
        ),
    )
    gw_doc = gateway("gw", "web", listener("http", from_="Selector"))
    gw_doc["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"] = {
        "matchLabels": {"kubernetes.io/metadata.name": "web"}
    }
    grpc = http_route(
        "calls",
        "web",
        {"backendRefs": [backend_ref("api")]},
        parents=[{"name": "gw", "namespace": "web"}],
    )
    grpc["kind"] = "GRPCRoute"  # on an HTTP listener: not allowed, and its status says so
    live.apply(gw_doc, grpc)
    wait_for(
        "the GRPCRoute's status",
        lambda: (live.api.get(GRPC_ROUTE, "calls", "web").get("status") or {}).get("parents"),
        timeout=40,
    )
    wait_for(
        "the route accepted",
        lambda: any(
            c["type"] == "Accepted" and c["status"] == "True"
            for p in (live.api.get(HTTP_ROUTE, "r", "web").get("status") or {}).get("parents", [])
            for c in p["conditions"]
        ),
        timeout=40,
    )
    live.api.delete(GATEWAY, "gw", "web")
    live.api.delete(INGRESS, "api", "web")
    live.api.delete(INGRESS, "front", "web")
    wait_for(
        "cleanup",
        lambda: owned(live.e2e) == {"lbs": [], "tgs": [], "sgs": []} and _lbg_gone(live, "web"),
        timeout=40,
    )
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    used = {
        perm
        for ua, m, p in live.sandbox.audit
        if ua.startswith("albctl/") and (perm := _permission_of(m, p)) is not None
    }
    declared = {
        (perm.api_group, perm.resource, verb)
        for perm in (*CLUSTER_PERMISSIONS, *NAMESPACED_PERMISSIONS)
        for verb in perm.verbs
    }
    assert used - declared == set(), f"used but not declared: {sorted(used - declared)}"
    assert declared - used == set(), f"declared but never used: {sorted(declared - used)}"


def test_watch_namespace_limits_what_the_controller_sees(live: Live) -> None:
    live.start_controller("--watch-namespace", "web")
    other = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}},
        service("svc", "elsewhere", node_port=30400),
        ingress(
            "ignored",
            "elsewhere",
            scheme="internet-facing",
            rules=[rule(None, ("/", "Prefix", backend("svc", 80)))],
        ),
    ]
    live.apply(*app(live), *other)
    wait_for("the ALB of web", lambda: converged(live))
    time.sleep(2)
    assert len(owned(live.e2e)["lbs"]) == 1
    assert not live.ingress("elsewhere", "ignored")["metadata"].get("finalizers")


def test_deleting_the_ingress_class_by_mistake_keeps_the_load_balancer(live: Live) -> None:
    from albctl.kube.api import INGRESS_CLASS

    live.start_controller(resync="2s")
    live.apply(*app(live))
    state = wait_for("the ALB", lambda: converged(live))
    live.api.delete(INGRESS_CLASS, "alb")
    wait_for(
        "InvalidIngress events",
        lambda: (
            {
                e["involvedObject"]["name"]
                for e in live.events("InvalidIngress")
                if "IngressClass 'alb' does not exist" in e["message"]
            }
            >= {"front", "api"}
        ),
    )
    time.sleep(2.5)  # a resync later, still everything in place
    after = converged(live)
    assert after["lb"]["LoadBalancerArn"] == state["lb"]["LoadBalancerArn"]
    assert {r["RuleArn"] for r in after["rules"]} == {r["RuleArn"] for r in state["rules"]}
    assert "albctl.io/ingress-group" in live.ingress("web", "front")["metadata"]["finalizers"]
    status = live.api.get(LOAD_BALANCER_GROUP, "web")["status"]
    assert {m["state"] for m in status["members"]} == {"Invalid"}
    live.apply(
        ingress_class()
    )  # the class is back: the members are active again, nothing recreated
    wait_for(
        "members active",
        lambda: (
            {m["state"] for m in live.api.get(LOAD_BALANCER_GROUP, "web")["status"]["members"]}
            == {"Active"}
        ),
    )
    assert converged(live)["lb"]["LoadBalancerArn"] == state["lb"]["LoadBalancerArn"]


# --- TargetGroupBinding ---------------------------------------------------------------------


def external_tg(lv: Live, name: str, target_type: str = "ip") -> str:
    """A target group made outside albctl (as Terraform would): no albctl tags."""
    arn: str = lv.e2e.clients.elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=80,
        VpcId=lv.e2e.seeded.vpc_id,
        TargetType=target_type,
        HealthCheckPath="/ready",
    )["TargetGroups"][0]["TargetGroupArn"]
    return arn


def registered(lv: Live, arn: str) -> set[tuple[str, int]]:
    health = lv.e2e.clients.elbv2.describe_target_health(TargetGroupArn=arn)[
        "TargetHealthDescriptions"
    ]
    return {(h["Target"]["Id"], h["Target"]["Port"]) for h in health}


def binding_ready(lv: Live, ns: str, name: str) -> dict[str, Any] | None:
    """The binding's Ready condition, once the status is for the current generation."""
    obj = lv.api.get(TARGET_GROUP_BINDING, name, ns)
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"]["generation"]:
        return None
    return next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)


def shop_binding_docs(ips: list[str]) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        service("web", "shop", node_port=None, target_port=8080),
        endpoint_slice("web", ips, "shop", port=8080),
    ]


def test_target_group_binding_registers_follows_endpoints_and_releases_on_delete(
    live: Live,
) -> None:
    live.start_controller(resync="600s")  # everything below is driven by watch events
    arn = external_tg(live, "tf-shop")
    live.apply(
        *shop_binding_docs(["10.0.1.10", "10.0.1.11"]),
        target_group_binding("web", "shop", "web", 80, tg_name="tf-shop"),
    )
    ips = {("10.0.1.10", 8080), ("10.0.1.11", 8080)}
    wait_for("targets registered", lambda: registered(live, arn) == ips)
    ready = wait_for(
        "Ready=True",
        lambda: (c := binding_ready(live, "shop", "web")) and c["status"] == "True" and c,
    )
    assert ready["reason"] == "TargetsRegistered" and "2 ip target(s)" in ready["message"]
    obj = live.api.get(TARGET_GROUP_BINDING, "web", "shop")
    assert obj["status"]["targetGroupARN"] == arn
    assert "albctl.io/target-group-binding" in obj["metadata"]["finalizers"]

    # scale: the EndpointSlice change alone moves the targets
    live.apply(endpoint_slice("web", ["10.0.1.11", "10.0.2.20", "10.0.2.21"], "shop", port=8080))
    scaled = {("10.0.1.11", 8080), ("10.0.2.20", 8080), ("10.0.2.21", 8080)}
    wait_for("targets follow the endpoints", lambda: registered(live, arn) == scaled)
    wait_for(
        "status counts 3",
        lambda: (
            "3 ip target(s)" in ((binding_ready(live, "shop", "web") or {}).get("message") or "")
        ),
    )

    # delete: every target deregistered, then the finalizer goes and so does the object
    live.api.delete(TARGET_GROUP_BINDING, "web", "shop")
    wait_for("binding gone", lambda: _gone_binding(live, "shop", "web"))
    assert registered(live, arn) == set()
    tg = live.e2e.clients.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/ready"  # the target group itself is untouched


def _gone_binding(lv: Live, ns: str, name: str) -> bool:
    try:
        lv.api.get(TARGET_GROUP_BINDING, name, ns)
    except NotFound:
        return True
    return False


def test_two_bindings_on_one_target_group_the_older_keeps_it(live: Live) -> None:
    live.start_controller(resync="600s")
    arn = external_tg(live, "tf-shared")
    live.apply(
        *shop_binding_docs(["10.0.1.10"]),
        service("api", "shop", node_port=None, target_port=8080),
        endpoint_slice("api", ["10.0.3.30"], "shop", port=8080),
        target_group_binding("first", "shop", "web", 80, tg_name="tf-shared"),
    )
    wait_for("first registered", lambda: registered(live, arn) == {("10.0.1.10", 8080)})
    time.sleep(1.1)  # creation timestamps have a resolution of one second
    live.apply(target_group_binding("second", "shop", "api", 80, arn=arn))
    cond = wait_for(
        "second refused",
        lambda: (c := binding_ready(live, "shop", "second")) and c["status"] == "False" and c,
    )
    assert cond["reason"] == "TargetGroupInUse"
    assert "already bound by TargetGroupBinding/shop/first" in cond["message"]
    event = wait_for(
        "FailedBinding event",
        lambda: next(
            (e for e in live.events("FailedBinding") if e["involvedObject"]["name"] == "second"),
            None,
        ),
    )
    assert event["type"] == "Warning" and "spec.targetGroupARN" in event["message"]
    assert registered(live, arn) == {("10.0.1.10", 8080)}  # nothing of the second
    second = live.api.get(TARGET_GROUP_BINDING, "second", "shop")
    assert "albctl.io/target-group-binding" not in (second["metadata"].get("finalizers") or [])

    # the first goes away: it releases its targets, and the second takes the target group over
    live.api.delete(TARGET_GROUP_BINDING, "first", "shop")
    wait_for("second holds it", lambda: registered(live, arn) == {("10.0.3.30", 8080)})
    wait_for(
        "second Ready",
        lambda: (binding_ready(live, "shop", "second") or {}).get("status") == "True",
    )


def test_target_group_binding_networking_rules_follow_the_targets(live: Live) -> None:
    """spec.networking: the rule is authorized on the pods' security group (tagged as
    albctl's), and revoked when the binding goes; a rule someone else added stays."""
    ec2 = live.e2e.clients.ec2
    vpc = live.e2e.seeded.vpc_id
    pods = ec2.create_security_group(GroupName="pods", Description="pods", VpcId=vpc)["GroupId"]
    lb = ec2.create_security_group(GroupName="tf-lb", Description="lb", VpcId=vpc)["GroupId"]
    subnet = live.e2e.seeded.private_subnets[0]  # 10.0.200.0/24
    ec2.create_network_interface(SubnetId=subnet, Groups=[pods], PrivateIpAddress="10.0.200.10")
    ec2.authorize_security_group_ingress(  # someone else's: never touched
        GroupId=pods,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            }
        ],
    )
    arn = external_tg(live, "tf-net")
    live.start_controller(resync="600s")
    networking = {
        "ingress": [
            {
                "from": [{"securityGroup": {"groupID": lb}}],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ]
    }
    live.apply(
        *shop_binding_docs(["10.0.200.10"]),
        target_group_binding("web", "shop", "web", 80, arn=arn, networking=networking),
    )

    def ingress_rules() -> set[tuple[int, str, bool]]:
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [pods]}])
        return {
            (
                r["FromPort"],
                (r.get("ReferencedGroupInfo") or {}).get("GroupId") or r.get("CidrIpv4", ""),
                any(t["Key"] == "albctl.io/target-group-binding" for t in r.get("Tags", [])),
            )
            for r in rules["SecurityGroupRules"]
            if not r["IsEgress"]
        }

    wait_for("targets", lambda: registered(live, arn) == {("10.0.200.10", 8080)})
    wait_for(
        "the rule on the pods' group",
        lambda: ingress_rules() == {(8080, lb, True), (22, "10.0.0.0/8", False)},
    )
    live.api.delete(TARGET_GROUP_BINDING, "web", "shop")
    wait_for("binding gone", lambda: _gone_binding(live, "shop", "web"))
    wait_for("the rule revoked", lambda: ingress_rules() == {(22, "10.0.0.0/8", False)})
