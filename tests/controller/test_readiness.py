"""The readiness gate step of the controller (queue key ``p:<target group>``), with the
cluster, AWS and time replaced by plain objects; and the pod informer that feeds it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from albctl.config import Settings
from albctl.controller.metrics import Metrics
from albctl.controller.readiness import ReadinessGates, Registered, registration_state, trim_pod
from albctl.kube.api import POD, Kind, KubeApi
from albctl.kube.informer import Informer
from albctl.manifests import ObjectSet
from albctl.model.binding import TargetKey
from albctl.model.objects import Pod
from albctl.model.readiness import TargetHealth, gate_targets, gate_type
from albctl.sandbox import SandboxServer
from tests.helpers import backend, ingress, ingress_class, objects, rule, service

SETTINGS = Settings(cluster_name="c1")


def _cluster() -> ObjectSet:
    svc = service("web", "shop", node_port=None, target_port=8080)
    svc["spec"]["selector"] = {"app": "web"}
    return objects(
        ingress_class(),
        svc,
        ingress(
            "web",
            "shop",
            target_type="ip",
            rules=[rule("shop.example.com", ("/", "Prefix", backend("web", 80)))],
        ),
    )


TG = next(iter(gate_targets("shop", {"app": "web"}, _cluster(), SETTINGS.build_settings())))
ARN = f"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{TG}/1"


def pod(name: str, ip: str, app: str = "web", containers_ready: bool = True, **status: str) -> Pod:
    """A gated pod as the kubelet reports it (``ContainersReady``), with its gate's status."""
    cr = {"type": "ContainersReady", "status": "True" if containers_ready else "False"}
    conds = [cr, *({"type": gate_type(TG), "status": s} for s in status.values())]
    return Pod.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
            "spec": {"readinessGates": [{"conditionType": gate_type(TG)}]},
            "status": {"podIP": ip, "conditions": conds},
        }
    )


class Snapshots:
    def __init__(self, objs: ObjectSet) -> None:
        self.objs = objs

    def objects(self) -> ObjectSet:
        return self.objs


class Writer:
    """Writes land in the cache at once (as the informer would bring them back)."""

    def __init__(self, snaps: Snapshots) -> None:
        self.snaps = snaps
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def set_pod_conditions(self, ns: str, name: str, conditions: list[dict[str, Any]]) -> bool:
        self.writes.append((f"{ns}/{name}", conditions[0]))
        pods = self.snaps.objs.pods
        for i, p in enumerate(pods):
            if p.key == f"{ns}/{name}":
                raw = p.model_dump(by_alias=True)
                others = [
                    c for c in raw["status"]["conditions"] if c["type"] != conditions[0]["type"]
                ]
                raw["status"]["conditions"] = [*others, conditions[0]]
                pods[i] = Pod.model_validate(raw)
        return True


class Reader:
    def __init__(self) -> None:
        self.states: dict[str, tuple[str, str]] = {}
        self.calls: list[tuple[str, list[TargetKey]]] = []

    def read(self, arn: str, targets: Sequence[TargetKey]) -> dict[TargetKey, TargetHealth]:
        self.calls.append((arn, list(targets)))
        return {
            t: TargetHealth(t[0], t[1], *self.states.get(t[0], ("healthy", ""))) for t in targets
        }


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, *pods: Pod, registered: set[str] | None = None) -> None:
        objs = _cluster()
        objs.pods.extend(pods)
        self.snaps = Snapshots(objs)
        self.writer = Writer(self.snaps)
        self.reader = Reader()
        self.clock = Clock()
        self.registered: Registered | None = (
            Registered(ARN, frozenset((ip, 8080) for ip in registered))
            if registered is not None
            else None
        )
        self.metrics = Metrics()
        self.gates = ReadinessGates(
            SETTINGS,
            self.snaps,  # type: ignore[arg-type]
            self.writer,  # type: ignore[arg-type]
            self.reader,  # type: ignore[arg-type]
            self.metrics,
            lambda: True,
            lambda name: self.registered if name == TG else None,
            clock=self.clock,
        )

    def status(self, name: str) -> tuple[str, str] | None:
        p = next(p for p in self.snaps.objs.pods if p.metadata.name == name)
        c = p.condition(gate_type(TG))
        return (c.status, c.reason or "") if c else None


def test_registered_targets_are_polled_with_backoff_until_healthy() -> None:
    rig = Rig(pod("a", "10.0.1.1"), pod("b", "10.0.1.2"), registered={"10.0.1.1", "10.0.1.2"})
    rig.reader.states = {
        "10.0.1.1": ("initial", "Elb.RegistrationInProgress"),
        "10.0.1.2": ("unhealthy", "Target.FailedHealthChecks"),
    }
    assert rig.gates.sync(TG) == 1.0
    assert rig.reader.calls == [(ARN, [("10.0.1.1", 8080), ("10.0.1.2", 8080)])]  # one call
    assert rig.status("a") == ("False", "Elb.RegistrationInProgress")
    assert rig.status("b") == ("False", "Target.FailedHealthChecks")
    # woken early (an event, our own write): no call before it is due
    rig.clock.now += 0.5
    assert rig.gates.sync(TG) == pytest.approx(0.5)
    assert len(rig.reader.calls) == 1
    # due: polled again, the interval grows
    rig.clock.now += 0.5
    writes = len(rig.writer.writes)
    assert rig.gates.sync(TG) == 1.5
    assert len(rig.writer.writes) == writes  # nothing changed: nothing written
    intervals = []
    for _ in range(6):
        rig.clock.now += 100
        intervals.append(rig.gates.sync(TG))
    assert intervals == [2.25, 3.375, 5.0625, 7.59375, 10.0, 10.0]
    # one becomes healthy: True; the other still polled
    rig.reader.states.pop("10.0.1.1")
    rig.clock.now += 100
    assert rig.gates.sync(TG) == 10.0
    assert rig.status("a") == ("True", "TargetHealthy")
    rig.clock.now += 100
    assert rig.gates.sync(TG) == 10.0
    assert rig.reader.calls[-1][1] == [("10.0.1.2", 8080)]  # only what still waits
    rig.reader.states.clear()
    rig.clock.now += 100
    assert rig.gates.sync(TG) is None
    assert rig.status("b") == ("True", "TargetHealthy")
    # every gate True: nothing polled any more
    calls = len(rig.reader.calls)
    assert rig.gates.sync(TG) is None
    assert len(rig.reader.calls) == calls
    assert rig.gates.pending_names() == set()


def test_a_new_target_resets_the_backoff() -> None:
    rig = Rig(pod("a", "10.0.1.1"), registered={"10.0.1.1"})
    rig.reader.states = {"10.0.1.1": ("initial", ""), "10.0.1.2": ("initial", "")}
    rig.gates.sync(TG)
    rig.clock.now += 100
    assert rig.gates.sync(TG) == 1.5
    rig.snaps.objs.pods.append(pod("b", "10.0.1.2"))
    rig.registered = Registered(ARN, frozenset({("10.0.1.1", 8080), ("10.0.1.2", 8080)}))
    rig.clock.now += 0.1  # not due, but a new target: polled at once, backoff from the start
    assert rig.gates.sync(TG) == 1.0
    assert len(rig.reader.calls) == 3


def test_pods_not_registered_yet_wait_without_aws_calls() -> None:
    rig = Rig(pod("a", "10.0.1.1"), registered=None)
    assert rig.gates.sync(TG) is None
    rig.registered = Registered(ARN, frozenset({("10.0.1.9", 8080)}))
    assert rig.gates.sync(TG) is None
    assert rig.reader.calls == [] and rig.writer.writes == []
    assert rig.gates.pending_names() == {TG}


def test_a_pod_whose_containers_are_not_ready_is_false_not_registered_without_aws_calls() -> None:
    rig = Rig(pod("starting", "10.0.1.1", containers_ready=False), registered={"10.0.1.2"})
    assert rig.gates.sync(TG) is None
    assert rig.status("starting") == ("False", "Target.NotRegistered")
    [(_, cond)] = rig.writer.writes
    assert "containers are not ready" in cond["message"] and "10.0.1.1" in cond["message"]
    assert rig.reader.calls == []
    assert rig.gates.pending_names() == {TG}  # it still waits: its containers may get ready
    # the same again: nothing written twice
    assert rig.gates.sync(TG) is None
    assert len(rig.writer.writes) == 1


def test_a_pod_that_is_no_longer_a_target_is_released() -> None:
    rig = Rig(pod("moved", "10.0.1.1", app="other"), registered={"10.0.1.1"})
    assert rig.gates.sync(TG) is None
    assert rig.status("moved") == ("True", "NotATarget")
    assert rig.reader.calls == []
    # the Ingress gone: the same for the pods that still match the Service
    rig = Rig(pod("a", "10.0.1.1"), registered=None)
    rig.snaps.objs.ingresses.clear()
    assert rig.gates.sync(TG) is None
    assert rig.status("a") == ("True", "NotATarget")


def test_true_gates_and_deleting_pods_are_left_alone() -> None:
    done = pod("done", "10.0.1.1", s="True")
    deleting = Pod.model_validate(
        {
            **pod("bye", "10.0.1.2").model_dump(by_alias=True),
            "metadata": {
                "name": "bye",
                "namespace": "shop",
                "labels": {"app": "web"},
                "deletionTimestamp": "2026-01-01T00:00:00Z",
            },
        }
    )
    rig = Rig(done, deleting, registered={"10.0.1.1", "10.0.1.2"})
    assert rig.gates.sync(TG) is None
    assert rig.reader.calls == [] and rig.writer.writes == []


def test_routing_of_pod_events() -> None:
    rig = Rig()
    raw = pod("a", "10.0.1.1").model_dump(by_alias=True, exclude_none=True)
    assert rig.gates.on_pod(None, raw) == {TG}
    # our own write (only the gate condition changed): nothing to do
    gate_false = {"type": gate_type(TG), "status": "False"}
    written = {
        **raw,
        "status": {**raw["status"], "conditions": [*raw["status"]["conditions"], gate_false]},
    }
    assert rig.gates.on_pod(raw, written) == set()
    assert registration_state(raw) == registration_state(written) == (True, False)
    relabelled = {**written, "metadata": {**written["metadata"], "labels": {"app": "x"}}}
    assert rig.gates.on_pod(written, relabelled) == {TG}
    assert rig.gates.on_pod(raw, None) == set()
    # containers stop being ready: the gate step looks again, and so does registration
    unready = pod("a", "10.0.1.1", containers_ready=False).model_dump(
        by_alias=True, exclude_none=True
    )
    assert rig.gates.on_pod(raw, unready) == {TG}
    assert registration_state(unready) == (False, False)
    leaving = {**raw, "metadata": {**raw["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert registration_state(leaving) == (True, True)
    assert registration_state(None) is None


def test_trim_pod_keeps_only_gated_pods_and_what_the_gates_need() -> None:
    full = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "a",
            "namespace": "shop",
            "labels": {"app": "web"},
            "annotations": {"big": "x" * 1000},
            "resourceVersion": "7",
            "managedFields": [{}],
        },
        "spec": {
            "containers": [{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"}]}],
            "readinessGates": [
                {"conditionType": "example.com/other"},
                {"conditionType": gate_type(TG)},
            ],
        },
        "status": {"podIP": "10.0.1.1", "conditions": [], "containerStatuses": [{}]},
    }
    assert trim_pod(full) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "a",
            "namespace": "shop",
            "labels": {"app": "web"},
            "resourceVersion": "7",
        },
        "spec": {"readinessGates": [{"conditionType": gate_type(TG)}]},
        "status": {"podIP": "10.0.1.1", "conditions": []},
    }
    full["spec"]["readinessGates"] = [{"conditionType": "example.com/other"}]
    assert trim_pod(full) is None


def test_the_pod_informer_caches_only_gated_pods(tmp_path: Path) -> None:
    with SandboxServer(bookmark_interval=0.2) as server:
        api = KubeApi(str(server.write_kubeconfig(tmp_path / "kubeconfig")))
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
        api.create(Kind("", "v1", "namespaces", False, "Namespace"), ns)

        def body(name: str, gated: bool) -> dict[str, Any]:
            spec: dict[str, Any] = {"containers": [{"name": "c", "image": "i"}]}
            if gated:
                spec["readinessGates"] = [{"conditionType": gate_type(TG)}]
            return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}

        api.create(POD, body("listed", True), "shop")
        api.create(POD, body("plain", False), "shop")
        seen: list[tuple[Any, Any]] = []
        inf = Informer(api, POD, transform=trim_pod)
        inf.handlers.append(lambda old, new: seen.append((old, new)))
        inf.start()
        try:
            assert inf.wait_synced(10)
            api.create(POD, body("watched", True), "shop")
            api.create(POD, body("plain-2", False), "shop")
            deadline = time.monotonic() + 10
            while inf.get("shop/watched") is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert {o["metadata"]["name"] for o in inf.list()} == {"listed", "watched"}
            assert "containers" not in inf.get("shop/listed")["spec"]  # type: ignore[index]
            api.delete(POD, "watched", "shop")
            while inf.get("shop/watched") is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert inf.get("shop/watched") is None
            names = [(o or n)["metadata"]["name"] for o, n in seen]
            assert "plain" not in names and "plain-2" not in names
        finally:
            inf.stop()
            api.close()
