"""The HTTPS server of the admission webhooks.

The serving certificate is ``tls.crt``/``tls.key`` in a directory (the layout of a
``kubernetes.io/tls`` Secret, as cert-manager writes it). Each new connection is wrapped with
the certificate currently on disk: the files are looked at (inode, size, modification time) on
every TLS handshake and loaded again when they changed, so a rotated certificate is served from
the next connection on, without a restart. A pair that does not load (say the certificate was
replaced and the key not yet) keeps the previous one in service.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from albctl.logs import log_event
from albctl.webhook.handlers import AdmissionHandlers, BadReview

log = logging.getLogger(__name__)

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
MAX_BODY = 3 * 1024 * 1024  # the API server sends at most ~3 MiB objects
HANDSHAKE_TIMEOUT = 10.0


class ServingCertificate:
    """The TLS context of the certificate in ``directory``, reloaded when the files change."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._fingerprint: Any = None
        self._failed: Any = None
        self._context: ssl.SSLContext | None = None
        self.loads = 0

    def _stat(self) -> Any:
        out = []
        for name in (CERT_FILE, KEY_FILE):
            try:
                st = os.stat(self.directory / name)
            except OSError:
                return None
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def context(self) -> ssl.SSLContext | None:
        """The context to wrap the next connection with (None: no certificate yet)."""
        fp = self._stat()
        with self._lock:
            if fp is None or fp == self._fingerprint or fp == self._failed:
                return self._context
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                ctx.load_cert_chain(self.directory / CERT_FILE, self.directory / KEY_FILE)
            except (OSError, ssl.SSLError) as exc:
                self._failed = fp
                log_event(
                    log,
                    "webhook certificate not loaded",
                    logging.WARNING,
                    directory=str(self.directory),
                    error=str(exc),
                    serving="previous" if self._context else "none",
                )
                return self._context
            self._fingerprint, self._failed, self._context = fp, None, ctx
            self.loads += 1
            log_event(
                log,
                "webhook certificate loaded",
                directory=str(self.directory),
                reload=self.loads > 1,
            )
            return ctx


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hooks: WebhookServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        # the handshake runs in the connection's own thread, with the certificate on disk now
        ctx = self.hooks.certificate.context()
        if ctx is None:
            request.close()
            return
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log_event(log, "webhook TLS handshake failed", logging.DEBUG, error=str(exc))
            request.close()
            return
        super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log_event(log, "webhook connection failed", logging.DEBUG, client=str(client_address))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        hooks = cast(_Server, self.server).hooks
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, b"request too large\n", "text/plain")
            return
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise BadReview("expected a JSON object")
            answer = hooks.handlers.review(path, body)
        except (ValueError, BadReview) as exc:
            code = 404 if str(exc).startswith("no webhook at") else 400
            self._reply(code, (str(exc) + "\n").encode(), "text/plain")
            return
        except Exception as exc:
            log_event(log, "webhook failed", logging.ERROR, path=path, error=repr(exc))
            self._reply(500, b"internal error\n", "text/plain")
            return
        self._reply(200, json.dumps(answer).encode())

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            self._reply(200, b"ok\n", "text/plain")
        else:
            self._reply(404, b"not found\n", "text/plain")


class _Server6(_Server):
    address_family = socket.AF_INET6


def split_address(addr: str) -> tuple[str, int]:
    """``host:port``, ``:port`` (every IPv4 interface) or ``[v6]:port``."""
    host, _, port = addr.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


class WebhookServer:
    """HTTPS on ``address`` (``host:port``, ``:port`` for every interface)."""

    def __init__(
        self, address: str, certificate: ServingCertificate, handlers: AdmissionHandlers
    ) -> None:
        self.certificate = certificate
        self.handlers = handlers
        host, port = split_address(address)
        cls = _Server6 if ":" in host else _Server
        self._httpd = cls((host, port), _Handler, bind_and_activate=False)
        self._httpd.hooks = self
        try:
            self._httpd.server_bind()
        except OSError:
            self._httpd.server_close()
            raise
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Accept connections from now on (the port is bound already)."""
        self._httpd.server_activate()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="webhooks",
            daemon=True,
        )
        self._thread.start()
        log_event(log, "serving webhooks", port=self.port)

    @property
    def serving(self) -> bool:
        return self._thread is not None and self.certificate.context() is not None

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()
