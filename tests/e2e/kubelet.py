"""What a real cluster's kubelet and EndpointSlice controller do for pods, for the sandbox
(which has neither): pod conditions from containers and readiness gates, EndpointSlices from
pods. Every rule is Kubernetes' own, with the upstream code it comes from:

* kubelet, ``ContainersReady``: True when every container is ready (its readiness probe passes);
  kubernetes pkg/kubelet/status/generate.go ``GenerateContainersReadyCondition``. Here a test
  says when a pod's containers are ready (:meth:`Kubelet.start_pod`,
  :meth:`Kubelet.set_containers_ready`).
* kubelet, ``Ready``: ``GeneratePodReadyCondition`` in the same file: False (reason
  ``ContainersNotReady``) while the containers are not ready; otherwise False (reason
  ``ReadinessGatesNotReady``) while any readiness gate's condition is missing or not True;
  True only when both hold. The kubelet writes them through ``pods/status``
  (pkg/kubelet/status/status_manager.go), with the pod IP it assigned
  (``status.podIP``/``podIPs``) and phase ``Running``.
* EndpointSlice controller, endpoint conditions: pkg/controller/endpointslice/utils.go
  ``podToEndpoint``: ``serving = podutil.IsPodReady(pod)`` (the pod's Ready condition, which a
  pending readiness gate holds False), ``terminating = pod.DeletionTimestamp != nil``,
  ``ready = service.Spec.PublishNotReadyAddresses || (serving && !terminating)``; ``targetRef``
  names the pod (kind, namespace, name, uid), ``nodeName`` from the pod's spec.
* EndpointSlice controller, membership: staging/src/k8s.io/endpointslice/utils.go
  ``ShouldPodBeInEndpoints(pod, includeTerminating=true)``: a pod with no IP yet, or in phase
  ``Succeeded``/``Failed``, is left out; terminating pods stay in (with ``terminating: true``)
  until they are gone; only pods of the Service's namespace that its selector picks
  (pkg/controller/endpointslice/endpointslice_controller.go ``syncService``). The slice is
  labelled ``kubernetes.io/service-name`` (discovery/v1 ``LabelServiceName``) and managed-by
  ``endpointslice-controller.k8s.io``.
* Graceful deletion: a pod deleted with a grace period keeps existing, with
  ``deletionTimestamp``, until the kubelet has stopped its containers and deletes it with grace
  period 0 (pkg/registry/core/pod/strategy.go ``CheckGracefulDelete``; the kubelet's
  ``status_manager`` ``syncPod`` -> ``canBeDeleted``). The sandbox deletes a pod at once, so
  this kubelet holds each pod it runs with a finalizer of its own, which :meth:`Kubelet.finish`
  removes: between :meth:`Kubelet.terminate` (the DELETE) and :meth:`Kubelet.finish`, the pod
  is terminating exactly as on a real node.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from albctl.kube.api import ENDPOINT_SLICE, POD, KubeApi, NotFound

# held on each started pod until its containers have stopped (see the module docstring)
FINALIZER = "e2e.albctl.io/kubelet"


@dataclass
class _Pod:
    namespace: str
    name: str
    ip: str
    containers_ready: bool = True


@dataclass
class _Service:
    namespace: str
    name: str
    selector: dict[str, str]
    port: int
    port_name: str = "http"
    publish_not_ready: bool = False


def ready_condition(containers_ready: bool, gates: list[str], conds: dict[str, Any]) -> str:
    """The pod's Ready status as the kubelet computes it (``GeneratePodReadyCondition``)."""
    if not containers_ready:
        return "False"
    ok = all(conds.get(g, {}).get("status") == "True" for g in gates)
    return "True" if ok else "False"


def pod_endpoint(obj: dict[str, Any], ip: str, publish_not_ready: bool) -> dict[str, Any]:
    """The endpoint of one pod (``podToEndpoint``)."""
    conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
    serving = conds.get("Ready", {}).get("status") == "True"
    terminating = bool(obj["metadata"].get("deletionTimestamp"))
    meta = obj["metadata"]
    ep: dict[str, Any] = {
        "addresses": [ip],
        "conditions": {
            "ready": publish_not_ready or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": meta["namespace"],
            "name": meta["name"],
            "uid": meta.get("uid"),
        },
    }
    if obj["spec"].get("nodeName"):
        ep["nodeName"] = obj["spec"]["nodeName"]
    return ep


def in_endpoints(obj: dict[str, Any]) -> bool:
    """``ShouldPodBeInEndpoints(pod, includeTerminating=true)``."""
    status = obj.get("status") or {}
    return bool(status.get("podIP")) and status.get("phase") not in ("Succeeded", "Failed")


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

    def track_service(
        self,
        namespace: str,
        name: str,
        selector: dict[str, str],
        port: int,
        publish_not_ready: bool = False,
    ) -> None:
        with self._lock:
            self.services.append(
                _Service(namespace, name, selector, port, publish_not_ready=publish_not_ready)
            )

    def start_pod(self, namespace: str, name: str, ip: str, containers_ready: bool = True) -> None:
        """The pod runs on this node at ``ip``; its containers are ready or not yet."""
        self.api.strategic_patch(POD, name, {"metadata": {"finalizers": [FINALIZER]}}, namespace)
        with self._lock:
            self.pods[f"{namespace}/{name}"] = _Pod(namespace, name, ip, containers_ready)

    def set_containers_ready(self, namespace: str, name: str, ready: bool) -> None:
        """The containers' readiness probes start (or stop) passing."""
        with self._lock:
            self.pods[f"{namespace}/{name}"].containers_ready = ready

    def terminate(self, namespace: str, name: str) -> None:
        """DELETE the pod: it is terminating (graceful shutdown) until :meth:`finish`."""
        self.api.delete(POD, name, namespace)

    def finish(self, namespace: str, name: str) -> None:
        """The pod's containers have stopped: the kubelet lets it go."""
        try:
            pod = self.api.get(POD, name, namespace)
        except NotFound:
            return
        left = [f for f in pod["metadata"].get("finalizers") or [] if f != FINALIZER]
        patch = {
            "metadata": {"finalizers": left, "resourceVersion": pod["metadata"]["resourceVersion"]}
        }
        self.api.merge_patch(POD, name, patch, namespace)
        with self._lock:
            self.pods.pop(f"{namespace}/{name}", None)

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
            pods = [_Pod(**vars(p)) for p in self.pods.values()]
            services = list(self.services)
        live: dict[str, tuple[dict[str, Any], _Pod]] = {}
        for p in pods:
            try:
                obj = self.api.get(POD, p.name, p.namespace)
            except NotFound:
                continue
            live[f"{p.namespace}/{p.name}"] = (self._kubelet(p, obj), p)
        for svc in services:
            self._slice(svc, live)

    def _kubelet(self, p: _Pod, obj: dict[str, Any]) -> dict[str, Any]:
        """Write the pod's IP and conditions when they change; the pod as it now is."""
        gates = [g["conditionType"] for g in obj["spec"].get("readinessGates") or []]
        status = obj.get("status") or {}
        conds = {c["type"]: c for c in status.get("conditions") or []}
        want = {
            "ContainersReady": "True" if p.containers_ready else "False",
            "Ready": ready_condition(p.containers_ready, gates, conds),
        }
        if status.get("podIP") == p.ip and all(
            conds.get(t, {}).get("status") == s for t, s in want.items()
        ):
            return obj
        patch = {
            "status": {
                "phase": "Running",
                "podIP": p.ip,
                "podIPs": [{"ip": p.ip}],
                "conditions": [{"type": t, "status": s} for t, s in want.items()],
            }
        }
        return self.api.strategic_patch(POD, p.name, patch, p.namespace, sub="status")

    def _slice(self, svc: _Service, live: dict[str, tuple[dict[str, Any], _Pod]]) -> None:
        endpoints = []
        for obj, p in live.values():
            if p.namespace != svc.namespace or not in_endpoints(obj):
                continue
            labels = obj["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in svc.selector.items()):
                continue
            endpoints.append(pod_endpoint(obj, p.ip, svc.publish_not_ready))
        endpoints.sort(key=lambda e: e["addresses"])
        body = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{svc.name}-sim",
                "namespace": svc.namespace,
                "labels": {
                    "kubernetes.io/service-name": svc.name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
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
