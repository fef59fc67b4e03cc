"""Certificate discovery: which issued ACM certificates serve which hosts."""

from __future__ import annotations

from collections.abc import Iterable

from albctl.model.inventory import CertificateInfo


def name_matches(cert_name: str, host: str) -> bool:
    """Exact match, or ``*.a.b`` matching exactly one more label (``x.a.b``)."""
    cert_name, host = cert_name.lower(), host.lower()
    if cert_name == host:
        return True
    if cert_name.startswith("*.") and not host.startswith("*."):
        c_labels, h_labels = cert_name.split("."), host.split(".")
        return len(c_labels) == len(h_labels) and c_labels[1:] == h_labels[1:]
    return False


def certificates_for_host(host: str, certs: Iterable[CertificateInfo]) -> list[str]:
    """ARNs of issued certificates for ``host``: exact matches first, then wildcards."""
    exact: list[str] = []
    wildcard: list[str] = []
    for cert in sorted(certs, key=lambda c: c.arn):
        if cert.status != "ISSUED":
            continue
        if any(d.lower() == host.lower() for d in cert.domains):
            exact.append(cert.arn)
        elif any(name_matches(d, host) for d in cert.domains):
            wildcard.append(cert.arn)
    return exact + wildcard
