"""Settings the builder needs from albctl's configuration (pure data)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONTROLLER_NAME = "albctl.io/alb"
# GatewayClass spec.controllerName albctl serves unless told otherwise (--gateway-controller-name)
GATEWAY_CONTROLLER_NAME = "albctl.io/alb"
PARAMS_API_GROUP = "albctl.io"


class BuildSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cluster_name: str
    ingress_class: str = "alb"
    default_tags: dict[str, str] = Field(default_factory=dict)
    default_scheme: str = "internal"
    default_target_type: str = "instance"
    default_ssl_policy: str = "ELBSecurityPolicy-2016-08"
    # the shared backend security group: attached to ALBs with the managed frontend group,
    # and the source of the rules on the targets' security groups
    enable_backend_sg: bool = True
    # spec.tls[].secretName: import kubernetes.io/tls Secrets into ACM
    import_tls_secrets: bool = True
    # Ingress wildcard hosts: "exact" (Kubernetes: *.foo.com matches one more DNS label,
    # by a host-header regex) or "alb" (ALB's own wildcard: any number of labels)
    wildcard_host_matching: Literal["exact", "alb"] = "exact"
    # GatewayClasses whose spec.controllerName is one of these are albctl's
    gateway_controller_names: tuple[str, ...] = (GATEWAY_CONTROLLER_NAME,)
