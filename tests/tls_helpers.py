"""Certificates and TLS Secrets for tests (self-signed, generated on the fly)."""

from __future__ import annotations

import base64
import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def key_pem() -> tuple[Any, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return key, pem


def cert_pem(
    names: list[str], key: Any, days: int = 90, start_days_ago: int = 1, issuer_key: Any = None
) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=start_days_ago))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(issuer_key or key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def tls_secret(
    name: str,
    namespace: str,
    names: list[str],
    days: int = 90,
    start_days_ago: int = 1,
    wrong_key: bool = False,
    type_: str = "kubernetes.io/tls",
    chain: bool = True,
) -> dict[str, Any]:
    """A kubernetes.io/tls Secret: leaf (+ a CA in the chain) and its key."""
    key, kpem = key_pem()
    crt = cert_pem(names, key, days, start_days_ago)
    if chain:
        ca_key, _ = key_pem()
        crt += cert_pem(["Test CA"], ca_key)
    if wrong_key:
        _, kpem = key_pem()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": type_,
        "data": {
            "tls.crt": base64.b64encode(crt).decode(),
            "tls.key": base64.b64encode(kpem).decode(),
        },
    }


def key_text(secret: dict[str, Any]) -> str:
    """The PEM body of the Secret's private key (to check it leaks nowhere)."""
    pem = base64.b64decode(secret["data"]["tls.key"]).decode()
    return pem.splitlines()[1]
