"""Which EndpointSlice endpoints are targets (pure), shared by Ingress target groups and
TargetGroupBindings.

An endpoint is a target when it is ready (or says nothing about readiness) and not terminating.
A pod that waits on one of albctl's readiness gates is not Ready until its target is healthy,
and Kubernetes' EndpointSlice controller derives both ``ready`` and ``serving`` from the pod's
``Ready`` condition (pkg/controller/endpointslice ``podToEndpoint``: ``serving :=
podutil.IsPodReady(pod)``), so such a pod's endpoint says ``ready: false, serving: false`` until
the gate is True. Its endpoint is registered all the same, in the target groups the pod has a
gate for, once the pod's ``ContainersReady`` condition is True (the AWS Load Balancer
Controller's rule: pkg/backend/endpoint_resolver.go registers a not-ready endpoint whose pod
``IsContainersReady()``); that is what lets the gate turn True. Which pods qualify is
:func:`albctl.model.readiness.pod_gates`. Terminating endpoints are never targets, so they are
deregistered at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from albctl.model.objects import Endpoint


def endpoint_pod(ep: Endpoint, namespace: str) -> str | None:
    """``namespace/name`` of the pod behind an endpoint, when the slice names one."""
    ref = ep.target_ref
    if ref is None or (ref.kind or "Pod") != "Pod" or not ref.name:
        return None
    return f"{ref.namespace or namespace}/{ref.name}"


def endpoint_is_target(ep: Endpoint, gated: bool) -> bool:
    """Ready and not terminating; or not terminating, and its pod's containers are ready while
    the pod waits on our gate for this target group (``gated``, see :func:`is_gated`).
    ``serving`` is not read: Kubernetes sets it from the pod's Ready condition, which the
    pending gate itself holds False."""
    c = ep.conditions
    if c.terminating:
        return False
    if c.ready is not False:
        return True
    return gated


def is_gated(
    ep: Endpoint, namespace: str, target_group: str, pod_gates: Mapping[str, frozenset[str]]
) -> bool:
    """Whether the endpoint's pod has albctl's readiness gate for ``target_group`` and its
    containers are ready (``pod_gates`` holds only such pods)."""
    if not pod_gates:
        return False
    pod = endpoint_pod(ep, namespace)
    return pod is not None and target_group in pod_gates.get(pod, frozenset())
