"""The three PATCH flavours: JSON merge patch, strategic merge patch and JSON patch.

Merge patch is RFC 7386; JSON patch is RFC 6902 (add/remove/replace/move/copy/test). Strategic
merge patch is the Kubernetes variant that kubectl's client-side apply and the Python client's
dict patches send: lists with a merge key (containers by name, ports by port, conditions by
type...) are merged element by element, ``finalizers`` is merged as a set, every other list is
replaced, and the ``$patch``, ``$retainKeys``, ``$setElementOrder/`` and
``$deleteFromPrimitiveList/`` directives are honoured.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Path = tuple[str, ...]

PRIMITIVE_SET = "<set>"

_COMMON_KEYS: dict[Path, str] = {
    ("metadata", "finalizers"): PRIMITIVE_SET,
    ("metadata", "ownerReferences"): "uid",
    ("status", "conditions"): "type",
}

_POD_SPEC: dict[Path, str] = {}
for _containers in ("containers", "initContainers", "ephemeralContainers"):
    _POD_SPEC[("spec", _containers)] = "name"
    _POD_SPEC[("spec", _containers, "ports")] = "containerPort"
    _POD_SPEC[("spec", _containers, "env")] = "name"
    _POD_SPEC[("spec", _containers, "volumeMounts")] = "mountPath"
    _POD_SPEC[("spec", _containers, "volumeDevices")] = "devicePath"
_POD_SPEC.update(
    {
        ("spec", "volumes"): "name",
        ("spec", "imagePullSecrets"): "name",
        ("spec", "hostAliases"): "ip",
        ("spec", "topologySpreadConstraints"): "topologyKey",
        ("spec", "resourceClaims"): "name",
        ("status", "containerStatuses"): "name",
        ("status", "initContainerStatuses"): "name",
        ("status", "podIPs"): "ip",
    }
)

# kind -> list path (field names, no indices) -> merge key, for the built-in kinds served
MERGE_KEYS: dict[str, dict[Path, str]] = {
    "Pod": _POD_SPEC,
    "Service": {("spec", "ports"): "port"},
    "Node": {
        ("spec", "taints"): "key",
        ("spec", "podCIDRs"): PRIMITIVE_SET,
        ("status", "addresses"): "type",
        ("status", "images"): "names",
    },
    "Namespace": {},
    "MutatingWebhookConfiguration": {("webhooks",): "name"},
    "ValidatingWebhookConfiguration": {("webhooks",): "name"},
}


class PatchError(Exception):
    """The patch cannot be applied to this document (answered with 422 Invalid)."""


def _strict_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        if isinstance(a, int | float) and isinstance(b, int | float):
            return a == b
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# --- RFC 7386 ---------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 ---------------------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer must start with "/": {path}')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (token.startswith("0") and token != "0"):
        raise PatchError(f"invalid array index: {token}")
    idx = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if idx > limit:
        raise PatchError(f"array index out of bounds: {idx}")
    return idx


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for token in parts[:-1]:
        if isinstance(cur, dict):
            if token not in cur:
                raise PatchError(f"doc is missing path: {path}")
            cur = cur[token]
        elif isinstance(cur, list):
            cur = cur[_index(cur, token, False)]
        else:
            raise PatchError(f"doc is missing path: {path}")
    return cur


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"doc is missing path: {path}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, False)]
    raise PatchError(f"doc is missing path: {path}")


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), value)
    else:
        raise PatchError(f"doc is missing path: {path}")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}: missing value")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, False))
    raise PatchError(f"doc is missing path: {path}")


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError(f"invalid operation: {op!r}")
        kind = op["op"]
        path = op.get("path")
        src = op.get("from", "")
        if not isinstance(path, str) or not isinstance(src, str):
            raise PatchError(f"invalid JSON pointer in operation: {op!r}")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f'missing value for "{kind}" operation')
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            if _pointer(path):
                doc, _ = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            if path.startswith(src + "/"):
                raise PatchError("cannot move a value into one of its children")
            doc, value = _remove(doc, src)
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, src)))
        elif kind == "test":
            if not _strict_equal(_get(doc, path), op["value"]):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


# --- strategic merge patch --------------------------------------------------------------------

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"


def _clean(value: Any, path: Path, keys: Mapping[Path, str]) -> Any:
    """A patch value with no counterpart in the original: drop the directives inside it."""
    if isinstance(value, dict):
        out = _merge_map({}, value, path, keys)
        return {} if out is None else out
    if isinstance(value, list):
        return [
            _clean(v, path, keys)
            for v in value
            if not (
                isinstance(v, dict) and v.get("$patch") in ("delete", "replace") and len(v) == 1
            )
        ]
    return copy.deepcopy(value)


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], path: Path, keys: Mapping[Path, str]
) -> dict[str, Any] | None:
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: _clean(v, (*path, k), keys) for k, v in patch.items() if not k.startswith("$")}
    retain = patch.pop("$retainKeys", None)
    result = copy.deepcopy(original)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, Any] = {}
    removals: dict[str, Any] = {}
    for key in list(patch):
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = patch.pop(key)
        elif key.startswith(_DELETE_PRIMITIVES):
            removals[key[len(_DELETE_PRIMITIVES) :]] = patch.pop(key)
    for key, value in patch.items():
        sub = (*path, key)
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value, sub, keys)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(
                current if isinstance(current, list) else [], value, sub, keys
            )
        else:
            result[key] = value
    for key, values in removals.items():
        if isinstance(result.get(key), list) and isinstance(values, list):
            result[key] = [v for v in result[key] if v not in values]
    for key, order in orders.items():
        if isinstance(result.get(key), list) and isinstance(order, list):
            result[key] = _reorder(result[key], order, keys.get((*path, key)))
    return result


def _reorder(items: list[Any], order: list[Any], merge_key: str | None) -> list[Any]:
    def ident(item: Any) -> Any:
        if merge_key and merge_key != PRIMITIVE_SET and isinstance(item, dict):
            return item.get(merge_key)
        return item

    wanted = [ident(o) for o in order]

    def rank(pair: tuple[int, Any]) -> tuple[int, int]:
        pos, item = pair
        key = ident(item)
        return (wanted.index(key), pos) if key in wanted else (len(wanted), pos)

    return [item for _, item in sorted(enumerate(items), key=rank)]


def _merge_list(
    original: list[Any], patch: list[Any], path: Path, keys: Mapping[Path, str]
) -> list[Any]:
    merge_key = keys.get(path)
    if any(isinstance(e, dict) and e.get("$patch") == "replace" for e in patch):
        return [
            _clean(e, path, keys)
            for e in patch
            if not (isinstance(e, dict) and e.get("$patch") == "replace")
        ]
    if merge_key is None:
        return [_clean(e, path, keys) for e in patch]
    if merge_key == PRIMITIVE_SET:
        result = list(original)
        for value in patch:
            if value not in result:
                result.append(copy.deepcopy(value))
        return result
    if not all(isinstance(e, dict) for e in [*original, *patch]):
        return [_clean(e, path, keys) for e in patch]
    result = copy.deepcopy(original)
    for item in patch:
        wanted = item.get(merge_key)
        at = next((i for i, e in enumerate(result) if e.get(merge_key) == wanted), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del result[at]
            continue
        if at is None:
            result.append(_clean(item, path, keys))
        else:
            merged = _merge_map(result[at], item, path, keys)
            if merged is None:
                del result[at]
            else:
                result[at] = merged
    return result


def merge_keys_for(kind: str) -> dict[Path, str]:
    keys = dict(_COMMON_KEYS)
    keys.update(MERGE_KEYS.get(kind, {}))
    return keys


def strategic_merge_patch(original: dict[str, Any], patch: Any, kind: str) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    merged = _merge_map(original, patch, (), merge_keys_for(kind))
    return {} if merged is None else merged
