"""Authentication values: the OIDC client from its Secret, the settings Cognito and OIDC share,
and JWT validation. The model keeps only a digest of the OIDC client secret; the secret itself
goes to the applier (``secrets``), never into a plan, an Event or a log line."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from albctl.errors import MissingObjectError
from albctl.model.desired import JwtClaim, JwtValidation
from albctl.model.objects import Secret
from albctl.model.values import Fail

ON_UNAUTHENTICATED = ("authenticate", "allow", "deny")
SESSION_TIMEOUT = (1, 604800)
CLAIM_FORMATS = ("single-string", "string-array", "space-separated-values")


def common(
    on_unauthenticated: str | None,
    scope: str | None,
    session_cookie: str | None,
    session_timeout: int | None,
    fail: Fail,
) -> dict[str, Any]:
    """The settings of an authenticate action that were set (defaults: the model's)."""
    out: dict[str, Any] = {}
    if on_unauthenticated:
        if on_unauthenticated not in ON_UNAUTHENTICATED:
            raise fail(
                f"onUnauthenticatedRequest {on_unauthenticated!r}: expected one of "
                + ", ".join(ON_UNAUTHENTICATED)
            )
        out["on_unauthenticated"] = on_unauthenticated
    if scope:
        out["scope"] = scope
    if session_cookie:
        out["session_cookie"] = session_cookie
    if session_timeout is not None:
        low, high = SESSION_TIMEOUT
        if not low <= session_timeout <= high:
            raise fail(f"sessionTimeout {session_timeout} is out of range {low}..{high}")
        out["session_timeout"] = session_timeout
    return out


def oidc_client(
    secrets: Mapping[str, Secret],
    aws_known: bool,
    ref: str,
    source: str,
    where: str,
    fail: Fail,
    keep: MutableMapping[str, str],
    ref_field: str = "secretName",
) -> tuple[str, str]:
    """(client id, digest of the client secret) from the Secret ``ref`` (``ns/name``; keys
    ``clientID``, legacy ``clientId``, and ``clientSecret``); the secret is kept in ``keep``
    by its digest for the applier."""
    secret = secrets.get(ref)
    client_id: bytes | None
    client_secret: bytes | None
    if secret is None and not aws_known:
        # admission and offline routing read no Secrets: judge the rest of the object
        client_id, client_secret = b"unknown", b"unknown"
    elif secret is None:
        raise MissingObjectError(source, where, f"Secret {ref} ({ref_field}) not found")
    else:
        client_id = secret.value("clientID") or secret.value("clientId")
        client_secret = secret.value("clientSecret")
    for key, value in (("clientID", client_id), ("clientSecret", client_secret)):
        if not value:
            raise fail(f"Secret {ref} has no key {key!r}")
    assert client_id is not None and client_secret is not None
    digest = hashlib.sha256(b"albctl-oidc\0" + ref.encode() + b"\0" + client_secret).hexdigest()
    keep[digest[:16]] = client_secret.decode()
    return client_id.decode(), digest[:16]


def jwt_validation(
    jwks_endpoint: str, issuer: str, claims: Sequence[tuple[str, str, Sequence[str]]]
) -> JwtValidation:
    """JWT validation from (name, format, values) claims (checked by the reader's schema)."""
    return JwtValidation(
        jwks_endpoint=jwks_endpoint,
        issuer=issuer,
        additional_claims=tuple(
            JwtClaim.model_validate({"name": n, "format": f, "values": tuple(v)})
            for n, f, v in claims
        ),
    )
