"""Listeners: create, update (protocol, policy, default action, certificates, tags)."""

from __future__ import annotations

from typing import Any

from albctl.model.desired import Listener
from albctl.model.observed import ObservedListener
from albctl.model.plan.changes import Change, action_refs, tag_diff


def diff_listener(
    li: Listener, obs: ObservedListener | None, replaced: set[str], ch: list[Change]
) -> None:
    if obs is None:
        ch.append(
            Change(
                "create",
                "Listener",
                li.id,
                {
                    "protocol": li.protocol,
                    "port": li.port,
                    "certificates": len(li.certificates),
                    "default_action": li.default_action.type,
                },
                desired=li,
            )
        )
        return
    ops: list[str] = []
    details: dict[str, Any] = {}
    if obs.protocol != li.protocol or (li.protocol == "HTTPS" and obs.ssl_policy != li.ssl_policy):
        ops.append("listener")
        details["protocol"] = li.protocol
        if li.ssl_policy:
            details["ssl_policy"] = li.ssl_policy
    if obs.default_action != li.default_action or action_refs(li.default_action) & replaced:
        ops.append("listener")
        details["default_action"] = li.default_action.type
    want_default = li.certificates[:1]
    if tuple(obs.certificates[:1]) != tuple(want_default):
        ops.append("listener")
        details["default_certificate"] = want_default[0] if want_default else None
    # the new default certificate is never removed from the list, even if it was an extra
    want_extra = set(li.certificates[1:]) - set(want_default)
    have_extra = set(obs.certificates[1:]) - set(want_default)
    if want_extra != have_extra:
        ops.append("certificates")
        if want_extra - have_extra:
            details["add_certificates"] = sorted(want_extra - have_extra)
        if have_extra - want_extra:
            details["remove_certificates"] = sorted(have_extra - want_extra)
    tags = tag_diff(li.tags, obs.tags)
    if tags:
        ops.append("tags")
        details["tags"] = tags
    if ops:
        ch.append(
            Change(
                "update",
                "Listener",
                li.id,
                details,
                desired=li,
                observed=obs,
                ops=tuple(dict.fromkeys(ops)),
            )
        )
