"""``SandboxServer``: start, stop and point clients at the in-memory API server.

This is the public entry point of the package: it owns the registry, the store and the HTTP
server thread, writes a kubeconfig that kubectl and the official Python client accept as is,
and exposes the two fault injections tests of re-list logic need (expired history, broken
watch streams).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from albctl.sandbox.admission import Webhooks
from albctl.sandbox.http import Backend, SandboxHTTPServer
from albctl.sandbox.registry import Registry
from albctl.sandbox.store import Store

DUMMY_TOKEN = "sandbox-token"  # the sandbox does no authentication; clients need some token

ServiceAddresses = dict[str, tuple[str, int]]


def parse_service_address(text: str) -> tuple[str, tuple[str, int]]:
    """``ns/name=host:port`` (the ``--service-address`` flag) as ``("ns/name", (host, port))``.

    ``host`` may be a bracketed IPv6 address (``[::1]:9443``).
    """
    service, sep, address = text.partition("=")
    namespace, slash, name = service.partition("/")
    host, colon, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not (sep and slash and namespace and name and colon and host and port.isdigit()):
        raise ValueError(f"expected NAMESPACE/NAME=HOST:PORT, got {text!r}")
    if not 0 < int(port) < 65536:
        raise ValueError(f"port out of range in {text!r}")
    return f"{namespace}/{name}", (host, int(port))


class SandboxServer:
    """An in-memory Kubernetes API server on ``host:port`` (port 0: pick a free one)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        history_size: int = 10000,
        bookmark_interval: float = 1.0,
        serve_openapi: bool = True,
        service_addresses: ServiceAddresses | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.registry = Registry()
        self.store = Store(self.registry, history_size=history_size)
        # "namespace/name" of a webhook Service -> (host, port) to call it at (read per call)
        self.service_addresses: ServiceAddresses = dict(service_addresses or {})
        self.store.admission = Webhooks(self.store, self.service_addresses)
        self._backend = Backend(
            store=self.store,
            registry=self.registry,
            bookmark_interval=bookmark_interval,
            serve_openapi=serve_openapi,
        )
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving in a background thread; returns once the socket is listening."""
        if self._httpd is not None:
            raise RuntimeError("sandbox API server already started")
        self.store.reopen()
        self._httpd = SandboxHTTPServer((self.host, self.port), self._backend)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-apiserver-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: end watches, cut open connections, close the socket.

        The data is kept: ``start()`` again serves it on the same port, like an apiserver
        restart (watch streams end; clients must re-watch).
        """
        httpd = self._httpd
        if httpd is None:
            return
        self.store.close()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- client configuration -----------------------------------------------------------------

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sandbox", "cluster": {"server": self.url}}],
            "users": [{"name": "sandbox", "user": {"token": DUMMY_TOKEN}}],
            "contexts": [
                {
                    "name": "sandbox",
                    "context": {"cluster": "sandbox", "user": "sandbox", "namespace": "default"},
                }
            ],
            "current-context": "sandbox",
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        """Write a kubeconfig (cluster, user and context all named ``sandbox``) to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        target.chmod(0o600)
        return target

    # --- fault injection for tests ------------------------------------------------------------

    @property
    def audit(self) -> list[tuple[str, str, str]]:
        """(user agent, method, path) of every request served so far."""
        return self._backend.audit

    def expire_history(self) -> None:
        """Every resourceVersion older than the current one is now too old: 410 Gone."""
        self.store.expire_history()

    def break_watches(self) -> None:
        """Close every open watch stream, as an apiserver restart or a load balancer would."""
        self.store.break_watches()

    def deny(
        self,
        resource: str,
        verbs: tuple[str, ...] = ("list", "watch"),
        namespace: str | None = None,
    ) -> None:
        """Refuse ``verbs`` (get, list, watch) on ``resource`` (a plural: ``ingresses``) with
        403 Forbidden, as a revoked RBAC permission does; ``namespace`` None: in every
        namespace. Open watches go on (as in Kubernetes) until they end."""
        for verb in verbs:
            self._backend.denied.add((resource, verb, namespace))

    def allow(self, resource: str | None = None) -> None:
        """Take back ``deny`` (of ``resource``, or of everything)."""
        self._backend.denied -= {d for d in self._backend.denied if resource in (None, d[0])}

    # --- foreground use -----------------------------------------------------------------------

    def serve_forever_until_signal(self, kubeconfig_path: str | os.PathLike[str]) -> None:
        """Start, write the kubeconfig, announce it, block until SIGINT/SIGTERM, then stop."""
        done = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            done.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            path = self.write_kubeconfig(kubeconfig_path)
            print(f"sandbox API server listening on {self.url} (kubeconfig: {path})", flush=True)
            while not done.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
