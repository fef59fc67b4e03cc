"""Label and field selectors, parsed and matched the way the apiserver does.

Label selectors support the whole string grammar (``=``, ``==``, ``!=``, ``in``, ``notin``,
``key``, ``!key``, ``>``, ``<``); field selectors support ``=``, ``==`` and ``!=`` on the fields
each kind declares in its resource type, with backslash escapes as in ``fields.ParseSelector``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from albctl.sandbox.errors import ApiError, bad_request

_KEY = re.compile(
    r"^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SPECIAL = set(" \t,()=!<>")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if not present:
            return False
        try:
            have, want = int(value), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.op == ">" else have < want


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
        elif text.startswith(("==", "!="), i):
            out.append(text[i : i + 2])
            i += 2
        elif ch in ",()=!<>":
            out.append(ch)
            i += 1
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIAL:
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _is_ident(tok: str | None) -> bool:
    return tok is not None and tok not in (",", "(", ")", "=", "==", "!=", "!", "<", ">")


def _fail(why: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {why}")


class _SelectorParser:
    """A recursive-descent reader of one label selector's tokens."""

    def __init__(self, toks: list[str]) -> None:
        self.toks = toks
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.pos += 1
        return tok

    def key(self) -> str:
        tok = self.take()
        if not _is_ident(tok):
            raise _fail(f"found '{tok}', expected: identifier")
        assert tok is not None
        if not _KEY.match(tok) or len(tok.split("/")[-1]) > 63:
            raise _fail(
                f'invalid label key "{tok}": name part must consist of alphanumeric characters'
            )
        return tok

    def value(self, allow_empty: bool) -> str:
        tok = self.peek()
        if not _is_ident(tok):
            if allow_empty:
                return ""
            raise _fail(f"found '{tok}', expected: identifier")
        self.take()
        assert tok is not None
        if not _VALUE.match(tok) or len(tok) > 63:
            raise _fail(f'invalid label value: "{tok}": must be 63 characters or less')
        return tok

    def values(self) -> tuple[str, ...]:
        """``(a, b, ...)`` after in / notin."""
        if self.take() != "(":
            raise _fail("found unexpected token, expected: '('")
        values: list[str] = []
        while True:
            if self.peek() == ")":
                self.take()
                break
            values.append(self.value(True))
            sep = self.take()
            if sep == ")":
                break
            if sep != ",":
                raise _fail(f"found '{sep}', expected: ',' or ')'")
        return tuple(values)

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            return Requirement(self.key(), "!")
        key = self.key()
        op = self.peek()
        if op is None or op == ",":
            return Requirement(key, "exists")
        self.take()
        if op in ("=", "=="):
            return Requirement(key, "in", (self.value(True),))
        if op == "!=":
            return Requirement(key, "notin", (self.value(True),))
        if op in ("in", "notin"):
            return Requirement(key, op, self.values())
        if op in (">", "<"):
            value = self.value(False)
            if not value.lstrip("-").isdigit():
                raise _fail(f"for 'Gt', 'Lt' operators, the value must be an integer: {value}")
            return Requirement(key, op, (value,))
        raise _fail(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")


def parse_label_selector(text: str | None) -> LabelSelector:
    if not text or not text.strip():
        return LabelSelector()
    parser = _SelectorParser(_tokens(text))
    reqs: list[Requirement] = []
    while True:
        reqs.append(parser.requirement())
        sep = parser.take()
        if sep is None:
            break
        if sep != ",":
            raise _fail(f"found '{sep}', expected: ','")
    return LabelSelector(tuple(reqs))


@dataclass(frozen=True)
class FieldTerm:
    path: str
    equal: bool
    value: str


def field_value(obj: Mapping[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((field_value(obj, t.path) == t.value) == t.equal for t in self.terms)

    def wanted(self, path: str) -> str | None:
        """The value required by an equality term on ``path``, if there is one."""
        for t in self.terms:
            if t.path == path and t.equal:
                return t.value
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _find_op(term: str) -> tuple[int, str] | None:
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return i, op
        i += 1
    return None


def parse_field_selector(text: str | None, labels: Mapping[str, str]) -> FieldSelector:
    """Parse against the field labels a kind supports (``label -> stored path``)."""
    if not text or not text.strip():
        return FieldSelector()
    terms: list[FieldTerm] = []
    for raw in _split_unescaped(text, ","):
        if not raw.strip():
            continue
        found = _find_op(raw)
        if found is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{raw}'")
        at, op = found
        label = _unescape(raw[:at]).strip()
        value = _unescape(raw[at + len(op) :]).strip()
        if label not in labels:
            raise bad_request(f"field label not supported: {label}")
        terms.append(FieldTerm(labels[label], op != "!=", value))
    return FieldSelector(tuple(terms))


_EXPRESSION_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def from_label_selector(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A ``metav1.LabelSelector`` object (``matchLabels``, ``matchExpressions``) as a selector.

    An empty or missing selector matches everything; an unknown operator matches nothing
    (the apiserver refuses such selectors when the object holding them is written).
    """
    if not selector:
        return LabelSelector()
    reqs = [
        Requirement(str(k), "in", (str(v),))
        for k, v in sorted((selector.get("matchLabels") or {}).items())
    ]
    for expr in selector.get("matchExpressions") or []:
        op = _EXPRESSION_OPS.get(str(expr.get("operator")))
        if op is None:
            return LabelSelector((Requirement("", "in", ()),))
        values = tuple(str(v) for v in expr.get("values") or ())
        reqs.append(Requirement(str(expr.get("key", "")), op, values))
    return LabelSelector(tuple(reqs))
