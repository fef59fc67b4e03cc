"""Mutating/ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1): defaults, checks.

Defaults are those of the v1 API (``failurePolicy: Fail``, ``matchPolicy: Equivalent``, empty
selectors, ``timeoutSeconds: 10``, rule ``scope: "*"``, service port 443, mutating
``reinvocationPolicy: Never``); validation covers what a hand-written configuration gets
wrong, with the apiserver's field paths and wording.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from albctl.sandbox.secrets import base64_problem

Obj = dict[str, Any]
Cause = tuple[str, str, str]

GROUP = "admissionregistration.k8s.io"

_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
_SCOPES = ("*", "Cluster", "Namespaced")
_SIDE_EFFECTS = ("None", "NoneOnDryRun")
_REVIEW_VERSIONS = ("v1", "v1beta1")
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _supported(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in sorted(values))


def set_defaults(obj: Obj, mutating: bool) -> None:
    """The v1 defaults, in place (each webhook, its rules and its service reference)."""
    for hook in obj.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        hook.setdefault("failurePolicy", "Fail")
        hook.setdefault("matchPolicy", "Equivalent")
        hook.setdefault("namespaceSelector", {})
        hook.setdefault("objectSelector", {})
        hook.setdefault("timeoutSeconds", 10)
        if mutating:
            hook.setdefault("reinvocationPolicy", "Never")
        for rule in hook.get("rules") or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")
        service = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)


def _rule_problems(rule: Any, at: str) -> list[Cause]:
    if not isinstance(rule, dict):
        return [(at, "FieldValueInvalid", "Invalid value: must be an object")]
    causes: list[Cause] = []
    for key in ("operations", "apiGroups", "apiVersions", "resources"):
        if not rule.get(key):
            causes.append((f"{at}.{key}", "FieldValueRequired", "Required value"))
    operations = rule.get("operations") or []
    for i, op in enumerate(operations):
        if op not in _OPERATIONS:
            causes.append(
                (
                    f"{at}.operations[{i}]",
                    "FieldValueNotSupported",
                    f'Unsupported value: "{op}": supported values: {_supported(_OPERATIONS)}',
                )
            )
    if "*" in operations and len(operations) > 1:
        causes.append(
            (
                f"{at}.operations",
                "FieldValueInvalid",
                f"Invalid value: {operations!r}: if '*' is present, must not specify other "
                "operations",
            )
        )
    scope = rule.get("scope", "*")
    if scope not in _SCOPES:
        causes.append(
            (
                f"{at}.scope",
                "FieldValueNotSupported",
                f'Unsupported value: "{scope}": supported values: {_supported(_SCOPES)}',
            )
        )
    return causes


def _url_problems(url: Any, at: str) -> list[Cause]:
    text = str(url)
    parts = urlsplit(text)
    why = ""
    if parts.scheme != "https":
        why = "'https' is the only allowed URL scheme"
    elif not parts.hostname:
        why = "host must be specified"
    elif parts.username or parts.password:
        why = "user information is not permitted in the URL"
    elif parts.fragment or parts.query:
        why = "fragments and query parameters are not permitted"
    return [(at, "FieldValueInvalid", f'Invalid value: "{text}": {why}')] if why else []


def _service_problems(service: Any, at: str) -> list[Cause]:
    if not isinstance(service, dict):
        return [(at, "FieldValueInvalid", "Invalid value: must be an object")]
    causes: list[Cause] = []
    for key in ("name", "namespace"):
        if not service.get(key):
            causes.append(
                (f"{at}.{key}", "FieldValueRequired", f"Required value: service {key} is required")
            )
    path = service.get("path")
    if path is not None and not str(path).startswith("/"):
        causes.append(
            (f"{at}.path", "FieldValueInvalid", f"Invalid value: \"{path}\": must start with a '/'")
        )
    port = service.get("port", 443)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        causes.append(
            (
                f"{at}.port",
                "FieldValueInvalid",
                f"Invalid value: {port}: port is not valid: must be between 1 and 65535, inclusive",
            )
        )
    return causes


def _client_config_problems(config: Any, at: str) -> list[Cause]:
    if not isinstance(config, dict):
        config = {}
    has_url, has_service = config.get("url") is not None, config.get("service") is not None
    if has_url == has_service:
        return [
            (at, "FieldValueRequired", "Required value: exactly one of url or service is required")
        ]
    causes = (
        _url_problems(config["url"], f"{at}.url")
        if has_url
        else _service_problems(config["service"], f"{at}.service")
    )
    ca_bundle = config.get("caBundle")
    if ca_bundle is not None and base64_problem(ca_bundle):
        causes.append(
            (f"{at}.caBundle", "FieldValueInvalid", f"Invalid value: {base64_problem(ca_bundle)}")
        )
    return causes


def _selector_problems(selector: Any, at: str) -> list[Cause]:
    if not isinstance(selector, dict):
        return [(at, "FieldValueInvalid", "Invalid value: must be a label selector")]
    causes: list[Cause] = []
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        where = f"{at}.matchExpressions[{i}]"
        op = expr.get("operator") if isinstance(expr, dict) else None
        values = expr.get("values") if isinstance(expr, dict) else None
        if op not in _SELECTOR_OPS:
            causes.append(
                (
                    f"{where}.operator",
                    "FieldValueInvalid",
                    f'Invalid value: "{op}": not a valid selector operator',
                )
            )
        elif op in ("In", "NotIn") and not values:
            causes.append(
                (
                    f"{where}.values",
                    "FieldValueRequired",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                )
            )
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(
                (
                    f"{where}.values",
                    "FieldValueForbidden",
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    return causes


def _choice(hook: Obj, key: str, allowed: tuple[str, ...], at: str) -> list[Cause]:
    value = hook.get(key)
    if value is None or value in allowed:
        return []
    return [
        (
            f"{at}.{key}",
            "FieldValueNotSupported",
            f'Unsupported value: "{value}": supported values: {_supported(allowed)}',
        )
    ]


def _versions_problems(hook: Obj, at: str) -> list[Cause]:
    versions = hook.get("admissionReviewVersions") or []
    where = f"{at}.admissionReviewVersions"
    if not isinstance(versions, list) or not versions:
        return [(where, "FieldValueRequired", "Required value: must specify one of v1, v1beta1")]
    causes: list[Cause] = []
    for i, version in enumerate(versions):
        if not isinstance(version, str) or not _LABEL.match(version):
            causes.append((f"{where}[{i}]", "FieldValueInvalid", f'Invalid value: "{version}"'))
        elif version in versions[:i]:
            causes.append((f"{where}[{i}]", "FieldValueDuplicate", f'Duplicate value: "{version}"'))
    if not any(v in _REVIEW_VERSIONS for v in versions):
        causes.append(
            (
                where,
                "FieldValueInvalid",
                f"Invalid value: {versions!r}: must include at least one of v1, v1beta1",
            )
        )
    return causes


def _hook_problems(hook: Any, at: str, mutating: bool) -> list[Cause]:
    if not isinstance(hook, dict):
        return [(at, "FieldValueInvalid", "Invalid value: must be an object")]
    name = str(hook.get("name") or "")
    causes: list[Cause] = []
    if not name:
        causes.append((f"{at}.name", "FieldValueRequired", "Required value"))
    elif len(name.split(".")) < 3:
        causes.append(
            (
                f"{at}.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": should be a domain with at least three segments '
                "separated by dots",
            )
        )
    for i, rule in enumerate(hook.get("rules") or []):
        causes += _rule_problems(rule, f"{at}.rules[{i}]")
    causes += _client_config_problems(hook.get("clientConfig"), f"{at}.clientConfig")
    if hook.get("sideEffects") is None:
        causes.append(
            (
                f"{at}.sideEffects",
                "FieldValueRequired",
                "Required value: must specify one of None, NoneOnDryRun",
            )
        )
    causes += _choice(hook, "sideEffects", _SIDE_EFFECTS, at)
    causes += _choice(hook, "failurePolicy", ("Fail", "Ignore"), at)
    causes += _choice(hook, "matchPolicy", ("Exact", "Equivalent"), at)
    if mutating:
        causes += _choice(hook, "reinvocationPolicy", ("IfNeeded", "Never"), at)
    causes += _versions_problems(hook, at)
    timeout = hook.get("timeoutSeconds")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 30:
        causes.append(
            (
                f"{at}.timeoutSeconds",
                "FieldValueInvalid",
                f"Invalid value: {timeout}: the timeout value must be between 1 and 30 seconds",
            )
        )
    for key in ("namespaceSelector", "objectSelector"):
        causes += _selector_problems(hook.get(key), f"{at}.{key}")
    return causes


def problems(obj: Obj, mutating: bool) -> list[Cause]:
    """Everything wrong with a (defaulted) webhook configuration; empty when valid."""
    hooks = obj.get("webhooks") or []
    if not isinstance(hooks, list):
        return [("webhooks", "FieldValueInvalid", "Invalid value: must be a list")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, hook in enumerate(hooks):
        causes += _hook_problems(hook, f"webhooks[{i}]", mutating)
        name = hook.get("name") if isinstance(hook, dict) else None
        if isinstance(name, str) and name in seen:
            causes.append(
                (f"webhooks[{i}].name", "FieldValueDuplicate", f'Duplicate value: "{name}"')
            )
        if isinstance(name, str):
            seen.add(name)
    return causes
