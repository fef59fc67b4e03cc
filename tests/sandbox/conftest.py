"""Fixtures: a fresh sandbox API server per test, and clients configured against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from albctl.sandbox import SandboxServer


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(bookmark_interval=0.2, history_size=1000)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubeconfig(sandbox: SandboxServer, tmp_path: Path) -> Path:
    return sandbox.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def kube(kubeconfig: Path) -> client.ApiClient:
    """The official client, configured the way albctl configures it (load_kube_config)."""
    config.load_kube_config(config_file=str(kubeconfig))
    return client.ApiClient()
