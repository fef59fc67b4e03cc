"""The migration report: per Ingress and annotation, what became of it.

Every ingress-nginx annotation (and every Ingress field whose meaning changes) gets one
:class:`Finding`: ``mapped`` (the same behaviour on the ALB), ``approximated`` (``detail`` says
how the behaviour differs) or ``unsupported`` (``detail`` says why; ``alternative`` names the
AWS-side way where there is one). Nothing is dropped without a finding.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["mapped", "approximated", "unsupported"]
NGINX = "nginx.ingress.kubernetes.io/"

EXIT_EXACT = 0
EXIT_DIFFERENCES = 3


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Finding(_Model):
    annotation: str  # an nginx annotation, or an Ingress field such as spec.tls
    status: Status
    detail: str
    alb: tuple[str, ...] = ()  # what it became (annotations, actions, objects)
    alternative: str | None = None  # the AWS-side way, for what albctl cannot express


class IngressReport(_Model):
    ingress: str  # ns/name of the input Ingress
    output: str | None  # ns/name of the Ingress it became; None when merged into another
    group: str | None = None
    merged_into: str | None = Field(None, alias="mergedInto")
    # --to gateway: the Gateway (ns/name) and the routes (Kind/ns/name) the Ingress became
    gateway: str | None = None
    routes: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)

    def add(
        self,
        annotation: str,
        status: Status,
        detail: str,
        alb: tuple[str, ...] = (),
        alternative: str | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                annotation=annotation,
                status=status,
                detail=detail,
                alb=alb,
                alternative=alternative,
            )
        )


class MigrationReport(_Model):
    ingresses: list[IngressReport] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)  # objects the migration adds (kind/name)
    notes: list[str] = Field(default_factory=list)  # semantic differences that concern a group

    def counts(self) -> dict[str, int]:
        out = {"mapped": 0, "approximated": 0, "unsupported": 0}
        for ing in self.ingresses:
            for f in ing.findings:
                out[f.status] += 1
        return out

    @property
    def exit_code(self) -> int:
        c = self.counts()
        return EXIT_DIFFERENCES if c["approximated"] or c["unsupported"] else EXIT_EXACT

    def to_json(self) -> dict[str, object]:
        data = self.model_dump(mode="json", by_alias=True)
        for ing in data["ingresses"]:
            if ing["gateway"] is None:  # --to albctl: the Ingress it became says it all
                del ing["gateway"], ing["routes"]
        data["summary"] = self.counts()
        data["exitCode"] = self.exit_code
        return data


def render_text(report: MigrationReport) -> str:
    """The human-readable report (stderr of ``albctl migrate``)."""
    lines: list[str] = []
    for ing in report.ingresses:
        where = (
            f"merged into Ingress/{ing.merged_into}"
            if ing.merged_into
            else f"-> Ingress/{ing.output}" + (f" (group {ing.group})" if ing.group else "")
        )
        if ing.gateway is not None:
            where = f"-> {', '.join(ing.routes) or 'no route'} on Gateway/{ing.gateway}"
        lines.append(f"Ingress/{ing.ingress} {where}")
        for f in ing.findings:
            name = f.annotation.removeprefix(NGINX)
            lines.append(f"  {f.status:<13} {name}: {f.detail}")
            if f.alb:
                lines.append(f"  {'':<13} {'':<{len(name)}}  as {', '.join(f.alb)}")
            if f.alternative:
                lines.append(f"  {'':<13} {'':<{len(name)}}  AWS-side: {f.alternative}")
    for obj in report.added:
        lines.append(f"added {obj}")
    for note in report.notes:
        lines.append(f"note: {note}")
    c = report.counts()
    lines.append(
        f"{c['mapped']} mapped, {c['approximated']} approximated, {c['unsupported']} unsupported"
    )
    return "\n".join(lines) + "\n"
