"""The object store: apiserver write semantics over in-memory dicts, and watch streams.

One re-entrant lock guards everything; a condition variable on it wakes watch threads after
each commit. Objects are kept in their *stored* form (the form shared by every version of a
kind) and converted to the requested version on the way out. Committed objects are never
mutated: each write builds a new dict, so the change history can share them safely.

Semantics follow the apiserver: server-set metadata (uid, creationTimestamp, a global
integer resourceVersion, generation bumped on spec changes), optimistic concurrency on
``metadata.resourceVersion``, status subresources that own ``.status`` exclusively,
finalizers and ``deletionTimestamp``, namespace termination, and no-op writes that change
nothing (no new resourceVersion, no watch event).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from albctl.sandbox import defaults, validation
from albctl.sandbox.admission import Attributes, Caller, Webhooks
from albctl.sandbox.crds import builtin_crds, crd_problems, crd_status
from albctl.sandbox.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    forbidden,
    invalid,
    not_found,
    stale,
    unsupported_media_type,
)
from albctl.sandbox.history import Change, History
from albctl.sandbox.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from albctl.sandbox.registry import Registry
from albctl.sandbox.resources import ResourceType
from albctl.sandbox.selectors import FieldSelector, LabelSelector

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

_CRD_STORAGE = "customresourcedefinitions.apiextensions.k8s.io"
_NS_STORAGE = "namespaces"
_SERVICE_STORAGE = "services"
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_ADMISSION_ATTEMPTS = 10  # writes retried when the object changed while webhooks ran
_NOT_SPEC = ("apiVersion", "kind", "metadata", "status")
_SERVER_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
    "name",
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _copy(obj: Obj) -> Obj:
    out: Obj = json.loads(json.dumps(obj))
    return out


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in _NOT_SPEC}


def _comparable(obj: Obj) -> Obj:
    out = dict(obj)
    meta = dict(out.get("metadata", {}))
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    out["metadata"] = meta
    return out


def _ordered(obj: Obj) -> Obj:
    """``kind`` and ``apiVersion`` first, as the apiserver writes them."""
    out: Obj = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion")}
    out.update((k, v) for k, v in obj.items() if k not in ("kind", "apiVersion"))
    return out


@dataclass
class ListResult:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


@dataclass
class WatchEvent:
    type: str
    object: Obj


class Watch:
    """One watch stream's cursor into the change history."""

    def __init__(
        self,
        store: Store,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        cursor: int,
        initial: list[WatchEvent],
    ) -> None:
        self._store = store
        self.rt = rt
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.cursor = cursor
        self._initial = initial
        self._epoch = store._epoch

    def _matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace", "") != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(obj)

    def _convert(self, change: Change) -> WatchEvent | None:
        if change.storage != self.rt.storage_key:
            return None
        now_ok = change.type != "DELETED" and self._matches(change.obj)
        before_ok = change.type != "ADDED" and self._matches(
            change.obj if change.type == "DELETED" else change.prev
        )
        if change.type == "DELETED":
            return (
                WatchEvent("DELETED", self._store.view(self.rt, change.obj)) if before_ok else None
            )
        if now_ok and before_ok:
            return WatchEvent("MODIFIED", self._store.view(self.rt, change.obj))
        if now_ok:
            return WatchEvent("ADDED", self._store.view(self.rt, change.obj))
        if before_ok and change.prev is not None:
            gone = self._store.view(self.rt, change.prev)
            gone["metadata"]["resourceVersion"] = str(change.rv)
            return WatchEvent("DELETED", gone)
        return None

    def next(self, timeout: float) -> list[WatchEvent] | None:
        """Events ready within ``timeout`` seconds ([] if none); None once the stream must end.

        Raises :class:`ApiError` 410 when the history this watch needs has been dropped.
        """
        store = self._store
        deadline = time.monotonic() + timeout
        with store._cond:
            while True:
                if store._closed or self._epoch != store._epoch:
                    return None
                if self._initial:
                    out, self._initial = self._initial, []
                    return out
                if store._rv > self.cursor:
                    changes = store._history.since(self.cursor)
                    self.cursor = store._rv
                    events = [e for e in (self._convert(c) for c in changes) if e is not None]
                    if events:
                        return events
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                store._cond.wait(remaining)


@dataclass
class _Write:
    """A write computed under the lock, ready to commit (or to return for a dry run)."""

    obj: Obj
    changed: bool = True


@dataclass
class _Stamp:
    """The server-chosen parts of a new object, fixed across admission retries."""

    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = field(default_factory=lambda: now())
    generated_name: str = ""


@dataclass
class _Admitted:
    """A write that admission webhooks see: how to redo each step against the current state.

    ``current`` finds the stored object the write replaces (None for a create), ``build``
    computes the requested object from it (a PUT body, a patch applied to it), ``prepare``
    defaults and validates, ``commit`` stores (or, for a dry run, only returns the result).
    """

    attrs: Attributes
    namespace: str | None
    name: str | None
    current: Callable[[], Obj | None]
    build: Callable[[Obj | None], Obj]
    prepare: Callable[[Obj | None, Obj], _Write]
    commit: Callable[[Obj | None, _Write], Obj]


class Store:
    def __init__(self, registry: Registry, history_size: int = 10000) -> None:
        self.registry = registry
        self._cond = threading.Condition(threading.RLock())
        self._objects: dict[str, dict[Key, Obj]] = {}
        self._rv = 0
        self._history = History(history_size)
        self._epoch = 0
        self._closed = False
        self._uids: dict[str, tuple[str, Key]] = {}
        self._random = random.Random()
        # webhook admission of API requests (internal writes such as seeding never see it)
        self.admission: Webhooks | None = None
        self._seed()

    # --- bootstrapping and lifecycle ----------------------------------------------------------

    def _seed(self) -> None:
        ns_type = self._type("", "v1", "namespaces")
        for name in ("default", "kube-system"):
            self.create(ns_type, None, {"metadata": {"name": name}})
        crd_type = self._type("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        for crd in builtin_crds():
            self.create(crd_type, None, crd)

    def _type(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.lookup(group, version, plural)
        assert rt is not None
        return rt

    @property
    def resource_version(self) -> int:
        with self._cond:
            return self._rv

    def expire_history(self) -> None:
        """Make every resourceVersion before the current one too old to watch from."""
        with self._cond:
            self._history.expire(self._rv)
            self._cond.notify_all()

    def break_watches(self) -> None:
        """End every open watch stream (clients must re-watch, as after an apiserver restart)."""
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()

    def close(self) -> None:
        """End every watch for good (the server is stopping); data is kept."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        """Serve watches again after :meth:`close` (the server is restarting)."""
        with self._cond:
            self._closed = False
            self._epoch += 1

    # --- conversions --------------------------------------------------------------------------

    def view(self, rt: ResourceType, stored: Obj) -> Obj:
        obj = _copy(stored)
        if rt.to_view is not None:
            obj = rt.to_view(obj)
        else:
            obj["apiVersion"] = rt.api_version
            obj["kind"] = rt.kind
        return _ordered(obj)

    def _stored(self, rt: ResourceType, obj: Obj) -> Obj:
        if rt.from_view is not None:
            return rt.from_view(obj)
        out = dict(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        return out

    def _incoming(
        self, rt: ResourceType, namespace: str | None, body: Any, name: str | None = None
    ) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        obj = _copy(body)
        api_version = obj.get("apiVersion")
        if api_version and api_version != rt.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise bad_request(
                f'{kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"the kind in the data does not match the expected kind ({rt.kind})"
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be a JSON object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            if namespace:
                meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name is not None:
            body_name = meta.get("name")
            if body_name and body_name != name:
                raise bad_request(
                    f"the name of the object ({body_name}) does not match the name on the URL "
                    f"({name})"
                )
            meta["name"] = name
        for transient in ("selfLink", "managedFields"):
            meta.pop(transient, None)
        stored = self._stored(rt, obj)
        defaults.on_decode(rt, stored)
        return stored

    # --- low-level commit ---------------------------------------------------------------------

    def _bucket(self, storage: str) -> dict[Key, Obj]:
        return self._objects.setdefault(storage, {})

    def _key(self, obj: Obj) -> Key:
        meta = obj["metadata"]
        return (str(meta.get("namespace", "")), str(meta["name"]))

    def _commit(self, rt: ResourceType, obj: Obj, prev: Obj | None) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = self._key(obj)
        self._bucket(rt.storage_key)[key] = obj
        self._uids[str(obj["metadata"]["uid"])] = (rt.storage_key, key)
        self._history.append(
            Change(self._rv, "MODIFIED" if prev else "ADDED", rt.storage_key, key[0], obj, prev)
        )
        self._cond.notify_all()
        return obj

    def _remove(self, storage: str, obj: Obj, orphan: bool = False) -> Obj:
        key = self._key(obj)
        prev = self._bucket(storage).pop(key)
        uid = str(prev["metadata"].get("uid", ""))
        self._uids.pop(uid, None)
        self._rv += 1
        final = _copy(obj)
        final["metadata"]["resourceVersion"] = str(self._rv)
        self._history.append(Change(self._rv, "DELETED", storage, key[0], final, prev))
        self._cond.notify_all()
        if storage == _CRD_STORAGE:
            self._drop_crd(final)
        self._collect_garbage(uid, orphan)
        if key[0]:
            self._maybe_finish_namespace(key[0])
        return final

    def _collect_garbage(self, owner_uid: str, orphan: bool) -> None:
        """What the garbage collector does once an owner is gone, done at once.

        Dependents whose owners are all gone are deleted (background propagation), unless
        the owner was deleted with ``propagationPolicy: Orphan``: then they only lose the
        owner reference.
        """
        for storage, bucket in list(self._objects.items()):
            types = self.registry.storage_types(storage)
            if not types:
                continue
            for key, obj in list(bucket.items()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                current = bucket.get(key)
                if current is not obj:
                    continue
                if orphan:
                    kept = _copy(obj)
                    remaining = [r for r in refs if r.get("uid") != owner_uid]
                    if remaining:
                        kept["metadata"]["ownerReferences"] = remaining
                    else:
                        kept["metadata"].pop("ownerReferences")
                    self._commit(types[0], kept, obj)
                elif not any(str(r.get("uid")) in self._uids for r in refs):
                    self._delete_locked(types[0], obj)

    # --- reads --------------------------------------------------------------------------------

    def _current(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self._bucket(rt.storage_key).get((namespace or "", name))
        if found is None:
            raise not_found(rt.group, rt.plural, name)
        return found

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._cond:
            return self.view(rt, self._current(rt, namespace, name))

    def _matching(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> list[Obj]:
        out: list[Obj] = []
        for key in sorted(self._bucket(rt.storage_key)):
            if namespace is not None and key[0] != namespace:
                continue
            obj = self._bucket(rt.storage_key)[key]
            if labels.matches(obj["metadata"].get("labels")) and fields.matches(obj):
                out.append(obj)
        return out

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        with self._cond:
            items = self._matching(
                rt, namespace, labels or LabelSelector(), fields or FieldSelector()
            )
            if continue_token:
                start = _decode_continue(continue_token)
                items = [o for o in items if list(self._key(o)) > start]
            token = ""
            remaining: int | None = None
            if limit and len(items) > limit:
                last = self._key(items[limit - 1])
                remaining = len(items) - limit
                items = items[:limit]
                token = _encode_continue(self._rv, last)
            return ListResult([self.view(rt, o) for o in items], str(self._rv), token, remaining)

    def objects(self, rt: ResourceType) -> list[Obj]:
        """Every object of ``rt`` (a snapshot), for tests and debugging."""
        return self.list_objects(rt, None).items

    # --- create -------------------------------------------------------------------------------

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self._bucket(_NS_STORAGE).get(("", namespace))
        if ns is None:
            raise not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise forbidden(
                rt.group,
                rt.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    def _generate_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        bucket = self._bucket(rt.storage_key)
        for _ in range(100):
            suffix = "".join(self._random.choice(_GENERATE_ALPHABET) for _ in range(5))
            if (namespace, prefix + suffix) not in bucket:
                return prefix + suffix
        raise ApiError(
            409, "AlreadyExists", f"could not generate a unique name from {prefix!r}", {}
        )

    def _prepare_create(self, rt: ResourceType, obj: Obj, stamp: _Stamp) -> _Write:
        """Checks, server-set metadata, defaults and validation of a new object (no commit)."""
        meta = obj["metadata"]
        ns = str(meta.get("namespace") or "")
        if rt.namespaced:
            if not ns:
                raise bad_request("the namespace of the object must be set")
            self._check_namespace(rt, ns, str(meta.get("name") or meta.get("generateName")))
        if not meta.get("name") and isinstance(meta.get("generateName"), str):
            taken = (ns, stamp.generated_name) in self._bucket(rt.storage_key)
            if not stamp.generated_name or taken:
                stamp.generated_name = self._generate_name(rt, ns, meta["generateName"])
            meta["name"] = stamp.generated_name
        for server_field in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(server_field, None)
        meta["uid"] = stamp.uid
        meta["creationTimestamp"] = stamp.created
        meta["generation"] = 1
        if rt.status_subresource and not rt.keep_status_on_create:
            obj.pop("status", None)
        defaults.on_create(rt, obj, self._bucket(_SERVICE_STORAGE).values())
        name = str(meta.get("name") or "")
        causes = validation.problems(rt, obj)
        if rt.storage_key == _CRD_STORAGE and not causes:
            causes = crd_problems(obj)
        if causes:
            raise invalid(rt.group, rt.kind, name, causes)
        if (ns, name) in self._bucket(rt.storage_key):
            raise already_exists(rt.group, rt.plural, name)
        if rt.storage_key == _CRD_STORAGE:
            obj["status"] = crd_status(obj)
        return _Write(obj)

    def _commit_create(self, rt: ResourceType, write: _Write, dry_run: bool) -> Obj:
        if dry_run:
            return self.view(rt, write.obj)
        committed = self._commit(rt, write.obj, None)
        if rt.storage_key == _CRD_STORAGE:
            self.registry.set_crd(committed)
        return self.view(rt, committed)

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> Obj:
        """Create an object; ``caller`` (an API request) makes it subject to webhooks."""
        obj = self._incoming(rt, namespace, body)
        meta = obj["metadata"]
        ns = str(meta.get("namespace") or "") if rt.namespaced else ""
        name = str(meta.get("name") or "")
        stamp = _Stamp()
        attrs = self._attributes(rt, "CREATE", ns, name, None, dry_run, caller)
        if attrs is None:
            with self._cond:
                return self._commit_create(rt, self._prepare_create(rt, obj, stamp), dry_run)
        if ns:  # as the apiserver's NamespaceLifecycle plugin, before any webhook
            with self._cond:
                self._check_namespace(rt, ns, name or str(meta.get("generateName")))
        return self._admitted(
            _Admitted(
                attrs,
                namespace,
                None,
                current=lambda: None,
                build=lambda _: obj,  # only read (through view) on this path
                prepare=lambda _, new: self._prepare_create(rt, new, stamp),
                commit=lambda _, write: self._commit_create(rt, write, dry_run),
            )
        )

    # --- admission ----------------------------------------------------------------------------

    def stored(self, storage: str, namespace: str | None = None) -> list[Obj]:
        """Committed objects of one storage bucket (shared: never to be mutated)."""
        with self._cond:
            bucket = self._objects.get(storage, {})
            return [o for k, o in bucket.items() if namespace is None or k[0] == namespace]

    def stored_object(self, storage: str, namespace: str, name: str) -> Obj | None:
        """One committed object (shared: never to be mutated), or None."""
        with self._cond:
            return self._objects.get(storage, {}).get((namespace, name))

    def _attributes(
        self,
        rt: ResourceType,
        operation: str,
        namespace: str | None,
        name: str,
        subresource: str | None,
        dry_run: bool,
        caller: Caller | None,
    ) -> Attributes | None:
        """The request as admission sees it, or None when no webhook can be interested."""
        if caller is None or self.admission is None:
            return None
        if rt.group == "" and rt.storage_key == _NS_STORAGE and operation != "CREATE":
            namespace = name  # /api/v1/namespaces/NAME: the request's namespace is NAME
        attrs = Attributes(rt, operation, namespace or "", name, subresource or "", dry_run, caller)
        return attrs if self.admission.wanted(attrs) else None

    def _admitted(self, op: _Admitted) -> Obj:
        """A create or update with webhook admission, as the apiserver's GuaranteedUpdate.

        Webhooks are called without holding the store lock (they may call the API). If the
        object (or anything the outcome depends on) changed meanwhile, the whole write,
        webhooks included, is done again against the new state.
        """
        admission, attrs, rt = self.admission, op.attrs, op.attrs.rt
        assert admission is not None
        for _ in range(_ADMISSION_ATTEMPTS):
            with self._cond:
                current = op.current()
                requested = self.view(rt, op.build(current))  # a copy: build's result is kept
            old = None if current is None else self.view(rt, current)
            mutated = admission.mutate(
                attrs, requested, old, lambda o: defaults.scheme_defaults(rt, o)
            )
            assert mutated is not None
            new = self._incoming(rt, op.namespace, mutated, op.name)
            with self._cond:
                if op.current() is not current:
                    continue
                write = op.prepare(current, _copy(new))
            admission.validate(attrs, self.view(rt, write.obj), old)
            with self._cond:
                if op.current() is not current or op.prepare(current, _copy(new)) != write:
                    continue
                return op.commit(current, write)
        raise _too_busy(rt, op.name or "")

    # --- update and patch ---------------------------------------------------------------------

    def _next_state(
        self, rt: ResourceType, current: Obj, new: Obj, subresource: str | None
    ) -> _Write:
        meta = new.setdefault("metadata", {})
        cur_meta = current["metadata"]
        want_rv = meta.get("resourceVersion")
        name = str(cur_meta["name"])
        if want_rv and str(want_rv) != cur_meta["resourceVersion"]:
            raise stale(rt.group, rt.plural, name)
        want_uid = meta.get("uid")
        if want_uid and want_uid != cur_meta["uid"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {want_uid}, UID in object meta: "
                f"{cur_meta['uid']}",
            )
        if subresource == "status" and rt.custom:
            result = _status_only(current, new)
        elif subresource == "status":
            result = _status_and_metadata(rt, current, new)
            meta = result["metadata"]
            _keep_server_meta(meta, cur_meta)
            _check_no_new_finalizers(rt, name, meta, cur_meta)
        else:
            result = new
            if rt.status_subresource:
                if "status" in current:
                    result["status"] = copy.deepcopy(current["status"])
                else:
                    result.pop("status", None)
            _keep_server_meta(meta, cur_meta)
            _check_no_new_finalizers(rt, name, meta, cur_meta)
            defaults.on_update(rt, current, result, self._bucket(_SERVICE_STORAGE).values())
            causes = validation.problems(rt, result) or validation.update_problems(
                rt, current, result
            )
            if rt.storage_key == _CRD_STORAGE and not causes:
                causes = crd_problems(result)
            if causes:
                raise invalid(rt.group, rt.kind, name, causes)
            if rt.storage_key == _CRD_STORAGE:
                result["status"] = crd_status(result)
            if _spec_changed(rt, current, result):
                meta["generation"] = int(cur_meta.get("generation", 1)) + 1
        result["metadata"]["resourceVersion"] = cur_meta["resourceVersion"]
        return _Write(result, changed=_comparable(result) != _comparable(current))

    def _finish_write(self, rt: ResourceType, current: Obj, write: _Write, dry_run: bool) -> Obj:
        obj = write.obj
        meta = obj["metadata"]
        gone = bool(meta.get("deletionTimestamp")) and not meta.get("finalizers")
        if dry_run or not write.changed:
            return self.view(rt, current if not write.changed else obj)
        if gone:
            return self.view(rt, self._remove(rt.storage_key, obj))
        committed = self._commit(rt, obj, current)
        if rt.storage_key == _CRD_STORAGE:
            self.registry.set_crd(committed)
        return self.view(rt, committed)

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None = None,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> Obj:
        new = self._incoming(rt, namespace, body, name)
        return self._write(rt, namespace, name, subresource, dry_run, caller, lambda _: new)

    def _patched(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        current: Obj,
        content_type: str,
        patch: Any,
    ) -> Obj:
        """The object a patch of ``current`` asks for (stored form, not yet checked)."""
        base = self.view(rt, current)
        try:
            if content_type == MERGE_PATCH:
                if not isinstance(patch, dict):
                    raise bad_request("a merge patch must be a JSON object")
                patched = merge_patch(base, patch)
            elif content_type == STRATEGIC_PATCH:
                if rt.custom:
                    raise unsupported_media_type(
                        content_type, [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
                    )
                patched = strategic_merge_patch(base, patch, rt.kind)
            elif content_type == JSON_PATCH:
                patched = json_patch(base, patch)
            else:
                accepted = [JSON_PATCH, MERGE_PATCH]
                if not rt.custom:
                    accepted.append(STRATEGIC_PATCH)
                raise unsupported_media_type(content_type, accepted)
        except PatchError as err:
            raise ApiError(422, "Invalid", str(err)) from None
        if not isinstance(patched, dict):
            raise ApiError(422, "Invalid", "the patched object must be a JSON object")
        meta = patched.get("metadata")
        if not isinstance(meta, dict):
            raise ApiError(422, "Invalid", "the patched object must have metadata")
        if meta.get("name") != name:
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent "
                "on the request"
            )
        return self._incoming(rt, namespace, patched, name)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        subresource: str | None = None,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> Obj:
        def build(current: Obj | None) -> Obj:
            assert current is not None
            return self._patched(rt, namespace, name, current, content_type, patch)

        return self._write(rt, namespace, name, subresource, dry_run, caller, build)

    def _write(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        dry_run: bool,
        caller: Caller | None,
        build: Callable[[Obj | None], Obj],
    ) -> Obj:
        """Update ``name`` to ``build(current)``: under the lock, or with webhook admission."""

        def current() -> Obj:
            return self._current(rt, namespace, name)

        def prepare(cur: Obj | None, new: Obj) -> _Write:
            assert cur is not None
            return self._next_state(rt, cur, new, subresource)

        def commit(cur: Obj | None, write: _Write) -> Obj:
            assert cur is not None
            return self._finish_write(rt, cur, write, dry_run)

        attrs = self._attributes(rt, "UPDATE", namespace, name, subresource, dry_run, caller)
        if attrs is None:
            with self._cond:
                cur = current()
                return commit(cur, prepare(cur, build(cur)))
        return self._admitted(_Admitted(attrs, namespace, name, current, build, prepare, commit))

    # --- delete -------------------------------------------------------------------------------

    def _mark_deleted(self, rt: ResourceType, current: Obj) -> Obj:
        obj = _copy(current)
        meta = obj["metadata"]
        meta["deletionTimestamp"] = now()
        meta["deletionGracePeriodSeconds"] = 0
        meta["generation"] = int(meta.get("generation", 1)) + 1
        if rt.storage_key == _NS_STORAGE:
            obj.setdefault("status", {})["phase"] = "Terminating"
        return self._commit(rt, obj, current)

    def _delete_locked(
        self, rt: ResourceType, current: Obj, orphan: bool = False
    ) -> tuple[Obj, bool]:
        if current["metadata"].get("deletionTimestamp"):
            return current, False
        if rt.storage_key == _NS_STORAGE:
            return self._delete_namespace(rt, current), False
        if current["metadata"].get("finalizers"):
            return self._mark_deleted(rt, current), False
        return self._remove(rt.storage_key, current, orphan), True

    def _check_preconditions(self, rt: ResourceType, current: Obj, options: Obj | None) -> None:
        pre = (options or {}).get("preconditions") or {}
        cur_meta = current["metadata"]
        name = str(cur_meta["name"])
        if pre.get("uid") and pre["uid"] != cur_meta["uid"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                f"meta: {cur_meta['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != cur_meta["resourceVersion"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                f"{cur_meta['resourceVersion']}",
            )

    def _delete_now(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: Obj | None,
        dry_run: bool,
    ) -> tuple[Obj, bool]:
        with self._cond:
            current = self._current(rt, namespace, name)
            self._check_preconditions(rt, current, options)
            if dry_run:
                return self.view(rt, current), not current["metadata"].get("finalizers")
            opts = options or {}
            orphan = (
                opts.get("propagationPolicy") == "Orphan" or opts.get("orphanDependents") is True
            )
            obj, gone = self._delete_locked(rt, current, orphan)
            return self.view(rt, obj), gone

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: Obj | None = None,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> tuple[Obj, bool]:
        """Delete (or start deleting) an object; returns its last state and whether it is gone."""
        attrs = self._attributes(rt, "DELETE", namespace, name, None, dry_run, caller)
        if attrs is None or self.admission is None:
            return self._delete_now(rt, namespace, name, options, dry_run)
        for _ in range(_ADMISSION_ATTEMPTS):
            with self._cond:
                current = self._current(rt, namespace, name)
                self._check_preconditions(rt, current, options)
            old = self.view(rt, current)
            self.admission.mutate(attrs, None, old)
            self.admission.validate(attrs, None, old)
            with self._cond:
                if self._current(rt, namespace, name) is current:
                    return self._delete_now(rt, namespace, name, options, dry_run)
        raise _too_busy(rt, name)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> ListResult:
        if self._attributes(rt, "DELETE", namespace, "", None, dry_run, caller) is not None:
            return self._delete_each(rt, namespace, labels, fields, dry_run, caller)
        with self._cond:
            out: list[Obj] = []
            for obj in self._matching(rt, namespace, labels, fields):
                if dry_run:
                    out.append(obj)
                    continue
                current = self._bucket(rt.storage_key).get(self._key(obj))
                if current is not None:
                    out.append(self._delete_locked(rt, current)[0])
            return ListResult([self.view(rt, o) for o in out], str(self._rv))

    def _delete_each(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        dry_run: bool,
        caller: Caller | None,
    ) -> ListResult:
        """deletecollection as the apiserver does it: one admitted delete per object."""
        with self._cond:
            keys = [self._key(o) for o in self._matching(rt, namespace, labels, fields)]
        out: list[Obj] = []
        for ns, name in keys:
            try:
                out.append(self.delete(rt, ns or None, name, None, dry_run, caller)[0])
            except ApiError as err:
                if err.code != 404:
                    raise
        return ListResult(out, str(self.resource_version))

    def _delete_namespace(self, rt: ResourceType, current: Obj) -> Obj:
        name = str(current["metadata"]["name"])
        marked = self._mark_deleted(rt, current)
        for storage, bucket in list(self._objects.items()):
            types = self.registry.storage_types(storage)
            if not types or not types[0].namespaced:
                continue
            for key in [k for k in bucket if k[0] == name]:
                obj = bucket.get(key)
                if obj is not None:
                    self._delete_locked(types[0], obj)
        self._maybe_finish_namespace(name)
        return self._bucket(_NS_STORAGE).get(("", name), marked)

    def _maybe_finish_namespace(self, namespace: str) -> None:
        ns = self._bucket(_NS_STORAGE).get(("", namespace))
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if ns["metadata"].get("finalizers"):
            return
        for storage, bucket in self._objects.items():
            if storage != _NS_STORAGE and any(k[0] == namespace for k in bucket):
                return
        self._remove(_NS_STORAGE, ns)

    def _drop_crd(self, crd: Obj) -> None:
        self.registry.remove_crd(str(crd["metadata"]["name"]))
        storage = f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
        for obj in list(self._bucket(storage).values()):
            self._remove(storage, obj)

    # --- watch --------------------------------------------------------------------------------

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        resource_version: str | None,
        send_initial_events: bool = False,
    ) -> Watch:
        """Open a watch; raises 410 Gone if ``resource_version`` is older than the history."""
        with self._cond:
            if resource_version in (None, "", "0") or send_initial_events:
                initial = [
                    WatchEvent("ADDED", self.view(rt, o))
                    for o in self._matching(rt, namespace, labels, fields)
                ]
                return Watch(self, rt, namespace, labels, fields, self._rv, initial)
            try:
                cursor = int(str(resource_version))
            except ValueError:
                raise bad_request(f'invalid resource version "{resource_version}"') from None
            self._history.since(cursor)
            return Watch(self, rt, namespace, labels, fields, cursor, [])


def _keep_server_meta(meta: Obj, cur_meta: Obj) -> None:
    """What a write may not change in metadata: staging/src/k8s.io/apiserver/pkg/registry/rest/
    update.go ``BeforeUpdate`` (generation, uid, creationTimestamp, deletionTimestamp,
    deletionGracePeriodSeconds come from the stored object)."""
    for key in _SERVER_META:
        if key in cur_meta:
            meta[key] = cur_meta[key]
        else:
            meta.pop(key, None)


def _check_no_new_finalizers(rt: ResourceType, name: str, meta: Obj, cur_meta: Obj) -> None:
    """staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go
    ``ValidateObjectMetaUpdate`` -> ``ValidateNoNewFinalizers``: once deletion has started, no
    finalizer may be added (removing them, and any other update, is allowed)."""
    if not cur_meta.get("deletionTimestamp"):
        return
    added = set(meta.get("finalizers") or []) - set(cur_meta.get("finalizers") or [])
    if added:
        listed = ", ".join(json.dumps(f) for f in sorted(added))  # Go's %#v of a []string
        raise invalid(
            rt.group,
            rt.kind,
            name,
            [
                (
                    "metadata.finalizers",
                    "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{listed}}}",
                )
            ],
        )


def _status_only(current: Obj, new: Obj) -> Obj:
    """A custom resource's ``/status`` write: the stored object with the new ``status`` only
    (staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/
    status_strategy.go ``statusStrategy.PrepareForUpdate``): spec and metadata changes are
    dropped."""
    result = _copy(current)
    if "status" in new:
        result["status"] = new["status"]
    else:
        result.pop("status", None)
    return result


def _status_and_metadata(rt: ResourceType, current: Obj, new: Obj) -> Obj:
    """A built-in kind's ``/status`` write: everything but the metadata and the status comes
    from the stored object, as the kinds' status strategies do (``newX.Spec = oldX.Spec``:
    pkg/registry/networking/ingress/strategy.go ``ingressStatusStrategy.PrepareForUpdate``,
    pkg/registry/core/service/strategy.go ``serviceStatusStrategy``, pkg/registry/core/pod/
    strategy.go ``podStatusStrategy``, the CRD's own ``statusStrategy``). Labels,
    annotations and finalizers are taken from the request, as upstream (which does not call
    ``metav1.ResetObjectMetaForStatus`` for these kinds); pods/status also keeps the stored
    ``ownerReferences`` (``podStatusStrategy.PrepareForUpdate``)."""
    result = {k: v for k, v in new.items() if k in _NOT_SPEC}
    result.update((k, copy.deepcopy(v)) for k, v in current.items() if k not in _NOT_SPEC)
    result["metadata"] = new.get("metadata") or {}
    if rt.group == "" and rt.kind == "Pod":
        refs = current["metadata"].get("ownerReferences")
        if refs is None:
            result["metadata"].pop("ownerReferences", None)
        else:
            result["metadata"]["ownerReferences"] = copy.deepcopy(refs)
    return result


def _spec_changed(rt: ResourceType, current: Obj, result: Obj) -> bool:
    """Whether an update bumps ``metadata.generation``: a change outside metadata and status
    (the strategies' ``PrepareForUpdate``, e.g. pkg/registry/networking/ingress/strategy.go);
    EndpointSlices also count label changes (pkg/registry/discovery/endpointslice/strategy.go
    ``PrepareForUpdate``)."""
    if _spec_part(result) != _spec_part(current):
        return True
    if rt.group == "discovery.k8s.io" and rt.kind == "EndpointSlice":
        labels = (result["metadata"].get("labels") or {}, current["metadata"].get("labels") or {})
        return labels[0] != labels[1]
    return False


def _too_busy(rt: ResourceType, name: str) -> ApiError:
    return conflict(
        rt.group,
        rt.plural,
        name,
        "the object kept changing while admission webhooks were called; please try again",
    )


def _encode_continue(rv: int, last: Key) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(last)})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_continue(token: str) -> list[str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        start = data["start"]
        if not isinstance(start, list) or len(start) != 2:
            raise ValueError
        return [str(start[0]), str(start[1])]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion"
        ) from None
