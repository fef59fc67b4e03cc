"""The bounded log of changes that watches are served from.

Every committed write appends one :class:`Change` stamped with the new global
resourceVersion. Only the last ``size`` changes are kept; ``compacted`` is the newest
resourceVersion that may have been dropped, so a watch can resume from ``rv`` exactly when
``rv >= compacted`` - anything older is answered with 410 Gone, as etcd compaction would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from albctl.sandbox.errors import expired

Obj = dict[str, Any]


@dataclass(frozen=True)
class Change:
    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    storage: str
    namespace: str
    obj: Obj  # stored form after the change (the last state for DELETED); never mutated
    prev: Obj | None  # stored form before the change


class History:
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("history size must be at least 1")
        self.size = size
        self.compacted = 0
        self._changes: deque[Change] = deque()

    def append(self, change: Change) -> None:
        if len(self._changes) >= self.size:
            self.compacted = self._changes.popleft().rv
        self._changes.append(change)

    def expire(self, current_rv: int) -> None:
        """Forget everything up to ``current_rv``: watches must start from it or later."""
        self._changes.clear()
        self.compacted = max(self.compacted, current_rv)

    def since(self, rv: int) -> list[Change]:
        """Changes newer than ``rv``, oldest first; 410 Gone when some were already dropped."""
        if rv < self.compacted:
            raise expired(rv, self.compacted)
        out: list[Change] = []
        for change in reversed(self._changes):
            if change.rv <= rv:
                break
            out.append(change)
        out.reverse()
        return out

    def __len__(self) -> int:
        return len(self._changes)
