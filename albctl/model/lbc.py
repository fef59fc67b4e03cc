"""The AWS Load Balancer Controller's (LBC's) identity, as albctl needs it to take a stack over.

Facts from LBC's sources (kubernetes-sigs/aws-load-balancer-controller): tracking tags
(``pkg/deploy/tracking/provider.go``), the backend security group and its rules
(``pkg/networking/backend_sg_provider.go``, ``pkg/targetgroupbinding/networking_manager.go``),
finalizers (``pkg/ingress/finalizer.go``) and the leader-election Lease of its deployment.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from albctl.model.tags import TagScheme

LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
LBC_STACK_TAG = "ingress.k8s.aws/stack"  # the group name, or ns/name of an implicit group
LBC_RESOURCE_TAG = "ingress.k8s.aws/resource"  # LoadBalancer, <port>, <port>:<n>, ...
# on LBC's shared backend security group (with elbv2.k8s.aws/cluster)
LBC_SG_RESOURCE_TAG = "elbv2.k8s.aws/resource"
LBC_BACKEND_SG = "backend-sg"
# the description of the rules LBC adds on the targets' security groups
LBC_RULE_DESCRIPTION = "elbv2.k8s.aws/targetGroupBinding=shared"

LBC_TAGS = TagScheme(LBC_CLUSTER_TAG, LBC_STACK_TAG, LBC_RESOURCE_TAG)
# LBC's ALB Gateways (pkg/shared_constants ALBGatewayTagPrefix): stack ``<namespace>/<name>``
LBC_GATEWAY_STACK_TAG = "gateway.k8s.aws.alb/stack"
LBC_GATEWAY_RESOURCE_TAG = "gateway.k8s.aws.alb/resource"
LBC_GATEWAY_TAGS = TagScheme(LBC_CLUSTER_TAG, LBC_GATEWAY_STACK_TAG, LBC_GATEWAY_RESOURCE_TAG)
# LBC's tracking keys stay on the resources albctl adopts (albctl never removes them): with
# them LBC finds its stack again if it is reinstalled instead (a way back)
LBC_TRACKING_KEYS = (
    LBC_CLUSTER_TAG,
    LBC_STACK_TAG,
    LBC_RESOURCE_TAG,
    LBC_GATEWAY_STACK_TAG,
    LBC_GATEWAY_RESOURCE_TAG,
    LBC_SG_RESOURCE_TAG,
    "ingress.k8s.aws/cluster",  # LBC's legacy cluster key (ALB ingress controller 1.x)
)

LBC_INGRESS_FINALIZER = "ingress.k8s.aws/resources"  # implicit groups
LBC_GROUP_FINALIZER_PREFIX = "group.ingress.k8s.aws/"  # + the group name: explicit groups
LBC_BINDING_FINALIZER = "elbv2.k8s.aws/resources"  # on LBC's TargetGroupBindings
LBC_LEASE = "aws-load-balancer-controller-leader"
LBC_NAMESPACE = "kube-system"  # where LBC's chart is usually installed


def lbc_gateway_target_group_id(gateway: str, route: str, service: str, port: int) -> str:
    """The resource id LBC gives the target group of a route's Service port on a Gateway
    (pkg/gateway/model/model_build_target_group.go ``buildTargetGroupResourceID``):
    ``<gw ns>/<gw name>:<route ns>-<route name>:<route kind>-<svc ns>-<svc name>:<port>``.
    ``gateway`` is ``ns/name``, ``route`` ``Kind/ns/name``, ``service`` ``ns/name``."""
    kind, rns, rname = route.split("/")
    sns, sname = service.split("/")
    return f"{gateway}:{rns}-{rname}:{kind}-{sns}-{sname}:{port}"


def lbc_finalizers(finalizers: Iterable[str]) -> list[str]:
    """The finalizers LBC put on an Ingress."""
    return [
        f
        for f in finalizers
        if f == LBC_INGRESS_FINALIZER or f.startswith(LBC_GROUP_FINALIZER_PREFIX)
    ]


def lease_held(lease: Mapping[str, Any], now: datetime.datetime) -> bool:
    """Whether LBC's leader Lease is held and renewed within its duration (LBC runs)."""
    spec = lease.get("spec") or {}
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    if not spec.get("holderIdentity") or not renewed:
        return False
    try:
        at = datetime.datetime.fromisoformat(str(renewed).replace("Z", "+00:00"))
    except ValueError:
        return True  # unreadable: assume it runs (the safe side)
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    duration = float(spec.get("leaseDurationSeconds") or 15)
    return now < at + datetime.timedelta(seconds=duration)
