"""The controller's writes to Kubernetes: finalizers, Ingress status, LoadBalancerGroups.

Finalizer changes carry the object's resourceVersion (optimistic concurrency); on a 409 the
object is read again and the change re-applied.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from albctl.kube.api import INGRESS, LOAD_BALANCER_GROUP, Conflict, KubeApi, NotFound
from albctl.logs import log_event
from albctl.model.groups import FINALIZER

log = logging.getLogger(__name__)

__all__ = ["FINALIZER", "KubeWriter"]


class KubeWriter:
    def __init__(self, api: KubeApi) -> None:
        self.api = api

    def _update_finalizers(self, namespace: str, name: str, add: bool) -> bool:
        """True when a change was written."""
        for _ in range(5):
            try:
                ing = self.api.get(INGRESS, name, namespace)
            except NotFound:
                return False
            finalizers = list(ing["metadata"].get("finalizers") or [])
            if add == (FINALIZER in finalizers):
                return False
            if add:
                finalizers.append(FINALIZER)
            else:
                finalizers = [f for f in finalizers if f != FINALIZER]
            patch = {
                "metadata": {
                    "finalizers": finalizers,
                    "resourceVersion": ing["metadata"]["resourceVersion"],
                }
            }
            try:
                self.api.merge_patch(INGRESS, name, patch, namespace)
                log_event(
                    log,
                    "finalizer " + ("added" if add else "removed"),
                    ingress=f"{namespace}/{name}",
                )
                return True
            except Conflict:
                continue
            except NotFound:
                return False
        return False

    def add_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(namespace, name, True)

    def remove_finalizer(self, namespace: str, name: str) -> bool:
        return self._update_finalizers(namespace, name, False)

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
