"""Kubernetes Events with stable reasons, aggregated: a repeat bumps ``count`` instead of
creating a new object, so a failing Ingress cannot flood the API server."""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from albctl.kube.api import EVENT, KubeApi, KubeError, NotFound
from albctl.logs import log_event

log = logging.getLogger(__name__)
COMPONENT = "albctl"
MAX_REMEMBERED = 5000


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    name: str
    namespace: str = ""
    uid: str = ""
    api_version: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"kind": self.kind, "name": self.name, "apiVersion": self.api_version}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.uid:
            out["uid"] = self.uid
        return out


def ref_of(obj: dict[str, Any]) -> ObjectRef:
    m = obj.get("metadata", {})
    return ObjectRef(
        kind=obj.get("kind", ""),
        name=m.get("name", ""),
        namespace=m.get("namespace", ""),
        uid=m.get("uid", ""),
        api_version=obj.get("apiVersion", ""),
    )


class EventRecorder:
    def __init__(self, api: KubeApi, host: str = "") -> None:
        self.api = api
        self.host = host
        self._lock = threading.Lock()
        # the Events already written, for aggregation; bounded, oldest forgotten first
        self._seen: OrderedDict[tuple[str, str, str, str, str], tuple[str, str, int]] = (
            OrderedDict()
        )

    def record(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        message = message[:1024]
        namespace = ref.namespace or "default"
        key = (ref.kind, ref.namespace, ref.name, reason, message)
        ts = now_rfc3339()
        with self._lock:
            seen = self._seen.get(key)
        try:
            if seen is not None:
                name, ns, count = seen
                try:
                    self.api.merge_patch(EVENT, name, {"count": count + 1, "lastTimestamp": ts}, ns)
                    with self._lock:
                        self._seen[key] = (name, ns, count + 1)
                    return
                except NotFound:
                    pass
            name = f"{ref.name}.{uuid.uuid4().hex[:16]}"
            self.api.create(
                EVENT,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": ref.to_json(),
                    "type": type_,
                    "reason": reason,
                    "message": message,
                    "count": 1,
                    "firstTimestamp": ts,
                    "lastTimestamp": ts,
                    "source": {"component": COMPONENT, "host": self.host},
                    "reportingComponent": COMPONENT,
                    "reportingInstance": self.host,
                },
                namespace,
            )
            with self._lock:
                self._seen[key] = (name, namespace, 1)
                while len(self._seen) > MAX_REMEMBERED:
                    self._seen.popitem(last=False)
        except KubeError as exc:
            log_event(
                log,
                "event not recorded",
                logging.WARNING,
                reason=reason,
                object=f"{ref.kind}/{ref.name}",
                error=str(exc),
            )
