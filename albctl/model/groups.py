"""Which Ingresses are ours, and how they form IngressGroups.

An Ingress is ours by ``spec.ingressClassName`` (an IngressClass whose controller is
``albctl.io/alb``), else the legacy ``kubernetes.io/ingress.class`` annotation, else the
default IngressClass when it is ours. Explicit groups come from ``group.name`` (or the
IngressClassParams ``group.name``); every other Ingress is a group of one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from albctl.errors import InvalidInputError, MissingObjectError
from albctl.model.annotations import PREFIX, Annotations, ci_get
from albctl.model.objects import Ingress, IngressBackend, IngressClass, IngressClassParams
from albctl.model.settings import CONTROLLER_NAME, PARAMS_API_GROUP, BuildSettings

LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
FINALIZER = "albctl.io/ingress-group"  # contract: design.md section 2
GROUP_NAME_RE = re.compile(r"^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$")


@dataclass(frozen=True)
class Member:
    ingress: Ingress
    order: int
    params: IngressClassParams | None

    @property
    def key(self) -> str:
        return self.ingress.key


@dataclass
class Group:
    id: str  # stack id: ns/name (implicit) or the group name (explicit)
    explicit: bool
    members: list[Member] = field(default_factory=list)
    invalid: dict[str, InvalidInputError] = field(default_factory=dict)

    @property
    def resource_name(self) -> str:
        """Name of the LoadBalancerGroup object."""
        return self.id if self.explicit else self.id.replace("/", ".")


@dataclass
class Grouping:
    groups: dict[str, Group]
    ignored: list[tuple[str, str]]  # (ingress key, reason)


def resolve_class(
    ing: Ingress,
    classes: dict[str, IngressClass],
    params: dict[str, IngressClassParams],
    settings: BuildSettings,
) -> tuple[bool, IngressClassParams | None, str]:
    """(ours?, the class's params, reason). Raises for a class of ours that is broken."""
    legacy = ing.metadata.annotations.get(LEGACY_CLASS_ANNOTATION)
    if legacy is not None:
        if legacy == settings.ingress_class:
            return True, None, "legacy class annotation"
        return False, None, f"class annotation {legacy!r} is not {settings.ingress_class!r}"
    name = ing.spec.ingress_class_name
    # An Ingress albctl already serves (it carries our finalizer) whose class vanished is kept
    # as an invalid member, not torn down: deleting or renaming an IngressClass by mistake
    # must not delete load balancers. Pointing the Ingress at another controller's class, or
    # deleting the Ingress, does release it.
    ours_before = FINALIZER in ing.metadata.finalizers
    cls: IngressClass | None
    if name:
        cls = classes.get(name)
        if cls is None:
            if ours_before:
                raise InvalidInputError(
                    f"Ingress/{ing.key}",
                    "spec.ingressClassName",
                    f"IngressClass {name!r} does not exist; the load balancer is kept as it is "
                    "until the class is back or the Ingress is deleted",
                )
            return False, None, f"IngressClass {name!r} does not exist"
    else:
        defaults = [c for c in classes.values() if c.is_default]
        if len(defaults) != 1:
            reason = (
                "no ingress class and no default IngressClass"
                if not defaults
                else "several default IngressClasses"
            )
            if ours_before:
                raise InvalidInputError(
                    f"Ingress/{ing.key}",
                    "spec.ingressClassName",
                    f"{reason}; the load balancer is kept as it is until a default class is back",
                )
            return False, None, reason
        cls = defaults[0]
    if cls.spec.controller != CONTROLLER_NAME:
        return False, None, f"IngressClass {cls.metadata.name!r} belongs to {cls.spec.controller!r}"
    ref = cls.spec.parameters
    if ref is None:
        return True, None, f"IngressClass {cls.metadata.name}"
    if ref.api_group != PARAMS_API_GROUP or ref.kind != "IngressClassParams":
        raise InvalidInputError(
            f"IngressClass/{cls.metadata.name}",
            "spec.parameters",
            f"expected apiGroup {PARAMS_API_GROUP} kind IngressClassParams, "
            f"got {ref.api_group}/{ref.kind}",
        )
    p = params.get(ref.name)
    if p is None:
        raise MissingObjectError(
            f"IngressClass/{cls.metadata.name}",
            "spec.parameters",
            f"IngressClassParams {ref.name!r} does not exist",
        )
    return True, p, f"IngressClass {cls.metadata.name}"


def group_ingresses(
    ingresses: Iterable[Ingress],
    classes: Iterable[IngressClass],
    params: Iterable[IngressClassParams],
    settings: BuildSettings,
) -> Grouping:
    """Sort the Ingresses that are ours into groups; others are ignored with a reason."""
    cls_by_name = {c.metadata.name: c for c in classes}
    params_by_name = {p.metadata.name: p for p in params}
    groups: dict[str, Group] = {}
    ignored: list[tuple[str, str]] = []
    for ing in sorted(ingresses, key=lambda i: i.key):
        obj = f"Ingress/{ing.key}"
        try:
            ours, p, reason = resolve_class(ing, cls_by_name, params_by_name, settings)
        except InvalidInputError as exc:
            # ours, but its class is broken or gone: an invalid member of the group it names,
            # so its resources are left alone
            gname = ing.metadata.annotations.get(PREFIX + "group.name", "")
            if gname and len(gname) <= 63 and GROUP_NAME_RE.match(gname):
                g = groups.setdefault(gname, Group(id=gname, explicit=True))
            else:
                g = groups.setdefault(ing.key, Group(id=ing.key, explicit=False))
            g.invalid[ing.key] = exc
            continue
        if not ours:
            ignored.append((ing.key, reason))
            continue
        ann = Annotations(obj, ing.metadata.annotations)
        try:
            from_params = bool(p and p.spec.group)
            group_name = p.spec.group.name if p and p.spec.group else ann.string("group.name")
            if group_name is not None and (
                len(group_name) > 63 or not GROUP_NAME_RE.match(group_name)
            ):
                message = (
                    f"got {group_name!r}, expected lower-case alphanumerics, '-' and '.', "
                    "at most 63 characters"
                )
                if p is not None and from_params:
                    raise InvalidInputError(
                        f"IngressClassParams/{p.metadata.name}", "spec.group.name", message
                    )
                raise ann.error(obj, "group.name", message)
            order = ann.integer("group.order", minimum=-1000, maximum=1000) or 0
        except InvalidInputError as exc:
            g = groups.setdefault(ing.key, Group(id=ing.key, explicit=False))
            g.invalid[ing.key] = exc
            continue
        if group_name:
            g = groups.setdefault(group_name, Group(id=group_name, explicit=True))
        else:
            g = groups.setdefault(ing.key, Group(id=ing.key, explicit=False))
        g.members.append(Member(ingress=ing, order=order, params=p))
    for g in groups.values():
        g.members.sort(key=lambda m: (m.order, m.key))
    return Grouping(groups=groups, ignored=ignored)


def is_ours_annotation(name: str) -> bool:
    return name.startswith(PREFIX)


def services_of(ing: Ingress) -> set[str]:
    """Keys (``namespace/name``) of the Services an Ingress references: backends and the
    Services of forward actions. Unparsable actions are skipped (the builder reports them)."""
    ns = ing.metadata.namespace
    out: set[str] = set()

    def backend(b: IngressBackend | None) -> None:
        if b is not None and b.service is not None and b.service.name:
            out.add(f"{ns}/{b.service.name}")

    backend(ing.spec.default_backend)
    for r in ing.spec.rules:
        for p in r.http.paths if r.http else ():
            backend(p.backend)
    for k, v in ing.metadata.annotations.items():
        if not k.startswith(PREFIX + "actions."):
            continue
        try:
            data = json.loads(v)
        except ValueError:
            continue
        fc = ci_get(data, "forwardConfig") if isinstance(data, dict) else None
        for tg in (ci_get(fc, "targetGroups") if isinstance(fc, dict) else None) or []:
            if isinstance(tg, dict) and ci_get(tg, "serviceName"):
                out.add(f"{ns}/{ci_get(tg, 'serviceName')}")
    return out
