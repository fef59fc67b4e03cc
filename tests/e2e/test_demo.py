"""The README's first command: the demo runs the example app on an embedded cluster and AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env.update({"NO_COLOR": "1", "COLUMNS": "250"})
    return subprocess.run(
        [sys.executable, "-m", "albctl.cli", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_live_demo_converges_shows_status_events_and_cleans_up() -> None:
    proc = _demo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    created, _, rest = out.partition("3. the load balancer")
    tree, _, rest = rest.partition("4. Ingress status and Events")
    status, _, cleanup = rest.partition("5. deleting Ingress")
    assert "created Ingress shop/storefront" in created and "converged in" in created
    assert "redirect HTTPS:443" in tree and "weight 90" in tree and "weight 10" in tree
    assert "shop.example.com" in status and "api.example.com" in status
    assert "k8s-shop-" in status and "albctl.io/ingress-group" in status
    assert "Reconciled" in status
    # after deleting the api Ingress: its rules are gone, the storefront keeps serving
    assert "api.example.com" not in cleanup.split("\n", 1)[1].split("NAMESPACE")[0]
    assert "shop.example.com" in cleanup and "Deleted" in cleanup


def test_one_shot_demo_applies_the_examples_and_converges() -> None:
    proc = _demo("--one-shot")
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
