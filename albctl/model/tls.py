"""TLS Secrets (``spec.tls[].secretName``) as certificates to import into ACM.

Pure: a Secret is checked (type, keys, key matching the certificate, validity at the time the
caller passes, hosts covered) and turned into an :class:`ImportedCertificate` (what the
desired state records: never key material) plus a :class:`TLSMaterial` (what the importer
needs, kept out of every repr). Errors name the Ingress, the Secret and the reason, and never
quote the Secret's content.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from albctl.errors import InvalidInputError
from albctl.model.certs import name_matches
from albctl.model.objects import Secret

TLS_TYPE = "kubernetes.io/tls"


def secret_resource_id(namespace: str, name: str) -> str:
    return f"secret/{namespace}/{name}"


def is_secret_ref(ref: str) -> bool:
    return ref.startswith("secret/")


class ImportedCertificate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # secret/<ns>/<name>
    secret: str  # <ns>/<name>
    fingerprint: str  # sha256 of the leaf certificate (DER), hex
    domains: tuple[str, ...]
    not_after: str  # ISO 8601, UTC
    tags: dict[str, str] = {}


@dataclass(frozen=True)
class TLSMaterial:
    certificate: bytes = field(repr=False)  # the leaf, PEM
    chain: bytes = field(repr=False)  # the rest of tls.crt (PEM), may be empty
    private_key: bytes = field(repr=False)


class TLSSecretError(InvalidInputError):
    """A TLS Secret named by an Ingress cannot be served."""


@dataclass(frozen=True)
class ParsedSecret:
    certificate: ImportedCertificate
    material: TLSMaterial


def _split_pem(data: bytes) -> list[bytes]:
    marker = b"-----END CERTIFICATE-----"
    parts = [p.strip() + b"\n" + marker + b"\n" for p in data.split(marker)[:-1]]
    return [p.lstrip() for p in parts if b"-----BEGIN CERTIFICATE-----" in p]


def _domains(cert: object) -> tuple[str, ...]:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    assert isinstance(cert, x509.Certificate)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names += san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pass
    for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        if value not in names:
            names.insert(0, value)
    return tuple(dict.fromkeys(n.lower() for n in names))


def parse_tls_secret(
    obj: str,
    where: str,
    key: str,
    secret: Secret | None,
    hosts: Iterable[str],
    now: datetime.datetime,
) -> ParsedSecret:
    """Check the Secret ``key`` (``ns/name``) named by ``obj`` at ``where`` and parse it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    def fail(reason: str) -> TLSSecretError:
        return TLSSecretError(obj, where, f"Secret {key}: {reason}")

    if secret is None:
        raise fail("not found")
    if secret.type != TLS_TYPE:
        raise fail(f"is of type {secret.type!r}, expected {TLS_TYPE!r}")
    crt, pem_key = secret.value("tls.crt"), secret.value("tls.key")
    if not crt or not pem_key:
        missing = [k for k, v in (("tls.crt", crt), ("tls.key", pem_key)) if not v]
        raise fail(f"has no (valid base64) {' and '.join(missing)}")
    blocks = _split_pem(crt)
    try:
        leaf = x509.load_pem_x509_certificate(blocks[0] if blocks else crt)
    except ValueError:
        raise fail("tls.crt is not a PEM certificate") from None
    try:
        private = serialization.load_pem_private_key(pem_key, password=None)
    except (ValueError, TypeError):
        raise fail("tls.key is not an unencrypted PEM private key") from None
    raw = serialization.Encoding.PEM
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(raw, spki) != leaf.public_key().public_bytes(raw, spki):
        raise fail("tls.key does not match the certificate in tls.crt")
    not_after = leaf.not_valid_after_utc
    if not_after <= now:
        raise fail(f"the certificate expired on {not_after.isoformat()}")
    if leaf.not_valid_before_utc > now:
        raise fail(f"the certificate is not valid before {leaf.not_valid_before_utc.isoformat()}")
    domains = _domains(leaf)
    uncovered = [h for h in hosts if not any(name_matches(d, h) for d in domains)]
    if uncovered:
        raise fail(
            f"the certificate (for {', '.join(domains) or 'no names'}) does not cover host "
            f"{uncovered[0]!r}"
        )
    der = leaf.public_bytes(serialization.Encoding.DER)
    ns, _, name = key.partition("/")
    cert = ImportedCertificate(
        id=secret_resource_id(ns, name),
        secret=key,
        fingerprint=hashlib.sha256(der).hexdigest(),
        domains=domains,
        not_after=not_after.isoformat(),
    )
    chain = b"".join(blocks[1:])
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)
    return ParsedSecret(cert, TLSMaterial(leaf_pem, chain, pem_key))
