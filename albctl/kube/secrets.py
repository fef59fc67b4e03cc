"""Read the TLS Secrets Ingresses name, one GET each: the controller never lists or watches
Secrets, so RBAC can grant ``get`` only. Contents are returned to the caller, never logged."""

from __future__ import annotations

import logging
from typing import Any

from albctl.kube.api import SECRET, KubeApi, KubeError, NotFound
from albctl.logs import log_event

log = logging.getLogger(__name__)


class SecretReader:
    def __init__(self, api: KubeApi) -> None:
        self.api = api

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Secret, or None when it does not exist or cannot be read (logged, no content)."""
        try:
            return self.api.get(SECRET, name, namespace)
        except NotFound:
            return None
        except KubeError as exc:
            log_event(
                log,
                "secret not readable",
                logging.WARNING,
                secret=f"{namespace}/{name}",
                status=exc.status,
                reason=exc.reason,
            )
            return None
