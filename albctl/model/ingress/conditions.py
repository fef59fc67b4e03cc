"""Rule conditions: an Ingress path as a path-pattern condition, merged with the
conditions.<name> annotation, checked against what an ALB rule accepts."""

from __future__ import annotations

import re
from collections.abc import Sequence

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.desired import Condition
from albctl.model.ingress.inputs import MAX_CONDITION_VALUES_PER_RULE
from albctl.model.objects import HTTPIngressPath

# what an ALB rule condition accepts (AWS refuses the rule otherwise, and with it the rest
# of the group's changes): hosts and path patterns up to 128 of these characters; header
# and query-string values up to 128 characters, no control characters
_HOST_VALUE = re.compile(r"[A-Za-z0-9.*?-]{1,128}")
_PATH_VALUE = re.compile(r"[A-Za-z0-9_\-.$/~\"'@:+&*?]{1,128}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_condition(
    obj: str, where: str, p: HTTPIngressPath, regex: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(values, regexValues) of the path-pattern condition of one path."""
    if regex and p.path_type == "ImplementationSpecific" and p.path:
        # the path starts with "/" as Kubernetes requires; the regex is what follows it
        return (), (p.path[1:],)
    return _path_values(obj, where, p), ()


def _path_values(obj: str, where: str, p: HTTPIngressPath) -> tuple[str, ...]:
    path = p.path
    if not path:
        return ()
    if p.path_type in ("Exact", "Prefix") and ("*" in path or "?" in path):
        raise InvalidInputError(
            obj, f"{where}.path", f"{path!r}: wildcards are not allowed with pathType {p.path_type}"
        )
    if p.path_type == "Exact":
        return (path,)
    if p.path_type == "Prefix":
        if path == "/":
            return ("/*",)
        trimmed = path.rstrip("/")
        return (trimmed, trimmed + "/*")
    if p.path_type != "ImplementationSpecific":
        raise InvalidInputError(
            obj,
            f"{where}.pathType",
            f"unknown pathType {p.path_type!r} for path {path!r}: expected Exact, Prefix or "
            "ImplementationSpecific",
        )
    return (path,)


def ordered_paths(paths: Sequence[HTTPIngressPath]) -> list[tuple[int, HTTPIngressPath]]:
    exact = [(i, p) for i, p in enumerate(paths) if p.path_type == "Exact"]
    prefix = [(i, p) for i, p in enumerate(paths) if p.path_type == "Prefix"]
    prefix.sort(key=lambda ip: -len(ip[1].path))
    other = [(i, p) for i, p in enumerate(paths) if p.path_type not in ("Exact", "Prefix")]
    return exact + prefix + other


def wildcard_regex(host: str) -> str:
    """A Kubernetes wildcard host (``*.foo.com``: exactly one more DNS label) as a host-header
    regex; ALB's own ``*`` would also match ``a.b.foo.com``."""
    return "^[^.]+" + re.escape(host[1:]) + "$"


def _alb_pattern_regex(value: str) -> str:
    """An ALB host pattern (``*`` any characters, ``?`` one) as an anchored regex."""
    return "^" + re.escape(value).replace(r"\*", ".*").replace(r"\?", ".") + "$"


def _host_condition(
    host: str, values: list[str], regexes: list[str], exact_wildcards: bool
) -> tuple[list[str], list[str]]:
    """(values, regexValues) of the host-header condition: a Kubernetes wildcard host turns
    the condition into regexes when wildcards match exactly one label."""
    if not (exact_wildcards and host.startswith("*.")):
        return ([host] if host else []) + values, regexes
    return [], [wildcard_regex(host)] + [_alb_pattern_regex(v) for v in values] + regexes


def _split_extra(
    obj: str, where: str, extra: list[Condition]
) -> tuple[list[str], list[str], list[str], list[str], list[Condition]]:
    """(host values, host regexes, path values, path regexes, other conditions)."""
    hosts: list[str] = []
    host_regex: list[str] = []
    paths: list[str] = []
    path_regex: list[str] = []
    others: list[Condition] = []
    seen_single: set[str] = set()
    for c in extra:
        if c.field == "host-header":
            hosts += c.values
            host_regex += c.regex_values
        elif c.field == "path-pattern":
            paths += c.values
            path_regex += c.regex_values
        else:
            if c.field in ("http-request-method", "source-ip"):
                if c.field in seen_single:
                    raise InvalidInputError(obj, where, f"at most one {c.field} condition per rule")
                seen_single.add(c.field)
            others.append(c)
    return hosts, host_regex, paths, path_regex, others


def _check_mixed(
    obj: str, where: str, source: str | None, field: str, values: list[str], regexes: list[str]
) -> None:
    if values and regexes:
        raise InvalidInputError(
            obj,
            source or where,
            f"{where}: {field} mixes values {values} and regexValues {regexes}; "
            "one condition takes one kind",
        )


def merge_conditions(
    obj: str,
    where: str,
    host: str,
    path_values: tuple[str, ...],
    extra: list[Condition],
    path_regex_values: tuple[str, ...] = (),
    *,
    source: str | None = None,
    exact_wildcards: bool = False,
) -> tuple[Condition, ...]:
    """The rule's conditions: its host and path merged with those of ``source`` (the
    conditions annotation that gave ``extra``)."""
    x_hosts, x_host_regex, x_paths, x_path_regex, others = _split_extra(obj, where, extra)
    path_vals = list(path_values) + x_paths
    path_regex = list(path_regex_values) + x_path_regex
    all_hosts = ([host] if host else []) + x_hosts
    _check_values(obj, where, all_hosts, path_vals, x_host_regex + path_regex, others)
    host_values, host_regex = _host_condition(host, x_hosts, x_host_regex, exact_wildcards)
    _check_mixed(obj, where, source, "host-header", host_values, host_regex)
    _check_mixed(obj, where, source, "path-pattern", path_vals, path_regex)
    for r in host_regex:
        if len(r) > 128:
            raise InvalidInputError(obj, where, f"host regex {r[:80]!r}: over 128 characters")
    out: list[Condition] = []
    if host_values or host_regex:
        values = tuple(dict.fromkeys(host_values))
        out.append(Condition(field="host-header", values=values, regex_values=tuple(host_regex)))
    if path_vals or path_regex:
        values = tuple(dict.fromkeys(path_vals))
        out.append(Condition(field="path-pattern", values=values, regex_values=tuple(path_regex)))
    out += others
    if not out:
        out.append(Condition(field="path-pattern", values=("/*",)))
    total = sum(c.value_count for c in out)
    if total > MAX_CONDITION_VALUES_PER_RULE:
        raise QuotaExceededError(
            obj,
            where,
            f"rule has {total} condition values; an ALB rule allows "
            f"{MAX_CONDITION_VALUES_PER_RULE}",
        )
    return tuple(out)


def _check_values(
    obj: str,
    where: str,
    hosts: list[str],
    paths: list[str],
    regexes: list[str],
    others: list[Condition],
) -> None:
    """Condition values an ALB rule accepts, else an error naming the rule."""
    for h in hosts:
        if not _HOST_VALUE.fullmatch(h):
            raise InvalidInputError(
                obj,
                where,
                f"host {h[:80]!r}: an ALB host condition is up to 128 of A-Z a-z 0-9 - . * ? "
                "(internationalized names in punycode)",
            )
    for p in paths:
        if not _PATH_VALUE.fullmatch(p):
            raise InvalidInputError(
                obj,
                where,
                f"path {p[:80]!r}: an ALB path condition is up to 128 of A-Z a-z 0-9 "
                "_ - . $ / ~ \" ' @ : + & * ?",
            )
    texts = list(regexes)
    for c in others:
        texts += list(c.values) + list(c.regex_values)
        for q in c.query_values:
            texts += [q.value] + ([q.key] if q.key is not None else [])
        if c.http_header_name is not None and not _HEADER_NAME.fullmatch(c.http_header_name):
            raise InvalidInputError(
                obj, where, f"header name {c.http_header_name[:80]!r}: up to 40 token characters"
            )
    for t in texts:
        if len(t) > 128 or not t or _CONTROL.search(t):
            raise InvalidInputError(
                obj,
                where,
                f"condition value {t[:80]!r}: 1 to 128 characters, no control characters",
            )
