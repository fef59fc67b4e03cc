"""Find the load balancers and target groups of a cluster's stacks.

By tag, with the Resource Groups Tagging API (``tag:GetResources`` filtered on
``albctl.io/cluster`` and ``albctl.io/stack``), then DescribeLoadBalancers/DescribeTargetGroups
of exactly those ARNs: the cost of one group does not grow with the account. Endpoints without
the tagging API (or a policy without ``tag:GetResources``) fall back, automatically and for the
life of the process, to listing every load balancer and target group and reading their tags
(cached). ``ALBCTL_AWS_TAGGING_API`` chooses: ``auto`` (the default: by tag, falling back to
listing), ``on`` (by tag only) or ``off`` (listing only).

The tagging API is eventually consistent: a resource created moments ago may be missing from
it. Callers pass the ARNs they know of (what they created or saw last) as ``known``; those are
always described too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, error_code, paginate
from albctl.aws.convert import tags_from_aws
from albctl.logs import log_event
from albctl.model.tags import ALBCTL_TAGS, TagScheme

log = logging.getLogger(__name__)

TYPES = ["elasticloadbalancing:loadbalancer", "elasticloadbalancing:targetgroup"]
BATCH = 20  # ARNs per Describe call, and values per tag filter
_UNAVAILABLE = {
    "UnknownOperationException",
    "InvalidAction",
    "NotImplemented",
    "AccessDeniedException",
    "AccessDenied",
    "404",
    "501",
}  # an endpoint without the API, or a policy without tag:GetResources; not transient errors


@dataclass
class Found:
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    target_groups: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # ARN -> tags (by tag only)


def tagging_mode() -> str:
    """``auto`` (the default), ``on`` or ``off``."""
    mode = os.environ.get("ALBCTL_AWS_TAGGING_API", "auto").strip().lower()
    return mode if mode in ("auto", "on", "off") else "auto"


def tagged_resources(
    clients: AwsClients, cluster: str, stacks: set[str] | None, scheme: TagScheme = ALBCTL_TAGS
) -> dict[str, dict[str, str]] | None:
    """ARN -> tags of the cluster's load balancers and target groups (of ``stacks``), or None
    when the tagging API cannot be used here (then the caller lists instead)."""
    mode = tagging_mode()
    if mode == "off" or getattr(clients, "tagging_unavailable", False):
        return None
    chunks: list[list[str] | None] = (
        [None]
        if stacks is None
        else [sorted(stacks)[i : i + BATCH] for i in range(0, len(stacks), BATCH)]
    )
    out: dict[str, dict[str, str]] = {}
    try:
        for chunk in chunks:
            filters: list[dict[str, Any]] = [{"Key": scheme.cluster, "Values": [cluster]}]
            if chunk is not None:
                filters.append({"Key": scheme.stack, "Values": chunk})
            for m in paginate(
                clients.resourcegroupstaggingapi.get_resources,
                "ResourceTagMappingList",
                marker_in="PaginationToken",
                marker_out="PaginationToken",
                TagFilters=filters,
                ResourceTypeFilters=TYPES,
            ):
                out[m["ResourceARN"]] = tags_from_aws(m.get("Tags"))
    except (ClientError, BotoCoreError) as exc:
        if mode == "on" or (isinstance(exc, ClientError) and error_code(exc) not in _UNAVAILABLE):
            raise
        clients.tagging_unavailable = True  # type: ignore[attr-defined]
        log_event(
            log,
            "tagging API unavailable: listing load balancers instead",
            logging.WARNING,
            error=str(exc)[:200],
        )
        return None
    return out


def describe_arns(clients: AwsClients, arns: Iterable[str]) -> Found:
    """Describe exactly these load balancer and target group ARNs (missing ones skipped)."""
    arns = sorted(set(arns))
    found = Found()
    lbs = [a for a in arns if ":loadbalancer/" in a]
    tgs = [a for a in arns if ":targetgroup/" in a]
    found.load_balancers = _describe(
        clients.elbv2.describe_load_balancers, "LoadBalancerArns", "LoadBalancers", lbs
    )
    found.target_groups = _describe(
        clients.elbv2.describe_target_groups, "TargetGroupArns", "TargetGroups", tgs
    )
    return found


def _describe(call: Any, param: str, key: str, arns: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(arns), BATCH):
        chunk = arns[i : i + BATCH]
        try:
            out += call(**{param: chunk}).get(key, [])
        except ClientError as exc:
            if error_code(exc) not in ("LoadBalancerNotFound", "TargetGroupNotFound"):
                raise
            for arn in chunk:  # one of them is gone (the tagging API lags deletes too)
                try:
                    out += call(**{param: [arn]}).get(key, [])
                except ClientError as one:
                    if error_code(one) not in ("LoadBalancerNotFound", "TargetGroupNotFound"):
                        raise
    return out
