"""LBC's Gateway configuration kinds (group ``gateway.k8s.aws``): LoadBalancerConfiguration,
TargetGroupConfiguration, ListenerRuleConfiguration. Served by albctl's chart CRDs (v1 and
v1beta1) or by LBC's own (v1beta1 only in its older releases): albctl reads the version the API
server prefers."""

from __future__ import annotations

from albctl.kube.api import Kind, KubeApi, KubeError

GROUP = "gateway.k8s.aws"
PLURALS = {
    "LoadBalancerConfiguration": "loadbalancerconfigurations",
    "TargetGroupConfiguration": "targetgroupconfigurations",
    "ListenerRuleConfiguration": "listenerruleconfigurations",
}


def config_kinds(version: str) -> dict[str, Kind]:
    return {k: Kind(GROUP, version, p, True, k) for k, p in PLURALS.items()}


def served_version(api: KubeApi) -> str | None:
    """The version of ``gateway.k8s.aws`` the API server prefers, or None when not served."""
    try:
        got = api.request("GET", f"/apis/{GROUP}")
    except KubeError:
        return None
    if not isinstance(got, dict):
        return None
    preferred = (got.get("preferredVersion") or {}).get("version")
    versions = [v.get("version") for v in got.get("versions") or []]
    return preferred or (versions[0] if versions else None)
