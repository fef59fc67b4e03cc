"""Write a draft out as an Ingress for albctl."""

from __future__ import annotations

import json
import re
from typing import Any

from albctl.migrate.classes import LEGACY_CLASS
from albctl.migrate.draft import Draft, DraftPath
from albctl.migrate.paths import entries
from albctl.migrate.report import NGINX

ALB = "alb.ingress.kubernetes.io/"
ALB_CLASS = "alb"
SERVER_SET = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
)


class _Namer:
    """Names for ``actions.*``: one per distinct (action, conditions), never a Service's."""

    def __init__(self, services: set[str]) -> None:
        self.taken = set(services)
        self.names: dict[tuple[str, tuple[str, ...]], str] = {}

    def name(self, p: DraftPath) -> str:
        action = p.action or json.dumps(p.forward_json(), sort_keys=True)
        key = (action, p.conditions)
        if key not in self.names:
            base = re.sub(r"[^a-z0-9-]", "-", p.hint.lower())[:50].strip("-") or "route"
            if not base[0].isalpha():
                base = "r-" + base
            name, n = base, 1
            while name in self.taken:
                n += 1
                name = f"{base}-{n}"
            self.taken.add(name)
            self.names[key] = name
        return self.names[key]


def _backend(p: DraftPath, namer: _Namer) -> dict[str, Any]:
    if p.action is None and not p.conditions:
        port = {"number": p.port} if isinstance(p.port, int) else {"name": p.port}
        return {"service": {"name": p.service, "port": port}}
    return {"service": {"name": namer.name(p), "port": {"name": "use-annotation"}}}


def _annotations(d: Draft, namer: _Namer) -> dict[str, str]:
    out = {k: v for k, v in d.annotations.items() if not k.startswith(NGINX) and k != LEGACY_CLASS}
    for key, value in sorted(d.alb.items()):
        out.setdefault(key, value)  # an alb.* annotation already on the Ingress wins
    for (action, conditions), name in sorted(namer.names.items(), key=lambda kv: kv[1]):
        out[f"{ALB}actions.{name}"] = action
        if conditions:
            out[f"{ALB}conditions.{name}"] = json.dumps([json.loads(c) for c in conditions])
    return out


def write_ingress(d: Draft, regex_hosts: set[str]) -> dict[str, Any]:
    services = {p.service for p in d.paths if p.service}
    namer = _Namer({s for s in services if s})
    rules = []
    for e in entries(d, regex_hosts):
        paths = [
            {"path": path, "pathType": typ, "backend": _backend(p, namer)}
            for p, path, typ in e.paths
        ]
        rule: dict[str, Any] = {"http": {"paths": paths}}
        if e.host:
            rule = {"host": e.host, **rule}
        rules.append(rule)
    out = d.copy_raw()
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for key in SERVER_SET:
        meta.pop(key, None)
    meta["annotations"] = _annotations(d, namer)
    spec = out.setdefault("spec", {})
    spec["ingressClassName"] = ALB_CLASS
    spec["rules"] = rules
    if not rules:
        spec.pop("rules")
    if d.tls:
        spec["tls"] = d.tls
    return out


def ingress_class() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": ALB_CLASS},
        "spec": {"controller": "albctl.io/alb"},
    }
