"""Ownership tag keys (contract: design.md section 2)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CLUSTER_TAG = "albctl.io/cluster"
STACK_TAG = "albctl.io/stack"
RESOURCE_TAG = "albctl.io/resource"
INGRESS_TAG = "albctl.io/ingress"  # the member Ingress a rule or target group belongs to
# on a Gateway stack's target group: the Service port it serves (ns/name:port)
SERVICE_TAG = "albctl.io/service"
# on a rule or listener whose action authenticates with OIDC: a digest of the client secret
# (AWS never returns the secret, so a changed Secret is seen by this tag)
OIDC_SECRET_TAG = "albctl.io/oidc-secret-digest"

OWNERSHIP_KEYS = (CLUSTER_TAG, STACK_TAG, RESOURCE_TAG)
# the resource id of the cluster's shared backend security group
BACKEND_SG_RESOURCE = "backend-sg"


@dataclass(frozen=True)
class TagScheme:
    """The tag keys a controller tracks its stacks by: albctl's, or LBC's when taking over."""

    cluster: str
    stack: str
    resource: str

    def owns(self, tags: Mapping[str, str], cluster: str, stack: str | None = None) -> bool:
        if tags.get(self.cluster) != cluster or self.resource not in tags:
            return False
        return stack is None or tags.get(self.stack) == stack


ALBCTL_TAGS = TagScheme(CLUSTER_TAG, STACK_TAG, RESOURCE_TAG)


def rule_description(cluster: str) -> str:
    """The description of the rules albctl adds on the targets' security groups."""
    return f"albctl.io/cluster={cluster}"


def owned_by(tags: Mapping[str, str], cluster: str, stack: str | None = None) -> bool:
    """True when ``tags`` carry our cluster tag (and the stack tag, when given)."""
    if tags.get(CLUSTER_TAG) != cluster or RESOURCE_TAG not in tags:
        return False
    return stack is None or tags.get(STACK_TAG) == stack


# The targets albctl registered in a multi-cluster target group (multi-cluster-target-group):
# short hashes of "id:port", space-separated, spread over tags TARGETS_RECORD_PREFIX + "0", "1",
# ... Kept on the target group itself, so the record lives and dies with it, survives restarts
# and needs no Kubernetes object (one-shot mode has none).
TARGETS_RECORD_PREFIX = "albctl.io/targets-"
_HASH_CHARS = 8
_PER_TAG = 256 // (_HASH_CHARS + 1)
MAX_RECORD_TAGS = 40  # of the 50 tags a target group may carry


def target_hash(target_id: str, port: int) -> str:
    return hashlib.sha256(f"{target_id}:{port}".encode()).hexdigest()[:_HASH_CHARS]


def targets_record(targets: Iterable[tuple[str, int]], free_tags: int) -> dict[str, str]:
    """The record tags for ``targets``; at most ``free_tags`` tags (a target left out of the
    record is never deregistered by albctl: the safe side)."""
    hashes = sorted({target_hash(i, p) for i, p in targets})
    chunks = [hashes[i : i + _PER_TAG] for i in range(0, len(hashes), _PER_TAG)]
    limit = max(0, min(free_tags, MAX_RECORD_TAGS))
    return {f"{TARGETS_RECORD_PREFIX}{n}": " ".join(c) for n, c in enumerate(chunks[:limit])}


def recorded_targets(tags: Mapping[str, str]) -> set[str]:
    """The target hashes a record holds (empty when there is none)."""
    out: set[str] = set()
    for k, v in tags.items():
        if k.startswith(TARGETS_RECORD_PREFIX):
            out.update(v.split())
    return out
