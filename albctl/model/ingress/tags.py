"""Tags: the user's (annotation, IngressClassParams, Service) and our ownership tags."""

from __future__ import annotations

from collections.abc import Mapping

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.annotations import Annotations
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.inputs import MAX_TAGS
from albctl.model.objects import Service
from albctl.model.tags import CLUSTER_TAG, INGRESS_TAG, RESOURCE_TAG, STACK_TAG


def check_user_tags(
    obj: str, tags: Mapping[str, str], field: str = f"annotation {ANN}tags"
) -> None:
    for k, v in tags.items():
        if k.startswith("aws:") or k.startswith("albctl.io/"):
            raise InvalidInputError(obj, field, f"tag key {k!r} is reserved")
        if len(k) > 128 or len(v) > 256:
            raise InvalidInputError(obj, field, f"tag {k!r} is too long")


def member_tags(ctx: MemberContext) -> dict[str, str]:
    """The member's tags annotation, overridden by its IngressClassParams' spec.tags."""
    tags = ctx.ann.string_map("tags") or {}
    check_user_tags(ctx.obj, tags)
    if ctx.params:
        from_params = {t.key: t.value for t in ctx.params.spec.tags}
        check_user_tags(ctx.params_obj(), from_params, "spec.tags")
        tags.update(from_params)
    return tags


def service_tags(sobj: str, svc: Service) -> dict[str, str]:
    ann = Annotations(sobj, svc.metadata.annotations)
    tags = ann.string_map("tags") or {}
    check_user_tags(sobj, tags)
    return tags


class Ownership:
    """Adds our ownership tags to a resource's tags, within AWS's tag quota."""

    def __init__(self, cluster: str, group_id: str, first_obj: str) -> None:
        self.cluster = cluster
        self.group_id = group_id
        self.first_obj = first_obj

    def __call__(
        self, resource_id: str, extra: Mapping[str, str], member: str | None = None
    ) -> dict[str, str]:
        tags = dict(extra)
        tags.update(
            {CLUSTER_TAG: self.cluster, STACK_TAG: self.group_id, RESOURCE_TAG: resource_id}
        )
        if member:
            tags[INGRESS_TAG] = member
        if len(tags) > MAX_TAGS:
            raise QuotaExceededError(
                self.first_obj, f"annotation {ANN}tags", f"{len(tags)} tags; AWS allows {MAX_TAGS}"
            )
        return tags
