"""The apiserver's create/update validation, reduced to what users of these kinds trip over.

Names (DNS subdomain, DNS label for namespaces, RFC 1035 label for services, path segment for
custom resources), label keys and values, and the few spec rules that a real cluster would
reject a hand-written Ingress or Service for. Each failure is a ``(field, reason, message)``
cause of a 422 Invalid.
"""

from __future__ import annotations

import re
from typing import Any

from albctl.sandbox import secrets, webhookconfigs
from albctl.sandbox.resources import ResourceType

Cause = tuple[str, str, str]
Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def _name_problem(rt: ResourceType, name: str) -> str | None:
    if rt.custom:
        if name in (".", "..") or any(c in name for c in "/%"):
            return f"Invalid value: \"{name}\": may not contain '/' or '%'"
        return None
    if rt.kind == "Namespace":
        if len(name) > 63 or not _LABEL_1123.match(name):
            return (
                f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case '
                "alphanumeric characters or '-', and must start and end with an alphanumeric "
                "character"
            )
        return None
    if rt.kind == "Service":
        if len(name) > 63 or not _LABEL_1035.match(name):
            return (
                f'Invalid value: "{name}": a DNS-1035 label must consist of lower case '
                "alphanumeric characters or '-', start with an alphabetic character, and end "
                "with an alphanumeric character"
            )
        return None
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        return (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character"
        )
    return None


def qualified_name_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.match(name))


def _meta_problems(rt: ResourceType, meta: Obj) -> list[Cause]:
    causes: list[Cause] = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(
            (
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            )
        )
    else:
        problem = _name_problem(rt, name)
        if problem:
            causes.append(("metadata.name", "FieldValueInvalid", problem))
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        causes.append(("metadata.labels", "FieldValueInvalid", "Invalid value: must be a map"))
        labels = {}
    for key, value in labels.items():
        if not qualified_name_ok(str(key)):
            causes.append(
                (
                    "metadata.labels",
                    "FieldValueInvalid",
                    f"Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                (
                    "metadata.labels",
                    "FieldValueInvalid",
                    f"Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'",
                )
            )
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        causes.append(("metadata.annotations", "FieldValueInvalid", "Invalid value: must be a map"))
    else:
        for key, value in annotations.items():
            if not qualified_name_ok(str(key)):
                causes.append(
                    (
                        "metadata.annotations",
                        "FieldValueInvalid",
                        f"Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'",
                    )
                )
            if not isinstance(value, str):
                causes.append(
                    (
                        f"metadata.annotations[{key}]",
                        "FieldValueInvalid",
                        "Invalid value: must be a string",
                    )
                )
    finalizers = meta.get("finalizers") or []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        causes.append(
            ("metadata.finalizers", "FieldValueInvalid", "Invalid value: must be a list of strings")
        )
    return causes


def _backend_problems(backend: Any, at: str) -> list[Cause]:
    if not isinstance(backend, dict) or not (backend.get("service") or backend.get("resource")):
        return [(at, "FieldValueRequired", "Required value: service or resource must be specified")]
    service = backend.get("service")
    if isinstance(service, dict):
        if not service.get("name"):
            return [(f"{at}.service.name", "FieldValueRequired", "Required value")]
        port = service.get("port")
        if not isinstance(port, dict) or not (port.get("number") or port.get("name")):
            return [
                (
                    f"{at}.service.port",
                    "FieldValueRequired",
                    "Required value: port name or number must be specified",
                )
            ]
    return []


def _ingress_problems(spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    if spec.get("defaultBackend") is not None:
        causes += _backend_problems(spec["defaultBackend"], "spec.defaultBackend")
    rules = spec.get("rules") or []
    if not spec.get("defaultBackend") and not rules:
        causes.append(
            (
                "spec.rules",
                "FieldValueRequired",
                "Required value: either `defaultBackend` or `rules` must be specified",
            )
        )
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        http = rule.get("http") if isinstance(rule, dict) else None
        if not isinstance(http, dict):
            continue
        paths = http.get("paths") or []
        if not paths:
            causes.append((f"spec.rules[{i}].http.paths", "FieldValueRequired", "Required value"))
        for j, path in enumerate(paths if isinstance(paths, list) else []):
            at = f"spec.rules[{i}].http.paths[{j}]"
            if not isinstance(path, dict):
                continue
            path_type = path.get("pathType")
            if path_type is None:
                causes.append(
                    (
                        f"{at}.pathType",
                        "FieldValueRequired",
                        "Required value: pathType must be specified",
                    )
                )
            elif path_type not in _PATH_TYPES:
                causes.append(
                    (
                        f"{at}.pathType",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{path_type}": supported values: "Exact", "ImplementationSpecific", "Prefix"',
                    )
                )
            p = path.get("path")
            if path_type in ("Exact", "Prefix") and not (isinstance(p, str) and p.startswith("/")):
                causes.append(
                    (
                        f"{at}.path",
                        "FieldValueInvalid",
                        f'Invalid value: "{p}": must be an absolute path',
                    )
                )
            causes += _backend_problems(path.get("backend"), f"{at}.backend")
    return causes


def _service_problems(spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    svc_type = spec.get("type", "ClusterIP")
    if svc_type not in _SERVICE_TYPES:
        causes.append(
            (
                "spec.type",
                "FieldValueNotSupported",
                f'Unsupported value: "{svc_type}": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
            )
        )
    ports = spec.get("ports") or []
    if svc_type != "ExternalName" and spec.get("clusterIP") != "None" and not ports:
        causes.append(("spec.ports", "FieldValueRequired", "Required value"))
    for i, port in enumerate(ports if isinstance(ports, list) else []):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                (
                    f"spec.ports[{i}].port",
                    "FieldValueInvalid",
                    f"Invalid value: {number}: must be between 1 and 65535, inclusive",
                )
            )
        if len(ports) > 1 and isinstance(port, dict) and not port.get("name"):
            causes.append((f"spec.ports[{i}].name", "FieldValueRequired", "Required value"))
    if svc_type == "ExternalName" and not spec.get("externalName"):
        causes.append(("spec.externalName", "FieldValueRequired", "Required value"))
    return causes


def problems(rt: ResourceType, obj: Obj) -> list[Cause]:
    """Everything wrong with ``obj`` as a ``rt`` (after defaulting); empty when valid."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [("metadata", "FieldValueRequired", "Required value")]
    causes = _meta_problems(rt, meta)
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    if rt.kind == "Ingress" and rt.group == "networking.k8s.io":
        causes += _ingress_problems(spec)
    elif rt.kind == "Service" and not rt.group:
        causes += _service_problems(spec)
    elif rt.kind == "Secret" and not rt.group:
        causes += secrets.problems(obj)
    elif rt.group == webhookconfigs.GROUP:
        causes += webhookconfigs.problems(obj, mutating=rt.kind.startswith("Mutating"))
    return causes


def update_problems(rt: ResourceType, old: Obj, new: Obj) -> list[Cause]:
    """What an update may not change (checked after :func:`problems` found nothing)."""
    if rt.kind == "Secret" and not rt.group:
        return secrets.update_problems(old, new)
    return []
