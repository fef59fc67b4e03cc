"""The fault scenarios of tests/faults at full size (CI runs them scaled down).

    .venv/bin/python benchmarks/faults.py            # everything below
    .venv/bin/python benchmarks/faults.py throttle   # one part: throttle | kill | all

* throttle: 50 % of every AWS call throttled for 60 s while 20 Ingresses (5 groups of 4)
  are created and 200 endpoints move; then convergence, the throttle metric and Events.
* kill: kill -9 after each step of a reconcile and of a delete, each from a fresh start
  (CI chains the steps in one run).

Each scenario prints what was injected and how long convergence took.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PARTS = {
    "throttle": (
        "test_half_the_calls_throttled_while_ingresses_come_and_endpoints_churn",
        {
            "ALBCTL_FAULTS_THROTTLE_GROUPS": "5",
            "ALBCTL_FAULTS_THROTTLE_MEMBERS": "4",
            "ALBCTL_FAULTS_THROTTLE_CHURN": "200",
            "ALBCTL_FAULTS_THROTTLE_SECONDS": "60",
        },
    ),
    "kill": ("test_kill_9_at_one_step_from_scratch", {"ALBCTL_FAULTS_KILL_EACH": "1"}),
}


def run(part: str) -> int:
    test, env = PARTS[part]
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT), "ALBCTL_FAULTS_TIMEOUT": "1800"}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-s",
        "-p",
        "no:logging",
        "-p",
        "no:cacheprovider",
        "tests/faults/test_live_faults.py",
        "-k",
        test,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=full, capture_output=True, text=True)
    keep = ("Ingresses", "killed after", "injected", "passed", "failed", "Error")
    for line in proc.stdout.splitlines():
        if any(k in line for k in keep):
            print(f"[{part}] {line}")
    return proc.returncode


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    parts = list(PARTS) if which == "all" else [which]
    sys.exit(max(run(p) for p in parts))


if __name__ == "__main__":
    main()
