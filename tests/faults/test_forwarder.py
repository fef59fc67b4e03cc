"""The TCP forwarder itself: it forwards, a cut fails open connections and blackholes new
ones (a client waits until its own timeout), and a restore delivers what waited behind it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from albctl.kube.api import LEASE, KubeApi, Unreachable
from albctl.sandbox import SandboxServer
from tests.faults.forwarder import TcpForwarder


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    s = SandboxServer()
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def forwarder(server: SandboxServer) -> Iterator[TcpForwarder]:
    f = TcpForwarder(server.host, server.port).start()
    try:
        yield f
    finally:
        f.stop()


def api_through(server: SandboxServer, fwd: TcpForwarder, tmp: Path, timeout: float) -> KubeApi:
    config = server.kubeconfig()
    config["clusters"][0]["cluster"]["server"] = fwd.url
    path = tmp / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return KubeApi(str(path), timeout=timeout)


def test_forwards_until_cut_then_blackholes_until_restored(
    server: SandboxServer, forwarder: TcpForwarder, tmp_path: Path
) -> None:
    api = api_through(server, forwarder, tmp_path, timeout=0.5)
    assert api.list(LEASE, "default")["items"] == []
    assert forwarder.forwarded == 1
    forwarder.cut()
    assert forwarder.severed == 1  # the pooled connection of the list
    start = time.monotonic()
    with pytest.raises(Unreachable):
        api.list(LEASE, "default")
    assert time.monotonic() - start >= 0.5  # no answer: the client's own timeout
    assert forwarder.blackholed >= 1
    forwarder.restore()
    assert api.list(LEASE, "default")["items"] == []


def test_what_was_sent_during_the_cut_reaches_the_server_once_restored(
    server: SandboxServer, forwarder: TcpForwarder
) -> None:
    forwarder.cut()
    sock = socket.create_connection((forwarder.host, forwarder.port), timeout=10)
    sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(sock.recv(100)))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive() and forwarder.blackholed == 1  # no answer, no close
    forwarder.restore()
    reader.join(5)
    assert got and got[0].startswith(b"HTTP/1.1 200")  # delivered late, answered
    sock.close()
