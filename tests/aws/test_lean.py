"""The controller's lean service models (albctl/aws/lean.py): only the IAM policy's operations.

The controller's clients must still have every operation its code calls, every shape those
operations reach must resolve, and calls made through them must give what whole-model clients
give, against moto.
"""

from __future__ import annotations

from typing import Any

import boto3

from albctl import iam
from albctl.aws.clients import AwsClients
from albctl.aws.lean import ENDPOINT_PREFIXES, lean_session, policy_operations
from tests.helpers import REGION


def lean_clients() -> AwsClients:
    return AwsClients(region=REGION, session=lean_session(REGION))


def _walk(shape: Any, seen: set[str]) -> None:
    """Resolve every shape reachable from ``shape`` (botocore raises on a missing one)."""
    if shape is None or shape.name in seen:
        return
    seen.add(shape.name)
    for attr in ("member", "key", "value"):
        _walk(getattr(shape, attr, None), seen)
    for member in getattr(shape, "members", {}).values():
        _walk(member, seen)


def test_every_operation_the_controller_calls_is_in_its_lean_clients() -> None:
    clients = lean_clients()
    used = iam.used_operations()
    assert used["ec2"] and used["elbv2"]
    for client_name, methods in used.items():
        client = clients.client(iam.botocore_name(client_name))
        missing = sorted(m for m in methods if not hasattr(client, m))
        assert not missing, f"{client_name}: {missing}"


def test_every_shape_of_the_kept_operations_resolves() -> None:
    clients = lean_clients()
    for service, operations in policy_operations().items():
        model = clients.client(service).meta.service_model
        kept = set(model.operation_names)
        assert kept <= operations and kept, service
        seen: set[str] = set()
        for name in kept:
            op = model.operation_model(name)
            _walk(op.input_shape, seen)
            _walk(op.output_shape, seen)
            for error in op.error_shapes:
                _walk(error, seen)
        assert seen, service


def test_the_lean_ec2_model_is_a_small_part_of_the_whole() -> None:
    lean = lean_clients().ec2.meta.service_model
    whole = AwsClients(region=REGION).ec2.meta.service_model
    assert not hasattr(lean_clients().ec2, "run_instances")
    assert len(lean.operation_names) == len(policy_operations()["ec2"]) < 20
    assert len(whole.operation_names) > 500
    assert len(lean.shape_names) * 10 < len(whole.shape_names)
    assert not lean.operation_model("DescribeSubnets").documentation


def test_endpoints_are_kept_for_every_controller_service_and_sts() -> None:
    clients = lean_clients()
    for service in policy_operations():
        prefix = clients.client(service).meta.service_model.endpoint_prefix
        assert prefix in ENDPOINT_PREFIXES, service
    # the endpoints of the kept services resolve as with the whole file (Shield's is global)
    lean_shield, whole_shield = clients.shield, AwsClients(region=REGION).shield
    assert lean_shield.meta.endpoint_url == whole_shield.meta.endpoint_url
    sts = lean_session(REGION).client("sts")
    assert (
        sts.meta.endpoint_url == boto3.Session(region_name=REGION).client("sts").meta.endpoint_url
    )
    assert (
        "lambda"
        not in lean_session(REGION)
        ._session.get_component("data_loader")
        .load_data("endpoints")["partitions"][0]["services"]
    )


def test_what_botocore_reads_beside_operations_is_kept() -> None:
    lean, whole = lean_clients(), AwsClients(region=REGION)
    for service in policy_operations():
        a = lean.client(service).meta.service_model
        b = whole.client(service).meta.service_model
        # endpoint resolution reads the client context parameters, documentation included
        assert [p.name for p in a.client_context_parameters] == [
            p.name for p in b.client_context_parameters
        ], service
        assert a.metadata == b.metadata, service
