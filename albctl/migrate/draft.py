"""The working form of one Ingress while it is converted: paths with their targets.

A :class:`DraftPath` keeps the path as ingress-nginx read it (path and pathType); how it is
written for albctl (prefix, wildcard or regex) is decided when the Ingress is written out,
once it is known whether its host matches by regex. Targets are a Service port or an albctl
action (JSON), plus the extra conditions of that path; names for ``actions.*`` and
``conditions.*`` are given when writing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any

from albctl.migrate.report import NGINX, IngressReport

# ordering of variants of one path (lower first): deny, canary by header/cookie, the path
# itself, the 403 for clients outside an allowlist
LAYER_DENY = 0
LAYER_CANARY = 1
LAYER_MAIN = 2
LAYER_FORBIDDEN = 3


@dataclass(frozen=True)
class DraftPath:
    host: str
    path: str  # as written for ingress-nginx ("" is "/")
    path_type: str  # Exact | Prefix | ImplementationSpecific
    service: str | None = None
    port: int | str | None = None
    action: str | None = None  # JSON of an albctl action
    conditions: tuple[str, ...] = ()  # JSON of albctl conditions
    hint: str = "route"  # base of the action name
    layer: int = LAYER_MAIN

    def with_action(self, action: dict[str, Any], hint: str) -> DraftPath:
        return replace(
            self, service=None, port=None, action=json.dumps(action, sort_keys=True), hint=hint
        )

    def with_conditions(self, *conditions: dict[str, Any]) -> DraftPath:
        extra = tuple(json.dumps(c, sort_keys=True) for c in conditions)
        return replace(self, conditions=self.conditions + extra)

    def forward_json(self) -> dict[str, Any] | None:
        """This path's target as a forward action (None when it is not a Service)."""
        if self.service is None:
            return None
        return {
            "type": "forward",
            "forwardConfig": {
                "targetGroups": [{"serviceName": self.service, "servicePort": self.port}]
            },
        }

    @property
    def condition_values(self) -> int:
        """ALB condition values this path's rule uses (host, path, extra conditions)."""
        n = 1 if self.host else 0
        n += 2 if self.path_type == "Prefix" and self.path not in ("", "/") else 1
        for c in self.conditions:
            data = json.loads(c)
            for k, v in data.items():
                if k.endswith("Config") and isinstance(v, dict):
                    n += len(v.get("values") or v.get("regexValues") or [])
        return n


@dataclass
class Draft:
    """One ingress-nginx Ingress on its way to albctl."""

    raw: dict[str, Any]
    namespace: str
    name: str
    report: IngressReport
    paths: list[DraftPath] = field(default_factory=list)
    alb: dict[str, str] = field(default_factory=dict)  # alb.ingress.kubernetes.io/* to set
    tls: list[dict[str, Any]] = field(default_factory=list)
    regex: bool = False
    merged: bool = False  # a canary merged into its main Ingress

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def annotations(self) -> dict[str, str]:
        meta = self.raw.get("metadata") or {}
        return {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}

    def nginx(self, name: str) -> str | None:
        value = self.annotations.get(NGINX + name)
        return None if value is None else value.strip()

    def flag(self, name: str) -> bool:
        return (self.nginx(name) or "").lower() == "true"

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(p.host for p in self.paths))

    @property
    def tls_hosts(self) -> set[str]:
        return {h for t in self.tls for h in t.get("hosts") or []}

    @property
    def canary(self) -> bool:
        return self.flag("canary")

    def copy_raw(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)
