"""Stable rule priorities (pure): the rules of a listener in their desired order, at
priorities that move as few existing rules as possible.

The rules that already exist and are already in the desired order relative to each other (the
longest such run, by observed priority) keep their priorities; every other rule is put in the
gap between its kept neighbours. A new listener's rules are spaced ``STRIDE`` apart, so a rule
added later between two others takes a free priority in between: adding an unrelated route
re-prioritises nothing. Only when a gap is too narrow is the listener renumbered with the same
spacing. Priorities held by rules albctl must not move (not ours, or of a left-out member) are
never used.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

STRIDE = 10
MAX_PRIORITY = 50000  # ALB's highest rule priority


def _kept(order: Sequence[str], current: Mapping[str, int]) -> set[str]:
    """The longest subsequence of ``order`` whose current priorities increase."""
    seq = [(rid, current[rid]) for rid in order if rid in current]
    tails: list[int] = []  # priority ending the best run of each length
    tail_idx: list[int] = []
    prev: list[int] = [-1] * len(seq)
    for i, (_, p) in enumerate(seq):
        k = bisect.bisect_left(tails, p)
        if k == len(tails):
            tails.append(p)
            tail_idx.append(i)
        else:
            tails[k] = p
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k else -1
    out: set[str] = set()
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        out.add(seq[i][0])
        i = prev[i]
    return out


def _spread(lo: int, hi: int | None, n: int, held: set[int]) -> list[int] | None:
    """``n`` increasing free priorities strictly between ``lo`` and ``hi`` (None: no bound),
    evenly spaced; None when they do not fit."""
    top = min(hi if hi is not None else lo + STRIDE * (n + 1), MAX_PRIORITY + 1)
    free = [p for p in range(lo + 1, top) if p not in held]
    if len(free) < n:
        return None
    step = len(free) / (n + 1)
    return [free[int(step * (i + 1))] for i in range(n)]


def stable_priorities(
    order: Sequence[str], current: Mapping[str, int], held: set[int]
) -> dict[str, int]:
    """Priority of each rule id of ``order`` (the desired order)."""
    current = {k: v for k, v in current.items() if v not in held}
    kept = _kept(order, current)
    out: dict[str, int] = {rid: current[rid] for rid in kept}
    run: list[str] = []
    lo = 0
    for rid in [*order, None]:
        if rid is not None and rid not in kept:
            run.append(rid)
            continue
        hi = out[rid] if rid is not None else None
        if run:
            got = _spread(lo, hi, len(run), held)
            if got is None:
                return _renumber(order, held)
            out.update(zip(run, got, strict=True))
            run = []
        if hi is not None:
            lo = hi
    return out


def _renumber(order: Sequence[str], held: set[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    p = 0
    for rid in order:
        p += STRIDE
        while p in held:
            p += 1
        out[rid] = p
    return out
