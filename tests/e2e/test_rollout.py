"""A rolling update in a namespace opted in to readiness gates, end to end: ``albctl run`` with
its webhooks, the sandbox API server, a moto server, and :mod:`tests.e2e.kubelet` playing the
kubelet and the EndpointSlice controller as Kubernetes does (an endpoint is ``serving`` only
when its pod is Ready, so a pod waiting on albctl's gate is ``ready: false, serving: false``).

The rollout is a Deployment's with ``maxSurge: 1, maxUnavailable: 0``: one new pod at a time,
an old one deleted only once the new one is Ready. It must complete (a gated pod is registered
from its ``ContainersReady`` condition, or no gate ever turns True), with at least 3 targets
registered at every moment of the recorded AWS calls.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest

from albctl.kube.api import ENDPOINT_SLICE as ENDPOINT_SLICE_KIND
from albctl.model.readiness import INJECT_LABELS
from tests.e2e.conftest import E2E, _post, owned
from tests.e2e.kubelet import Kubelet
from tests.e2e.test_controller import Live, wait_for
from tests.e2e.test_webhooks import (
    GATE,
    Hooks,
    _create_pod,
    _gate,
    _namespace,
    _ready,
    _registered,
    _web,
    hooks,
    live,
)
from tests.helpers import ingress_class

__all__ = ["hooks", "live"]  # the fixtures, shared with test_webhooks

pytestmark = pytest.mark.e2e

INITIAL = {
    "state": "initial",
    "reason": "Elb.InitialHealthChecking",
    "description": "Initial health checks in progress",
}


def _recorded_registrations(e2e: E2E) -> list[tuple[str, set[str]]]:
    """albctl's RegisterTargets / DeregisterTargets calls since start_recording, in order,
    with the target ids each names (as moto's recorder kept the requests)."""
    _post(f"{e2e.endpoint}/moto-api/recorder/stop-recording")
    url = f"{e2e.endpoint}/moto-api/recorder/download-recording"
    data = urllib.request.urlopen(url, timeout=10).read().decode()
    out: list[tuple[str, set[str]]] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
        if "albctl/" not in headers.get("user-agent", ""):
            continue
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        q = parse_qs(body)
        action = (q.get("Action") or [""])[0]
        if action in ("RegisterTargets", "DeregisterTargets"):
            ids = {
                v[0] for k, v in q.items() if k.startswith("Targets.member.") and k.endswith(".Id")
            }
            out.append((action, ids))
    return out


@dataclass
class Timeline:
    """Samples, every 0.1 s, of the targets registered (not draining) and the gates."""

    live: Live
    tg: str
    pods: dict[str, str] = field(default_factory=dict)  # name -> ip, of the pods to watch
    samples: list[tuple[float, set[str], dict[str, str]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                reg = _registered(self.live, self.tg)
                gates = {
                    n: (_gate(self.live, "shop", n) or {}).get("status", "")
                    for n in list(self.pods)
                }
            except Exception:  # a pod gone between the two reads: next sample
                continue
            self.samples.append((time.monotonic(), reg, gates))

    def first(self, pred: Any) -> float:
        return next(t for t, reg, gates in self.samples if pred(reg, gates))

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="timeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _pod_name(p: dict[str, Any]) -> str:
    return str(p["metadata"]["name"])


def test_a_rolling_update_of_gated_pods_completes_with_three_targets_throughout(
    live: Live, hooks: Hooks
) -> None:
    start = time.monotonic()
    live.apply(
        _namespace("shop", **{INJECT_LABELS[1]: "enabled"}),
        ingress_class(),
        *_web("shop", "shop.example.com"),
    )
    wait_for("the target group", lambda: len(owned(live.e2e)["tgs"]) == 1)
    [tg] = [t["TargetGroupName"] for t in owned(live.e2e)["tgs"]]
    kubelet = Kubelet(live.api, tick=0.1)
    kubelet.track_service("shop", "web", {"app": "web"}, 8080)
    kubelet.start()
    health: dict[str, Any] = {}
    try:
        # version 1: three pods, healthy at once (moto's answer), Ready
        old = []
        for i in range(3):
            p = _create_pod(live, "shop", app="web", version="v1")
            assert p["spec"]["readinessGates"] == [{"conditionType": GATE + tg}]
            kubelet.start_pod("shop", _pod_name(p), f"10.0.1.{20 + i}")
            old.append((_pod_name(p), f"10.0.1.{20 + i}"))
        wait_for("v1 Ready", lambda: all(_ready(live, "shop", n) for n, _ in old), timeout=60)
        assert _registered(live, tg) == {ip for _, ip in old}

        live.e2e.start_recording()
        timeline = Timeline(live, tg)
        timeline.start()
        healthy_at: dict[str, float] = {}
        new: list[tuple[str, str]] = []
        for i, (old_name, old_ip) in enumerate(old):
            ip = f"10.0.2.{20 + i}"
            health[ip] = INITIAL
            hooks.health(health)
            p = _create_pod(live, "shop", app="web", version="v2")
            name = _pod_name(p)
            timeline.pods[name] = ip
            kubelet.start_pod("shop", name, ip)
            # registered although its endpoint is ready: false, serving: false; gate False
            wait_for(f"{name} registered", lambda ip=ip: ip in _registered(live, tg))
            wait_for(
                f"{name} gate False while initial",
                lambda n=name: (
                    (_gate(live, "shop", n) or {}).get("reason") == "Elb.InitialHealthChecking"
                ),
            )
            assert not _ready(live, "shop", name)
            time.sleep(0.5)  # a little while initial: the gate stays False
            assert (_gate(live, "shop", name) or {}).get("status") == "False"
            healthy_at[name] = time.monotonic()
            del health[ip]
            hooks.health(health)  # moto's own answer from now on: healthy
            wait_for(f"{name} Ready", lambda n=name: _ready(live, "shop", n), timeout=60)
            # maxUnavailable 0: the old pod goes only once its replacement is Ready
            kubelet.terminate("shop", old_name)
            wait_for(f"{old_name} deregistered", lambda ip=old_ip: ip not in _registered(live, tg))
            kubelet.finish("shop", old_name)
            new.append((name, ip))
        time.sleep(0.3)
        timeline.stop()
        calls = _recorded_registrations(live.e2e)
        print(f"rollout of 3 pods: {time.monotonic() - start:.1f}s, {len(calls)} (de)registrations")

        # the rollout completed: the new pods are the targets, every gate True
        assert _registered(live, tg) == {ip for _, ip in new}
        assert all((_gate(live, "shop", n) or {}).get("status") == "True" for n, _ in new)
        # at no moment fewer than 3 targets, replaying albctl's calls in the order AWS got them
        targets = {ip for _, ip in old}
        counts = []
        for action, ids in calls:
            targets = targets | ids if action == "RegisterTargets" else targets - ids
            counts.append(len(targets))
        assert calls and min(counts) >= 3, (calls, counts)
        assert targets == {ip for _, ip in new}
        for (name, _), (_, old_ip) in zip(new, old, strict=True):
            true_at = timeline.first(lambda reg, gates, n=name: gates.get(n) == "True")
            # a gate turns True only after its target reports healthy
            assert true_at >= healthy_at[name]
            assert all(
                gates.get(name) != "True"
                for t, _, gates in timeline.samples
                if t < healthy_at[name]
            )
            # an old pod is deregistered only after its replacement's gate is True
            gone_at = timeline.first(lambda reg, gates, ip=old_ip: ip not in reg)
            assert gone_at > true_at
        assert not kubelet.errors, kubelet.errors
    finally:
        kubelet.stop()


def test_a_pod_whose_containers_are_not_ready_is_never_registered_until_they_are(
    live: Live, hooks: Hooks
) -> None:
    live.apply(
        _namespace("shop", **{INJECT_LABELS[0]: "enabled"}),  # LBC's label
        ingress_class(),
        *_web("shop", "shop.example.com"),
    )
    wait_for("the target group", lambda: len(owned(live.e2e)["tgs"]) == 1)
    [tg] = [t["TargetGroupName"] for t in owned(live.e2e)["tgs"]]
    kubelet = Kubelet(live.api, tick=0.1)
    kubelet.track_service("shop", "web", {"app": "web"}, 8080)
    kubelet.start()
    try:
        ok = _pod_name(_create_pod(live, "shop", app="web"))
        stuck = _pod_name(_create_pod(live, "shop", app="web"))
        kubelet.start_pod("shop", ok, "10.0.1.30")
        kubelet.start_pod("shop", stuck, "10.0.1.31", containers_ready=False)
        wait_for(f"{ok} Ready", lambda: _ready(live, "shop", ok), timeout=60)
        gate = wait_for(
            f"{stuck} gate False",
            lambda: (g := _gate(live, "shop", stuck)) and g.get("status") == "False" and g,
        )
        assert gate["reason"] == "Target.NotRegistered", gate
        assert "containers are not ready" in gate["message"]
        for _ in range(20):  # while its containers are not ready: never registered
            assert _registered(live, tg) == {"10.0.1.30"}
            assert (_gate(live, "shop", stuck) or {}).get("status") == "False"
            assert not _ready(live, "shop", stuck)
            time.sleep(0.1)

        # its containers become ready: registered (the pod change alone), healthy, Ready
        kubelet.set_containers_ready("shop", stuck, True)
        wait_for(f"{stuck} Ready", lambda: _ready(live, "shop", stuck), timeout=60)
        assert _registered(live, tg) == {"10.0.1.30", "10.0.1.31"}
        # and they stop being ready: the endpoint is not ready, the target deregistered
        kubelet.set_containers_ready("shop", stuck, False)
        wait_for(f"{stuck} deregistered", lambda: _registered(live, tg) == {"10.0.1.30"})
        assert not kubelet.errors, kubelet.errors
    finally:
        kubelet.stop()


def test_pods_behind_a_gateway_route_get_gates_and_are_registered_from_containers_ready(
    live: Live,
) -> None:
    from albctl.kube.api import GATEWAY
    from tests.e2e.test_webhooks import _start
    from tests.gateway_helpers import backend_ref, gateway, gateway_class, http_route
    from tests.helpers import endpoint_slice, service

    hooks = _start(live, "--default-target-type", "ip")
    svc = service("web", "shop", node_port=None, target_port=8080)
    svc["spec"]["selector"] = {"app": "web"}
    live.apply(
        _namespace("shop", **{INJECT_LABELS[1]: "enabled"}),
        gateway_class(),
        gateway("gw", "shop"),
        svc,
        endpoint_slice("web", [], "shop", port=8080),
        http_route("web", "shop", {"backendRefs": [backend_ref("web")]}, parents=[{"name": "gw"}]),
    )
    wait_for(
        "the gateway programmed",
        lambda: any(
            c["type"] == "Programmed" and c["status"] == "True"
            for c in (live.api.get(GATEWAY, "gw", "shop").get("status") or {}).get("conditions", [])
        ),
        timeout=60,
    )
    [tg] = [t["TargetGroupName"] for t in owned(live.e2e)["tgs"]]
    live.api.delete(ENDPOINT_SLICE_KIND, "web-a", "shop")  # the kubelet's slice takes over
    kubelet = Kubelet(live.api, tick=0.1)
    kubelet.track_service("shop", "web", {"app": "web"}, 8080)
    kubelet.start()
    try:
        hooks.health({"10.0.1.40": INITIAL})
        p = _create_pod(live, "shop", app="web")
        assert p["spec"]["readinessGates"] == [{"conditionType": GATE + tg}]
        name = _pod_name(p)
        kubelet.start_pod("shop", name, "10.0.1.40")
        wait_for("registered", lambda: _registered(live, tg) == {"10.0.1.40"}, timeout=60)
        wait_for(
            "gate False while initial",
            lambda: (_gate(live, "shop", name) or {}).get("reason") == "Elb.InitialHealthChecking",
        )
        hooks.health({})
        wait_for("Ready", lambda: _ready(live, "shop", name), timeout=60)
        assert not kubelet.errors, kubelet.errors
    finally:
        kubelet.stop()
