"""One admission webhook call: where the webhook is, TLS as the apiserver does it, one POST.

``clientConfig.url`` is dialled as is; ``clientConfig.service`` is dialled at an address
resolved by the caller (there is no cluster network) while TLS still uses the service's DNS
name, ``<name>.<namespace>.svc``, for SNI and for verifying the certificate, exactly as a
kube-apiserver reaching the service through its ClusterIP would. The server certificate is
verified against ``caBundle`` only, never the system trust store. Every call uses a new
connection, so a webhook that rotates its serving certificate is seen at once.

Failures raise :class:`CallError` with the apiserver's wording (``failed to call webhook:
Post "https://...": context deadline exceeded``, ``received invalid webhook response: ...``);
the caller applies the webhook's ``failurePolicy``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Obj = dict[str, Any]
Resolver = Callable[[str, str, int], tuple[str, int]]  # (namespace, name, port) -> address

REVIEW_API_VERSION = "admission.k8s.io/v1"


class CallError(Exception):
    """The webhook could not be called or answered nonsense (subject to failurePolicy)."""


@dataclass(frozen=True)
class Target:
    address: tuple[str, int]  # where to connect
    server_name: str  # TLS SNI and the name the certificate must be valid for
    host: str  # the Host header: the URL's host and port
    path: str  # path and query
    url: str  # the URL as the apiserver would print it


def target(client_config: Obj, timeout: int, resolve: Resolver) -> Target:
    """Where to POST for this ``clientConfig`` (a service is resolved with ``resolve``)."""
    query = f"?timeout={timeout}s"
    url = client_config.get("url")
    if url is not None:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port or 443
        path = (parts.path or "/") + query
        return Target((host, port), host, str(parts.netloc), path, f"https://{parts.netloc}{path}")
    service = client_config.get("service") or {}
    namespace, name = str(service.get("namespace", "")), str(service.get("name", ""))
    port = int(service.get("port") or 443)
    host = f"{name}.{namespace}.svc"
    path = str(service.get("path") or "/") + query
    address = resolve(namespace, name, port)
    return Target(address, host, f"{host}:{port}", path, f"https://{host}:{port}{path}")


@functools.lru_cache(maxsize=64)
def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A client context that trusts exactly the PEM certificates of ``caBundle`` (base64)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and hostname
    if ca_bundle:
        try:
            pem = base64.b64decode(ca_bundle, validate=True).decode()
            context.load_verify_locations(cadata=pem)
        except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError) as err:
            raise CallError(f"failed to call webhook: could not load caBundle: {err}") from None
    return context


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ``target.address`` while speaking TLS and HTTP as ``target.server_name``."""

    def __init__(self, where: Target, context: ssl.SSLContext, deadline: float) -> None:
        super().__init__(where.server_name, timeout=_left(deadline), context=context)
        self._where = where
        self._tls = context
        self.deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection(self._where.address, _left(self.deadline))
        sock.settimeout(_left(self.deadline))  # the TLS handshake gets what is left
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._where.server_name)


def _left(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline exceeded")
    return remaining


# OpenSSL verification codes that Go reports as "certificate signed by unknown authority"
_UNKNOWN_AUTHORITY = {2, 18, 19, 20, 21}
_EXPIRED = {9, 10}
_HOSTNAME_MISMATCH = 62


def _x509(err: ssl.SSLCertVerificationError, server_name: str) -> str:
    """Go's wording for a failed verification (what apiserver logs and users search for)."""
    if err.verify_code in _UNKNOWN_AUTHORITY:
        return "x509: certificate signed by unknown authority"
    if err.verify_code in _EXPIRED:
        return "x509: certificate has expired or is not yet valid"
    if err.verify_code == _HOSTNAME_MISMATCH:
        return f"x509: certificate is not valid for {server_name}"
    return f"x509: {err.verify_message}"


def _failure(where: Target, err: BaseException) -> CallError:
    if isinstance(err, TimeoutError):
        why = "context deadline exceeded"
    elif isinstance(err, ssl.SSLCertVerificationError):
        why = f"tls: failed to verify certificate: {_x509(err, where.server_name)}"
    elif isinstance(err, ConnectionRefusedError):
        host, port = where.address
        why = f"dial tcp {host}:{port}: connect: connection refused"
    else:
        why = str(err) or type(err).__name__
    return CallError(f'failed to call webhook: Post "{where.url}": {why}')


def post(where: Target, context: ssl.SSLContext, body: bytes, timeout: float) -> bytes:
    """POST ``body`` and return the response body.

    Connecting, the TLS handshake and waiting for the answer share one ``timeout``.
    """
    deadline = time.monotonic() + timeout
    conn = _Connection(where, context, deadline)
    try:
        headers = {
            "Host": where.host,
            "Content-Type": "application/json",
            "Accept": "application/json, */*",
        }
        conn.request("POST", where.path, body, headers)
        if conn.sock is not None:
            conn.sock.settimeout(_left(deadline))
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as err:
        raise _failure(where, err) from None
    finally:
        conn.close()
    if response.status != 200:
        text = data[:300].decode(errors="replace").strip()
        raise CallError(
            f"failed to call webhook: the server responded with status {response.status}"
            + (f": {text}" if text else "")
        )
    return data


def _invalid(why: str) -> CallError:
    return CallError(f"received invalid webhook response: {why}")


def _patch(response: Obj, mutating: bool) -> list[Any] | None:
    patch, patch_type = response.get("patch"), response.get("patchType")
    if not mutating:
        if patch:
            raise _invalid("validating webhook may not return response.patch")
        if patch_type is not None:
            raise _invalid("validating webhook may not return response.patchType")
        return None
    if patch and patch_type is None:
        raise _invalid("webhook returned response.patch but not response.patchType")
    if not patch and patch_type is not None:
        raise _invalid("webhook returned response.patchType but not response.patch")
    if not patch:
        return None
    if patch_type != "JSONPatch":
        raise _invalid(f'webhook returned invalid response.patchType of "{patch_type}"')
    try:
        ops = json.loads(base64.b64decode(str(patch), validate=True))
    except (binascii.Error, ValueError) as err:
        raise _invalid(f"response.patch is not base64-encoded JSON: {err}") from None
    if not isinstance(ops, list):
        raise _invalid("response.patch is not a JSON patch (a list of operations)")
    return ops


def review_response(raw: bytes, uid: str, mutating: bool) -> tuple[Obj, list[Any] | None]:
    """The ``response`` of an AdmissionReview answer, checked, and its JSON patch if any."""
    try:
        review = json.loads(raw)
    except ValueError as err:
        raise _invalid(str(err)) from None
    if not isinstance(review, dict):
        raise _invalid("the body is not a JSON object")
    api_version, kind = review.get("apiVersion", ""), review.get("kind", "")
    if (api_version, kind) != (REVIEW_API_VERSION, "AdmissionReview"):
        raise _invalid(
            f"expected webhook response of {REVIEW_API_VERSION}, Kind=AdmissionReview, got "
            f"{api_version}, Kind={kind}"
        )
    response = review.get("response")
    if not isinstance(response, dict):
        raise _invalid("webhook response was absent")
    if response.get("uid") != uid:
        raise _invalid(f'expected response.uid="{uid}", got "{response.get("uid", "")}"')
    return response, _patch(response, mutating)


def _slice_port(slice_: Obj, port_name: str, target_port: Any) -> int | None:
    ports = [p for p in slice_.get("ports") or [] if isinstance(p, dict)]
    for p in ports:
        if (p.get("name") or "") == port_name and isinstance(p.get("port"), int):
            return int(p["port"])
    for p in ports:
        if isinstance(target_port, int) and p.get("port") == target_port:
            return target_port
    return None


def _ready_address(slice_: Obj) -> str | None:
    for endpoint in slice_.get("endpoints") or []:
        if not isinstance(endpoint, dict):
            continue
        if (endpoint.get("conditions") or {}).get("ready") is False:
            continue
        addresses = endpoint.get("addresses") or []
        if addresses:
            return str(addresses[0])
    return None


def endpoint_address(service: Obj, slices: list[Obj], port: int) -> tuple[str, int] | None:
    """The first ready endpoint of ``service``'s port ``port`` in its EndpointSlices."""
    for svc_port in (service.get("spec") or {}).get("ports") or []:
        if not isinstance(svc_port, dict) or svc_port.get("port") != port:
            continue
        name = str(svc_port.get("name") or "")
        target_port = svc_port.get("targetPort", port)
        for slice_ in slices:
            number = _slice_port(slice_, name, target_port)
            address = _ready_address(slice_) if number is not None else None
            if address is not None and number is not None:
                return address, number
    return None
