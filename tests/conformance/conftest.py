"""Print the per-test conformance results at the end of the session."""

from __future__ import annotations

from typing import Any

from tests.conformance import RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("Gateway API HTTPRoute and GRPCRoute conformance on ALB (albctl)")
    width = max(len(k) for k in RESULTS)
    for name in sorted(RESULTS):
        terminalreporter.write_line(f"{name:<{width}}  {RESULTS[name]}")
