"""albctl's runtime settings (flags with environment fallbacks)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from albctl.errors import ConfigError
from albctl.model.annotations import parse_map
from albctl.model.settings import GATEWAY_CONTROLLER_NAME, BuildSettings


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false", "1", "0"):
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    return raw in ("true", "1")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    cluster_name: str
    vpc_id: str | None = None
    region: str | None = None
    ingress_class: str = "alb"
    default_tags: dict[str, str] = Field(default_factory=dict)
    enable_backend_sg: bool = True
    backend_sg: str | None = None
    import_tls_secrets: bool = True
    wildcard_host_matching: Literal["exact", "alb"] = "exact"
    default_target_type: Literal["instance", "ip"] = "instance"
    gateway_controller_names: tuple[str, ...] = (GATEWAY_CONTROLLER_NAME,)
    # adopt the stacks LBC made for a group albctl has no stack for yet (--take-over-lbc)
    take_over_lbc: bool = False
    # where LBC's leader-election Lease is read (controller mode)
    lbc_namespace: str = "kube-system"

    @classmethod
    def resolve(
        cls,
        cluster_name: str | None,
        vpc_id: str | None = None,
        region: str | None = None,
        ingress_class: str | None = None,
        default_tags: str | None = None,
        default_target_type: str | None = None,
        gateway_controller_names: list[str] | None = None,
    ) -> Settings:
        cluster = cluster_name or os.environ.get("ALBCTL_CLUSTER_NAME")
        if not cluster:
            raise ConfigError("no cluster name: pass --cluster-name or set ALBCTL_CLUSTER_NAME")
        tags_raw = (
            default_tags if default_tags is not None else os.environ.get("ALBCTL_DEFAULT_TAGS", "")
        )
        try:
            tags = parse_map(tags_raw) if tags_raw else {}
        except ValueError as exc:
            raise ConfigError(f"--default-tags: {exc}") from None
        return cls(
            cluster_name=cluster,
            vpc_id=vpc_id or os.environ.get("ALBCTL_VPC_ID") or None,
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
            ingress_class=ingress_class or os.environ.get("ALBCTL_INGRESS_CLASS", "alb"),
            default_tags=tags,
            enable_backend_sg=_env_bool("ALBCTL_ENABLE_BACKEND_SECURITY_GROUP", True),
            backend_sg=os.environ.get("ALBCTL_BACKEND_SECURITY_GROUP") or None,
            import_tls_secrets=_env_bool("ALBCTL_IMPORT_TLS_SECRETS", True),
            take_over_lbc=_env_bool("ALBCTL_TAKE_OVER_LBC", False),
            wildcard_host_matching=wildcard_matching(
                os.environ.get("ALBCTL_WILDCARD_HOST_MATCHING", "exact")
            ),
            default_target_type=target_type(
                default_target_type or os.environ.get("ALBCTL_DEFAULT_TARGET_TYPE") or "instance"
            ),
            gateway_controller_names=tuple(
                gateway_controller_names
                or [
                    n.strip()
                    for n in os.environ.get("ALBCTL_GATEWAY_CONTROLLER_NAMES", "").split(",")
                    if n.strip()
                ]
                or [GATEWAY_CONTROLLER_NAME]
            ),
        )

    def build_settings(self) -> BuildSettings:
        return BuildSettings(
            cluster_name=self.cluster_name,
            ingress_class=self.ingress_class,
            default_tags=self.default_tags,
            enable_backend_sg=self.enable_backend_sg,
            import_tls_secrets=self.import_tls_secrets,
            wildcard_host_matching=self.wildcard_host_matching,
            default_target_type=self.default_target_type,
            gateway_controller_names=self.gateway_controller_names,
        )


def target_type(value: str) -> Literal["instance", "ip"]:
    if value == "instance":
        return "instance"
    if value == "ip":
        return "ip"
    raise ConfigError(f"default target type must be instance or ip, got {value!r}")


def wildcard_matching(value: str) -> Literal["exact", "alb"]:
    if value == "exact":
        return "exact"
    if value == "alb":
        return "alb"
    raise ConfigError(f"wildcard host matching must be exact or alb, got {value!r}")
