"""The Kubernetes API permissions the controller uses: one declared list.

The kube layer only calls verbs on resources listed here (checked by a test against the
code), and the helm chart's ClusterRole/Role grant exactly these (checked by a test against
the rendered chart).
"""

from __future__ import annotations

from typing import NamedTuple


class Permission(NamedTuple):
    api_group: str  # "" for the core group
    resource: str  # plural, with "/status" for the status subresource
    verbs: tuple[str, ...]
    namespaced_role: bool = False  # granted by a Role in the controller's namespace


WATCH = ("get", "list", "watch")

CLUSTER_PERMISSIONS: tuple[Permission, ...] = (
    Permission("networking.k8s.io", "ingresses", ("get", "list", "watch", "patch", "update")),
    Permission("networking.k8s.io", "ingresses/status", ("get", "patch", "update")),
    Permission("networking.k8s.io", "ingressclasses", WATCH),
    Permission("", "services", WATCH),
    Permission("", "nodes", WATCH),
    Permission("", "pods", WATCH),
    Permission("", "events", ("create", "patch", "list", "watch")),
    Permission("discovery.k8s.io", "endpointslices", WATCH),
    Permission("albctl.io", "ingressclassparams", WATCH),
    Permission("albctl.io", "targetgroupbindings", ("get", "list", "watch", "patch", "update")),
    Permission("albctl.io", "targetgroupbindings/status", ("get", "patch", "update")),
    Permission(
        "albctl.io",
        "loadbalancergroups",
        ("get", "list", "watch", "create", "update", "patch", "delete"),
    ),
    Permission("albctl.io", "loadbalancergroups/status", ("get", "patch", "update")),
)

NAMESPACED_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "coordination.k8s.io", "leases", ("get", "create", "update", "patch"), namespaced_role=True
    ),
)
