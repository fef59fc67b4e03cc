"""Fuzz the model at length: the properties of tests/faults/test_fuzz.py with many examples.

    .venv/bin/python benchmarks/fuzz.py --examples 20000 --aws-examples 300

Prints JSON: examples run, how many made the fuzzed member invalid, crashes (any exception
other than an InvalidInputError naming object and field: must be 0), and, against moto
in-process with the engine, AWS writes made for an invalid member (must be 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.faults.fuzzing import Fuzzed, Tally, base_docs, fuzzed, parse, run_model  # noqa: E402


def model(n: int, seed: int) -> dict[str, Any]:
    tally = Tally()
    crashes: list[str] = []

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzzed())
    def one(f: Fuzzed) -> None:
        try:
            tally.add(run_model(f.docs))
        except Exception:
            crashes.append(traceback.format_exc(limit=3)[-600:])

    start = time.monotonic()
    one()
    return {
        "examples": tally.examples,
        "refused_before_model": tally.refused_before_model,
        "member_invalid": tally.invalid_victim,
        "member_valid": tally.valid_victim,
        "crashes": len(crashes),
        "first_crashes": crashes[:3],
        "errors_by_field": dict(tally.errors.most_common(12)),
        "seconds": round(time.monotonic() - start, 1),
    }


def aws(n: int) -> dict[str, Any]:
    from moto import mock_aws

    from albctl.aws.clients import AwsClients, is_mutating
    from albctl.aws.seed import seed
    from albctl.config import Settings
    from albctl.controller.engine import Engine

    seen: Counter[str] = Counter()
    violations: list[str] = []
    moto_crashes: list[str] = []
    start = time.monotonic()
    with mock_aws():
        clients = AwsClients(region="us-east-1")
        seed(clients, "fuzz", instances=1)
        engine = Engine(Settings(cluster_name="fuzz", region="us-east-1"), clients)
        base = parse(base_docs())
        assert base is not None
        engine.run(base, "apply")

        @settings(
            max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(fuzzed())
        def one(f: Fuzzed) -> None:
            objs = parse(f.docs)
            if objs is None:
                seen["refused before the model"] += 1
                return
            before = Counter(clients.calls)
            try:
                report = engine.run(objs, "apply")
            except Exception as exc:
                tb = traceback.extract_tb(exc.__traceback__)
                if any("/moto/" in fr.filename for fr in tb):
                    # moto itself failed (e.g. a filter value it compiles as a regex)
                    seen["moto crashed"] += 1
                    moto_crashes.append(f"{type(exc).__name__}: {exc}"[:200])
                    return
                raise

            calls = Counter(clients.calls) - before
            writes = {op: c for (_, op), c in calls.items() if is_mutating(op)}
            out = next((o for o in report.outcomes if o.group_id == "fz"), None)
            invalid = (
                out is None
                or "fuzz/victim" in out.invalid
                or bool(out.build and out.build.group_error)
            )
            if invalid:
                seen["member invalid"] += 1
                if writes:
                    violations.append(f"{writes}: {out and out.invalid}")
            else:
                seen["member valid"] += 1
                again = engine.run(objs, "plan")
                if again.has_changes:
                    victim = next(d for d in f.docs if d["metadata"].get("name") == "victim")
                    violations.append(
                        "valid member did not converge in one apply: "
                        + json.dumps(again.plan_json()["changes"])[:600]
                        + " annotations: "
                        + json.dumps(victim["metadata"].get("annotations"))[:600]
                    )
                engine.run(base, "apply")

        one()
    return {
        "examples": sum(seen.values()),
        **dict(seen),
        "moto_crashes": sorted(set(moto_crashes))[:3],
        "violations": len(violations),
        "first_violations": violations[:3],
        "seconds": round(time.monotonic() - start, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=20000)
    p.add_argument("--aws-examples", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    logging.disable(logging.WARNING)
    out = {"model": model(args.examples, args.seed)} if args.examples else {}
    if args.aws_examples:
        out["aws"] = aws(args.aws_examples)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
