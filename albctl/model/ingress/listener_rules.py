"""Listener rules: one per Ingress path (host, path and conditions.<name>), in LBC's order:
Exact paths first, then Prefix paths longest first, then the rest; members in group order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from albctl.model.actions import parse_conditions
from albctl.model.annotations import PREFIX as ANN
from albctl.model.desired import Action, Condition, Rule, Transform
from albctl.model.ingress.actions import backend_action
from albctl.model.ingress.conditions import merge_conditions, ordered_paths, path_condition
from albctl.model.ingress.context import MemberContext
from albctl.model.ingress.transforms import parse_transforms
from albctl.model.tags import OIDC_SECRET_TAG

# (rule key, conditions, action, transforms) of one member
MemberRule = tuple[str, tuple[Condition, ...], Action, tuple[Transform, ...]]


def _stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def member_rules(ctx: MemberContext) -> list[MemberRule]:
    """The member's rules, keyed by a digest of their conditions (stable across edits that
    do not change them)."""
    ann = ctx.ann
    all_conditions = ann.prefixed("conditions.")
    all_transforms = ann.prefixed("transforms.")
    use_regex = bool(ann.boolean("use-regex-path-match"))
    matching = ctx.spec.wildcard_host_matching if ctx.spec else None
    exact = (matching or ctx.inp.settings.wildcard_host_matching) == "exact"
    rules: list[MemberRule] = []
    seen_keys: dict[str, int] = {}
    for ri, rule in enumerate(ctx.ing.spec.rules):
        if rule.http is None:
            continue
        for pi, path in ordered_paths(rule.http.paths):
            where = f"spec.rules[{ri}].http.paths[{pi}]"
            values, regex_values = path_condition(ctx.obj, where, path, use_regex)
            ref_name, action = backend_action(ctx, path.backend, f"{where}.backend")
            extra: list[Condition] = []
            if ref_name in all_conditions:
                got = ann.json_value(f"conditions.{ref_name}")
                assert got is not None
                extra = parse_conditions(ctx.obj, ref_name, got[1])
            conditions = merge_conditions(
                ctx.obj,
                where,
                rule.host,
                values,
                extra,
                regex_values,
                source=f"annotation {ANN}conditions.{ref_name}" if extra else None,
                exact_wildcards=exact,
            )
            digest = hashlib.sha256(
                _stable_json([c.model_dump() for c in conditions]).encode()
            ).hexdigest()[:8]
            n = seen_keys.get(digest, 0)
            seen_keys[digest] = n + 1
            rkey = digest if n == 0 else f"{digest}-{n + 1}"
            transforms: tuple[Transform, ...] = ()
            if ref_name in all_transforms:
                got = ann.json_value(f"transforms.{ref_name}")
                assert got is not None
                transforms = parse_transforms(ctx.obj, ref_name, got[1])
            rules.append((rkey, conditions, action, transforms))
    return rules


def with_secret_digest(tags: Mapping[str, str], action: Action) -> Mapping[str, str]:
    """``tags`` plus the OIDC client secret digest of ``action``, if it has one."""
    if action.oidc is None:
        return tags
    return {**tags, OIDC_SECRET_TAG: action.oidc.client_secret_digest}


def build_listener_rules(
    listener: str,
    members: Sequence[tuple[str, Mapping[str, str], Sequence[MemberRule]]],
    owned: Callable[[str, Mapping[str, str], str], dict[str, str]],
) -> list[Rule]:
    """The rules of one listener from its members' (key, tags, rules), priorities 1..n."""
    out: list[Rule] = []
    for key, tags, rules in members:
        for rkey, conditions, action, transforms in rules:
            rid = f"{listener}:{key}:{rkey}"
            out.append(
                Rule(
                    id=rid,
                    listener=listener,
                    ingress=key,
                    priority=len(out) + 1,
                    conditions=conditions,
                    action=action,
                    tags=owned(rid, with_secret_digest(tags, action), key),
                    transforms=transforms,
                )
            )
    return out
