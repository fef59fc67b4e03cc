"""HTTPRoute filters onto ALB redirect actions and transforms (pure).

gateway-api ``apis/v1/httproute_types.go``: ``HTTPRequestRedirectFilter`` (scheme, hostname,
path, port, statusCode) and ``HTTPURLRewriteFilter`` (hostname, path), with ``HTTPPathModifier``
``ReplaceFullPath`` or ``ReplacePrefixMatch`` (the latter only with a PathPrefix match). When a
redirect names no port, the port is the scheme's well-known one (80, 443) if it names a
scheme, else the listener's (ALB's ``#{port}``).

On ALB: a redirect action (301 or 302 only); a prefix replacement is a url-rewrite transform
run before the redirect or the forward (the AWS Load Balancer Controller does the same); a
hostname rewrite is a host-header-rewrite transform. What ALB cannot express is refused, never
approximated: another status code, header modifiers, mirrors, CORS, extension refs, rule
timeouts, retries and session persistence. A redirect that would change nothing loops, and ALB
refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from albctl.errors import InvalidInputError
from albctl.model.desired import Action, RedirectConfig, Rewrite, Transform
from albctl.model.gateway.objects import HTTPPathModifier, HTTPRouteMatch, HTTPRouteRule

STATUS = {301: "HTTP_301", 302: "HTTP_302"}
WELL_KNOWN = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class FilterOutcome:
    """What a rule's filters make of one of its matches: a redirect action (instead of the
    forward), and transforms run before the action."""

    redirect: Action | None
    transforms: tuple[Transform, ...]


def check_rule(rule: HTTPRouteRule, obj: str, where: str) -> None:
    """Refuse what ALB cannot do with a rule, naming the field."""
    for name, value in (
        ("timeouts", rule.timeouts),
        ("retry", rule.retry),
        ("sessionPersistence", rule.session_persistence),
    ):
        if value:
            raise InvalidInputError(
                obj, f"{where}.{name}", "an Application Load Balancer rule cannot express it"
            )
    for i, f in enumerate(rule.filters):
        if f.type not in ("RequestRedirect", "URLRewrite", "ExtensionRef"):
            raise InvalidInputError(
                obj, f"{where}.filters[{i}].type", f"{f.type} is not supported on ALB"
            )
        code = f.request_redirect.status_code if f.request_redirect else None
        if code is not None and code not in STATUS:
            raise InvalidInputError(
                obj,
                f"{where}.filters[{i}].requestRedirect.statusCode",
                f"{code}: an Application Load Balancer redirects with 301 or 302 only",
            )
    for j, b in enumerate(rule.backend_refs):
        for i, f in enumerate(b.filters):
            raise InvalidInputError(
                obj,
                f"{where}.backendRefs[{j}].filters[{i}].type",
                f"{f.type}: backend filters are not supported on ALB",
            )


def apply_filters(
    rule: HTTPRouteRule, match: HTTPRouteMatch, obj: str, where: str
) -> FilterOutcome:
    redirect: Action | None = None
    transforms: list[Transform] = []
    for i, f in enumerate(rule.filters):
        fw = f"{where}.filters[{i}]"
        if f.type == "RequestRedirect" and f.request_redirect is not None:
            r = f.request_redirect
            path = "/#{path}"
            if r.path is not None:
                path, rewrite = _path(r.path, match, obj, f"{fw}.requestRedirect.path")
                if rewrite is not None:
                    transforms.append(rewrite)
            redirect = _redirect(r.scheme, r.hostname, r.port, r.status_code, path, obj, fw)
            rewrites_path = any(t.type == "url-rewrite" for t in transforms)
            assert redirect.redirect is not None
            if redirect.redirect == RedirectConfig(status_code=redirect.redirect.status_code) and (
                not rewrites_path
            ):
                raise InvalidInputError(
                    obj,
                    f"{fw}.requestRedirect",
                    "redirects to the same URL (an endless loop; ALB refuses it)",
                )
        elif f.type == "URLRewrite" and f.url_rewrite is not None:
            u = f.url_rewrite
            if u.hostname:
                rw = Rewrite(regex="^.*$", replace=u.hostname)
                transforms.append(Transform(type="host-header-rewrite", rewrites=(rw,)))
            if u.path is not None:
                full, rewrite = _path(u.path, match, obj, f"{fw}.urlRewrite.path")
                if rewrite is None:
                    rewrite = Transform(type="url-rewrite", rewrites=(full_path_rewrite(full),))
                transforms.append(rewrite)
    return FilterOutcome(redirect, tuple(transforms))


def _path(
    mod: HTTPPathModifier, match: HTTPRouteMatch, obj: str, where: str
) -> tuple[str, Transform | None]:
    """(the redirect path, a url-rewrite transform for a prefix replacement or None)."""
    if mod.type == "ReplaceFullPath":
        if mod.replace_full_path is None:
            raise InvalidInputError(obj, f"{where}.replaceFullPath", "required by its type")
        return mod.replace_full_path, None
    if mod.type != "ReplacePrefixMatch":
        raise InvalidInputError(obj, f"{where}.type", f"{mod.type!r} is not a path modifier")
    if match.path.type != "PathPrefix":
        raise InvalidInputError(
            obj, f"{where}.replacePrefixMatch", "needs a PathPrefix match (the spec's rule)"
        )
    new = mod.replace_prefix_match
    if new is None:
        raise InvalidInputError(obj, f"{where}.replacePrefixMatch", "required by its type")
    return "/#{path}", Transform(type="url-rewrite", rewrites=(prefix_rewrite(match, new),))


def prefix_rewrite(match: HTTPRouteMatch, new: str) -> Rewrite:
    """``/foo`` -> ``/xyz``: /foo/bar -> /xyz/bar, /foo -> /xyz; to ``/``: /foo/bar -> /bar,
    /foo -> / (the spec's examples). ALB's url-rewrite regex sees the path and the query
    string (ELB guide, "Transforms for listener rules"), so the query is carried over."""
    old = re.escape(match.path.value.rstrip("/"))
    if new.rstrip("/") == "":
        return Rewrite(regex=f"^{old}/?([^?]*)(\\?.*)?$", replace="/$1$2")
    return Rewrite(regex=f"^{old}(/[^?]*)?(\\?.*)?$", replace=new.rstrip("/") + "$1$2")


def full_path_rewrite(path: str) -> Rewrite:
    """The whole path replaced, the query string kept."""
    return Rewrite(regex="^[^?]*(\\?.*)?$", replace=path + "$1")


def _redirect(
    scheme: str | None,
    hostname: str | None,
    port: int | None,
    status: int,
    path: str,
    obj: str,
    where: str,
) -> Action:
    if status not in STATUS:
        raise InvalidInputError(
            obj,
            f"{where}.requestRedirect.statusCode",
            f"{status}: an Application Load Balancer redirects with 301 or 302 only",
        )
    proto = scheme.upper() if scheme else "#{protocol}"
    if port is not None:
        port_text = str(port)
    elif scheme:
        port_text = WELL_KNOWN.get(scheme.lower(), "#{port}")
    else:
        port_text = "#{port}"
    config = RedirectConfig(
        protocol=proto,
        port=port_text,
        host=hostname or "#{host}",
        path=path,
        status_code="HTTP_301" if status == 301 else "HTTP_302",
    )
    return Action(type="redirect", redirect=config)
