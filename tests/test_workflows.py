"""The GitHub Actions workflows (.github/workflows): valid against the SchemaStore schema
(vendored in tests/schemas), clean under zizmor (a security linter for workflows, from its
PyPI wheel; actionlint has no installable wheel), actions pinned to full commit SHAs, minimal
permissions, and the release workflow's shell steps run here against the repository."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from albctl import __version__
from tests.tools import tool

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
SCHEMA = ROOT / "tests" / "schemas" / "github-workflow.json"
CRDS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "helm/albctl/crds").glob("*.yaml"))
USES = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<ref>\S+)$")

Doc = dict[str, Any]


class WorkflowLoader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans (PyYAML's YAML 1.1 would turn the
    `on:` key into True)."""


WorkflowLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> Doc:
    doc: Doc = yaml.load(text, Loader=WorkflowLoader)  # a SafeLoader subclass
    return doc


def workflow(name: str) -> Doc:
    return load((WORKFLOWS / name).read_text())


def workflow_files() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def steps(doc: Doc) -> list[tuple[str, Doc]]:
    return [(job, step) for job, spec in doc["jobs"].items() for step in spec.get("steps", [])]


def step(doc: Doc, name: str) -> Doc:
    [found] = [s for _, s in steps(doc) if s.get("name") == name]
    return found


def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


# --- schema and linter ------------------------------------------------------------------------


def test_the_expected_workflows_exist() -> None:
    assert workflow_files() == ["ci.yml", "release.yml"]


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_workflow_matches_the_schemastore_schema(name: str) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(workflow(name))
    ]
    assert errors == []


def test_the_schema_check_is_not_vacuous() -> None:
    broken = load(
        "name: x\non: {push: {tagz: [v1]}}\npermission: {}\n"
        "jobs: {a: {steps: [{uses: actions/checkout@v1, run: echo}]}}\n"
    )
    messages = " ".join(e.message for e in validator().iter_errors(broken))
    assert "tagz" in messages and "permission" in messages
    assert list(validator().iter_errors(load("on: push\njobs: {a: {steps: []}}\n")))


def zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_zizmor_pedantic_finds_nothing() -> None:
    proc = zizmor(ROOT / ".github")
    findings = json.loads(proc.stdout or "[]")
    summary = [
        (f["ident"], loc["symbolic"]["key"]["Local"]["given_path"])
        for f in findings
        for loc in f["locations"][:1]
    ]
    assert findings == [] and proc.returncode == 0, summary or proc.stderr


def test_zizmor_is_not_vacuous(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    proc = zizmor(tmp_path / ".github")
    idents = {f["ident"] for f in json.loads(proc.stdout)}
    assert {"unpinned-uses", "template-injection", "artipacked"} <= idents, idents


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_every_run_step_is_valid_bash(name: str) -> None:
    for job, s in steps(workflow(name)):
        if "run" in s:
            script = re.sub(r"\$\{\{.*?\}\}", "x", s["run"])
            proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
            assert proc.returncode == 0, f"{name} {job} {s.get('name')}: {proc.stderr}"


# --- pins and permissions ---------------------------------------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    pins: dict[str, set[str]] = {}
    for name in workflow_files():
        text = (WORKFLOWS / name).read_text()
        for line in text.splitlines():
            m = re.match(r"^\s*(?:- )?uses: (\S+)(.*)$", line)
            if not m:
                continue
            uses = USES.match(m.group(1))
            assert uses, f"{name}: {line.strip()}"
            assert re.fullmatch(r"[0-9a-f]{40}", uses["ref"]), f"{name}: not a SHA: {line}"
            assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", m.group(2)), f"{name}: no version: {line}"
            pins.setdefault(uses["action"], set()).add(f"{uses['ref']}{m.group(2).strip()}")
    assert pins, "no actions found"
    inconsistent = {a: refs for a, refs in pins.items() if len(refs) > 1}
    assert not inconsistent, f"one action, one pin: {inconsistent}"


def test_checkout_never_keeps_the_token() -> None:
    for name in workflow_files():
        for job, s in steps(workflow(name)):
            if s.get("uses", "").startswith("actions/checkout@"):
                assert s.get("with", {}).get("persist-credentials") is False, f"{name} {job}"


def test_ci_permissions_are_read_only() -> None:
    ci = workflow("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in ci["jobs"].values())


def test_release_permissions_are_granted_per_job_and_only_where_needed() -> None:
    release = workflow("release.yml")
    assert release["permissions"] == {}
    granted = {name: job["permissions"] for name, job in release["jobs"].items()}
    assert granted == {
        "check": {"contents": "read"},
        "image": {"contents": "read", "packages": "write", "id-token": "write"},
        "chart": {"contents": "read", "packages": "write", "id-token": "write"},
        "github-release": {"contents": "write"},
    }
    # id-token (the OIDC token cosign signs with) only where something is signed
    for name, perms in granted.items():
        runs = " ".join(s.get("run", "") for s in release["jobs"][name]["steps"])
        assert ("id-token" in perms) == ("cosign sign --yes" in runs), name


# --- what the workflows do --------------------------------------------------------------------


def test_ci_runs_the_ci_entry_point_on_pushes_and_pull_requests() -> None:
    ci = workflow("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    runs = [s["run"] for _, s in steps(ci) if "run" in s]
    assert runs == ["bash .ci/run"]
    setup = [s for _, s in steps(ci) if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup[0]["with"]["python-version"] == "3.11"


def test_release_runs_on_version_tags_only() -> None:
    release = workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["concurrency"]["cancel-in-progress"] is False
    needs = {name: job.get("needs", []) for name, job in release["jobs"].items()}
    assert needs == {
        "check": [],
        "image": "check",
        "chart": ["check", "image"],
        "github-release": ["check", "image", "chart"],
    }


def test_release_builds_both_platforms_from_the_dockerfile_with_sbom_and_provenance() -> None:
    build = step(workflow("release.yml"), "Build and push")["with"]
    assert build["context"] == "." and "file" not in build  # the repository's Dockerfile
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["push"] is True
    assert build["tags"] == "${{ env.IMAGE }}:${{ env.VERSION }}"
    assert build["sbom"] is True and build["provenance"] == "mode=max"
    args = dict(line.split("=", 1) for line in build["build-args"].splitlines())
    assert args == {"VERSION": "${{ env.VERSION }}", "COMMIT": "${{ github.sha }}"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    for arg in args:
        assert re.search(rf"^ARG {arg}=", dockerfile, re.MULTILINE), arg


def test_release_signs_the_image_and_the_chart_by_digest() -> None:
    release = workflow("release.yml")
    image = step(release, "Sign the image (keyless, this workflow's identity)")
    assert image["run"] == 'cosign sign --yes "${IMAGE}@${DIGEST}"'
    assert image["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    chart = step(release, "Sign the chart (keyless, this workflow's identity)")
    assert chart["run"] == 'cosign sign --yes "${CHARTS}/albctl@${DIGEST}"'


def test_release_pushes_the_chart_as_an_oci_artifact() -> None:
    run = step(workflow("release.yml"), "Package and push")["run"]
    assert "helm package helm/albctl --destination dist" in run
    assert 'helm push "dist/albctl-${VERSION}.tgz" "oci://${CHARTS}"' in run


def test_release_attaches_the_iam_policy_and_every_crd() -> None:
    run = step(workflow("release.yml"), "Create the release")["run"]
    attached = re.findall(r"(?:iam|helm)/\S+\.(?:json|yaml)", run)
    assert attached[0] == "iam/policy.json" and sorted(attached[1:]) == CRDS


def test_release_checks_run_tests_that_exist() -> None:
    run = step(
        workflow("release.yml"),
        "Release checks (versions agree, Dockerfile, image install, chart, workflows)",
    )["run"]
    paths = re.findall(r"tests/\S+", run)
    assert paths and all((ROOT / p).exists() for p in paths), paths
    assert "tests/test_image_install.py" in paths and "tests/test_version.py" in paths


# --- the release workflow's scripts, run here ---------------------------------------------------


def run_step(
    name: str, cwd: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    script = step(workflow("release.yml"), name)["run"]
    output = cwd / "github_output"
    output.write_text("")
    proc = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
    return proc, outputs


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    (tmp_path / "albctl").mkdir()
    (tmp_path / "albctl/__init__.py").write_text((ROOT / "albctl/__init__.py").read_text())
    (tmp_path / "CHANGELOG.md").write_text((ROOT / "CHANGELOG.md").read_text())
    return tmp_path


def date_the_changelog(root: Path) -> None:
    path = root / "CHANGELOG.md"
    path.write_text(
        path.read_text().replace(f"## {__version__} (unreleased)", f"## {__version__} (2026-01-01)")
    )


def test_the_tag_must_name_the_version(repo_copy: Path) -> None:
    date_the_changelog(repo_copy)
    proc, out = run_step(
        "The tag names the package version", repo_copy, {"TAG": "v9.9.9", "OWNER": "albctl"}
    )
    assert proc.returncode == 1 and "does not name the package version" in proc.stdout
    assert out == {}

    proc, out = run_step(
        "The tag names the package version",
        repo_copy,
        {"TAG": f"v{__version__}", "OWNER": "AlbCtl"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out == {
        "version": __version__,
        "image": "ghcr.io/albctl/albctl",
        "charts": "ghcr.io/albctl/charts",
    }


def test_an_unreleased_changelog_section_stops_the_release(repo_copy: Path) -> None:
    text = (repo_copy / "CHANGELOG.md").read_text()
    if f"## {__version__} (unreleased)" not in text:
        pytest.skip("the changelog section of this version is dated")
    proc, out = run_step(
        "The tag names the package version",
        repo_copy,
        {"TAG": f"v{__version__}", "OWNER": "albctl"},
    )
    assert proc.returncode == 1 and "still says (unreleased)" in proc.stdout
    assert out == {}


def test_release_notes_are_the_changelog_section_plus_how_to_install(repo_copy: Path) -> None:
    date_the_changelog(repo_copy)
    digest = "sha256:" + "a" * 64
    proc, _ = run_step(
        "Release notes",
        repo_copy,
        {
            "VERSION": __version__,
            "IMAGE": "ghcr.io/albctl/albctl",
            "IMAGE_DIGEST": digest,
            "CHARTS": "ghcr.io/albctl/charts",
            "CHART_DIGEST": "sha256:" + "b" * 64,
            "REPOSITORY": "albctl/albctl",
        },
    )
    assert proc.returncode == 0, proc.stderr
    notes = (repo_copy / "notes.md").read_text()
    section = (ROOT / "CHANGELOG.md").read_text().split(f"## {__version__} ", 1)[1]
    first_line = section.split("\n\n", 2)[1].splitlines()[0]
    assert notes.startswith("\n") and first_line in notes
    assert "\n## " + __version__ not in notes
    assert f"ghcr.io/albctl/albctl@{digest}" in notes
    assert (
        f"helm install albctl oci://ghcr.io/albctl/charts/albctl --version {__version__}" in notes
    )
    assert f"--set image.digest={digest}" in notes
    assert (
        "--certificate-identity https://github.com/albctl/albctl/.github/workflows/release.yml"
        f"@refs/tags/v{__version__}" in notes
    )
    for crd in CRDS:
        assert f"releases/download/v{__version__}/{Path(crd).name}" in notes
    assert "`" in notes and "\\`" not in notes
