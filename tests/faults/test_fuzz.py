"""Fuzzing the model (hypothesis): annotations, paths, hosts, Services, EndpointSlices.

Bounded in CI: ``ALBCTL_FUZZ_EXAMPLES`` (model only, default 150) and
``ALBCTL_FUZZ_AWS_EXAMPLES`` (against moto, default 12); benchmarks/fuzz.py runs many more.
"""

from __future__ import annotations

import os
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from albctl.aws.clients import AwsClients, is_mutating
from albctl.aws.seed import Seeded, seed
from albctl.config import Settings
from albctl.controller.engine import Engine
from tests.faults.fuzzing import Fuzzed, Tally, base_docs, fuzzed, parse, run_model
from tests.helpers import REGION

MODEL_EXAMPLES = int(os.environ.get("ALBCTL_FUZZ_EXAMPLES", "150"))
AWS_EXAMPLES = int(os.environ.get("ALBCTL_FUZZ_AWS_EXAMPLES", "12"))
TALLY = Tally()


@settings(max_examples=MODEL_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(fuzzed())
def test_the_model_never_crashes_and_every_error_names_object_and_field(f: Fuzzed) -> None:
    TALLY.add(run_model(f.docs))


def test_fuzz_tally() -> None:
    """Runs after the property above (file order): what the examples did."""
    if TALLY.examples:
        print(
            f"fuzz: {TALLY.examples} examples, {TALLY.refused_before_model} refused before the "
            f"model, victim invalid {TALLY.invalid_victim}, valid {TALLY.valid_victim}; "
            f"errors by field: {TALLY.errors.most_common(8)}"
        )


@pytest.fixture
def moto_group() -> Iterator[tuple[Engine, AwsClients, Seeded]]:
    """moto in-process with group ``fz`` (a good member and the victim) applied."""
    from moto import mock_aws

    endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            clients = AwsClients(region=REGION)
            seeded = seed(clients, "fuzz", instances=1)
            engine = Engine(Settings(cluster_name="fuzz", region=REGION), clients)
            objs = parse(_with_subnets(base_docs(), seeded))
            assert objs is not None
            report = engine.run(objs, "apply")
            assert report.ok, [o.error or o.invalid for o in report.outcomes]
            yield engine, clients, seeded
    finally:
        if endpoint:
            os.environ["AWS_ENDPOINT_URL"] = endpoint


def _with_subnets(docs: list[dict[str, Any]], seeded: Seeded) -> list[dict[str, Any]]:
    # the model's inventory names subnets subnet-puba...; moto's are real ids: point the
    # fuzzed subnet values at real ones where they are the plausible sample
    out = []
    for d in docs:
        ann = d.get("metadata", {}).get("annotations") or {}
        for k, v in list(ann.items()):
            if v == "subnet-puba, subnet-pubb":
                ann[k] = ", ".join(seeded.public_subnets[:2])
        out.append(d)
    return out


def test_an_invalid_member_makes_no_aws_call_for_its_resources(
    moto_group: tuple[Engine, AwsClients, Seeded],
) -> None:
    """Applying the group with the victim fuzzed: when the victim is invalid, nothing of it
    changes in AWS - and since the good member did not change either, no mutating call at
    all. When it is valid, the apply converges (a second apply changes nothing)."""
    engine, clients, seeded = moto_group
    seen: Counter[str] = Counter()

    @settings(max_examples=AWS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(fuzzed())
    def check(f: Fuzzed) -> None:
        docs = _with_subnets(f.docs, seeded)
        objs = parse(docs)
        if objs is None:
            seen["refused before the model"] += 1
            return
        before = Counter(clients.calls)
        try:
            report = engine.run(objs, "apply")
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            if any("/moto/" in fr.filename for fr in frames):
                # moto in-process failed itself (it compiles EC2 filter values as regular
                # expressions: a security group named "[x" breaks it); AWS answers no match
                seen["moto crashed"] += 1
                return
            raise
        calls = Counter(clients.calls) - before
        writes = {op: n for (_, op), n in calls.items() if is_mutating(op)}
        [out] = [o for o in report.outcomes if o.group_id == "fz"] or [None]
        victim_invalid = (
            out is None or "fuzz/victim" in out.invalid or bool(out.build and out.build.group_error)
        )
        if victim_invalid:
            seen["victim invalid"] += 1
            assert writes == {}, f"invalid member, yet AWS writes {writes}: {out and out.invalid}"
        else:
            seen["victim valid"] += 1
            again = engine.run(objs, "plan")
            assert not again.has_changes, again.plan_json()
            # back to the base group for the next example
            restore = parse(_with_subnets(base_docs(), seeded))
            assert restore is not None
            engine.run(restore, "apply")

    check()
    print(f"fuzz against moto: {dict(seen)}")
