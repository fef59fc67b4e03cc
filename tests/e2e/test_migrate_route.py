"""The corpus end to end: migrate, apply to the moto server, route requests against the ALBs.

Each request must land where ingress-nginx would have sent it, or the report must name the
difference (an approximated or unsupported finding).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import ALBCTL, E2E

pytestmark = [pytest.mark.e2e]

HERE = Path(__file__).parent.parent / "migrate"


@pytest.fixture
def moto_regex_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto crashes on RegexValues in path-pattern/host-header conditions (KeyError 'Values',
    moto 5.2): its validators are patched in this process, where the threaded moto server
    runs, to accept a condition that carries RegexValues. Nothing else changes."""
    from moto.elbv2.models import ELBv2Backend

    for name, key in (
        ("_validate_path_pattern_condition", "PathPatternConfig"),
        ("_validate_host_header_condition", "HostHeaderConfig"),
    ):
        original = getattr(ELBv2Backend, name)

        def check(self: Any, condition: dict[str, Any], _o: Any = original, _k: str = key) -> None:
            if "RegexValues" in (condition.get(_k) or {}):
                return
            _o(self, condition)

        monkeypatch.setattr(ELBv2Backend, name, check)


def _answer(data: dict[str, Any]) -> str:
    action = data["action"]
    if action["type"] == "redirect":
        return f"redirect {action['location']}"
    if action["type"] == "fixed-response":
        return str(action["statusCode"])
    return str(data["service"])


def _differences(report: dict[str, Any]) -> set[str]:
    return {
        f["annotation"]
        for ing in report["ingresses"]
        for f in ing["findings"]
        if f["status"] != "mapped"
    }


def test_corpus_converted_applied_and_routed(e2e: E2E, moto_regex_conditions: None) -> None:
    migrated = subprocess.run(
        [*ALBCTL, "migrate", "-f", str(HERE / "corpus"), "--report", "json"],
        env=e2e.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 3, migrated.stderr
    report = json.loads(migrated.stderr)
    assert report["exitCode"] == 3 and report["summary"]["unsupported"] > 0

    applied = subprocess.run(
        [*ALBCTL, "apply", "-f", "-"],
        input=migrated.stdout,
        env=e2e.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr

    expected = yaml.safe_load((HERE / "routes.yaml").read_text())
    requests = e2e.tmp / "requests.txt"
    requests.write_text("\n".join(e["request"] for e in expected) + "\n")
    routed = e2e.albctl("route", "--from", str(requests), "-o", "json", check=True)
    rows = json.loads(routed.stdout)["routes"]
    assert len(rows) == len(expected)
    differences = _differences(report)
    for want, got in zip(expected, rows, strict=True):
        assert "error" not in got, got
        if "differs" in want:
            assert want["differs"] in differences, want
        if _answer(got) != want["nginx"]:
            assert want.get("differs") in differences, (want, got)

    one = e2e.albctl(
        "route",
        "GET",
        "http://echo.example.com/",
        "-H",
        "Region: us-east",
        "-o",
        "json",
        check=True,
    )
    data = json.loads(one.stdout)
    assert set(data) >= {"listener", "rule", "action", "service"}
    assert data["listener"] == 80 and isinstance(data["rule"]["priority"], int)
    assert data["service"] == "echo/canary:80"
