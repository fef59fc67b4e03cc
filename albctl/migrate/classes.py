"""Which Ingresses ingress-nginx serves, read from the same files.

ingress-nginx serves an Ingress whose ``spec.ingressClassName`` names an IngressClass with
``spec.controller: k8s.io/ingress-nginx`` (or is ``nginx``), whose legacy annotation
``kubernetes.io/ingress.class`` says ``nginx``, or that has no class while the default
IngressClass is ingress-nginx's. An Ingress with no class at all that carries
``nginx.ingress.kubernetes.io/*`` annotations is taken as written for ingress-nginx too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from albctl.migrate.report import NGINX
from albctl.model.objects import IngressClass

NGINX_CONTROLLER = "k8s.io/ingress-nginx"
NGINX_CLASS = "nginx"
LEGACY_CLASS = "kubernetes.io/ingress.class"


@dataclass(frozen=True)
class Classes:
    nginx: frozenset[str]  # IngressClass names of ingress-nginx ("nginx" always counts)
    default_is_nginx: bool
    has_default: bool


def read_classes(docs: Iterable[dict[str, Any]]) -> Classes:
    classes = [IngressClass.model_validate(d) for d in docs if d.get("kind") == "IngressClass"]
    names = {NGINX_CLASS} | {
        c.metadata.name for c in classes if c.spec.controller == NGINX_CONTROLLER
    }
    defaults = [c for c in classes if c.is_default]
    return Classes(
        nginx=frozenset(names),
        default_is_nginx=len(defaults) == 1 and defaults[0].spec.controller == NGINX_CONTROLLER,
        has_default=bool(defaults),
    )


def nginx_reason(doc: dict[str, Any], classes: Classes) -> str | None:
    """Why ingress-nginx serves this Ingress document, or None when it does not."""
    meta = doc.get("metadata") or {}
    ann = meta.get("annotations") or {}
    legacy = ann.get(LEGACY_CLASS)
    if legacy is not None:
        return f"annotation {LEGACY_CLASS}: {legacy}" if legacy in classes.nginx else None
    name = (doc.get("spec") or {}).get("ingressClassName")
    if name:
        return f"spec.ingressClassName: {name}" if name in classes.nginx else None
    if classes.default_is_nginx:
        return "no class, and the default IngressClass is ingress-nginx's"
    if not classes.has_default and any(str(k).startswith(NGINX) for k in ann):
        return f"no class, and it carries {NGINX}* annotations"
    return None
