"""The container image's install, replayed without docker.

The builder stage's context is exactly what the Dockerfile COPYs, less what .dockerignore drops;
its `pip wheel` runs on it; the runtime stage's `pip install --no-index` of the pinned version
runs into a clean virtualenv (no system site-packages, no source tree on the path); then the
commands the image runs are run from it, in an environment like the container's (working
directory /, no HOME of ours, only ALBCTL_COMMIT as the image bakes it). What this cannot check
is the base image itself and the arm64 build: the release workflow builds both.

pip's own cache (and its configured indexes) are used for the dependency wheels, as on any
developer machine or CI runner; nothing else is downloaded.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

from albctl import __version__
from tests.test_dockerfile import ROOT, Stage, parse

pytestmark = pytest.mark.image

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def dockerignore() -> list[str]:
    return [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def ignored(rel: str, patterns: list[str]) -> bool:
    """.dockerignore matching, for the patterns this repository uses (no `!` exceptions)."""
    for pattern in patterns:
        if pattern.startswith("!"):
            raise AssertionError(f"unsupported .dockerignore exception: {pattern}")
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if any(fnmatch.fnmatch(part, tail) for part in rel.split("/")) or fnmatch.fnmatch(
                rel, pattern[3:]
            ):
                return True
        elif fnmatch.fnmatch(rel, pattern) or rel.startswith(pattern.rstrip("/") + "/"):
            return True
    return False


def stages() -> list[Stage]:
    return parse((ROOT / "Dockerfile").read_text())[1]


def build_context(dest: Path) -> list[str]:
    """Copy what the builder stage's COPY instructions take from the context, after
    .dockerignore, into dest; return the copied files (relative)."""
    builder = stages()[0]
    patterns = dockerignore()
    copied: list[str] = []
    for copy in builder.all("COPY"):
        *sources, target = shlex.split(copy)
        assert not any(s.startswith("--") for s in sources), copy
        for source in sources:
            src = ROOT / source
            assert src.exists(), f"COPY {source}: not in the repository"
            assert not ignored(source, patterns), f"COPY {source}: dropped by .dockerignore"
            files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
            for f in files:
                if ignored(f.relative_to(ROOT).as_posix(), patterns):
                    continue
                # COPY a file into a directory target keeps its name; a directory's contents
                # land under the target
                inner = (Path(target) / f.relative_to(src if src.is_dir() else f.parent)).as_posix()
                out = dest / inner
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, out)
                copied.append(inner)
    return copied


def dockerfile_run(stage: Stage, needle: str) -> list[str]:
    [run] = [r for r in stage.all("RUN") if needle in r]
    # the pip command alone: drop a leading --mount flag and anything after the first &&
    words = shlex.split(run.split("&&")[0])
    return [w for w in words if not w.startswith("--mount=")]


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both stages, replayed: the builder's `pip wheel`, then the runtime's pinned install into
    a clean virtualenv. Returns the virtualenv."""
    work = tmp_path_factory.mktemp("image")
    context, wheels, venv = work / "src", work / "wheels", work / "venv"
    copied = build_context(context)
    assert "pyproject.toml" in copied and "albctl/__init__.py" in copied
    assert not [c for c in copied if "__pycache__" in c or c.endswith(".pyc")]

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    builder, runtime = stages()[0], stages()[-1]

    wheel = dockerfile_run(builder, "pip wheel")
    assert wheel[:2] == ["pip", "wheel"] and wheel[-1] == ".", wheel
    wheel = [w.replace("/wheels", str(wheels)) for w in wheel]
    subprocess.run(
        [sys.executable, "-m", *wheel[:-1], str(context)],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
        timeout=600,
    )

    # a virtualenv without pip and without system site-packages: only what the install brings
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=env, check=True)
    install = dockerfile_run(runtime, "pip install")
    assert install[:2] == ["pip", "install"] and "--no-index" in install, install
    install = [
        w.replace("/wheels", str(wheels)).replace("${VERSION}", __version__) for w in install[2:]
    ]
    assert f"albctl=={__version__}" in install
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            *install,
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv


def in_image(
    venv: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command the way the container runs it: cwd /, a bare environment with the image's
    ENV (PYTHONDONTWRITEBYTECODE, PYTHONUNBUFFERED, ALBCTL_COMMIT) and nothing of this test run
    (no PYTHONPATH into the checkout, no AWS settings)."""
    base = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": "/nonexistent",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "ALBCTL_COMMIT": COMMIT,
    }
    return subprocess.run(
        list(args),
        env={**base, **(env or {})},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wheel_carries_the_package_data(image_venv: Path) -> None:
    # the file name carries the normalised version (0.2.0-rc.1 -> 0.2.0rc1)
    [wheel] = (image_venv.parent / "wheels").glob(f"albctl-{Version(__version__)}-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "albctl/iam_policy.json" in names and "albctl/py.typed" in names
    crds = sorted(n for n in names if n.startswith("albctl/crds/"))
    assert [Path(n).name for n in crds] == sorted(
        p.name for p in (ROOT / "helm/albctl/crds").glob("*.yaml")
    )
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_albctl_is_the_installed_wheel_not_the_checkout(image_venv: Path) -> None:
    proc = in_image(image_venv, "python", "-c", "import albctl; print(albctl.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(str(image_venv / "lib")), proc.stdout
    proc = in_image(image_venv, "python", "-c", "import sys; print(sys.prefix != sys.base_prefix)")
    assert proc.stdout.strip() == "True"


def test_help(image_venv: Path) -> None:
    proc = in_image(image_venv, "albctl", "--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("run", "apply", "plan", "iam-policy", "version"):
        assert re.search(rf"\b{command}\b", proc.stdout), command


def test_iam_policy_is_the_repository_policy(image_venv: Path) -> None:
    proc = in_image(image_venv, "albctl", "iam-policy")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads((ROOT / "iam/policy.json").read_text())


def test_version_prints_the_baked_commit(image_venv: Path) -> None:
    proc = in_image(image_venv, "albctl", "version")
    assert proc.stdout == f"albctl {__version__} (commit {COMMIT})\n", proc.stderr
    proc = in_image(image_venv, "albctl", "version", env={"ALBCTL_COMMIT": ""})
    assert proc.stdout == f"albctl {__version__} (commit unknown)\n"


def test_the_entrypoint_without_settings_refuses_to_start(image_venv: Path) -> None:
    """ENTRYPOINT ["albctl", "run"] with nothing set: a clear message and exit 2, at once."""
    [entrypoint] = stages()[-1].all("ENTRYPOINT")
    proc = in_image(image_venv, *json.loads(entrypoint))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "albctl run cannot start" in proc.stderr
    assert "--set clusterName=<name>" in proc.stderr
    assert "--set region=<region>" in proc.stderr
    proc = in_image(
        image_venv, "albctl", "run", "--cluster-name=prod", env={"AWS_REGION": "eu-west-1"}
    )
    # past the settings: outside a cluster, no Kubernetes configuration
    assert proc.returncode == 1 and "Kubernetes configuration" in proc.stderr, proc.stderr


def test_dockerignore_matching() -> None:
    patterns = dockerignore()
    assert ignored("albctl/__pycache__/cli.cpython-311.pyc", patterns)
    assert ignored("albctl/sandbox/__pycache__", patterns)
    assert ignored("tests/test_version.py", patterns)
    assert not ignored("albctl/cli.py", patterns)
    assert not ignored("albctl/crds/albctl.io_targetgroupbindings.yaml", patterns)
