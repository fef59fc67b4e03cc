"""The small JSONPath subset that CRD printer columns use.

Supports ``.field`` steps, ``['field']``, ``[N]``, ``[*]`` and filters of the form
``[?(@.a.b=="x")]`` / ``!=`` / bare existence ``[?(@.a)]``, which covers what
``additionalPrinterColumns`` are written with in practice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FILTER = re.compile(r"^\?\(@((?:\.[^=!<>\s)]+)+)\s*(?:(==|!=)\s*(.+?))?\s*\)$")


@dataclass(frozen=True)
class _Step:
    kind: str  # "field", "index", "all", "filter"
    name: str = ""
    index: int = 0
    path: tuple[str, ...] = ()
    op: str = ""
    value: Any = None


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse(expr: str) -> list[_Step]:
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    steps: list[_Step] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == ".":
            j = i + 1
            while j < len(text) and text[j] not in ".[":
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                j += 1
            name = text[i + 1 : j].replace("\\.", ".")
            if name:
                steps.append(_Step("field", name=name))
            i = j
        elif ch == "[":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "[":
                    depth += 1
                elif text[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            inner = text[i + 1 : j].strip()
            i = j + 1
            if inner == "*":
                steps.append(_Step("all"))
            elif inner.lstrip("-").isdigit():
                steps.append(_Step("index", index=int(inner)))
            elif inner[:1] in "'\"":
                steps.append(_Step("field", name=inner[1:-1]))
            else:
                m = _FILTER.match(inner)
                if not m:
                    raise ValueError(f"unsupported JSONPath expression: {expr}")
                path = tuple(p for p in m.group(1).split(".") if p)
                op = m.group(2) or ""
                value = _literal(m.group(3)) if op else None
                steps.append(_Step("filter", path=path, op=op, value=value))
        else:
            raise ValueError(f"unsupported JSONPath expression: {expr}")
    return steps


def _lookup(obj: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    cur = obj
    for part in path:
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def evaluate(expr: str, obj: Any) -> list[Any]:
    """All values ``expr`` selects in ``obj`` (empty when nothing matches)."""
    values = [obj]
    for step in parse(expr):
        out: list[Any] = []
        for value in values:
            if step.kind == "field":
                if isinstance(value, dict) and step.name in value:
                    out.append(value[step.name])
            elif step.kind == "index":
                if isinstance(value, list) and -len(value) <= step.index < len(value):
                    out.append(value[step.index])
            elif step.kind == "all":
                if isinstance(value, list):
                    out.extend(value)
                elif isinstance(value, dict):
                    out.extend(value.values())
            elif isinstance(value, list):
                for item in value:
                    found, got = _lookup(item, step.path)
                    if not found:
                        continue
                    if not step.op or (str(got) == str(step.value)) == (step.op == "=="):
                        out.append(item)
        values = out
    return values
