"""albctl's own exception hierarchy.

Every error a user can see carries a message they can act on: which object, which field,
what was expected. Errors of the libraries underneath (botocore, the kubernetes client)
are chained as causes, never shown raw.
"""

from __future__ import annotations


class AlbctlError(Exception):
    """Base of every error albctl raises on purpose."""


class InvalidInputError(AlbctlError):
    """A Kubernetes object (or one of its fields/annotations) cannot be turned into AWS state."""

    def __init__(self, obj: str, field: str, message: str) -> None:
        self.obj = obj
        self.field = field
        self.message = message
        super().__init__(f"{obj}: {field}: {message}")


class MissingObjectError(InvalidInputError):
    """The input names another object that is not there (yet): a Service, an
    IngressClassParams. Apply order can cause it, so admission only warns about it."""


class QuotaExceededError(InvalidInputError):
    """The desired state would exceed an ALB quota."""


class InvalidBindingError(InvalidInputError):
    """A TargetGroupBinding cannot be honoured; ``reason`` is a stable CamelCase code (the
    reason of its Ready=False condition)."""

    def __init__(self, obj: str, field: str, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(obj, field, message)


class ManifestError(AlbctlError):
    """A manifest file cannot be read or parsed."""


class ConfigError(AlbctlError):
    """albctl's own settings (flags, environment) are missing or wrong."""


class AwsError(AlbctlError):
    """An AWS call failed in a way retries could not fix."""


class OwnershipError(AlbctlError):
    """An AWS resource does not carry our ownership tags, so albctl refuses to touch it."""


class GuardRailError(AlbctlError):
    """A change was refused because it looks like an accident (e.g. mass deletion)."""


class DeletionProtectedError(GuardRailError):
    """A load balancer with deletion protection would be deleted or replaced."""


class RouteError(AlbctlError):
    """A request cannot be routed: a malformed request, no load balancer or no listener."""
