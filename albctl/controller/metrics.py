"""Prometheus metrics of the controller (one registry per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._reconciles(self.registry)
        self._aws(self.registry)
        self._leadership(self.registry)
        self._pods_and_webhooks(self.registry)

    def _reconciles(self, r: CollectorRegistry) -> None:
        self.reconcile_total = Counter(
            "albctl_reconcile_total",
            "Reconciles of IngressGroups, by result.",
            ["result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "albctl_reconcile_errors_total", "Failed reconciles, by reason.", ["reason"], registry=r
        )
        self.reconcile_duration = Histogram(
            "albctl_reconcile_duration_seconds",
            "Duration of a group reconcile.",
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.target_syncs = Counter(
            "albctl_target_sync_total",
            "Target-only syncs of target groups.",
            ["result"],
            registry=r,
        )
        self.binding_syncs = Counter(
            "albctl_target_group_binding_sync_total",
            "TargetGroupBinding reconciles, by result (changed, unchanged, invalid, released).",
            ["result"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "albctl_workqueue_depth", "Group keys waiting in the work queue.", registry=r
        )
        self.last_success = Gauge(
            "albctl_last_reconcile_success_timestamp_seconds",
            "Time of the last successful reconcile, per group.",
            ["group"],
            registry=r,
        )
        self.invalid_ingresses = Gauge(
            "albctl_invalid_ingresses", "Ingresses left out of their group.", ["group"], registry=r
        )

    def _aws(self, r: CollectorRegistry) -> None:
        self.aws_calls = Counter(
            "albctl_aws_api_calls_total", "AWS API calls.", ["service", "operation"], registry=r
        )
        self.aws_throttles = Counter(
            "albctl_aws_throttles_total",
            "AWS API calls throttled.",
            ["service", "operation"],
            registry=r,
        )

    def _leadership(self, r: CollectorRegistry) -> None:
        self.leader = Gauge(
            "albctl_leader", "1 when this replica holds the leader lease.", registry=r
        )
        self.shards_held = Gauge(
            "albctl_shards_held", "Shard Leases this replica holds (--shards > 1).", registry=r
        )
        self.shard_transitions = Counter(
            "albctl_shard_lease_transitions_total",
            "Shard Leases this replica acquired, released (over its fair share, or stopping) "
            "or lost (not renewed in time), by shard.",
            ["shard", "transition"],
            registry=r,
        )

    def _pods_and_webhooks(self, r: CollectorRegistry) -> None:
        self.readiness_polls = Counter(
            "albctl_readiness_gate_polls_total",
            "DescribeTargetHealth calls made for pod readiness gates.",
            registry=r,
        )
        self.readiness_updates = Counter(
            "albctl_readiness_gate_updates_total",
            "Pod readiness gate conditions written, by status.",
            ["status"],
            registry=r,
        )
        self.webhook_requests = Counter(
            "albctl_webhook_requests_total",
            "Admission requests answered, by path and result (allowed, patched, denied, error).",
            ["path", "result"],
            registry=r,
        )
