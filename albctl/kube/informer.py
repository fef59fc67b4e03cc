"""List-then-watch caches of Kubernetes objects (one thread per kind and namespace scope).

LIST gives the objects and a resourceVersion; WATCH continues from it with bookmarks, so a
reconnect resumes where it stopped. ``410 Gone`` (the version expired) means re-list and
diff the cache, so no change is lost. Errors reconnect with jittered exponential backoff.
Handlers are called outside the cache lock with (old, new) dicts; ``new`` is None on delete.

A ``transform`` may trim what is cached (and handed to handlers), or drop objects the
controller has no use for by returning None: an object that stops being kept is handled as a
delete.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from albctl.kube.api import Gone, Kind, KubeApi, KubeError
from albctl.logs import log_event

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Handler = Callable[[Obj | None, Obj | None], None]
Transform = Callable[[Obj], Obj | None]


def obj_key(obj: Obj) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


class Informer:
    def __init__(
        self,
        api: KubeApi,
        kind: Kind,
        namespaces: list[str] | None = None,
        watch_timeout: int = 300,
        on_relist: Callable[[Kind], None] | None = None,
        transform: Transform | None = None,
    ) -> None:
        self.api = api
        self.transform = transform
        self.kind = kind
        self.namespaces = namespaces if (kind.namespaced and namespaces) else [None]
        self.watch_timeout = watch_timeout
        self.handlers: list[Handler] = []
        self.on_relist = on_relist
        self._cache: dict[str, Obj] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._synced: dict[str | None, threading.Event] = {
            ns: threading.Event() for ns in self.namespaces
        }
        self._threads: list[threading.Thread] = []
        self.relists = 0
        self.stream_errors = 0
        # goes up with every change of the cache: a reader can tell nothing changed since
        self.revision = 0

    # --- cache access -------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._cache.get(key)

    def list(self) -> list[Obj]:
        with self._lock:
            return list(self._cache.values())

    @property
    def synced(self) -> bool:
        return all(e.is_set() for e in self._synced.values())

    def wait_synced(self, timeout: float) -> bool:
        return all(e.wait(timeout) for e in self._synced.values())

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        for ns in self.namespaces:
            t = threading.Thread(
                target=self._run,
                args=(ns,),
                name=f"informer-{self.kind.plural}-{ns or 'all'}",
                daemon=True,
            )
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()

    # --- the loop -----------------------------------------------------------------------

    def _emit(self, old: Obj | None, new: Obj | None) -> None:
        for h in self.handlers:
            try:
                h(old, new)
            except Exception:  # a handler bug must not kill the watch
                log.exception("informer handler failed", extra={"kind": self.kind.kind})

    def _relist(self, ns: str | None) -> str:
        data = self.api.list(self.kind, ns)
        items = data.get("items", [])
        for it in items:  # list items carry no kind/apiVersion
            it.setdefault("kind", self.kind.kind)
            it.setdefault("apiVersion", self.kind.api_version)
        if self.transform is not None:
            items = [t for t in map(self.transform, items) if t is not None]
        fresh = {obj_key(o): o for o in items}
        with self._lock:
            scope = {
                k: v
                for k, v in self._cache.items()
                if ns is None or v["metadata"].get("namespace") == ns
            }
            for k in fresh:
                self._cache[k] = fresh[k]
            for k in set(scope) - set(fresh):
                del self._cache[k]
            self.revision += 1
        for k, o in fresh.items():
            old = scope.get(k)
            if old is None or old["metadata"].get("resourceVersion") != o["metadata"].get(
                "resourceVersion"
            ):
                self._emit(old, o)
        for k in set(scope) - set(fresh):
            self._emit(scope[k], None)
        self.relists += 1
        if self.on_relist:
            self.on_relist(self.kind)
        return str(data.get("metadata", {}).get("resourceVersion", ""))

    def _run(self, ns: str | None) -> None:
        backoff = 0.2
        rv: str | None = None
        while not self._stop.is_set():
            try:
                if rv is None:
                    rv = self._relist(ns)
                    self._synced[ns].set()
                    log_event(
                        log, "listed", kind=self.kind.kind, namespace=ns or "*", resource_version=rv
                    )
                rv = self._watch(ns, rv)
                backoff = 0.2
            except Gone:
                log_event(log, "watch expired, re-listing", logging.INFO, kind=self.kind.kind)
                rv = None
            except KubeError as exc:
                self.stream_errors += 1
                log_event(
                    log,
                    "watch failed",
                    logging.WARNING,
                    kind=self.kind.kind,
                    error=str(exc),
                    retry_in=round(backoff, 2),
                )
                self._stop.wait(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 30)
            except Exception as exc:  # keep watching whatever happens
                self.stream_errors += 1
                log_event(log, "watch crashed", logging.ERROR, kind=self.kind.kind, error=repr(exc))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30)
                rv = None

    def _watch(self, ns: str | None, rv: str) -> str:
        query = {
            "watch": "true",
            "resourceVersion": rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(self.watch_timeout),
        }
        for event in self.api.stream(self.kind.path(ns), query, timeout=self.watch_timeout + 30):
            if self._stop.is_set():
                return rv
            etype = event.get("type")
            obj = event.get("object") or {}
            if etype == "ERROR":
                if obj.get("code") == 410:
                    raise Gone(410, "Expired", obj.get("message", "resource version too old"))
                raise KubeError(
                    int(obj.get("code", 500)), obj.get("reason", "Error"), obj.get("message", "")
                )
            new_rv = obj.get("metadata", {}).get("resourceVersion")
            if etype == "BOOKMARK":
                rv = new_rv or rv
                continue
            if etype not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            obj.setdefault("kind", self.kind.kind)
            obj.setdefault("apiVersion", self.kind.api_version)
            key = obj_key(obj)
            kept: Obj | None = obj
            if self.transform is not None and etype != "DELETED":
                kept = self.transform(obj)
            with self._lock:
                old = self._cache.get(key)
                if etype == "DELETED" or kept is None:
                    self._cache.pop(key, None)
                else:
                    self._cache[key] = kept
                self.revision += 1
            if etype == "DELETED" or kept is None:
                if old is not None:
                    self._emit(old, None)
            else:
                self._emit(old, kept)
            rv = new_rv or rv
        return rv
