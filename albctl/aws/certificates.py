"""ACM: certificates to discover for hosts, and the ones albctl imported from TLS Secrets.

Imported certificates carry albctl's ownership tags plus the SHA-256 of the certificate, so a
renewed Secret (cert-manager) is re-imported in place (same ARN) and an unchanged one is left
alone. Key material passes straight from the Secret to ImportCertificate; it is never logged.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential_jitter

from albctl.aws.clients import AwsClients, aws_error, error_code, paginate
from albctl.aws.observe import TagCache
from albctl.logs import log_event
from albctl.model.certificates import FINGERPRINT_TAG
from albctl.model.inventory import CertificateInfo, Inventory, OwnedCertificate
from albctl.model.observed import ObservedStack
from albctl.model.tags import CLUSTER_TAG, RESOURCE_TAG, STACK_TAG, owned_by
from albctl.model.tls import TLSMaterial

log = logging.getLogger(__name__)


def _tags(clients: AwsClients, arn: str, cache: TagCache | None = None) -> dict[str, str]:
    hit = cache.get(arn) if cache is not None else None
    if hit is not None:
        return hit
    resp = clients.acm.list_tags_for_certificate(CertificateArn=arn)
    tags = {t["Key"]: t.get("Value", "") for t in resp.get("Tags", [])}
    if cache is not None:
        cache.put(arn, tags)
    return tags


def list_certificates(
    clients: AwsClients,
    cluster: str | None,
    describe: bool = True,
    cache: TagCache | None = None,
) -> tuple[list[CertificateInfo], list[OwnedCertificate]]:
    """ISSUED certificates: (discovery candidates, the ones this cluster imported).

    Imported certificates' tags are read to tell ours apart; ours are never candidates for
    another host's discovery. ``describe=False`` skips DescribeCertificate (owned only)."""
    candidates: list[CertificateInfo] = []
    owned: list[OwnedCertificate] = []
    for summary in paginate(
        clients.acm.list_certificates,
        "CertificateSummaryList",
        marker_in="NextToken",
        marker_out="NextToken",
        CertificateStatuses=["ISSUED"],
    ):
        arn = summary["CertificateArn"]
        if cluster and summary.get("Type", "IMPORTED") == "IMPORTED":
            tags = _tags(clients, arn, cache)
            if owned_by(tags, cluster) and STACK_TAG in tags:
                owned.append(
                    OwnedCertificate(
                        arn=arn,
                        stack=tags[STACK_TAG],
                        resource_id=tags.get(RESOURCE_TAG, ""),
                        fingerprint=tags.get(FINGERPRINT_TAG, ""),
                        tags=tags,
                    )
                )
                continue
        if describe:
            candidates.append(_describe(clients, arn))
    return candidates, owned


def _describe(clients: AwsClients, arn: str) -> CertificateInfo:
    detail = clients.acm.describe_certificate(CertificateArn=arn)["Certificate"]
    names = [detail.get("DomainName", ""), *list(detail.get("SubjectAlternativeNames", []))]
    return CertificateInfo(
        arn=detail["CertificateArn"],
        domains=tuple(dict.fromkeys(n for n in names if n)),
        status=detail.get("Status", "ISSUED"),
    )


def _aws_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _material(m: TLSMaterial) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"Certificate": m.certificate, "PrivateKey": m.private_key}
    if m.chain:
        kwargs["CertificateChain"] = m.chain
    return kwargs


def import_certificate(clients: AwsClients, material: TLSMaterial, tags: dict[str, str]) -> str:
    resp = clients.acm.import_certificate(**_material(material), Tags=_aws_tags(tags))
    return str(resp["CertificateArn"])


def reimport_certificate(
    clients: AwsClients, arn: str, material: TLSMaterial, tags: dict[str, str]
) -> None:
    """Re-import in place (same ARN, so listeners need no change), then set the tags that
    changed: ImportCertificate takes no tags on a re-import, and the fingerprint tag must
    follow (a backend that drops tags on re-import gets them all back)."""
    clients.acm.import_certificate(CertificateArn=arn, **_material(material))
    have = _tags(clients, arn)
    changed = {k: v for k, v in tags.items() if have.get(k) != v}
    if changed:
        clients.acm.add_tags_to_certificate(CertificateArn=arn, Tags=_aws_tags(changed))


def _in_use(exc: BaseException) -> bool:
    return error_code(exc) in ("ResourceInUseException", "ResourceInUse")


_in_use_retry = retry(
    retry=retry_if_exception(_in_use),
    wait=wait_exponential_jitter(multiplier=0.5, max=15),
    stop=stop_after_delay(180),
    reraise=True,
)


def delete_certificate(clients: AwsClients, arn: str, tags: dict[str, str], cluster: str) -> None:
    """Delete a certificate albctl imported; ACM refuses while a listener still uses it."""
    if not owned_by(tags, cluster) or CLUSTER_TAG not in tags:
        return
    try:
        _in_use_retry(clients.acm.delete_certificate)(CertificateArn=arn)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    except BotoCoreError as exc:
        raise aws_error(exc, f"deleting certificate {arn}") from exc
    log_event(log, "certificate deleted", arn=arn)


def with_certificates(
    clients: AwsClients,
    cluster: str,
    observed: dict[str, ObservedStack],
    inventory: Inventory | None,
    listed: bool = False,
) -> dict[str, ObservedStack]:
    """The certificates albctl imported for each stack: from the inventory when it ``listed``
    them, else read from ACM when a stack has an HTTPS listener (so they can be deleted)."""
    if inventory is not None and listed:
        owned = list(inventory.owned_certificates)
    elif any(li.protocol == "HTTPS" for o in observed.values() for li in o.listeners):
        try:
            owned = list_certificates(clients, cluster, describe=False)[1]
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "listing imported certificates") from exc
    else:
        return observed
    out = dict(observed)
    for c in owned:
        base = out.get(c.stack, ObservedStack(group_id=c.stack))
        out[c.stack] = base.model_copy(update={"certificates": (*base.certificates, c)})
    return out
