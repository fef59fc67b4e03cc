"""Cross-namespace references (pure): gateway-api ``apis/v1beta1/referencegrant_types.go``.

A reference to an object in another namespace is allowed only when a ReferenceGrant in the
referent's namespace lists the referrer (group, kind, namespace) in ``from`` and the referent
(group, kind, and name when the grant names one) in ``to``. References within a namespace need
no grant.
"""

from __future__ import annotations

from collections.abc import Sequence

from albctl.model.gateway.objects import ReferenceGrant


def permitted(
    grants: Sequence[ReferenceGrant],
    source: tuple[str, str, str],  # group, kind, namespace of the referrer
    target: tuple[str, str, str, str],  # group, kind, namespace, name of the referent
) -> bool:
    s_group, s_kind, s_ns = source
    t_group, t_kind, t_ns, t_name = target
    if s_ns == t_ns:
        return True
    for g in grants:
        if g.metadata.namespace != t_ns:
            continue
        if not any(
            f.group == s_group and f.kind == s_kind and f.namespace == s_ns for f in g.spec.from_
        ):
            continue
        if any(
            t.group == t_group and t.kind == t_kind and (t.name in (None, "", t_name))
            for t in g.spec.to
        ):
            return True
    return False
