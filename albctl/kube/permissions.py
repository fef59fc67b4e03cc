"""The Kubernetes API permissions the controller uses: one declared list.

The controller uses exactly these verbs (checked by an end-to-end test that records every
request the controller makes to the sandbox API server), and the helm chart's ClusterRole and
Role grant exactly these (checked against the rendered chart).
"""

from __future__ import annotations

from typing import NamedTuple


class Permission(NamedTuple):
    api_group: str  # "" for the core group
    resource: str  # plural, with "/status" for the status subresource
    verbs: tuple[str, ...]
    namespaced_role: bool = False  # granted by a Role in the controller's namespace


LIST_WATCH = ("list", "watch")

CLUSTER_PERMISSIONS: tuple[Permission, ...] = (
    # informers list+watch; finalizers are read fresh (get) and written with a merge patch
    Permission("networking.k8s.io", "ingresses", ("get", "list", "watch", "patch")),
    Permission("networking.k8s.io", "ingresses/status", ("patch",)),
    Permission("networking.k8s.io", "ingressclasses", LIST_WATCH),
    Permission("", "services", LIST_WATCH),
    Permission("", "nodes", LIST_WATCH),
    # TLS Secrets named by Ingresses: read one by one, never listed or watched
    Permission("", "secrets", ("get",)),
    Permission("", "events", ("create", "patch")),
    # pod readiness gates: pods watched (only those with albctl's gates are cached), the gate
    # conditions written through the status subresource
    Permission("", "pods", LIST_WATCH),
    Permission("", "pods/status", ("patch",)),
    Permission("discovery.k8s.io", "endpointslices", LIST_WATCH),
    Permission("albctl.io", "ingressclassparams", LIST_WATCH),
    # TargetGroupBindings: watched; the finalizer is read fresh (get) and merge-patched
    Permission("albctl.io", "targetgroupbindings", ("get", "list", "watch", "patch")),
    Permission("albctl.io", "targetgroupbindings/status", ("patch",)),
    Permission("albctl.io", "loadbalancergroups", ("get", "create", "delete")),
    Permission("albctl.io", "loadbalancergroups/status", ("patch",)),
    # the Gateway API, when its CRDs are installed: classes, Gateways (finalizer read fresh and
    # merge-patched; status read fresh and merge-patched), routes (status likewise), grants,
    # and the namespaces' labels that listeners select routes by
    Permission("gateway.networking.k8s.io", "gatewayclasses", LIST_WATCH),
    Permission("gateway.networking.k8s.io", "gatewayclasses/status", ("patch",)),
    Permission("gateway.networking.k8s.io", "gateways", ("get", "list", "watch", "patch")),
    Permission("gateway.networking.k8s.io", "gateways/status", ("patch",)),
    Permission("gateway.networking.k8s.io", "httproutes", ("get", "list", "watch")),
    Permission("gateway.networking.k8s.io", "httproutes/status", ("patch",)),
    Permission("gateway.networking.k8s.io", "grpcroutes", ("get", "list", "watch")),
    Permission("gateway.networking.k8s.io", "grpcroutes/status", ("patch",)),
    Permission("gateway.networking.k8s.io", "referencegrants", LIST_WATCH),
    # LBC's Gateway configuration kinds, when served
    Permission("gateway.k8s.aws", "loadbalancerconfigurations", LIST_WATCH),
    Permission("gateway.k8s.aws", "targetgroupconfigurations", LIST_WATCH),
    Permission("gateway.k8s.aws", "listenerruleconfigurations", LIST_WATCH),
    Permission("", "namespaces", LIST_WATCH),
)

NAMESPACED_PERMISSIONS: tuple[Permission, ...] = (
    # the leader Lease, or with --shards the shard Leases and the replicas' member Leases
    # (listed by label to count live replicas; a member Lease is deleted when its replica
    # stops, or by another replica once it has expired)
    Permission(
        "coordination.k8s.io",
        "leases",
        ("get", "list", "create", "update", "delete"),
        namespaced_role=True,
    ),
)

# --take-over-lbc (chart value takeOverLBC), granted only then: LBC's TargetGroupBindings of the
# adopted target groups (listed, their finalizer released by read and merge-patch), and LBC's
# leader Lease, read by name in LBC's namespace (a Role there)
TAKEOVER_PERMISSIONS: tuple[Permission, ...] = (
    Permission("elbv2.k8s.aws", "targetgroupbindings", ("get", "list", "patch")),
)
TAKEOVER_LEASE_PERMISSIONS: tuple[Permission, ...] = (
    Permission("coordination.k8s.io", "leases", ("get",), namespaced_role=True),
)
