"""A consistent-enough view of the cluster for one reconcile, from the informer caches.

Objects are parsed into the model's pydantic types once per resourceVersion (memoised), so a
reconcile of one group does not re-parse the whole cluster. An object that does not parse is
reported once and left out.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from albctl.controller.trim import PARSED
from albctl.kube.informer import Informer
from albctl.logs import log_event
from albctl.manifests import KINDS, ObjectSet

log = logging.getLogger(__name__)


@dataclass
class ParseFailure:
    kind: str
    key: str
    message: str


@dataclass
class Snapshotter:
    informers: dict[str, Informer]
    _memo: dict[tuple[str, str], tuple[str, BaseModel]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    failures: dict[tuple[str, str], ParseFailure] = field(default_factory=dict)
    _last: tuple[tuple[int, ...], ObjectSet] | None = None

    def _parse(self, kind: str, obj: dict[str, Any]) -> BaseModel | None:
        meta = obj.get("metadata", {})
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        rv = str(meta.get("resourceVersion", ""))
        with self._lock:
            hit = self._memo.get((kind, key))
            if hit and hit[0] == rv:
                return hit[1]
        try:
            parsed = obj.get(PARSED)  # parsed when it entered the cache (trim)
            model = parsed if isinstance(parsed, BaseModel) else KINDS[kind].model_validate(obj)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            with self._lock:
                if (kind, key) not in self.failures:
                    log_event(
                        log,
                        "object not understood",
                        logging.WARNING,
                        kind=kind,
                        object=key,
                        field=where,
                        error=first["msg"],
                    )
                self.failures[(kind, key)] = ParseFailure(kind, key, f"{where}: {first['msg']}")
            return None
        with self._lock:
            self._memo[(kind, key)] = (rv, model)
            self.failures.pop((kind, key), None)
        return model

    def objects(self) -> ObjectSet:
        """Every cached object, parsed; the same set (read-only) until an object changes."""
        revisions = tuple(inf.revision for inf in self.informers.values())
        with self._lock:
            if self._last is not None and self._last[0] == revisions:
                return self._last[1]
        out = self._objects()
        # as read before the objects: they may be newer, never older
        out.derived["revisions"] = dict(zip(self.informers, revisions, strict=True))
        with self._lock:
            self._last = (revisions, out)
        return out

    def _objects(self) -> ObjectSet:
        out = ObjectSet()
        for kind, informer in self.informers.items():
            if kind not in KINDS:
                continue
            seen: set[tuple[str, str]] = set()
            for obj in informer.list():
                meta = obj.get("metadata", {})
                seen.add((kind, f"{meta.get('namespace', '')}/{meta.get('name', '')}"))
                model = self._parse(kind, obj)
                if model is not None:
                    out.add(kind, model)
            with self._lock:  # forget objects that are gone
                for key in [k for k in self._memo if k[0] == kind and k not in seen]:
                    del self._memo[key]
                for key in [k for k in self.failures if k[0] == kind and k not in seen]:
                    del self.failures[key]
        return out

    def raw(self, kind: str, key: str) -> dict[str, Any] | None:
        inf = self.informers.get(kind)
        return inf.get(key) if inf else None
