"""The controller's writes to Kubernetes: finalizers, Ingress status, LoadBalancerGroups,
TargetGroupBinding status, pod readiness gate conditions.

Finalizer changes carry the object's resourceVersion (optimistic concurrency); on a 409 the
object is read again and the change re-applied.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from albctl.kube.api import (
    GATEWAY,
    GATEWAY_CLASS,
    INGRESS,
    LOAD_BALANCER_GROUP,
    POD,
    TARGET_GROUP_BINDING,
    Conflict,
    Kind,
    KubeApi,
    NotFound,
)
from albctl.logs import log_event
from albctl.model.binding import FINALIZER as BINDING_FINALIZER
from albctl.model.groups import FINALIZER

GATEWAY_FINALIZER = "albctl.io/gateway"  # on the Gateways albctl serves

log = logging.getLogger(__name__)

__all__ = ["BINDING_FINALIZER", "FINALIZER", "GATEWAY_FINALIZER", "KubeWriter"]


class KubeWriter:
    def __init__(self, api: KubeApi) -> None:
        self.api = api

    def _read_modify_write(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        sub: str | None = None,
    ) -> bool | None:
        """Read the object, merge-patch what ``change`` returns (None: nothing to write) with
        the read resourceVersion; on a conflict, read again (5 times at most). True when
        written, False when nothing was to write, None when the object is gone."""
        for _ in range(5):
            try:
                obj = self.api.get(kind, name, namespace)
            except NotFound:
                return None
            patch = change(obj)
            if patch is None:
                return False
            meta = {
                **patch.get("metadata", {}),
                "resourceVersion": obj["metadata"]["resourceVersion"],
            }
            try:
                self.api.merge_patch(kind, name, {**patch, "metadata": meta}, namespace, sub=sub)
                return True
            except Conflict:
                continue
            except NotFound:
                return None
        return False

    def _update_finalizers(
        self, kind: Kind, namespace: str, name: str, finalizer: str, add: bool
    ) -> bool:
        """True when a change was written."""

        def change(obj: dict[str, Any]) -> dict[str, Any] | None:
            finalizers = list(obj["metadata"].get("finalizers") or [])
            if add == (finalizer in finalizers):
                return None
            if add:
                finalizers.append(finalizer)
            else:
                finalizers = [f for f in finalizers if f != finalizer]
            return {"metadata": {"finalizers": finalizers}}

        written = self._read_modify_write(kind, namespace, name, change)
        if written:
            log_event(
                log,
                "finalizer " + ("added" if add else "removed"),
                kind=kind.kind,
                object=f"{namespace}/{name}",
            )
        return bool(written)

    def remove_finalizers(
        self, kind: Kind, namespace: str, name: str, which: Callable[[str], bool]
    ) -> bool:
        """Remove every finalizer ``which`` selects (another controller's); True when written."""

        def change(obj: dict[str, Any]) -> dict[str, Any] | None:
            finalizers = list(obj["metadata"].get("finalizers") or [])
            kept = [f for f in finalizers if not which(f)]
            return None if kept == finalizers else {"metadata": {"finalizers": kept}}

        written = self._read_modify_write(kind, namespace, name, change)
        if written:
            log_event(log, "finalizers released", kind=kind.kind, object=f"{namespace}/{name}")
        return bool(written)

    def add_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(INGRESS, namespace, name, FINALIZER, True)

    def remove_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(INGRESS, namespace, name, FINALIZER, False)

    def add_binding_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(
            TARGET_GROUP_BINDING, namespace, name, BINDING_FINALIZER, True
        )

    def remove_binding_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(
            TARGET_GROUP_BINDING, namespace, name, BINDING_FINALIZER, False
        )

    def add_gateway_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(GATEWAY, namespace, name, GATEWAY_FINALIZER, True)

    def remove_gateway_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(GATEWAY, namespace, name, GATEWAY_FINALIZER, False)

    def set_status(
        self, kind: Kind, namespace: str | None, name: str, status: dict[str, Any]
    ) -> None:
        """Merge ``status`` into the object's status subresource (gone: nothing)."""
        with contextlib.suppress(NotFound):
            self.api.merge_patch(kind, name, {"status": status}, namespace, sub="status")

    def update_status(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> bool:
        """Read the object, let ``change`` compute its new status (None: nothing to write) and
        write it with the read resourceVersion; on a conflict, read again. False when gone."""

        def patch(obj: dict[str, Any]) -> dict[str, Any] | None:
            status = change(obj)
            return None if status is None else {"status": status}

        return self._read_modify_write(kind, namespace, name, patch, sub="status") is not None

    def set_gateway_class_status(self, name: str, status: dict[str, Any]) -> None:
        self.set_status(GATEWAY_CLASS, None, name, status)

    def set_binding_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        with contextlib.suppress(NotFound):
            self.api.merge_patch(
                TARGET_GROUP_BINDING, name, {"status": status}, namespace, sub="status"
            )

    def set_pod_conditions(
        self, namespace: str, name: str, conditions: list[dict[str, Any]]
    ) -> bool:
        """Set readiness gate conditions through pods/status (a strategic merge patch: the
        conditions are merged by type, so the kubelet's own are left alone). False when the
        pod is gone."""
        try:
            self.api.strategic_patch(
                POD, name, {"status": {"conditions": conditions}}, namespace, sub="status"
            )
        except NotFound:
            return False
        return True

    def set_ingress_hostname(self, namespace: str, name: str, hostname: str | None) -> None:
        lb: dict[str, Any] = {"ingress": [{"hostname": hostname}]} if hostname else {}
        with contextlib.suppress(NotFound):
            self.api.merge_patch(
                INGRESS,
                name,
                {"status": {"loadBalancer": lb or {"ingress": None}}},
                namespace,
                sub="status",
            )

    def get_lbg(self, name: str) -> dict[str, Any] | None:
        try:
            return self.api.get(LOAD_BALANCER_GROUP, name)
        except NotFound:
            return None

    def ensure_lbg(self, name: str, group_id: str) -> dict[str, Any]:
        cur = self.get_lbg(name)
        if cur is not None:
            return cur
        try:
            return self.api.create(
                LOAD_BALANCER_GROUP,
                {
                    "apiVersion": "albctl.io/v1beta1",
                    "kind": "LoadBalancerGroup",
                    "metadata": {
                        "name": name,
                        "labels": {"app.kubernetes.io/managed-by": "albctl"},
                    },
                    "spec": {"groupID": group_id},
                },
            )
        except Conflict:
            return self.api.get(LOAD_BALANCER_GROUP, name)

    def set_lbg_status(self, name: str, status: dict[str, Any]) -> None:
        self.api.merge_patch(LOAD_BALANCER_GROUP, name, {"status": status}, sub="status")

    def delete_lbg(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.api.delete(LOAD_BALANCER_GROUP, name)
