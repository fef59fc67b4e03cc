"""The set of resource types being served right now: the built-ins plus one entry per CRD.

Lookups come from request threads without the store lock, so the registry swaps in a fresh
immutable index whenever a CRD is added, changed or removed instead of mutating in place.
"""

from __future__ import annotations

from typing import Any

from albctl.sandbox.crds import types_from_crd
from albctl.sandbox.resources import BUILTIN_TYPES, ResourceType

_Index = dict[tuple[str, str, str], ResourceType]


class Registry:
    def __init__(self) -> None:
        self._custom: dict[str, tuple[ResourceType, ...]] = {}
        self._types: tuple[ResourceType, ...] = BUILTIN_TYPES
        self._index: _Index = {}
        self._rebuild()

    def _rebuild(self) -> None:
        types = list(BUILTIN_TYPES)
        for name in sorted(self._custom):
            types.extend(self._custom[name])
        self._types = tuple(types)
        self._index = {(t.group, t.version, t.plural): t for t in types}

    def set_crd(self, crd: dict[str, Any]) -> None:
        self._custom[str(crd["metadata"]["name"])] = tuple(types_from_crd(crd))
        self._rebuild()

    def remove_crd(self, name: str) -> None:
        self._custom.pop(name, None)
        self._rebuild()

    def types(self) -> tuple[ResourceType, ...]:
        return self._types

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._index.get((group, version, plural))

    def storage_types(self, storage_key: str) -> list[ResourceType]:
        return [t for t in self._types if t.storage_key == storage_key]

    def group_versions(self) -> list[tuple[str, str]]:
        """Served (group, version) pairs, core first, in first-registered order."""
        seen: list[tuple[str, str]] = []
        for t in self._types:
            if t.group_version not in seen:
                seen.append(t.group_version)
        return seen

    def for_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]
