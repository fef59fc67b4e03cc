"""albctl's version and the commit it was built from.

The commit comes from git when albctl runs from a source checkout (an editable install, or
``PYTHONPATH`` pointing at one), and otherwise from ``ALBCTL_COMMIT``, which the container
image bakes in from its ``COMMIT`` build argument.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from albctl import __version__

COMMIT_ENV = "ALBCTL_COMMIT"
UNKNOWN = "unknown"
_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str

    def __str__(self) -> str:
        return f"albctl {self.version} (commit {self.commit})"


def source_checkout() -> Path | None:
    """The root of the git checkout albctl is imported from, or None (an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists() and (root / "pyproject.toml").is_file():
        return root
    return None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def git_commit(root: Path) -> str | None:
    """HEAD of the checkout at root, with ``-dirty`` when tracked files have changes."""
    head = (_git(root, "rev-parse", "HEAD") or "").strip()
    if not _SHA.fullmatch(head):
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"{head}-dirty" if status else head


def commit() -> str:
    root = source_checkout()
    if root is not None:
        found = git_commit(root)
        if found:
            return found
    return os.environ.get(COMMIT_ENV, "").strip() or UNKNOWN


def build_info() -> BuildInfo:
    return BuildInfo(__version__, commit())
