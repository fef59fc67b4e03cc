"""The README's first command: the demo runs the example app on an embedded AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_demo_applies_the_examples_and_converges() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    proc = subprocess.run(
        [sys.executable, "-m", "albctl.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    apply_part, _, rest = out.partition("3. the load balancer")
    tree, _, second = rest.partition("4. albctl apply (second run)")
    assert "create LoadBalancer" in apply_part and "create ListenerRule" in apply_part
    assert "HTTP:80" in tree and "redirect HTTPS:443" in tree and "HTTPS:443" in tree
    assert "weight 90" in tree and "weight 10" in tree  # the canary
    assert "no changes" in second
    calls = second.split("5. AWS calls")[1]
    assert calls.count("mutating calls: 0") == 1  # the second run only reads
