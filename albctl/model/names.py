"""Deterministic AWS names within AWS limits (32 characters for ALBs and target groups)."""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 32
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")
LB_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")


def short_hash(*parts: str, length: int = 10) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return digest[:length]


def _clean(text: str, limit: int) -> str:
    return _NON_ALNUM.sub("", text)[:limit].lower()


def load_balancer_name(cluster: str, group_id: str, explicit: bool, scheme: str) -> str:
    digest = short_hash(cluster, group_id, scheme)
    if explicit:
        return f"k8s-{_clean(group_id, 17)}-{digest}"
    ns, _, name = group_id.partition("/")
    return f"k8s-{_clean(ns, 8)}-{_clean(name, 8)}-{digest}"


def security_group_name(cluster: str, group_id: str, explicit: bool) -> str:
    digest = short_hash(cluster, group_id, "sg")
    if explicit:
        return f"k8s-{_clean(group_id, 17)}-{digest}"
    ns, _, name = group_id.partition("/")
    return f"k8s-{_clean(ns, 8)}-{_clean(name, 8)}-{digest}"


def target_group_name(namespace: str, service: str, *identity: str) -> str:
    """``k8s-<ns≤8>-<svc≤8>-<hash10>``: the hash covers every immutable field."""
    return f"k8s-{_clean(namespace, 8)}-{_clean(service, 8)}-{short_hash(*identity)}"


def valid_lb_name(name: str) -> bool:
    return bool(LB_NAME_RE.match(name)) and not name.lower().startswith("internal-")
