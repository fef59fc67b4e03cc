"""Listeners: create, update (protocol, policy, mTLS, default action, certificates,
attributes, tags)."""

from __future__ import annotations

from albctl.model.desired import Listener
from albctl.model.observed import ObservedListener
from albctl.model.plan.changes import Change, Update, action_refs, attr_diff


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
                    **({"attributes": li.attributes} if li.attributes else {}),
                    **(
                        {"mutual_authentication": li.mutual_authentication.mode}
                        if li.mutual_authentication
                        else {}
                    ),
                },
                desired=li,
            )
        )
        return
    u = Update("Listener", li.id, li, obs)
    if obs.protocol != li.protocol or (li.protocol == "HTTPS" and obs.ssl_policy != li.ssl_policy):
        u.ops.append("listener")
        u.details["protocol"] = li.protocol
        if li.ssl_policy:
            u.details["ssl_policy"] = li.ssl_policy
    mtls = li.mutual_authentication
    if mtls is not None and obs.mutual_authentication != mtls:
        u.ops.append("listener")
        u.details["mutual_authentication"] = mtls.model_dump(exclude_defaults=True)
    if obs.default_action != li.default_action or action_refs(li.default_action) & replaced:
        u.ops.append("listener")
        u.details["default_action"] = li.default_action.type
    want_default = li.certificates[:1]
    if tuple(obs.certificates[:1]) != tuple(want_default):
        u.ops.append("listener")
        u.details["default_certificate"] = want_default[0] if want_default else None
    # the new default certificate is never removed from the list, even if it was an extra
    want_extra = set(li.certificates[1:]) - set(want_default)
    have_extra = set(obs.certificates[1:]) - set(want_default)
    if want_extra != have_extra:
        u.ops.append("certificates")
        if want_extra - have_extra:
            u.details["add_certificates"] = sorted(want_extra - have_extra)
        if have_extra - want_extra:
            u.details["remove_certificates"] = sorted(have_extra - want_extra)
    attrs = attr_diff(li.attributes, obs.attributes)
    if attrs:
        u.add("attributes", "attributes", attrs)
    u.tags(li.tags, obs.tags)
    ch += u.changes()
