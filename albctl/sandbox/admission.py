"""Admission webhooks, called the way kube-apiserver calls them.

For every API write (CREATE, UPDATE including subresources, DELETE) the store asks this module
twice: :meth:`Webhooks.mutate` before its own defaulting and validation, then
:meth:`Webhooks.validate` with the object about to be stored. Mutating webhooks run one at a
time, configurations sorted by name and webhooks in their order, each seeing the object as
patched so far; validating webhooks run after them, in the same order (the apiserver runs
them in parallel; the outcome is the same except which of two denials is reported).

A webhook is called when one of its ``rules`` matches (operations, apiGroups, apiVersions,
resources with ``*`` and ``resource/subresource``, scope), its ``namespaceSelector`` matches
the labels of the object's Namespace (a Namespace is matched against its own labels,
other cluster-scoped objects always match) and its ``objectSelector`` matches the labels of
the new or the old object. Webhook configurations themselves are never subject to webhooks.

Errors have the apiserver's shape: a denial is ``admission webhook "x" denied the request:
...`` with the webhook's code (at least 400) and reason; a failed call under
``failurePolicy: Fail`` is a 500 ``Internal error occurred: failed calling webhook "x": ...``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from albctl.sandbox import webhooks
from albctl.sandbox.errors import ApiError, bad_request
from albctl.sandbox.patch import PatchError, json_patch
from albctl.sandbox.resources import ResourceType
from albctl.sandbox.selectors import from_label_selector
from albctl.sandbox.webhookconfigs import GROUP

log = logging.getLogger(__name__)

Obj = dict[str, Any]

MUTATING = f"mutatingwebhookconfigurations.{GROUP}"
VALIDATING = f"validatingwebhookconfigurations.{GROUP}"
_NAMESPACES = "namespaces"
_SERVICES = "services"
_SLICES = "endpointslices.discovery.k8s.io"
_SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

DEFAULT_USER: Obj = {
    "username": "sandbox-admin",
    "groups": ["system:masters", "system:authenticated"],
}


def user_info(authorization: str | None) -> Obj:
    """``userInfo`` for a request: the ``sub`` of a JWT bearer token, else ``sandbox-admin``.

    Nothing is verified (the sandbox does no authentication); a service account token
    (as a controller running in a cluster would send) is reported as that service account.
    """
    token = (authorization or "").removeprefix("Bearer ").strip()
    parts = token.split(".")
    if len(parts) != 3:
        return dict(DEFAULT_USER)
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return dict(DEFAULT_USER)
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str) or not subject:
        return dict(DEFAULT_USER)
    groups = ["system:authenticated"]
    if subject.startswith("system:serviceaccount:"):
        namespace = subject.split(":")[2]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", *groups]
    return {"username": subject, "groups": groups}


@dataclass
class Caller:
    """Who sent an API request and with which options; collects the warnings to return."""

    user: Obj = field(default_factory=lambda: dict(DEFAULT_USER))
    options: Obj | None = None  # CreateOptions, UpdateOptions, PatchOptions or DeleteOptions
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Attributes:
    """One request as admission sees it (the apiserver's ``admission.Attributes``)."""

    rt: ResourceType
    operation: str  # CREATE, UPDATE or DELETE
    namespace: str  # "" for cluster-scoped objects; a Namespace's own name except on CREATE
    name: str  # "" on CREATE with generateName
    subresource: str
    dry_run: bool
    caller: Caller


class Reader(Protocol):
    """What admission reads from the store (committed objects, never to be mutated)."""

    def stored(self, storage: str, namespace: str | None = None) -> list[Obj]: ...

    def stored_object(self, storage: str, namespace: str, name: str) -> Obj | None: ...


# --- matching -----------------------------------------------------------------------------


def _listed(values: Any, value: str) -> bool:
    return isinstance(values, list) and ("*" in values or value in values)


def _resource_listed(resources: Any, resource: str, subresource: str) -> bool:
    for entry in resources if isinstance(resources, list) else []:
        res, _, sub = str(entry).partition("/")
        if (res in ("*", resource)) and (sub == subresource or sub == "*"):
            return True
    return False


def rule_matches(rule: Obj, attrs: Attributes) -> bool:
    """One ``rules`` entry against a request (``matchPolicy`` is not applied: exact only)."""
    rt = attrs.rt
    scope = rule.get("scope", "*")
    return (
        _listed(rule.get("operations"), attrs.operation)
        and _listed(rule.get("apiGroups"), rt.group)
        and _listed(rule.get("apiVersions"), rt.version)
        and _resource_listed(rule.get("resources"), rt.plural, attrs.subresource)
        and (
            scope in ("*", None)
            or (scope == "Cluster" and not rt.namespaced)
            or (scope == "Namespaced" and rt.namespaced)
        )
    )


def _rules_match(hook: Obj, attrs: Attributes) -> bool:
    return any(isinstance(r, dict) and rule_matches(r, attrs) for r in hook.get("rules") or [])


def _labels(obj: Obj | None) -> dict[str, str] | None:
    if obj is None:
        return None
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def object_selector_matches(hook: Obj, obj: Obj | None, old: Obj | None) -> bool:
    """Matches when the selector is empty, or either object (new, old) has matching labels."""
    selector = from_label_selector(hook.get("objectSelector"))
    if selector.empty:
        return True
    return any(
        labels is not None and selector.matches(labels) for labels in (_labels(obj), _labels(old))
    )


def dry_run_refusal(hook: Obj) -> ApiError | None:
    """A dry run may only reach webhooks that declare they have no side effects on it."""
    if hook.get("sideEffects") in ("None", "NoneOnDryRun"):
        return None
    return bad_request(f'admission webhook "{hook.get("name")}" does not support dry run')


# --- the review and its outcome -----------------------------------------------------------


def review(attrs: Attributes, uid: str, obj: Obj | None, old: Obj | None) -> Obj:
    """The ``admission.k8s.io/v1`` AdmissionReview sent for ``attrs``."""
    rt = attrs.rt
    kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    resource = {"group": rt.group, "version": rt.version, "resource": rt.plural}
    request: Obj = {
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": attrs.name,
        "namespace": attrs.namespace,
        "operation": attrs.operation,
        "userInfo": attrs.caller.user,
        "object": obj,
        "oldObject": old,
        "dryRun": attrs.dry_run,
        "options": attrs.caller.options,
    }
    if attrs.subresource:
        request["subResource"] = attrs.subresource
        request["requestSubResource"] = attrs.subresource
    for key in ("name", "namespace"):
        if not request[key]:
            del request[key]
    return {
        "apiVersion": webhooks.REVIEW_API_VERSION,
        "kind": "AdmissionReview",
        "request": request,
    }


def denial(name: str, status: Any) -> ApiError:
    """``admission webhook "name" denied the request: ...`` as the webhook's status says."""
    status = status if isinstance(status, dict) else {}
    code = status.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    denied = f'admission webhook "{name}" denied the request'
    if message or reason:
        text = f"{denied}: {message or reason}"
    else:
        text = f"{denied} without explanation"
    details = status.get("details")
    return ApiError(code, reason, text, details if isinstance(details, dict) else None)


def internal_error(message: str) -> ApiError:
    return ApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


# --- the dispatcher -------------------------------------------------------------------------


class Webhooks:
    """The webhook admission of one sandbox: reads configurations from the store per request.

    ``service_addresses`` maps ``"namespace/name"`` of a webhook Service to the address to
    dial instead of its endpoints (the dict is read on every call: it may be changed live).
    """

    def __init__(
        self, reader: Reader, service_addresses: Mapping[str, tuple[str, int]] | None = None
    ) -> None:
        self._reader = reader
        self.service_addresses: Mapping[str, tuple[str, int]] = (
            service_addresses if service_addresses is not None else {}
        )

    def _hooks(self, storage: str) -> list[Obj]:
        configs = sorted(self._reader.stored(storage), key=lambda c: str(c["metadata"]["name"]))
        return [h for c in configs for h in c.get("webhooks") or [] if isinstance(h, dict)]

    def wanted(self, attrs: Attributes) -> bool:
        """Whether any webhook's rules match (selectors aside): the cheap first test."""
        if attrs.rt.group == GROUP:
            return False
        return any(_rules_match(h, attrs) for s in (MUTATING, VALIDATING) for h in self._hooks(s))

    def _namespace_labels(
        self, attrs: Attributes, obj: Obj | None, old: Obj | None
    ) -> dict[str, str] | None:
        """Labels the namespaceSelector is matched against; None: no namespace involved."""
        rt = attrs.rt
        if rt.group == "" and rt.plural == _NAMESPACES:
            labels = _labels(old if obj is None else obj) or {}
            labels.setdefault(_NAMESPACE_NAME_LABEL, attrs.name)
            return labels
        if not rt.namespaced:
            return None
        namespace = self._reader.stored_object(_NAMESPACES, "", attrs.namespace)
        return _labels(namespace) or {}

    def _matches(self, hook: Obj, attrs: Attributes, obj: Obj | None, old: Obj | None) -> bool:
        if not _rules_match(hook, attrs) or not object_selector_matches(hook, obj, old):
            return False
        selector = from_label_selector(hook.get("namespaceSelector"))
        labels = self._namespace_labels(attrs, obj, old)
        return selector.empty or labels is None or selector.matches(labels)

    def resolve(self, namespace: str, name: str, port: int) -> tuple[str, int]:
        """Where service ``namespace/name`` port ``port`` is: the override, else its endpoints."""
        override = self.service_addresses.get(f"{namespace}/{name}")
        if override is not None:
            return override
        service = self._reader.stored_object(_SERVICES, namespace, name)
        if service is None:
            raise webhooks.CallError(f'failed to call webhook: service "{name}" not found')
        slices = [
            s
            for s in self._reader.stored(_SLICES, namespace)
            if (s["metadata"].get("labels") or {}).get(_SERVICE_NAME_LABEL) == name
        ]
        found = webhooks.endpoint_address(service, slices, port)
        if found is None:
            raise webhooks.CallError(
                f"failed to call webhook: service {namespace}/{name} has no endpoints"
            )
        return found

    def _post(self, hook: Obj, body: Obj, uid: str, mutating: bool) -> tuple[Obj, list[Any] | None]:
        if "v1" not in (hook.get("admissionReviewVersions") or []):
            raise webhooks.CallError(
                "webhook does not accept known AdmissionReview versions (the sandbox sends "
                f"{webhooks.REVIEW_API_VERSION} only)"
            )
        timeout = int(hook.get("timeoutSeconds") or 10)
        config = hook.get("clientConfig") or {}
        where = webhooks.target(config, timeout, self.resolve)
        context = webhooks.tls_context(config.get("caBundle"))
        raw = webhooks.post(where, context, json.dumps(body).encode(), timeout)
        return webhooks.review_response(raw, uid, mutating)

    def _call(
        self, hook: Obj, attrs: Attributes, obj: Obj | None, old: Obj | None, mutating: bool
    ) -> list[Any] | None:
        """Call one webhook: its JSON patch (mutating), None if ignored; raises on denial."""
        name = str(hook.get("name"))
        if attrs.dry_run:
            refusal = dry_run_refusal(hook)
            if refusal is not None:
                raise refusal
        uid = str(uuid.uuid4())
        try:
            response, patch = self._post(hook, review(attrs, uid, obj, old), uid, mutating)
        except webhooks.CallError as err:
            if hook.get("failurePolicy") == "Ignore":
                log.warning("failed calling webhook %r, failing open: %s", name, err)
                return None
            raise internal_error(f'failed calling webhook "{name}": {err}') from None
        attrs.caller.warnings.extend(str(w) for w in response.get("warnings") or [])
        if response.get("allowed") is not True:
            raise denial(name, response.get("status"))
        return patch

    def mutate(
        self,
        attrs: Attributes,
        obj: Obj | None,
        old: Obj | None,
        default: Callable[[Obj], None] | None = None,
    ) -> Obj | None:
        """Run the matching mutating webhooks in order; the object as they patched it.

        ``default`` (the type's defaulting) is applied to each patched object before the next
        webhook sees it, as staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/mutating/
        dispatcher.go ``callAttrMutatingHook`` does.
        """
        for hook in self._hooks(MUTATING):
            if not self._matches(hook, attrs, obj, old):
                continue
            patch = self._call(hook, attrs, obj, old, mutating=True)
            if patch is None or obj is None:
                continue
            try:
                patched = json_patch(obj, patch)
            except PatchError as err:
                raise internal_error(str(err)) from None
            if not isinstance(patched, dict):
                raise internal_error("the patched object is not a JSON object")
            if default is not None:
                default(patched)
            obj = patched
        return obj

    def validate(self, attrs: Attributes, obj: Obj | None, old: Obj | None) -> None:
        """Run the matching validating webhooks; the first denial or failure is raised."""
        for hook in self._hooks(VALIDATING):
            if self._matches(hook, attrs, obj, old):
                self._call(hook, attrs, obj, old, mutating=False)
