"""Which Ingress updates make the controller reconcile the group again."""

from __future__ import annotations

import copy

from albctl.controller.run import _same_inputs
from albctl.kube.writer import FINALIZER
from tests.helpers import backend, ingress, rule


def _ing(finalizers: list[str]) -> dict[str, object]:
    obj = ingress("web", "shop", rules=[rule("a.example.com", ("/", "Prefix", backend("w", 80)))])
    obj["metadata"]["finalizers"] = finalizers
    return obj


def test_albctl_adding_its_finalizer_is_not_a_new_input() -> None:
    assert _same_inputs(_ing([]), _ing([FINALIZER]))
    assert _same_inputs(_ing(["other.io/x"]), _ing(["other.io/x", FINALIZER]))


def test_a_finalizer_removed_or_someone_elses_added_is() -> None:
    assert not _same_inputs(_ing([FINALIZER]), _ing([]))
    assert not _same_inputs(_ing([]), _ing(["other.io/x"]))
    assert not _same_inputs(_ing([]), _ing([FINALIZER, "other.io/x"]))


def test_a_status_write_is_not_a_new_input_and_a_spec_change_is() -> None:
    old = _ing([FINALIZER])
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}
    assert _same_inputs(old, new)
    new["spec"]["rules"][0]["host"] = "b.example.com"  # type: ignore[index]
    assert not _same_inputs(old, new)
