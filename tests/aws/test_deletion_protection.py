"""Deletion protection: a protected ALB is never deleted or replaced, and nothing of its group
is touched (moto does not enforce the attribute; albctl must)."""

from __future__ import annotations

from collections import Counter

from albctl.errors import DeletionProtectedError
from tests.aws.test_engine import clients, lbs, listeners, mutations, rules_of, run, shop, tgs
from tests.conftest import AwsEnv

PROTECTED = {"load_balancer_attributes": "deletion_protection.enabled=true"}


def _state(env: AwsEnv) -> tuple[list[str], set[str], int]:
    [lb] = lbs(env)
    ls = listeners(env, lb["LoadBalancerArn"])
    n_rules = sum(len(rules_of(env, li["ListenerArn"])) for li in ls.values())
    return [lb["LoadBalancerArn"]], set(tgs(env)), n_rules


def test_delete_of_a_protected_group_is_refused_before_anything_changes(aws: AwsEnv) -> None:
    assert run(aws, shop(aws, web=PROTECTED)).ok
    before = _state(aws)
    report = run(aws, shop(aws, web=PROTECTED), mode="delete")
    [outcome] = report.outcomes
    assert not report.ok
    assert outcome.error is not None and "deletion_protection.enabled=true" in outcome.error
    assert "refusing to delete" in outcome.error
    assert _state(aws) == before
    assert mutations(aws) == Counter()


def test_prune_of_a_protected_stack_is_refused(aws: AwsEnv) -> None:
    assert run(aws, shop(aws, web=PROTECTED)).ok
    before = _state(aws)
    other = shop(aws)[:1]  # the IngressClass only: every stack of the cluster is "missing"
    from tests.helpers import ingress

    other.append(ingress("lonely", "other", rules=[]))
    report = run(aws, other, prune=True)
    pruned = [o for o in report.outcomes if o.pruned]
    assert [o.group_id for o in pruned] == ["shop"]
    assert pruned[0].error and "deletion_protection.enabled" in pruned[0].error
    assert before[0][0] in [lb["LoadBalancerArn"] for lb in lbs(aws)]
    assert before[1] <= set(tgs(aws))


def test_scheme_change_of_a_protected_alb_is_refused(aws: AwsEnv) -> None:
    assert run(aws, shop(aws, web=PROTECTED)).ok
    before = _state(aws)
    internal = {"scheme": "internal"}
    report = run(aws, shop(aws, web={**PROTECTED, **internal}, api=internal))
    [outcome] = report.outcomes
    assert outcome.error and "refusing to replace" in outcome.error
    assert _state(aws) == before
    assert lbs(aws)[0]["Scheme"] == "internet-facing"


def test_protection_turned_off_lets_the_delete_proceed(aws: AwsEnv) -> None:
    assert run(aws, shop(aws, web=PROTECTED)).ok
    [lb] = lbs(aws)
    assert not run(aws, shop(aws, web=PROTECTED), mode="delete").ok
    clients(aws).elbv2.modify_load_balancer_attributes(  # type: ignore[attr-defined]
        LoadBalancerArn=lb["LoadBalancerArn"],
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}],
    )
    assert run(aws, shop(aws), mode="delete").ok
    assert lbs(aws) == [] and tgs(aws) == {}


def test_the_error_type_is_a_guard_rail() -> None:
    err = DeletionProtectedError("x")
    from albctl.errors import GuardRailError

    assert isinstance(err, GuardRailError)
