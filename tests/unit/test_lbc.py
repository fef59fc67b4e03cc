"""LBC's identity as the takeover reads it: its finalizers and its leader Lease."""

from __future__ import annotations

import datetime

import pytest

from albctl.model.adopt import TakeoverRefusedError, check_adoptable
from albctl.model.lbc import lbc_finalizers, lease_held

NOW = datetime.datetime(2026, 12, 7, 12, 0, 0, tzinfo=datetime.UTC)


def lease(holder: str | None, renewed: str | None, seconds: int | None = 15) -> dict[str, object]:
    spec: dict[str, object] = {}
    if holder is not None:
        spec["holderIdentity"] = holder
    if renewed is not None:
        spec["renewTime"] = renewed
    if seconds is not None:
        spec["leaseDurationSeconds"] = seconds
    return {"spec": spec}


@pytest.mark.parametrize(
    ("doc", "held"),
    [
        (lease("lbc-1", "2026-12-07T11:59:55.000000Z"), True),  # renewed 5 s ago, 15 s lease
        (lease("lbc-1", "2026-12-07T11:59:40Z"), False),  # expired
        (lease("lbc-1", "2026-12-07T11:59:40Z", 60), True),
        (lease("", "2026-12-07T11:59:55Z"), False),  # released (no holder)
        (lease(None, None), False),
        (lease("lbc-1", "not a time"), True),  # unreadable: assume LBC runs
    ],
)
def test_lease_held(doc: dict[str, object], held: bool) -> None:
    assert lease_held(doc, NOW) is held


def test_lbc_finalizers() -> None:
    got = lbc_finalizers(
        ["albctl.io/ingress-group", "ingress.k8s.aws/resources", "group.ingress.k8s.aws/shop"]
    )
    assert got == ["ingress.k8s.aws/resources", "group.ingress.k8s.aws/shop"]


def test_a_group_with_an_invalid_member_is_not_adopted() -> None:
    check_adoptable("shop", [], False)
    with pytest.raises(TakeoverRefusedError, match="shop/api"):
        check_adoptable("shop", ["shop/api"], False)
    with pytest.raises(TakeoverRefusedError):
        check_adoptable("shop", [], True)
