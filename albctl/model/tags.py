"""Ownership tag keys (contract: design.md section 2)."""

from __future__ import annotations

from collections.abc import Mapping

CLUSTER_TAG = "albctl.io/cluster"
STACK_TAG = "albctl.io/stack"
RESOURCE_TAG = "albctl.io/resource"
INGRESS_TAG = "albctl.io/ingress"  # the member Ingress a rule or target group belongs to
# on a rule or listener whose action authenticates with OIDC: a digest of the client secret
# (AWS never returns the secret, so a changed Secret is seen by this tag)
OIDC_SECRET_TAG = "albctl.io/oidc-secret-digest"

OWNERSHIP_KEYS = (CLUSTER_TAG, STACK_TAG, RESOURCE_TAG)


def owned_by(tags: Mapping[str, str], cluster: str, stack: str | None = None) -> bool:
    """True when ``tags`` carry our cluster tag (and the stack tag, when given)."""
    if tags.get(CLUSTER_TAG) != cluster or RESOURCE_TAG not in tags:
        return False
    return stack is None or tags.get(STACK_TAG) == stack
