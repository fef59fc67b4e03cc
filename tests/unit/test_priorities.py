"""Stable rule priorities: existing rules keep theirs, new ones go in the gaps."""

from __future__ import annotations

from albctl.model.plan.priorities import STRIDE, stable_priorities


def test_a_new_listener_is_spaced() -> None:
    assert stable_priorities(["a", "b", "c"], {}, set()) == {"a": 10, "b": 20, "c": 30}


def test_an_inserted_rule_takes_a_gap_and_nothing_moves() -> None:
    current = {"a": 10, "b": 20, "c": 30}
    got = stable_priorities(["a", "x", "b", "c"], current, set())
    assert {k: got[k] for k in current} == current
    assert 10 < got["x"] < 20
    got = stable_priorities(["x", "a", "b", "c", "y"], current, set())
    assert got["x"] < 10 and got["y"] > 30 and {k: got[k] for k in current} == current


def test_a_reordered_rule_moves_alone() -> None:
    current = {"a": 10, "b": 20, "c": 30, "d": 40}
    got = stable_priorities(["a", "c", "b", "d"], current, set())
    moved = {k for k in current if got[k] != current[k]}
    assert len(moved) == 1
    assert [k for k in sorted(got, key=got.__getitem__)] == ["a", "c", "b", "d"]


def test_held_priorities_are_never_used_and_a_full_gap_renumbers() -> None:
    got = stable_priorities(["a", "b"], {}, {10, 11})
    assert got["a"] not in (10, 11) and got["a"] < got["b"]
    # no room between 1 and 2: the listener is renumbered with the stride
    got = stable_priorities(["a", "x", "b"], {"a": 1, "b": 2}, set())
    assert got == {"a": STRIDE, "x": 2 * STRIDE, "b": 3 * STRIDE}
