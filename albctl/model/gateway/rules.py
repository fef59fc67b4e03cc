"""The listener rules of a Gateway's ALB (pure): every match of every attached route, in the
spec's precedence across all routes of a port, as ALB rules.

Order (gateway-api ``HTTPRouteRule`` and ``HTTPRouteSpec.Hostnames``, continuing on ties): the
matching hostname (exact names before wildcards, longer first, any host last), then the route's
own hostname that matched (a route naming the host exactly before one whose wildcard the
listener narrowed to it); the match
(:func:`albctl.model.gateway.matches.precedence`); the oldest route; the route's
``namespace/name``; the rule's index; the match's index. A route with several hostnames gets one
ALB rule per hostname, so each takes its own place in that order.

Listeners sharing a port are separated by host conditions. A request is served only by the
routes of the most specific listener whose hostname matches it: a route hostname that a more
specific listener of the port owns is left out, and a listener with a hostname that a less
specific listener also matches ends its hostname with a 404 rule, so the less specific
listener's routes never see its requests.

A match ALB cannot express (too many condition values even with a PathPrefix split in two rules,
an unsupported match type) is dropped, and the route reports ``PartiallyInvalid``
("Dropped Rule"); a rule with a filter or field ALB cannot do answers a fixed 500, reported the
same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from albctl.errors import InvalidInputError, QuotaExceededError
from albctl.model.desired import Action, Condition, FixedResponseConfig, Rule, Transform
from albctl.model.gateway.attachment import Attachment, route_key
from albctl.model.gateway.backends import FIXED_500, Backends, RuleBackends
from albctl.model.gateway.config.listener_rule import RuleConfig, rule_config
from albctl.model.gateway.config.objects import ConfigError
from albctl.model.gateway.filters import FilterOutcome, apply_filters, check_rule
from albctl.model.gateway.hostnames import intersect, owner, specificity, wildcard_covers
from albctl.model.gateway.listeners import ListenerBuild
from albctl.model.gateway.matches import match_conditions, precedence, split_path
from albctl.model.gateway.objects import HTTPRoute
from albctl.model.gateway.status import PARTIALLY_INVALID, Cond
from albctl.model.ingress.inputs import MAX_CONDITION_VALUES_PER_RULE, MAX_RULES_PER_LISTENER

FIXED_404 = Action(
    type="fixed-response",
    fixed_response=FixedResponseConfig(status_code="404", content_type="text/plain"),
)
_LAST = (9, 0, 0, 0, 0)


@dataclass(order=True)
class _Entry:
    key: tuple[Any, ...]
    conditions: tuple[Condition, ...] = field(compare=False)
    action: Action = field(compare=False)
    transforms: tuple[Transform, ...] = field(compare=False)
    member: str = field(compare=False)
    tags: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass
class RouteProblems:
    """What a route's status reports beside attachment: unresolved refs, dropped rules."""

    resolved: list[Cond] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def partially_invalid(self) -> Cond | None:
        if not self.partial:
            return None
        return Cond(PARTIALLY_INVALID, True, "UnsupportedValue", "; ".join(self.partial))


class RuleBuilder:
    """The ALB rules of the attached routes. A route whose gateway.k8s.aws configuration is
    invalid is left out (``invalid``): its rules and target groups stay as they are in AWS."""

    def __init__(self, backends: Backends, obj_of: Callable[[HTTPRoute], str]) -> None:
        self.backends = backends
        self.obj_of = obj_of
        self.problems: dict[str, RouteProblems] = {}
        self.invalid: dict[str, InvalidInputError] = {}
        self.client_secrets: dict[str, str] = {}
        self._rules: dict[tuple[str, int], tuple[RuleBackends, bool, RuleConfig | None]] = {}

    def _rule(self, route: HTTPRoute, ri: int) -> tuple[RuleBackends, bool, RuleConfig | None]:
        """The rule's backends, whether its filters and fields are supported, and its
        ListenerRuleConfiguration (once)."""
        k = (route.key, ri)
        if k not in self._rules:
            probs = self.problems.setdefault(route_key(route), RouteProblems())
            obj, where = self.obj_of(route), f"spec.rules[{ri}]"
            ok = True
            inp = self.backends.inp
            cfg = rule_config(inp, route, ri, self.client_secrets)
            try:
                check_rule(route.spec.rules[ri], obj, where)
                rb = self.backends.rule_action(route, ri)
            except ConfigError:
                raise
            except InvalidInputError as exc:
                probs.partial.append(f"{exc.field}: {exc.message}; the rule answers HTTP 500")
                rb, ok = RuleBackends(FIXED_500), False
            probs.resolved += rb.problems
            self._rules[k] = (rb, ok, cfg)
        return self._rules[k]

    def entries(self, a: Attachment, port_listeners: list[tuple[str, str | None]]) -> list[_Entry]:
        key = route_key(a.route)
        if key in self.invalid:
            return []
        try:
            return self._entries(a, port_listeners)
        except ConfigError as exc:
            self.invalid[key] = exc
            return []

    def _entries(self, a: Attachment, port_listeners: list[tuple[str, str | None]]) -> list[_Entry]:
        route = a.route
        probs = self.problems.setdefault(route_key(route), RouteProblems())
        out: list[_Entry] = []
        for ri, rule in enumerate(route.spec.rules):
            rb, ok, cfg = self._rule(route, ri)
            for mi, match in enumerate(rule.matches):
                obj, where = self.obj_of(route), f"spec.rules[{ri}].matches[{mi}]"
                try:
                    mc = match_conditions(match, obj, where)
                except InvalidInputError as exc:
                    probs.partial.append(f"Dropped Rule {exc.field}: {exc.message}")
                    continue
                fo = FilterOutcome(None, ())
                action = rb.action
                if ok:
                    try:
                        fo = apply_filters(rule, match, obj, f"spec.rules[{ri}]")
                        action = fo.redirect or rb.action
                    except InvalidInputError as exc:
                        msg = f"{exc.field}: {exc.message}; the rule answers HTTP 500"
                        if msg not in probs.partial:
                            probs.partial.append(msg)
                        action = FIXED_500
                others = mc.others
                if cfg is not None:
                    action = cfg.apply(action, where)
                    _check_https(cfg, action, a, where)
                    others = others + cfg.conditions(mi)
                tags = cfg.tags if cfg is not None else {}
                base = (route.metadata.creation_timestamp or "~", route.key, ri, mi)
                for host in a.hostnames:
                    if host is not None and owner(host, port_listeners) != a.listener.listener.name:
                        continue  # a more specific listener of this port serves that host
                    variants = self._variants(host, mc.path_variants[0], others)
                    if variants is None:
                        probs.partial.append(
                            f"Dropped Rule {where}: more than {MAX_CONDITION_VALUES_PER_RULE} "
                            "condition values in one ALB rule"
                        )
                        break
                    for vi, conds in enumerate(variants):
                        own = specificity(route_hostname(route, a, host))
                        key = (specificity(host), own, precedence(match), *base, vi)
                        out.append(
                            _Entry(key, conds, action, fo.transforms, route_key(route), tags)
                        )
        return out

    @staticmethod
    def _variants(
        host: str | None, path: Condition | None, others: tuple[Condition, ...]
    ) -> list[tuple[Condition, ...]] | None:
        head = (Condition(field="host-header", values=(host,)),) if host else ()
        paths = [path] if path is not None else [None]
        for attempt in (paths, list(split_path(path)) if path is not None else paths):
            sets = [head + ((p,) if p else ()) + others for p in attempt]
            if all(sum(c.value_count for c in s) <= MAX_CONDITION_VALUES_PER_RULE for s in sets):
                return sets
        return None


def _check_https(cfg: RuleConfig, action: Action, a: Attachment, where: str) -> None:
    """ALB authenticates (and validates JWTs) on HTTPS listeners only."""
    if a.listener.listener.protocol != "HTTPS" and (action.oidc or action.cognito or action.jwt):
        raise ConfigError(
            cfg.obj,
            "spec.actions",
            f"{where}: authentication runs on HTTPS listeners only; the route is attached to "
            f"{a.listener.listener.protocol} listener {a.listener.listener.name}",
        )


def route_hostname(route: HTTPRoute, a: Attachment, host: str | None) -> str | None:
    """The route's own hostname that gave ``host`` on the attachment's listener (the most
    specific if several did): the spec ranks routes by their own hostnames, so among rules
    for one host condition, a route naming that host exactly goes before one whose wildcard
    was narrowed to it by the listener."""
    listener_host = (a.listener.listener.hostname or "").lower() or None
    got = [h.lower() for h in route.spec.hostnames if intersect(listener_host, h.lower()) == host]
    return min(got, key=specificity) if got else None


def fallbacks(listeners: list[ListenerBuild]) -> list[_Entry]:
    """404 rules ending each listener hostname that a less specific listener of the same port
    also matches."""
    out: list[_Entry] = []
    for lb in listeners:
        host = (lb.listener.hostname or "").lower() or None
        if host is None:
            continue
        wider = [
            o
            for o in listeners
            if o is not lb
            and o.listener.port == lb.listener.port
            and (o.listener.hostname is None or wildcard_covers(o.listener.hostname.lower(), host))
        ]
        if wider:
            cond = (Condition(field="host-header", values=(host,)),)
            key = (specificity(host), (9, 0), _LAST, "", "", 0, 0, 0)
            out.append(_Entry(key, cond, FIXED_404, (), f"Gateway/{lb.listener.name}"))
    return out


def listener_rules(
    port: int,
    entries: list[_Entry],
    owned: Callable[[str, Mapping[str, str], str], dict[str, str]],
    obj: str,
) -> list[Rule]:
    """The sorted entries of one port as ALB rules, priorities 1..n, ids stable across edits
    that do not change a rule's conditions."""
    ordered = sorted(entries)
    if len(ordered) > MAX_RULES_PER_LISTENER:
        raise QuotaExceededError(
            obj,
            f"port {port}",
            f"{len(ordered)} rules; an ALB listener allows {MAX_RULES_PER_LISTENER}",
        )
    seen: dict[str, int] = {}
    rules: list[Rule] = []
    for e in ordered:
        digest = hashlib.sha256(
            json.dumps([c.model_dump() for c in e.conditions], sort_keys=True).encode()
        ).hexdigest()[:8]
        n = seen.get(f"{e.member}:{digest}", 0)
        seen[f"{e.member}:{digest}"] = n + 1
        rid = f"{port}:{e.member}:{digest}" + (f"-{n + 1}" if n else "")
        rules.append(
            Rule(
                id=rid,
                listener=str(port),
                ingress=e.member,
                priority=len(rules) + 1,
                conditions=e.conditions,
                action=e.action,
                tags=owned(rid, e.tags, e.member),
                transforms=e.transforms,
            )
        )
    return rules
