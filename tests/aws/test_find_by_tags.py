"""Finding a group's resources by tag (Resource Groups Tagging API) against moto: the calls of
one group's observation do not grow with the other groups in the account, the result equals
the listing path's, and an endpoint without the tagging API falls back to listing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from albctl.aws.observe import Observer
from tests.aws.test_engine import clients, run
from tests.conftest import AwsEnv
from tests.helpers import backend, ingress, ingress_class, rule, service


def app(n: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [ingress_class()]
    for i in range(n):
        docs += [
            service(f"s{i}", f"ns{i}", node_port=30100 + i),
            ingress(f"i{i}", f"ns{i}", rules=[rule(None, ("/", "Prefix", backend(f"s{i}", 80)))]),
        ]
    return docs


@pytest.fixture(autouse=True)
def _by_tag(monkeypatch: Any) -> None:
    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", "auto")


def calls_to_observe(env: AwsEnv, gid: str) -> Counter[tuple[str, str]]:
    c = clients(env)
    c.reset_counts()
    Observer(c, env.cluster, read_attributes=False).observe({gid})
    return Counter(c.calls)


def test_one_groups_observation_does_not_grow_with_the_account(
    aws: AwsEnv, monkeypatch: Any
) -> None:
    assert run(aws, app(2)).ok
    small = calls_to_observe(aws, "ns0/i0")
    assert run(aws, app(12)).ok
    big = calls_to_observe(aws, "ns0/i0")
    assert big == small
    assert big[("elbv2", "DescribeTags")] <= 2  # listener and rules only: LB/TG tags come along
    assert big[("resourcegroupstaggingapi", "GetResources")] == 1
    # the listing path grows with the account
    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", "off")
    listing = calls_to_observe(aws, "ns0/i0")
    assert listing[("elbv2", "DescribeTags")] > big[("elbv2", "DescribeTags")]


def test_both_paths_observe_the_same(aws: AwsEnv, monkeypatch: Any) -> None:
    assert run(aws, app(3)).ok
    c = clients(aws)
    by_tags = Observer(c, aws.cluster, read_attributes=False).observe(None)
    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", "off")
    by_listing = Observer(c, aws.cluster, read_attributes=False).observe(None)
    assert by_tags == by_listing and len(by_tags) == 3
    assert Observer(c, aws.cluster).stack_ids() == set(by_tags)


def test_an_endpoint_without_the_tagging_api_falls_back_to_listing(aws: AwsEnv) -> None:
    from botocore.awsrequest import AWSResponse

    assert run(aws, app(2)).ok
    c = clients(aws)
    refused = {"n": 0}

    class _Raw:
        body = b'{"__type": "UnknownOperationException", "message": "not here"}'

        def stream(self, **_: Any) -> Any:
            yield self.body

        def read(self, *_: Any) -> bytes:
            return self.body

    def refuse(**_: Any) -> AWSResponse:
        refused["n"] += 1
        return AWSResponse("https://tagging", 400, {}, _Raw())

    c.resourcegroupstaggingapi.meta.events.register_first(
        "before-send.resource-groups-tagging-api.GetResources", refuse
    )
    got = Observer(c, aws.cluster, read_attributes=False).observe({"ns0/i0"})
    assert len(got["ns0/i0"].load_balancers) == 1
    again = Observer(c, aws.cluster, read_attributes=False).observe({"ns0/i0"})
    assert again == got and refused["n"] == 1  # not asked again in this process
    assert run(aws, app(2)).ok and mutations_free(aws)


def mutations_free(env: AwsEnv) -> bool:
    from tests.aws.test_engine import mutations

    return mutations(env) == Counter()


def test_a_groups_security_groups_are_read_by_its_stack_tag(aws: AwsEnv) -> None:
    assert run(aws, app(5)).ok
    c = clients(aws)
    every = Observer(c, aws.cluster, read_attributes=False).observe(None)
    c.reset_counts()
    observer = Observer(c, aws.cluster, read_attributes=False)
    one = observer.observe({"ns0/i0"})["ns0/i0"]
    assert one == every["ns0/i0"]
    assert one.backend_security_group is not None  # looked up on its own
    assert c.calls[("ec2", "DescribeSecurityGroups")] == 2
    # a caller that remembers the backend group saves that call
    c.reset_counts()
    known = Observer(
        c, aws.cluster, read_attributes=False, backend_security_group=one.backend_security_group
    ).observe({"ns0/i0"})["ns0/i0"]
    assert known == one
    assert c.calls[("ec2", "DescribeSecurityGroups")] == 1


@pytest.mark.parametrize("mode", ["on", "off"])
def test_the_security_groups_of_many_stacks_are_read_in_chunks(
    aws: AwsEnv, monkeypatch: Any, mode: str
) -> None:
    import albctl.aws.observe as observe

    monkeypatch.setenv("ALBCTL_AWS_TAGGING_API", mode)
    monkeypatch.setattr(observe, "SG_FILTER_VALUES", 2)
    assert run(aws, app(5)).ok
    c = clients(aws)
    stacks = {f"ns{i}/i{i}" for i in range(5)}
    c.reset_counts()
    got = Observer(c, aws.cluster, read_attributes=False).observe(stacks)
    assert set(got) == stacks and all(len(s.security_groups) == 1 for s in got.values())
    assert c.calls[("ec2", "DescribeSecurityGroups")] == 3 + 1  # 3 chunks, the backend group
