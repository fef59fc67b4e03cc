"""Which Secrets an Ingress's build reads (the controller GETs exactly these)."""

from __future__ import annotations

from collections.abc import Mapping

from albctl.model.annotations import Annotations
from albctl.model.ingress.auth import oidc_secret_names
from albctl.model.objects import Ingress, Service


def service_keys(ing: Ingress) -> list[str]:
    """ns/name of the Services the Ingress's backends name (action names included)."""
    ns = ing.metadata.namespace
    backends = [ing.spec.default_backend] if ing.spec.default_backend else []
    for rule in ing.spec.rules:
        backends += [p.backend for p in rule.http.paths] if rule.http else []
    names = [b.service.name for b in backends if b.service is not None]
    return [f"{ns}/{n}" for n in dict.fromkeys(names)]


def secrets_named(ing: Ingress, services: Mapping[str, Service], import_tls: bool) -> list[str]:
    """ns/name of the TLS Secrets (when importing) and OIDC client Secrets of the Ingress
    and of the backend ``services`` whose annotations may override its auth settings."""
    ns = ing.metadata.namespace
    out = [f"{ns}/{t.secret_name}" for t in ing.spec.tls if t.secret_name] if import_tls else []
    ann = Annotations(f"Ingress/{ing.key}", ing.metadata.annotations)
    out += [f"{ns}/{n}" for n in oidc_secret_names(ann)]
    for svc in services.values():
        with_svc = ann.with_service(f"Service/{svc.key}", svc.metadata.annotations)
        out += [f"{ns}/{n}" for n in oidc_secret_names(with_svc)]
    return list(dict.fromkeys(out))
