"""AdmissionReview v1 handlers: what each webhook path answers.

* ``/mutate-v1-pod`` (pods, CREATE): adds one readiness gate
  ``target-health.albctl.io/<target group>`` per target group the pod will be registered in
  (:func:`albctl.model.readiness.gate_targets`), as a JSON patch. It never refuses a pod: on any
  problem the pod is admitted as it is. Which namespaces are concerned is decided by the
  webhook configuration's ``namespaceSelector`` (the two opt-in labels).
* ``/validate-networking-v1-ingress`` (ingresses, CREATE and UPDATE) and
  ``/validate-albctl-io-v1beta1-ingressclassparams``: the model's own checks
  (:mod:`albctl.model.admission`) against the cached objects; a refusal carries the model's
  message (object, field, what was expected). Ingresses of other classes are allowed untouched.

Nothing here reads the API server or AWS: the caches come in through ``objects``.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from albctl.logs import log_event
from albctl.model.admission import Verdict, check_ingress, check_ingress_class_params
from albctl.model.objects import Ingress, IngressClassParams
from albctl.model.readiness import ClusterObjects, gate_targets, gate_type
from albctl.model.settings import BuildSettings

log = logging.getLogger(__name__)

MUTATE_POD = "/mutate-v1-pod"
VALIDATE_INGRESS = "/validate-networking-v1-ingress"
VALIDATE_PARAMS = "/validate-albctl-io-v1beta1-ingressclassparams"
PATHS = (MUTATE_POD, VALIDATE_INGRESS, VALIDATE_PARAMS)

Obj = dict[str, Any]


class BadReview(ValueError):
    """The request body is not an AdmissionReview v1 request."""


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


class AdmissionHandlers:
    def __init__(
        self,
        settings: BuildSettings,
        objects: Callable[[], ClusterObjects],
        binding_types: Callable[[], Mapping[str, str]] = dict,
        on_result: Callable[[str, str], None] = lambda path, result: None,
    ) -> None:
        self.settings = settings
        self.objects = objects
        self.binding_types = binding_types
        self.on_result = on_result

    def review(self, path: str, body: Obj) -> Obj:
        """The AdmissionReview answering ``body`` (raises BadReview on a malformed request)."""
        if body.get("apiVersion") != "admission.k8s.io/v1" or body.get("kind") != "AdmissionReview":
            raise BadReview("expected an admission.k8s.io/v1 AdmissionReview")
        request = body.get("request")
        if not isinstance(request, dict) or not request.get("uid"):
            raise BadReview("the AdmissionReview has no request uid")
        if path == MUTATE_POD:
            response, result = self._pod(request)
        elif path == VALIDATE_INGRESS:
            response, result = self._ingress(request)
        elif path == VALIDATE_PARAMS:
            response, result = self._params(request)
        else:
            raise BadReview(f"no webhook at {path}")
        self.on_result(path, result)
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": request["uid"], **response},
        }

    # --- pods -----------------------------------------------------------------------------

    def _pod(self, request: Obj) -> tuple[Obj, str]:
        if request.get("operation") != "CREATE":
            return {"allowed": True}, "allowed"
        obj = request.get("object") or {}
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or request.get("namespace") or "")
        name = meta.get("name") or f"{meta.get('generateName', '')}*"
        try:
            labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
            targets = gate_targets(
                namespace, labels, self.objects(), self.settings, self.binding_types()
            )
            spec = obj.get("spec") or {}
            present = {
                g.get("conditionType")
                for g in spec.get("readinessGates") or []
                if isinstance(g, dict)
            }
            missing = [gate_type(n) for n in sorted(targets) if gate_type(n) not in present]
        except Exception as exc:  # a pod is never refused or held up by albctl
            log_event(
                log,
                "readiness gates not injected",
                logging.WARNING,
                pod=f"{namespace}/{name}",
                error=repr(exc),
            )
            return {"allowed": True}, "error"
        if not missing:
            return {"allowed": True}, "allowed"
        gates = [{"conditionType": c} for c in missing]
        ops: list[Obj]
        if "readinessGates" in (obj.get("spec") or {}) and isinstance(
            obj["spec"]["readinessGates"], list
        ):
            ops = [{"op": "add", "path": "/spec/readinessGates/-", "value": g} for g in gates]
        else:
            ops = [{"op": "add", "path": "/spec/readinessGates", "value": gates}]
        log_event(
            log,
            "readiness gates injected",
            pod=f"{namespace}/{name}",
            gates=",".join(g["conditionType"] for g in gates),
        )
        patch = base64.b64encode(json.dumps(ops).encode()).decode()
        return {"allowed": True, "patchType": "JSONPatch", "patch": patch}, "patched"

    # --- Ingress and IngressClassParams -----------------------------------------------------

    @staticmethod
    def _verdict_response(verdict: Verdict) -> tuple[Obj, str]:
        out: Obj = {"allowed": verdict.allowed}
        if verdict.warnings:
            out["warnings"] = [w[:512] for w in verdict.warnings]
        if verdict.error is not None:
            out["status"] = {
                "code": 403,
                "reason": "Forbidden",
                "message": str(verdict.error),
            }
            return out, "denied"
        return out, "allowed"

    @staticmethod
    def _parse(
        model: type[Ingress] | type[IngressClassParams], obj: Obj, request: Obj
    ) -> Ingress | IngressClassParams:
        body = json.loads(json.dumps(obj))
        meta = body.setdefault("metadata", {})
        meta.setdefault("name", request.get("name") or meta.get("generateName") or "")
        if model is Ingress:
            meta.setdefault("namespace", request.get("namespace") or "")
        return model.model_validate(body)

    def _denied_unparsable(self, kind: str, request: Obj, exc: ValidationError) -> tuple[Obj, str]:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        ns = request.get("namespace")
        who = f"{kind}/{ns}/{request.get('name')}" if ns else f"{kind}/{request.get('name')}"
        message = f"{who}: {where}: {first['msg']}"
        return {
            "allowed": False,
            "status": {"code": 403, "reason": "Forbidden", "message": message},
        }, "denied"

    def _ingress(self, request: Obj) -> tuple[Obj, str]:
        if request.get("operation") not in ("CREATE", "UPDATE"):
            return {"allowed": True}, "allowed"
        try:
            new = self._parse(Ingress, request.get("object") or {}, request)
            old_obj = request.get("oldObject")
            old = self._parse(Ingress, old_obj, request) if old_obj else None
        except ValidationError as exc:
            return self._denied_unparsable("Ingress", request, exc)
        assert isinstance(new, Ingress) and (old is None or isinstance(old, Ingress))
        verdict = check_ingress(new, old, self.objects(), self.settings)
        if not verdict.allowed:
            log_event(log, "ingress refused", ingress=new.key, error=str(verdict.error))
        return self._verdict_response(verdict)

    def _params(self, request: Obj) -> tuple[Obj, str]:
        if request.get("operation") not in ("CREATE", "UPDATE"):
            return {"allowed": True}, "allowed"
        try:
            new = self._parse(IngressClassParams, request.get("object") or {}, request)
        except ValidationError as exc:
            return self._denied_unparsable("IngressClassParams", request, exc)
        assert isinstance(new, IngressClassParams)
        verdict = check_ingress_class_params(new, self.objects(), self.settings)
        if not verdict.allowed:
            log_event(
                log,
                "ingress class params refused",
                params=new.metadata.name,
                error=str(verdict.error),
            )
        return self._verdict_response(verdict)
