"""What a real cluster's kubelet and EndpointSlice controller do for pods, for the sandbox
(which has neither): pod Ready from containers and readiness gates, and EndpointSlices from pods.

A background thread, every ``tick`` seconds:

* kubelet: for each started pod, ``ContainersReady`` is True, and ``Ready`` is True only when
  every readiness gate's condition is True (as the kubelet computes it); written through
  ``pods/status`` when it changes, with the pod IP.
* EndpointSlice controller: one slice per tracked Service with an endpoint per started pod that
  the Service selects: ``ready`` = pod Ready and not terminating, ``serving`` = containers
  ready, ``terminating`` once the pod is being terminated; ``targetRef`` names the pod.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from albctl.kube.api import ENDPOINT_SLICE, POD, KubeApi, NotFound


@dataclass
class _Pod:
    namespace: str
    name: str
    ip: str
    terminating: bool = False


@dataclass
class _Service:
    namespace: str
    name: str
    selector: dict[str, str]
    port: int
    port_name: str = "http"


@dataclass
class Kubelet:
    api: KubeApi
    tick: float = 0.2
    pods: dict[str, _Pod] = field(default_factory=dict)
    services: list[_Service] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slices: dict[str, Any] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def track_service(self, namespace: str, name: str, selector: dict[str, str], port: int) -> None:
        with self._lock:
            self.services.append(_Service(namespace, name, selector, port))

    def start_pod(self, namespace: str, name: str, ip: str) -> None:
        """The pod's containers are running and ready, at ``ip``."""
        with self._lock:
            self.pods[f"{namespace}/{name}"] = _Pod(namespace, name, ip)

    def terminate(self, namespace: str, name: str) -> None:
        """The pod is being terminated (graceful shutdown: still there, still serving)."""
        with self._lock:
            self.pods[f"{namespace}/{name}"].terminating = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.step()
            except Exception as exc:  # report, keep simulating
                self.errors.append(repr(exc))

    def step(self) -> None:
        with self._lock:
            pods = list(self.pods.values())
            services = list(self.services)
        live: dict[str, tuple[dict[str, Any], bool]] = {}
        for p in pods:
            try:
                obj = self.api.get(POD, p.name, p.namespace)
            except NotFound:
                continue
            ready = self._kubelet(p, obj)
            live[f"{p.namespace}/{p.name}"] = (obj, ready)
        for svc in services:
            self._slice(svc, pods, live)

    def _kubelet(self, p: _Pod, obj: dict[str, Any]) -> bool:
        gates = [g["conditionType"] for g in obj["spec"].get("readinessGates") or []]
        conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
        ready = all(conds.get(g, {}).get("status") == "True" for g in gates)
        want = {"ContainersReady": "True", "Ready": "True" if ready else "False"}
        status = obj.get("status") or {}
        if status.get("podIP") == p.ip and all(
            conds.get(t, {}).get("status") == s for t, s in want.items()
        ):
            return ready
        patch = {
            "status": {
                "phase": "Running",
                "podIP": p.ip,
                "podIPs": [{"ip": p.ip}],
                "conditions": [{"type": t, "status": s} for t, s in want.items()],
            }
        }
        self.api.strategic_patch(POD, p.name, patch, p.namespace, sub="status")
        return ready

    def _slice(
        self, svc: _Service, pods: list[_Pod], live: dict[str, tuple[dict[str, Any], bool]]
    ) -> None:
        endpoints = []
        for p in pods:
            got = live.get(f"{p.namespace}/{p.name}")
            if got is None or p.namespace != svc.namespace:
                continue
            obj, ready = got
            labels = obj["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in svc.selector.items()):
                continue
            endpoints.append(
                {
                    "addresses": [p.ip],
                    "conditions": {
                        "ready": ready and not p.terminating,
                        "serving": True,
                        "terminating": p.terminating,
                    },
                    "targetRef": {"kind": "Pod", "namespace": p.namespace, "name": p.name},
                }
            )
        body = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{svc.name}-sim",
                "namespace": svc.namespace,
                "labels": {"kubernetes.io/service-name": svc.name},
            },
            "addressType": "IPv4",
            "ports": [{"name": svc.port_name, "port": svc.port, "protocol": "TCP"}],
            "endpoints": endpoints,
        }
        key = f"{svc.namespace}/{svc.name}"
        if self._slices.get(key) == endpoints:
            return
        try:
            cur = self.api.get(ENDPOINT_SLICE, body["metadata"]["name"], svc.namespace)
            body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            self.api.replace(ENDPOINT_SLICE, body)
        except NotFound:
            self.api.create(ENDPOINT_SLICE, body, svc.namespace)
        self._slices[key] = endpoints
