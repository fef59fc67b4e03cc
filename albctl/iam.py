"""The controller's AWS permissions: the shipped IAM policy and the AWS calls the code makes.

``policy()`` returns the least-privilege IAM policy (``albctl iam-policy`` prints it; the same
document is ``iam/policy.json`` in the repository). ``used_operations()`` reads albctl's source
with :mod:`ast` (the AWS adapter ``albctl/aws/*.py`` and every other module, since the
controller's fast target path calls the clients too) and lists every boto3 client method called
or referenced on the clients named in ``SERVICES``, so a test can check that the policy
allows exactly what the code can call: nothing missing, nothing unused.
"""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path
from typing import Any

POLICY_RESOURCE = "iam_policy.json"

# boto3 client attribute -> IAM service prefix
SERVICES: dict[str, str] = {
    "elbv2": "elasticloadbalancing",
    "ec2": "ec2",
    "acm": "acm",
    "wafv2": "wafv2",
    "wafregional": "waf-regional",
    "shield": "shield",
    "resourcegroupstaggingapi": "tag",
}

# boto3 client attribute -> botocore service name, where they differ
BOTOCORE_NAMES: dict[str, str] = {"wafregional": "waf-regional"}


def botocore_name(client: str) -> str:
    """The botocore service name of a client attribute (``wafregional`` -> ``waf-regional``)."""
    return BOTOCORE_NAMES.get(client, client)


# Modules (relative to the package) that never run against real AWS: aws/seed.py fills an
# empty moto or LocalStack endpoint with a VPC, subnets, instances and certificates for the
# demo and the tests.
NOT_CONTROLLER_CODE = frozenset({"aws/seed.py"})

# attributes of a boto3 client that are not API operations
_CLIENT_HELPERS = frozenset(
    {"meta", "exceptions", "get_paginator", "get_waiter", "can_paginate", "close"}
)


def policy() -> dict[str, Any]:
    """The controller's IAM policy document (shipped as package data)."""
    text = resources.files("albctl").joinpath(POLICY_RESOURCE).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def policy_json() -> str:
    """The policy as printed by ``albctl iam-policy``: indented JSON with a final newline."""
    return json.dumps(policy(), indent=2) + "\n"


def _client_of(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The client (``elbv2``/``ec2``/``acm``) an expression evaluates to, if any."""
    if isinstance(node, ast.Attribute) and node.attr in SERVICES:
        return node.attr
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    return None


def _aliases(scope: ast.AST) -> dict[str, str]:
    """Local names bound to a client in this scope, e.g. ``elb = self.c.elbv2``."""
    found: dict[str, str] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node.value, ast.Attribute) and node.value.attr in SERVICES:
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.attr
    return found


def _scan(scope: ast.AST, aliases: dict[str, str], out: dict[str, set[str]]) -> None:
    for node in ast.walk(scope):
        if not isinstance(node, ast.Attribute):
            continue
        client = _client_of(node.value, aliases)
        if client is None:
            continue
        if node.attr not in _CLIENT_HELPERS:
            out[client].add(node.attr)
    # client.get_paginator("describe_x") names an operation as a string
    for node in ast.walk(scope):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_paginator"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            client = _client_of(node.func.value, aliases)
            if client is not None:
                out[client].add(node.args[0].value)


def used_operations(source_dir: Path | None = None) -> dict[str, set[str]]:
    """boto3 method names (snake_case) albctl's code calls, per client.

    ``source_dir`` (default: the albctl package) is scanned recursively, except the modules in
    ``NOT_CONTROLLER_CODE``. Found statically: ``<anything>.elbv2.describe_rules(...)``,
    references passed along
    (``paginate(self.c.elbv2.describe_listeners, ...)``, ``retry(self.c.ec2.delete_x)``) and
    local aliases (``elb = self.c.elbv2; elb.describe_tags(...)``), each alias scoped to the
    function that binds it. Calls built from strings (``getattr(client, name)``) are not seen:
    the code does not make any.
    """
    package = Path(__file__).resolve().parent
    root = (source_dir or package).resolve()
    out: dict[str, set[str]] = {name: set() for name in SERVICES}
    for path in sorted(root.rglob("*.py")):
        # paths inside the package are named from its top (aws/seed.py), others from root
        base = package if path.is_relative_to(package) else root
        if path.relative_to(base).as_posix() in NOT_CONTROLLER_CODE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for fn in functions:
            _scan(fn, _aliases(fn), out)
        # module-level statements outside any function
        for stmt in tree.body:
            if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                _scan(stmt, _aliases(stmt), out)
    return out


def required_actions(operations: dict[str, set[str]] | None = None) -> set[str]:
    """IAM actions (``elasticloadbalancing:DescribeRules``, ...) for the used operations,
    mapped with botocore's own method-to-API table."""
    import botocore.session

    ops = used_operations() if operations is None else operations
    session = botocore.session.Session()
    actions: set[str] = set()
    for client_name, methods in ops.items():
        client = session.create_client(
            botocore_name(client_name),
            region_name="us-east-1",
            aws_access_key_id="unused",
            aws_secret_access_key="unused",
        )
        mapping: dict[str, str] = client.meta.method_to_api_mapping
        for method in methods:
            actions.add(f"{SERVICES[client_name]}:{mapping[method]}")
    return actions
