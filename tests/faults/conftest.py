"""Fixtures of the fault suite: the moto server of the end-to-end tier, the fault-injecting
proxy in front of it, and a live loop (sandbox API server + ``albctl run``) whose
controllers talk to AWS through the proxy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from albctl.kube.api import KubeApi
from albctl.sandbox import SandboxServer
from tests.e2e.conftest import E2E, e2e, endpoint  # the end-to-end tier's fixtures
from tests.e2e.test_controller import Live, _free_port
from tests.faults.proxy import FaultProxy

__all__ = ["E2E", "TIMEOUT", "FaultLive", "e2e", "endpoint"]

ROOT = Path(__file__).resolve().parents[2]
# the bound of one live scenario (benchmarks/faults.py raises it for the full sizes)
TIMEOUT = int(os.environ.get("ALBCTL_FAULTS_TIMEOUT", "240"))


def scale(name: str, ci: int) -> int:
    """A scenario size: ``ci`` by default, ``ALBCTL_FAULTS_<NAME>`` to run it bigger."""
    return int(os.environ.get(f"ALBCTL_FAULTS_{name.upper()}", ci))


@pytest.fixture(autouse=True)
def _external_endpoint_skip() -> None:
    if os.environ.get("ALBCTL_E2E_ENDPOINT"):
        pytest.skip("the fault suite runs against its own moto server (call recording, resets)")


@pytest.fixture
def proxy(endpoint: str) -> Iterator[FaultProxy]:
    p = FaultProxy(endpoint, seed=int(os.environ.get("ALBCTL_FAULTS_SEED", "13"))).start()
    try:
        yield p
    finally:
        p.stop()


@dataclass
class Controller:
    proc: subprocess.Popen[str]
    log: Path
    metrics_port: int
    name: str

    def metrics(self) -> str:
        """The /metrics page ("" while the controller is not serving yet)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            return urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            return ""

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            metric, _, lab = head.partition("{")
            if metric != name:
                continue
            if all(f'{k}="{v}"' in lab for k, v in labels.items()):
                total += float(value)
        return total

    def kill(self) -> None:
        """kill -9"""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@dataclass
class FaultLive(Live):
    """The live loop of tests/e2e, with controllers whose AWS endpoint is a fault proxy."""

    proxy: FaultProxy | None = None
    controllers: list[Controller] = field(default_factory=list)

    def env(self, proxy: FaultProxy | None = None, **extra: str) -> dict[str, str]:
        env = dict(self.e2e.env)
        p = proxy or self.proxy
        if p is not None:
            env["AWS_ENDPOINT_URL"] = p.url
        # the subprocess runs this checkout's code
        env["PYTHONPATH"] = os.pathsep.join(
            x for x in (str(ROOT), os.environ.get("PYTHONPATH", "")) if x
        )
        env.update(extra)
        return env

    def run(
        self,
        *extra: str,
        name: str = "ctl",
        resync: str = "3s",
        workers: int = 2,
        env: dict[str, str] | None = None,
        kubeconfig: Path | None = None,
        leader_elect: bool = False,
    ) -> Controller:
        log = self.e2e.tmp / f"{name}-{len(self.controllers)}.log"
        port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "albctl.cli",
            "run",
            "--kubeconfig",
            str(kubeconfig or self.kubeconfig),
            "--metrics-bind-address",
            f"127.0.0.1:{port}",
            "--health-probe-bind-address",
            f"127.0.0.1:{_free_port()}",
            "--resync-period",
            resync,
            "--workers",
            str(workers),
            "--log-level",
            "debug",
            *extra,
        ]
        if not leader_elect:
            cmd.append("--no-leader-elect")
        if not any(x.startswith("--webhook-bind-address") for x in extra):
            cmd += ["--webhook-bind-address", "0"]  # several controllers on one machine
        proc = subprocess.Popen(
            cmd,
            env=env or self.env(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(proc)
        self.logs.append(log)
        c = Controller(proc, log, port, name)
        self.controllers.append(c)
        return c


def _stop_all(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


@pytest.fixture
def flive(e2e: E2E, proxy: FaultProxy) -> Iterator[FaultLive]:
    server = SandboxServer(bookmark_interval=0.5)
    server.start()
    kubeconfig = server.write_kubeconfig(e2e.tmp / "kubeconfig")
    api = KubeApi(str(kubeconfig), user_agent="albctl-tests/0.1")
    lv = FaultLive(replace(e2e), server, kubeconfig, api, proxy=proxy)
    try:
        yield lv
    finally:
        for r in proxy.rules:
            r.release()
        _stop_all(lv.procs)
        server.stop()
        if os.environ.get("ALBCTL_E2E_SHOW_LOGS"):
            print(lv.logs_text())
        injected = proxy.summary()
        if injected:
            print(f"injected: {injected}")
