"""Admission checks (pure): would the model accept this Ingress or IngressClassParams?

The validating webhook calls these; they run the model itself (grouping and
:func:`albctl.model.builder.build_group`) against the objects albctl has cached, with an
inventory that knows nothing of AWS (:meth:`Inventory.unknown`), so the rules live in one place
and nothing is fetched during admission. What only AWS can answer is not checked here: subnet
discovery and resolution, certificate discovery (an HTTPS listener without a certificate),
security groups, target groups and WAF web ACLs named by name. The controller still reports
those as ``InvalidIngress`` Events.

An object is refused when the model would leave it out of its group (its own annotations,
paths, actions, conditions, a conflict with an earlier member), or when it would make another
member of its group invalid, or break the group as a whole, where the group was fine before.
A reference to an object that does not exist yet (a Service, the class's IngressClassParams) is
admitted with a warning, since apply order can cause it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from albctl.errors import InvalidInputError, MissingObjectError
from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.groups import Group, group_ingresses
from albctl.model.inventory import Inventory
from albctl.model.objects import (
    Ingress,
    IngressClass,
    IngressClassParametersRef,
    IngressClassParams,
    IngressClassSpec,
    IngressSpec,
    ObjectMeta,
)
from albctl.model.readiness import ClusterObjects
from albctl.model.settings import CONTROLLER_NAME, PARAMS_API_GROUP, BuildSettings


@dataclass
class Verdict:
    """``error`` refuses the object (the model's own message); warnings are shown to the user."""

    error: InvalidInputError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.error is None


def _same_inputs(old: Ingress, new: Ingress) -> bool:
    """Neither spec nor annotations changed: albctl's own finalizer writes, labels, status."""
    return old.spec == new.spec and old.metadata.annotations == new.metadata.annotations


def _build(
    group: Group, objs: ClusterObjects, settings: BuildSettings
) -> tuple[BuildResult, dict[str, InvalidInputError]]:
    """Build a group without AWS; (result, every invalid member with its error)."""
    result = build_group(
        GroupInput(
            group,
            {s.key: s for s in objs.services},
            objs.endpoint_slices,
            objs.nodes,
            Inventory.unknown(),
            settings,
        )
    )
    return result, dict(result.invalid)


def _judge(
    subject: str,
    after: Group,
    before: Group | None,
    objs: ClusterObjects,
    settings: BuildSettings,
    verdict: Verdict,
) -> None:
    """Refuse when ``subject`` is invalid in the group ``after`` the change, or when another
    member, or the group as a whole, is invalid after it but was not ``before``."""
    built, invalid = _build(after, objs, settings)
    exc = invalid.pop(subject, None)
    if exc is not None:
        if isinstance(exc, MissingObjectError):
            verdict.warnings.append(f"{exc}: admitted, it is deployed once that exists")
        else:
            verdict.error = exc
            return
    if not invalid and built.group_error is None:
        return
    prev_invalid: dict[str, InvalidInputError] = {}
    prev_error: InvalidInputError | None = None
    if before is not None:
        prev, prev_invalid = _build(before, objs, settings)
        prev_error = prev.group_error
    for key, other in sorted(invalid.items()):
        if key in prev_invalid:
            continue  # already invalid: not this change's doing
        if isinstance(other, MissingObjectError):
            verdict.warnings.append(f"{other}: admitted, it is deployed once that exists")
            continue
        verdict.error = other
        return
    if built.group_error is not None and str(prev_error) != str(built.group_error):
        verdict.error = built.group_error


def check_ingress(
    new: Ingress, old: Ingress | None, objs: ClusterObjects, settings: BuildSettings
) -> Verdict:
    """The verdict on creating ``new`` (or updating ``old`` to it)."""
    verdict = Verdict()
    if new.metadata.deletion_timestamp or (old is not None and _same_inputs(old, new)):
        return verdict  # finalizer removal and other metadata changes are never held up
    others = [i for i in objs.ingresses if i.key != new.key and not i.metadata.deletion_timestamp]
    classes, params = objs.ingress_classes, objs.ingress_class_params
    after = group_ingresses([*others, new], classes, params, settings).groups
    gid = next(
        (
            g
            for g, grp in sorted(after.items())
            if new.key in grp.invalid or any(m.key == new.key for m in grp.members)
        ),
        None,
    )
    if gid is None:
        return verdict  # not albctl's Ingress: allowed untouched
    prior = [*others, old] if old is not None and not old.metadata.deletion_timestamp else others
    before = group_ingresses(prior, classes, params, settings).groups.get(gid)
    _judge(new.key, after[gid], before, objs, settings, verdict)
    return verdict


PROBE = "admission-probe"


def _uses(cls: IngressClass, params_name: str) -> bool:
    ref = cls.spec.parameters
    return ref is not None and ref.kind == "IngressClassParams" and ref.name == params_name


def check_ingress_class_params(
    new: IngressClassParams, objs: ClusterObjects, settings: BuildSettings
) -> Verdict:
    """The verdict on creating or updating an IngressClassParams: its own values, checked by
    building an Ingress of a class that uses it; then every group with an Ingress of such a
    class, which must not get a member or group error it did not have."""
    verdict = Verdict()
    if new.metadata.deletion_timestamp:
        return verdict
    name = new.metadata.name
    # an Ingress of a class that uses these params, with nothing of its own: what the model
    # says about it is what it says about the params
    probe_class = IngressClass(
        metadata=ObjectMeta(name=PROBE),
        spec=IngressClassSpec(
            controller=CONTROLLER_NAME,
            parameters=IngressClassParametersRef(
                apiGroup=PARAMS_API_GROUP, kind="IngressClassParams", name=name
            ),
        ),
    )
    probe = Ingress(
        metadata=ObjectMeta(name=PROBE, namespace=PROBE),
        spec=IngressSpec(ingressClassName=PROBE),
    )
    own = f"IngressClassParams/{name}"
    for group in group_ingresses([probe], [probe_class], [new], settings).groups.values():
        _, invalid = _build(group, objs, settings)
        for exc in invalid.values():
            if exc.obj == own and not isinstance(exc, MissingObjectError):
                verdict.error = exc
                return verdict
    classes = [c for c in objs.ingress_classes if _uses(c, name)]
    if not classes:
        return verdict
    current = [p for p in objs.ingress_class_params if p.metadata.name != name]
    live = [i for i in objs.ingresses if not i.metadata.deletion_timestamp]
    after = group_ingresses(live, objs.ingress_classes, [*current, new], settings).groups
    before = group_ingresses(live, objs.ingress_classes, objs.ingress_class_params, settings).groups
    for gid, grp in sorted(after.items()):
        if not any(m.params is not None and m.params.metadata.name == name for m in grp.members):
            continue
        _judge("", grp, before.get(gid), objs, settings, verdict)
        if verdict.error is not None:
            return verdict
    return verdict
