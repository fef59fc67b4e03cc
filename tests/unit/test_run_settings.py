"""`albctl run` refuses to start without a cluster name or an AWS region, before it connects to
anything, and says how to set each (flag, environment, Helm value)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from albctl.cli import app, missing_run_settings


@pytest.fixture(autouse=True)
def no_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "ALBCTL_CLUSTER_NAME"):
        monkeypatch.delenv(name, raising=False)
    # no profile region from the developer's ~/.aws/config
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def run(*args: str) -> tuple[int, str]:
    # a kubeconfig that cannot load: reaching it would fail differently (exit 1)
    result = CliRunner().invoke(app, ["run", "--kubeconfig", "/nonexistent", *args])
    return result.exit_code, result.output


def test_both_missing_are_reported_together() -> None:
    code, out = run()
    assert code == 2
    assert "albctl run cannot start" in out
    assert "no cluster name: pass --cluster-name or set ALBCTL_CLUSTER_NAME" in out
    assert "--set clusterName=<name>" in out
    assert "no AWS region: pass --region or set AWS_REGION" in out
    assert "--set region=<region>" in out
    assert "IRSA sets AWS_REGION" in out and "EKS Pod Identity" in out
    assert "Kubernetes configuration" not in out


def test_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run("--cluster-name", "prod")
    assert code == 2 and "no AWS region" in out and "no cluster name" not in out
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    code, out = run()
    assert code == 2 and "no cluster name" in out and "no AWS region" not in out


@pytest.mark.parametrize(
    "env",
    [
        {"AWS_REGION": "eu-west-1"},  # IRSA's injection
        {"AWS_DEFAULT_REGION": "eu-west-1"},
    ],
)
def test_the_region_from_the_environment_is_enough(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("ALBCTL_CLUSTER_NAME", "prod")
    assert missing_run_settings(None, None) == []
    code, out = run()
    assert code == 1 and "cannot load Kubernetes configuration" in out


def test_the_flags_are_enough() -> None:
    assert missing_run_settings("prod", "eu-west-1") == []
    code, out = run("--cluster-name", "prod", "--region", "eu-west-1")
    assert code == 1 and "cannot start" not in out


def test_a_profile_region_is_enough(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert missing_run_settings("prod", None) == []
