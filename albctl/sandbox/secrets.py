"""Secret (v1) semantics: base64 ``data``, write-only ``stringData``, typed required keys.

The apiserver decodes ``data`` values from base64 when it reads a request body, merges
``stringData`` into ``data`` while converting to its internal form (``stringData`` wins and is
never stored or returned), defaults ``type`` to ``Opaque`` and then validates: key names,
the keys each well-known type requires (``tls.crt`` and ``tls.key`` for
``kubernetes.io/tls``...), the 1 MiB size limit, and on updates that ``type`` and an
``immutable`` Secret's data do not change. Values are never echoed in error messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from albctl.sandbox.errors import invalid

Obj = dict[str, Any]
Cause = tuple[str, str, str]

MAX_SIZE = 1024 * 1024
REDACTED = "<secret contents redacted>"

_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_SA_ANNOTATION = "kubernetes.io/service-account.name"


def base64_problem(value: Any) -> str | None:
    """Why ``value`` is not standard base64 (Go's wording), or None when it is."""
    if not isinstance(value, str):
        return "must be a base64-encoded string"
    for i, ch in enumerate(value):
        if ch not in _ALPHABET and ch not in "\r\n":
            return f"illegal base64 data at input byte {i}"
    compact = value.replace("\r", "").replace("\n", "")
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return f"illegal base64 data at input byte {len(compact) // 4 * 4}"
    return None


def decode(obj: Obj) -> None:
    """Check ``data``, fold ``stringData`` into it and default ``type`` (in place)."""
    name = str(obj.get("metadata", {}).get("name") or "")
    data = obj.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise invalid(
            "", "Secret", name, [("data", "FieldValueInvalid", "Invalid value: must be a map")]
        )
    causes: list[Cause] = []
    for key, value in data.items():
        problem = base64_problem(value)
        if problem:
            causes.append(
                (f"data[{key}]", "FieldValueInvalid", f'Invalid value: "{REDACTED}": {problem}')
            )
    string_data = obj.pop("stringData", None) or {}
    if not isinstance(string_data, dict):
        causes.append(("stringData", "FieldValueInvalid", "Invalid value: must be a map"))
        string_data = {}
    for key, value in string_data.items():
        if not isinstance(value, str):
            causes.append(
                (f"stringData[{key}]", "FieldValueInvalid", "Invalid value: must be a string")
            )
            continue
        data[key] = base64.b64encode(value.encode()).decode()
    if causes:
        raise invalid("", "Secret", name, causes)
    if data:
        obj["data"] = {k: str(v).replace("\r", "").replace("\n", "") for k, v in data.items()}
    else:
        obj.pop("data", None)
    if not obj.get("type"):
        obj["type"] = "Opaque"


def _decoded_size(data: Obj) -> int:
    return sum(len(base64.b64decode(str(v))) for v in data.values())


def problems(obj: Obj) -> list[Cause]:
    """Validation of a decoded Secret (``decode`` already ran)."""
    data: Obj = obj.get("data") or {}
    causes: list[Cause] = []
    for key in data:
        if len(key) > 253 or not _KEY.match(key) or key in (".", ".."):
            causes.append(
                (
                    f"data[{key}]",
                    "FieldValueInvalid",
                    f'Invalid value: "{key}": a valid config key must consist of alphanumeric '
                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                    "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                )
            )
    secret_type = str(obj.get("type") or "Opaque")
    for key in _REQUIRED_KEYS.get(secret_type, ()):
        if key not in data:
            causes.append((f"data[{key}]", "FieldValueRequired", "Required value"))
    if secret_type == "kubernetes.io/service-account-token":
        annotations = obj.get("metadata", {}).get("annotations") or {}
        if not annotations.get(_SA_ANNOTATION):
            causes.append(
                (f"metadata.annotations[{_SA_ANNOTATION}]", "FieldValueRequired", "Required value")
            )
    if _decoded_size(data) > MAX_SIZE:
        causes.append(
            ("data", "FieldValueTooLong", f"Too long: may not be more than {MAX_SIZE} bytes")
        )
    return causes


def update_problems(old: Obj, new: Obj) -> list[Cause]:
    """What an update may not change: the type, and anything of an immutable Secret."""
    causes: list[Cause] = []
    if old.get("type") != new.get("type"):
        causes.append(
            ("type", "FieldValueInvalid", f'Invalid value: "{new.get("type")}": field is immutable')
        )
    if old.get("immutable") is True:
        frozen = "Forbidden: field is immutable when `immutable` is set"
        if new.get("immutable") is not True:
            causes.append(("immutable", "FieldValueForbidden", frozen))
        if (old.get("data") or {}) != (new.get("data") or {}):
            causes.append(("data", "FieldValueForbidden", frozen))
    return causes
