"""A real HTTPS admission webhook server for the sandbox tests, and the certificates it needs.

The server speaks AdmissionReview v1 over TLS with a certificate from a test CA, valid for
``hook.webhooks.svc`` (the name the sandbox verifies for a Service reference), ``localhost``
and 127.0.0.1. What it answers is set per path by the test; every review it receives is
recorded with the Host header and the TLS server name (SNI) the client asked for.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Obj = dict[str, Any]
Behaviour = Callable[[Obj], Any]  # request -> response fields, or Raw

SERVICE_DNS = "hook.webhooks.svc"


@dataclass
class Raw:
    """A response body sent as is (for malformed answers), after an optional delay."""

    body: bytes


@dataclass
class Issued:
    cert: Path
    key: Path
    serial: int


@dataclass
class Authority:
    """A test CA that issues server certificates into ``directory``."""

    directory: Path
    name: str = "albctl test CA"
    key: ec.EllipticCurvePrivateKey = field(init=False)
    cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def bundle(self) -> str:
        """The CA certificate as a webhook ``caBundle`` (base64 of the PEM)."""
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.PEM)).decode()

    def issue(self, stem: str, dns: tuple[str, ...] = (SERVICE_DNS, "localhost")) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        serial = x509.random_serial_number()
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        issued = Issued(self.directory / f"{stem}.crt", self.directory / f"{stem}.key", serial)
        issued.cert.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + self.cert.public_bytes(serialization.Encoding.PEM)
        )
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return issued


@dataclass
class Call:
    path: str
    host: str
    server_name: str | None
    review: Obj

    @property
    def request(self) -> Obj:
        request: Obj = self.review["request"]
        return request


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    hooks: HookServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        # the handshake happens in the connection's own thread, with the current certificate
        tls = self.hooks.context.wrap_socket(request, server_side=True)
        super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that reject our certificate are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        hooks = cast(_TLSServer, self.server).hooks
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        path = self.path.split("?")[0]
        server_name = getattr(self.connection, "sni", None)
        hooks.calls.append(Call(self.path, self.headers.get("Host", ""), server_name, review))
        outcome = hooks.routes.get(path, allow())(review["request"])
        if isinstance(outcome, Raw):
            data = outcome.body
        else:
            response = {"uid": review["request"]["uid"], **outcome}
            answer = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}
            data = json.dumps({**answer, "response": response}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class HookServer:
    """An HTTPS admission webhook on 127.0.0.1; ``routes`` maps a path to its behaviour."""

    def __init__(self, issued: Issued) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(issued.cert, issued.key)
        self.context.sni_callback = self._sni
        self.routes: dict[str, Behaviour] = {}
        self.calls: list[Call] = []
        self._httpd = _TLSServer(("127.0.0.1", 0), _Handler)
        self._httpd.hooks = self
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @staticmethod
    def _sni(sock: Any, name: str | None, context: ssl.SSLContext) -> None:
        sock.sni = name  # the server name the client asked for, read by the handler

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def load(self, issued: Issued) -> None:
        """Serve another certificate from the next handshake on (a rotation)."""
        self.context.load_cert_chain(issued.cert, issued.key)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path.split("?")[0] == path]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# --- behaviours -------------------------------------------------------------------------------


def allow(**fields: Any) -> Behaviour:
    return lambda request: {"allowed": True, **fields}


def deny(message: str, code: int | None = None, reason: str | None = None) -> Behaviour:
    status: Obj = {"message": message}
    if code is not None:
        status["code"] = code
    if reason is not None:
        status["reason"] = reason
    return lambda request: {"allowed": False, "status": status}


def json_patch(build: Callable[[Obj], list[Obj]], warnings: list[str] | None = None) -> Behaviour:
    """Answer with the JSON patch ``build(object)``."""

    def respond(request: Obj) -> Obj:
        ops = build(request["object"])
        encoded = base64.b64encode(json.dumps(ops).encode()).decode()
        out: Obj = {"allowed": True, "patchType": "JSONPatch", "patch": encoded}
        if warnings:
            out["warnings"] = warnings
        return out

    return respond


def add_label(key: str, value: str) -> Behaviour:
    def ops(obj: Obj) -> list[Obj]:
        if obj["metadata"].get("labels"):
            path = "/metadata/labels/" + key.replace("~", "~0").replace("/", "~1")
            return [{"op": "add", "path": path, "value": value}]
        return [{"op": "add", "path": "/metadata/labels", "value": {key: value}}]

    return json_patch(ops)


def slow(seconds: float, then: Behaviour) -> Behaviour:
    def respond(request: Obj) -> Any:
        time.sleep(seconds)
        return then(request)

    return respond


# --- configurations ---------------------------------------------------------------------------


def rule(
    resources: list[str],
    operations: tuple[str, ...] = ("CREATE", "UPDATE"),
    groups: tuple[str, ...] = ("*",),
    versions: tuple[str, ...] = ("*",),
    scope: str | None = None,
) -> Obj:
    out: Obj = {
        "apiGroups": list(groups),
        "apiVersions": list(versions),
        "operations": list(operations),
        "resources": resources,
    }
    if scope:
        out["scope"] = scope
    return out


def webhook(name: str, client_config: Obj, rules: list[Obj], **fields: Any) -> Obj:
    return {
        "name": name,
        "clientConfig": client_config,
        "rules": rules,
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        **fields,
    }


def configuration(kind: str, name: str, *hooks: Obj) -> Obj:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": list(hooks),
    }
