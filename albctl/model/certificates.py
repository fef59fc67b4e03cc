"""The certificates of one member's HTTPS listeners.

Precedence for a host: ``certificate-arn`` (or IngressClassParams) for the whole Ingress, else
ISSUED ACM certificates discovered for the host, else the ``spec.tls`` Secret that covers the
host, imported into ACM. A Secret that cannot be served is reported and left out (a copy
already imported from it keeps serving); the other hosts are not affected.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from albctl.errors import InvalidInputError
from albctl.model.certs import certificates_for_host
from albctl.model.desired import Listener
from albctl.model.inventory import Inventory
from albctl.model.objects import Secret
from albctl.model.tls import (
    ImportedCertificate,
    TLSMaterial,
    parse_tls_secret,
    secret_resource_id,
)

FINGERPRINT_TAG = "albctl.io/certificate-sha256"


@dataclass
class MemberCertificates:
    refs: list[str] = field(default_factory=list)  # ARNs and secret/<ns>/<name> references
    warnings: list[tuple[str, str]] = field(default_factory=list)  # hosts without one
    secret_errors: list[InvalidInputError] = field(default_factory=list)
    imported: dict[str, ImportedCertificate] = field(default_factory=dict)
    materials: dict[str, TLSMaterial] = field(default_factory=dict)


@dataclass(frozen=True)
class CertInput:
    obj: str  # Ingress/<ns>/<name>
    namespace: str
    hosts: Sequence[str]
    tls: Sequence[tuple[int, str, tuple[str, ...]]]  # (index, secretName, hosts)
    explicit: Sequence[str] | None
    https: bool


def _secret_for(host: str, tls: Sequence[tuple[int, str, tuple[str, ...]]]) -> int | None:
    for i, (_, _, hosts) in enumerate(tls):
        if host in hosts or not hosts:
            return i
    return None


def member_certificates(
    c: CertInput,
    inv: Inventory,
    secrets: Mapping[str, Secret],
    group_id: str,
    now: datetime.datetime | None,
) -> MemberCertificates:
    out = MemberCertificates()
    if c.explicit:
        out.refs = list(dict.fromkeys(c.explicit))
        return out
    if not c.https or not inv.aws_known:
        # nothing to serve, or nothing known of ACM (admission): no discovery, no Secret read
        return out
    wanted: dict[int, list[str]] = {}
    for host in c.hosts:
        arns = certificates_for_host(host, inv.certificates)
        if arns:
            out.refs += arns
            continue
        i = _secret_for(host, c.tls)
        if i is None:
            out.warnings.append((c.obj, f"no issued ACM certificate found for host {host!r}"))
            continue
        wanted.setdefault(i, []).append(host)
    if not c.hosts:
        wanted.update({i: [] for i in range(len(c.tls))})
    for i, hosts in sorted(wanted.items()):
        ref = _import(c, i, hosts, inv, secrets, group_id, now, out)
        if ref:
            out.refs.append(ref)
    out.refs = list(dict.fromkeys(out.refs))
    return out


def _import(
    c: CertInput,
    i: int,
    hosts: list[str],
    inv: Inventory,
    secrets: Mapping[str, Secret],
    group_id: str,
    now: datetime.datetime | None,
    out: MemberCertificates,
) -> str | None:
    index, name, _ = c.tls[i]
    key = f"{c.namespace}/{name}"
    rid = secret_resource_id(c.namespace, name)
    where = f"spec.tls[{index}].secretName"
    try:
        if now is None:
            raise InvalidInputError(c.obj, where, f"Secret {key}: TLS Secrets are not imported")
        parsed = parse_tls_secret(c.obj, where, key, secrets.get(key), hosts, now)
    except InvalidInputError as exc:
        out.secret_errors.append(exc)
        kept = next(
            (o for o in inv.owned_certificates if o.stack == group_id and o.resource_id == rid),
            None,
        )
        if kept is None:
            return None
        # the copy imported earlier keeps serving until the Secret is fixed
        out.imported[rid] = ImportedCertificate(
            id=rid, secret=key, fingerprint=kept.fingerprint, domains=(), not_after=""
        )
        return rid
    out.imported[rid] = parsed.certificate
    out.materials[rid] = parsed.material
    return rid


def stack_certificates(
    imported: Mapping[str, ImportedCertificate],
    listeners: Sequence[Listener],
    owned: Callable[[str, Mapping[str, str]], dict[str, str]],
    base_tags: Mapping[str, str],
) -> tuple[ImportedCertificate, ...]:
    """The imported certificates some listener serves, with their ownership and fingerprint
    tags."""
    return tuple(
        c.model_copy(update={"tags": {**owned(c.id, base_tags), FINGERPRINT_TAG: c.fingerprint}})
        for cid, c in sorted(imported.items())
        if any(cid in li.certificates for li in listeners)
    )
