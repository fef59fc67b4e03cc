"""Parsing of ``alb.ingress.kubernetes.io/*`` annotation values, with LBC's formats.

Every parser raises :class:`InvalidInputError` naming the object, the annotation and what was
expected. Where LBC lets a Service override an Ingress annotation, the Service value wins for
the whole key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from albctl.errors import InvalidInputError
from albctl.model.values.load_balancer import cidrs

PREFIX = "alb.ingress.kubernetes.io/"


class Annotations:
    """The annotations of one Ingress, optionally overlaid by those of a backend Service."""

    def __init__(
        self,
        obj: str,
        values: Mapping[str, str],
        service_obj: str | None = None,
        service_values: Mapping[str, str] | None = None,
    ) -> None:
        self.obj = obj
        self.values = values
        self.service_obj = service_obj
        self.service_values = service_values or {}

    def with_service(self, service_obj: str, values: Mapping[str, str]) -> Annotations:
        return Annotations(self.obj, self.values, service_obj, values)

    def raw(self, name: str, service_override: bool = False) -> tuple[str, str] | None:
        """(object that set it, value) or None; the Service wins when allowed."""
        key = PREFIX + name
        if service_override and key in self.service_values and self.service_obj:
            return self.service_obj, self.service_values[key]
        if key in self.values:
            return self.obj, self.values[key]
        return None

    def error(self, source: str, name: str, message: str) -> InvalidInputError:
        return InvalidInputError(source, f"annotation {PREFIX}{name}", message)

    def string(self, name: str, service_override: bool = False) -> str | None:
        got = self.raw(name, service_override)
        return None if got is None else got[1].strip()

    def choice(
        self, name: str, choices: tuple[str, ...], service_override: bool = False
    ) -> str | None:
        got = self.raw(name, service_override)
        if got is None:
            return None
        value = got[1].strip()
        if value not in choices:
            raise self.error(got[0], name, f"got {value!r}, expected one of {', '.join(choices)}")
        return value

    def boolean(self, name: str, service_override: bool = False) -> bool | None:
        got = self.raw(name, service_override)
        if got is None:
            return None
        value = got[1].strip().lower()
        if value not in ("true", "false"):
            raise self.error(got[0], name, f"got {got[1]!r}, expected 'true' or 'false'")
        return value == "true"

    def integer(
        self,
        name: str,
        service_override: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        got = self.raw(name, service_override)
        if got is None:
            return None
        try:
            value = int(got[1].strip())
        except ValueError:
            raise self.error(got[0], name, f"got {got[1]!r}, expected an integer") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.error(got[0], name, f"got {value}, expected {minimum}..{maximum}")
        return value

    def string_list(self, name: str, service_override: bool = False) -> list[str] | None:
        got = self.raw(name, service_override)
        if got is None:
            return None
        return parse_list(got[1])

    def string_map(self, name: str, service_override: bool = False) -> dict[str, str] | None:
        got = self.raw(name, service_override)
        if got is None:
            return None
        try:
            return parse_map(got[1])
        except ValueError as exc:
            raise self.error(got[0], name, str(exc)) from None

    def json_value(self, name: str, service_override: bool = False) -> tuple[str, Any] | None:
        got = self.raw(name, service_override)
        if got is None:
            return None
        try:
            return got[0], json.loads(got[1])
        except json.JSONDecodeError as exc:
            raise self.error(got[0], name, f"invalid JSON: {exc.msg} at {exc.pos}") from None

    def cidrs(self, name: str) -> list[str] | None:
        values = self.string_list(name)
        if values is None:
            return None
        return cidrs(values, lambda m: self.error(self.obj, name, m))

    def prefixed(self, prefix: str) -> dict[str, str]:
        """All annotations whose name starts with ``prefix`` (e.g. ``actions.``), by suffix."""
        full = PREFIX + prefix
        return {k[len(full) :]: v for k, v in self.values.items() if k.startswith(full)}


def parse_list(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def parse_map(value: str) -> dict[str, str]:
    """``k=v,k2=v2``; a chunk without ``=`` continues the previous value; ``\\,`` escapes."""
    chunks = re.split(r"(?<!\\),", value)
    out: dict[str, str] = {}
    last: str | None = None
    for raw in chunks:
        chunk = raw.replace("\\,", ",")
        if not chunk.strip():
            continue
        if "=" not in chunk:
            if last is None:
                raise ValueError(f"expected key=value pairs separated by commas, got {chunk!r}")
            out[last] += "," + chunk
            continue
        key, _, val = chunk.partition("=")
        key = key.strip()
        if not key:
            raise ValueError(f"empty key in {chunk!r}")
        out[key] = val.strip()
        last = key
    return out


def ci_get(obj: Mapping[str, Any], *names: str) -> Any:
    """Case-insensitive field lookup, as LBC's JSON decoding does."""
    lowered = {k.lower(): v for k, v in obj.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None
