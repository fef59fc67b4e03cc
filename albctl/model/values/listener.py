"""Listener values: certificate ARNs and mutual TLS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from albctl.model.desired import MutualAuthentication
from albctl.model.inventory import Inventory
from albctl.model.values import Fail

MTLS_MODES = ("off", "passthrough", "verify")
VERIFY_ONLY = ("trustStore", "ignoreClientCertificateExpiry", "advertiseTrustStoreCaNames")


def certificate_arns(certs: Sequence[str], fail: Fail) -> list[str]:
    for c in certs:
        if not c.startswith("arn:"):
            raise fail(f"{c!r} is not an ARN")
    return list(certs)


def mutual_authentication(
    inv: Inventory, mode: Any, given: dict[str, Any], fail: Fail
) -> MutualAuthentication:
    """mTLS of one listener from its mode and the verify-only fields (``VERIFY_ONLY`` keys,
    None when not set); a trust store name is resolved to its ARN (as LBC does)."""
    if mode not in MTLS_MODES:
        raise fail(f"mode must be one of {', '.join(MTLS_MODES)}")
    if mode != "verify":
        extra = [k for k in VERIFY_ONLY if given.get(k) is not None]
        if extra:
            raise fail(f"mode {mode} does not take {', '.join(extra)}")
        return MutualAuthentication(mode=mode)
    store = given.get("trustStore")
    ignore = given.get("ignoreClientCertificateExpiry")
    advertise = given.get("advertiseTrustStoreCaNames")
    if not isinstance(store, str) or not store:
        raise fail("mode verify needs a trustStore (name or ARN)")
    if ignore is not None and not isinstance(ignore, bool):
        raise fail("ignoreClientCertificateExpiry must be true or false")
    if advertise is not None and advertise not in ("on", "off"):
        raise fail("advertiseTrustStoreCaNames must be on or off")
    return MutualAuthentication(
        mode="verify",
        trust_store_arn=_trust_store_arn(inv, store, fail),
        ignore_client_certificate_expiry=bool(ignore),
        advertise_trust_store_ca_names=advertise or "off",
    )


def _trust_store_arn(inv: Inventory, store: str, fail: Fail) -> str:
    if store.startswith("arn:"):
        return store
    if not inv.aws_known:
        return f"arn:unknown:trust-store:{store}"
    arn = inv.trust_stores_by_name.get(store)
    if arn is None:
        raise fail(f"no trust store named {store!r}")
    return arn
