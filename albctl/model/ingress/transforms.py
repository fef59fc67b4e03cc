"""``transforms.${name}``: host-header and URL rewrites of the rules whose backend is
``name``, e.g. ``[{"type": "url-rewrite", "urlRewriteConfig": {"rewrites": [{"regex":
"^/api/(.+)$", "replace": "/$1"}]}}]``."""

from __future__ import annotations

import re
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.annotations import PREFIX as ANN
from albctl.model.annotations import ci_get
from albctl.model.desired import Rewrite, Transform

_CONFIG = {"host-header-rewrite": "hostHeaderRewriteConfig", "url-rewrite": "urlRewriteConfig"}


def parse_transforms(obj: str, name: str, data: Any) -> tuple[Transform, ...]:
    where = f"annotation {ANN}transforms.{name}"
    if not isinstance(data, list) or not data:
        raise InvalidInputError(
            obj, where, 'expected a JSON list like [{"type": "url-rewrite", ...}]'
        )
    out: list[Transform] = []
    for i, item in enumerate(data):
        kind = ci_get(item, "type") if isinstance(item, dict) else None
        if kind not in _CONFIG:
            raise InvalidInputError(
                obj,
                f"{where}[{i}].type",
                f"got {kind!r}, expected host-header-rewrite or url-rewrite",
            )
        if any(t.type == kind for t in out):
            raise InvalidInputError(obj, f"{where}[{i}].type", f"{kind} given twice")
        cfg = ci_get(item, _CONFIG[kind])
        rewrites = ci_get(cfg, "rewrites") if isinstance(cfg, dict) else None
        if not isinstance(rewrites, list) or len(rewrites) != 1:
            raise InvalidInputError(
                obj, f"{where}[{i}].{_CONFIG[kind]}.rewrites", "expected a list of one rewrite"
            )
        out.append(Transform(type=kind, rewrites=(_rewrite(obj, f"{where}[{i}]", rewrites[0]),)))
    return tuple(out)


def _rewrite(obj: str, where: str, data: Any) -> Rewrite:
    regex = ci_get(data, "regex") if isinstance(data, dict) else None
    replace = ci_get(data, "replace") if isinstance(data, dict) else None
    if not isinstance(regex, str) or not regex or not isinstance(replace, str):
        raise InvalidInputError(obj, where, 'each rewrite needs "regex" and "replace" strings')
    try:
        re.compile(regex)
    except re.error as exc:
        raise InvalidInputError(obj, where, f"regex {regex!r}: {exc}") from None
    if len(regex) > 1024 or len(replace) > 1024:
        raise InvalidInputError(obj, where, "regex and replace are up to 1024 characters")
    return Rewrite(regex=regex, replace=replace)
