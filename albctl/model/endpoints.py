"""Which EndpointSlice endpoints are targets (pure), shared by Ingress target groups and
TargetGroupBindings.

An endpoint is a target when it is ready (or says nothing about readiness) and not terminating.
A pod that waits on one of albctl's readiness gates is not ready until its target is healthy,
so its endpoint is ``ready: false`` but ``serving: true`` once its containers are ready: such an
endpoint is registered too, in the target groups the pod has a gate for (that is what lets the
gate turn True). Terminating endpoints are never targets, so they are deregistered at once.
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
    """Ready and not terminating; or serving, not terminating, and waiting on our gate."""
    c = ep.conditions
    if c.terminating:
        return False
    if c.ready is not False:
        return True
    return gated and c.serving is True


def is_gated(
    ep: Endpoint, namespace: str, target_group: str, pod_gates: Mapping[str, frozenset[str]]
) -> bool:
    """Whether the endpoint's pod has albctl's readiness gate for ``target_group``."""
    if not pod_gates:
        return False
    pod = endpoint_pod(ep, namespace)
    return pod is not None and target_group in pod_gates.get(pod, frozenset())
