"""The albctl.io CustomResourceDefinitions, and how any CRD becomes served resource types.

The three albctl CRDs exist from the start (as if the Helm chart had installed them) and are
listed under ``apiextensions.k8s.io/v1`` so that ``kubectl get crd`` and ``kubectl explain``-less
workflows behave; CRDs that users create or change later are served the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from albctl.sandbox.resources import PrinterColumn, ResourceType

Obj = dict[str, Any]

GROUP = "albctl.io"
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
VERSION = "v1beta1"

CRD_DIR = Path(__file__).resolve().parent.parent / "crds"
# the Gateway API kinds, for the sandbox only (users install the upstream CRDs)
GATEWAY_CRDS = Path(__file__).resolve().parent / "gateway_crds.yaml"


def builtin_crds() -> list[Obj]:
    """Fresh copies of the albctl.io CRD manifests (the same files the helm chart installs:
    ``albctl/crds/`` is kept identical to ``helm/albctl/crds/`` by a test), and minimal CRDs of
    the Gateway API kinds, as if their upstream CRDs had been installed."""
    out: list[Obj] = []
    for path in [*sorted(CRD_DIR.glob("*.yaml")), GATEWAY_CRDS]:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                out.append(doc)
    if not out:
        raise RuntimeError(f"no CRD manifests found in {CRD_DIR}")
    return out


def crd_problems(crd: Obj) -> list[tuple[str, str, str]]:
    """Validation causes ``(field, reason, message)`` for a CRD body; empty when usable."""
    problems: list[tuple[str, str, str]] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "FieldValueRequired", "Required value")]
    group = spec.get("group")
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    assert isinstance(names, dict)
    if not isinstance(group, str) or not group:
        problems.append(("spec.group", "FieldValueRequired", "Required value"))
    for key in ("plural", "kind"):
        if not isinstance(names.get(key), str) or not names.get(key):
            problems.append((f"spec.names.{key}", "FieldValueRequired", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append(
            (
                "spec.scope",
                "FieldValueNotSupported",
                'Unsupported value: supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        problems.append(("spec.versions", "FieldValueRequired", "Required value"))
    elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        problems.append(
            (
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    name = crd.get("metadata", {}).get("name")
    if not problems and name != f"{names['plural']}.{group}":
        problems.append(
            (
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    return problems


def crd_status(crd: Obj) -> Obj:
    """The status the apiextensions controllers would have written by now."""
    spec = crd["spec"]
    names = dict(spec["names"])
    names.setdefault("singular", str(names["kind"]).lower())
    names.setdefault("listKind", f"{names['kind']}List")
    storage = [v["name"] for v in spec["versions"] if v.get("storage")]
    condition = {"status": "True", "lastTransitionTime": crd["metadata"]["creationTimestamp"]}
    return {
        "acceptedNames": names,
        "conditions": [
            {
                "type": "NamesAccepted",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                **condition,
            },
            {
                "type": "Established",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                **condition,
            },
        ],
        "storedVersions": storage,
    }


def types_from_crd(crd: Obj) -> list[ResourceType]:
    """One served resource type per served version of the CRD."""
    spec = crd["spec"]
    group = str(spec["group"])
    names = spec["names"]
    kind = str(names["kind"])
    plural = str(names["plural"])
    out: list[ResourceType] = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        columns = tuple(
            PrinterColumn(
                name=str(col["name"]),
                type=str(col.get("type", "string")),
                json_path=str(col["jsonPath"]),
                description=str(col.get("description", "")),
                priority=int(col.get("priority", 0)),
                format=str(col.get("format", "")),
            )
            for col in version.get("additionalPrinterColumns") or [_AGE]
        )
        field_labels = {"metadata.name": "metadata.name"}
        if spec.get("scope") == "Namespaced":
            field_labels["metadata.namespace"] = "metadata.namespace"
        for selectable in version.get("selectableFields") or []:
            path = str(selectable.get("jsonPath", "")).lstrip(".")
            if path:
                field_labels[path] = path
        out.append(
            ResourceType(
                group=group,
                version=str(version["name"]),
                kind=kind,
                plural=plural,
                singular=str(names.get("singular") or kind.lower()),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in (version.get("subresources") or {}),
                custom=True,
                storage=f"{plural}.{group}",
                field_labels=field_labels,
                columns=columns,
            )
        )
    return out
