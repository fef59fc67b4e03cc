"""The baseline of benchmarks/oneshot.py: a minimal boto3 script making given AWS calls.

    python benchmarks/boto3_replay.py CALLS.pickle

CALLS.pickle holds ``(ids, calls)``: ``ids`` maps identifiers of the recorded run to this
run's (the seeded VPC, subnets, instances), ``calls`` is ``[(service, operation, params,
response), ...]`` as recorded from ``albctl apply``. Each call is made with the identifiers
known so far substituted; identifiers in its answer (ARNs, ids) are paired with the recorded
answer's, so later calls use this run's. Nothing else: one session, one client per service.
"""

import pickle
import re
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

ID = re.compile(r"^(arn:aws|[a-z]+-[0-9a-f]{8,}$)")


def sub(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [sub(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: sub(v, ids) for k, v in value.items()}
    return value


def pair(old: Any, new: Any, ids: dict[str, str]) -> None:
    if isinstance(old, str) and isinstance(new, str):
        if old != new and ID.match(old):
            ids[old] = new
    elif isinstance(old, list) and isinstance(new, list):
        for o, n in zip(old, new, strict=False):
            pair(o, n, ids)
    elif isinstance(old, dict) and isinstance(new, dict):
        for k, o in old.items():
            if k in new:
                pair(o, new[k], ids)


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        ids, calls = pickle.load(f)
    session = boto3.Session()
    clients: dict[str, Any] = {}
    for service, operation, params, recorded in calls:
        client = clients.get(service) or clients.setdefault(service, session.client(service))
        try:
            got = getattr(client, operation)(**sub(params, ids))
        except ClientError as exc:
            got = exc.response
        pair(recorded, got, ids)


main()
