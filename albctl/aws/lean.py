"""Service models cut down to the operations the controller's IAM policy allows.

botocore loads a service's whole API model for its first client: for EC2, 830 operations and
their documentation, about 20 MiB of Python objects held for the life of the process, where the
controller calls ten operations. The controller's session reads models through
:class:`LeanFileLoader`, which keeps of each ``service-2`` model only the operations the shipped
IAM policy allows (``albctl/iam_policy.json``: the controller can call nothing else) and the
shapes they reach, without their documentation. The model is trimmed as it is read, from the
installed botocore's own file, so it never differs from botocore's for the operations kept.

A client made this way has no method for an operation outside the policy
(``AttributeError``); one-shot commands, the demo and the tests use whole models.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from albctl.iam import BOTOCORE_NAMES, SERVICES, policy

_DROPPED_KEYS = frozenset({"documentation", "documentationUrl"})

# endpoints.json (every service of every partition, about 7 MiB parsed) keeps the entries of the
# services the controller calls, and STS (web-identity credentials on EKS make an STS client)
ENDPOINT_PREFIXES = frozenset(
    {"elasticloadbalancing", "ec2", "acm", "wafv2", "waf-regional", "shield", "tagging", "sts"}
)


def policy_operations() -> dict[str, frozenset[str]]:
    """botocore service name -> API operation names the IAM policy allows."""
    prefix_to_service = {prefix: BOTOCORE_NAMES.get(c, c) for c, prefix in SERVICES.items()}
    out: dict[str, set[str]] = {}
    for statement in policy()["Statement"]:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            prefix, _, operation = action.partition(":")
            service = prefix_to_service.get(prefix)
            if service is not None:
                out.setdefault(service, set()).add(operation)
    return {service: frozenset(ops) for service, ops in out.items()}


def _strip(node: Any) -> Any:
    """A plain-dict copy without documentation strings."""
    if isinstance(node, Mapping):
        return {k: _strip(v) for k, v in node.items() if k not in _DROPPED_KEYS}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _reached(shapes: Mapping[str, Any], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in shapes:
            continue
        seen.add(name)
        shape = shapes[name]
        todo += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        todo += [m["shape"] for m in shape.get("members", {}).values()]
    return seen


def trim_endpoints(data: Mapping[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    """endpoints.json with only the ``keep`` services in each partition."""
    partitions = [
        {**p, "services": {k: v for k, v in p.get("services", {}).items() if k in keep}}
        for p in data["partitions"]
    ]
    return {**data, "partitions": partitions}


def trim_model(model: Mapping[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """A ``service-2`` model with only ``operations`` and the shapes they reach."""
    kept = {name: op for name, op in model["operations"].items() if name in operations}
    roots: list[str] = []
    for op in kept.values():
        roots += [op[k]["shape"] for k in ("input", "output") if k in op]
        roots += [e["shape"] for e in op.get("errors", [])]
    shapes = model["shapes"]
    reached = _reached(shapes, roots)
    # the rest (metadata, clientContextParams: botocore reads their documentation) as it is
    out = {k: v for k, v in model.items() if k not in ("operations", "shapes", "documentation")}
    out["operations"] = _strip(kept)
    out["shapes"] = {name: _strip(shapes[name]) for name in shapes if name in reached}
    return out


class LeanFileLoader(botocore.loaders.JSONFileLoader):  # type: ignore[misc]
    """botocore's JSON loader, trimming the ``service-2`` models of ``operations``' services
    and endpoints.json as they are read (other files are returned as they are)."""

    def __init__(self, operations: Mapping[str, frozenset[str]]) -> None:
        self.operations = dict(operations)

    def load_file(self, file_path: str) -> Any:
        data = super().load_file(file_path)
        path = Path(file_path)
        if data is not None and path.name == "endpoints" and "partitions" in data:
            return trim_endpoints(data, ENDPOINT_PREFIXES)
        keep = self.operations.get(path.parent.parent.name)
        if data is None or path.name != "service-2" or keep is None:
            return data
        return trim_model(data, keep)


def lean_session(region: str | None = None) -> boto3.Session:
    """A boto3 session whose clients know only the operations of the IAM policy."""
    core = botocore.session.Session()
    loader = botocore.loaders.Loader(file_loader=LeanFileLoader(policy_operations()))
    core.register_component("data_loader", loader)
    return boto3.Session(botocore_session=core, region_name=region)
