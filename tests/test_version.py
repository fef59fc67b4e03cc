"""One version, one place: albctl/__init__.py. The package metadata reads it; the Helm chart and
the Dockerfile hold copies (scripts/set-version writes them) that must agree with it; the
release workflow publishes the image and the chart under it."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.version import Version
from typer.testing import CliRunner

import albctl.version as version_module
from albctl import __version__
from albctl.cli import app

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-(alpha|beta|rc)\.(0|[1-9]\d*))?")
# files, copied by scripts/set-version, that name the version
VERSIONED = ("albctl/__init__.py", "helm/albctl/Chart.yaml", "Dockerfile", "CHANGELOG.md")


def versions(root: Path) -> dict[str, str]:
    """Every place a version is written, read the way its consumer reads it."""
    init = ast.parse((root / "albctl/__init__.py").read_text())
    [source] = [
        node.value.value
        for node in init.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
        and isinstance(node.value, ast.Constant)
    ]
    chart = yaml.safe_load((root / "helm/albctl/Chart.yaml").read_text())
    [arg] = re.findall(r"^ARG VERSION=(\S+)$", (root / "Dockerfile").read_text(), re.MULTILINE)
    return {
        "albctl.__version__": str(source),
        "Chart.yaml version": str(chart["version"]),
        "Chart.yaml appVersion": str(chart["appVersion"]),
        "Dockerfile ARG VERSION": arg,
    }


def test_the_chart_and_the_image_agree_with_the_package_version() -> None:
    found = versions(ROOT)
    assert set(found.values()) == {__version__}, found


def test_the_version_is_semver_and_pep440() -> None:
    """Helm needs SemVer 2, pip needs PEP 440; the release tag is v<version>."""
    assert SEMVER.fullmatch(__version__), __version__
    Version(__version__)  # raises InvalidVersion


def test_the_package_metadata_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "albctl.__version__"}


def test_the_changelog_has_a_section_for_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(__version__)}( |$)", text, re.MULTILINE)


def test_docs_name_no_other_image_version() -> None:
    """Docs that show the published image use the current version (or a placeholder)."""
    docs = [
        ROOT / "README.md",
        ROOT / "helm/albctl/README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    for path in docs:
        for tag in re.findall(r"ghcr\.io/albctl/albctl:([0-9][^\s`'\"]*)", path.read_text()):
            assert tag == __version__, f"{path.relative_to(ROOT)} names albctl:{tag}"


def test_set_version_rewrites_every_copy(tmp_path: Path) -> None:
    for rel in VERSIONED:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    script = [sys.executable, str(ROOT / "scripts/set-version"), "--root", str(tmp_path)]

    done = subprocess.run([*script, "v1.2.3-rc.1"], capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) == set(VERSIONED)
    assert set(versions(tmp_path).values()) == {"1.2.3-rc.1"}
    changelog = (tmp_path / "CHANGELOG.md").read_text()
    assert "\n## 1.2.3-rc.1 (unreleased)\n\n## " in changelog
    assert changelog.count(f"## {__version__} ") == 1

    again = subprocess.run([*script, "1.2.3-rc.1"], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "nothing to change"
    bad = subprocess.run([*script, "1.2"], capture_output=True, text=True)
    assert bad.returncode == 2 and "not a release version" in bad.stderr
    assert set(versions(tmp_path).values()) == {"1.2.3-rc.1"}


# --- albctl version ---------------------------------------------------------------------------


def test_version_from_a_checkout_names_the_git_commit() -> None:
    root = version_module.source_checkout()
    assert root == ROOT, "the tests run from the source checkout"
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()

    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"albctl (\S+) \(commit ([0-9a-f]{40})(-dirty)?\)\n", result.output)
    assert match, result.output
    assert match.group(1) == __version__ and match.group(2) == head

    result = CliRunner().invoke(app, ["version", "-o", "json"])
    assert json.loads(result.output)["commit"].startswith(head)
    assert CliRunner().invoke(app, ["version", "--short"]).output == f"{__version__}\n"
    assert CliRunner().invoke(app, ["version", "-o", "yaml"]).exit_code == 2


def test_version_outside_a_checkout_uses_the_baked_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In the image there is no checkout: the COMMIT build argument arrives as ALBCTL_COMMIT."""
    monkeypatch.setattr(version_module, "source_checkout", lambda: None)
    monkeypatch.setenv("ALBCTL_COMMIT", "0123456789abcdef0123456789abcdef01234567")
    result = CliRunner().invoke(app, ["version"])
    assert result.output == (
        f"albctl {__version__} (commit 0123456789abcdef0123456789abcdef01234567)\n"
    )
    monkeypatch.delenv("ALBCTL_COMMIT")
    assert version_module.commit() == "unknown"


def test_a_checkout_without_git_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A source tree that is not a git repository (or git missing) is not an error."""
    monkeypatch.setattr(version_module, "source_checkout", lambda: tmp_path)
    monkeypatch.setenv("ALBCTL_COMMIT", "baked")
    assert version_module.git_commit(tmp_path) is None
    assert version_module.commit() == "baked"
