"""OpenAPI v3 (structural) schemas of the ``gateway.k8s.aws`` kinds, from albctl's own models
of them (:mod:`albctl.model.gateway.config.objects`): the CRDs the chart ships and the sandbox
serves are generated from these (``python -m albctl.gateway_crds DIR``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from albctl.model.gateway.config.objects import (
    GROUP,
    ListenerRuleConfigurationSpec,
    LoadBalancerConfigurationSpec,
    TargetGroupConfigurationSpec,
)

SPECS: dict[str, type[BaseModel]] = {
    "LoadBalancerConfiguration": LoadBalancerConfigurationSpec,
    "TargetGroupConfiguration": TargetGroupConfigurationSpec,
    "ListenerRuleConfiguration": ListenerRuleConfigurationSpec,
}
_DROP = ("title", "$defs")


def structural(node: Any, defs: dict[str, Any]) -> Any:
    """A pydantic JSON schema node as a structural OpenAPI schema: references inlined,
    ``X | None`` as X, tuples as arrays."""
    if isinstance(node, list):
        return [structural(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return structural(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in node:
        kept = [n for n in node["anyOf"] if n.get("type") != "null"]
        base = structural(kept[0], defs) if len(kept) == 1 else {"type": "object"}
        extra = {k: v for k, v in node.items() if k not in ("anyOf", *_DROP)}
        return {**base, **structural(extra, defs)}
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in _DROP or (k == "default" and v is None):
            continue
        if k == "properties":
            out[k] = {name: structural(p, defs) for name, p in v.items()}
        elif k == "prefixItems":
            continue
        else:
            out[k] = structural(v, defs)
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


def crd(kind: str) -> dict[str, Any]:
    model = SPECS[kind]
    raw = model.model_json_schema(by_alias=True, mode="validation")
    # fields albctl does not model (newer LBC releases) are kept, never pruned
    spec = {**structural(raw, raw.get("$defs", {})), "x-kubernetes-preserve-unknown-fields": True}
    plural = f"{kind.lower()}s"
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    versions: list[dict[str, Any]] = [
        {
            "name": v,
            "served": True,
            "storage": v == "v1",
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": schema},
        }
        for v in ("v1", "v1beta1")
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
            },
            "versions": versions,
        },
    }


HEADER = (
    "# albctl's definition of LBC's {kind} (gateway.k8s.aws), generated from albctl's model\n"
    "# of it: python -m albctl.gateway_crds helm/albctl/crds albctl/crds\n"
    "# Helm does not replace a CRD that exists: a cluster that has LBC's keeps LBC's.\n"
)


class _Plain(yaml.SafeDumper):
    """No anchors or aliases: each version's schema written out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write(directory: Path) -> list[Path]:
    out = []
    for kind in SPECS:
        path = directory / f"{GROUP}_{kind.lower()}s.yaml"
        text = HEADER.format(kind=kind) + yaml.dump(crd(kind), Dumper=_Plain, sort_keys=False)
        path.write_text(text)
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover
    for d in sys.argv[1:]:
        for p in write(Path(d)):
            print(p)
