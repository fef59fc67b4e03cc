"""One member Ingress being built: its objects, annotations and what it has built so far."""

from __future__ import annotations

from albctl.errors import InvalidInputError, MissingObjectError
from albctl.model.actions import ParsedAction
from albctl.model.annotations import Annotations
from albctl.model.desired import TargetGroup
from albctl.model.groups import Member
from albctl.model.ingress.inputs import GroupInput
from albctl.model.objects import Ingress, IngressClassParamsSpec, Service, ServicePort


class MemberContext:
    def __init__(self, member: Member, inp: GroupInput) -> None:
        self.member = member
        self.inp = inp
        self.ing: Ingress = member.ingress
        self.ns = self.ing.metadata.namespace
        self.obj = f"Ingress/{self.ing.key}"
        self.ann = Annotations(self.obj, self.ing.metadata.annotations)
        self.params = member.params
        self.target_groups: dict[str, TargetGroup] = {}
        self.actions_cache: dict[str, ParsedAction] = {}
        # OIDC client secrets by digest, for the applier only
        self.client_secrets: dict[str, str] = {}

    @property
    def spec(self) -> IngressClassParamsSpec | None:
        """The IngressClassParams spec of the member's class, if any."""
        return self.params.spec if self.params else None

    def service(self, name: str, where: str) -> Service:
        svc = self.inp.services.get(f"{self.ns}/{name}")
        if svc is None:
            raise MissingObjectError(self.obj, where, f"Service {self.ns}/{name} not found")
        return svc

    def service_port(self, svc: Service, port: int | str, where: str) -> ServicePort:
        for sp in svc.spec.ports:
            if (isinstance(port, int) and sp.port == port) or (
                isinstance(port, str) and sp.name == port
            ):
                return sp
        raise InvalidInputError(self.obj, where, f"Service {svc.key} has no port {port!r}")

    def params_obj(self) -> str:
        assert self.params is not None
        return f"IngressClassParams/{self.params.metadata.name}"

    def error(
        self, from_params: bool, annotation: str, spec_field: str, message: str
    ) -> InvalidInputError:
        """An error about a value that came from the IngressClassParams (named by its spec
        field) or from an annotation of the Ingress."""
        if from_params and self.params is not None:
            return InvalidInputError(self.params_obj(), f"spec.{spec_field}", message)
        return self.ann.error(self.obj, annotation, message)
