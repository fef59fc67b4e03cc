"""HTTPRoute backendRefs onto target groups and weighted forwards (pure).

gateway-api ``apis/v1/httproute_types.go`` (``HTTPBackendRef``, ``BackendRef``): a backend is a
core Service (group ``""``, kind ``Service``) with a port; one in another namespace needs a
ReferenceGrant; an unresolvable ref (unknown kind ``InvalidKind``, missing Service or port
``BackendNotFound``, not permitted ``RefNotPermitted``) makes the route's ``ResolvedRefs``
False, and requests that would have gone to it get HTTP 500. When every backend of a rule is
invalid, or every weight is 0, or the rule has none, the rule answers a fixed 500 (a GRPCRoute's:
503, which gRPC clients read as UNAVAILABLE, the status its spec asks for).

ALB forwards by weight (0-999, at most 5 target groups); larger weights are scaled keeping
their proportions. A share of the traffic cannot be answered with a fixed 500 on ALB, so when
only some backends are invalid the valid ones take all the traffic (docs/gateway.md).

Target groups are LBC's (pkg/gateway/model/model_build_target_group.go): one per route,
Service and port, target type ``--default-target-type`` (instance unless set), HTTP, health
check ``/`` on the traffic port every 15 s, timeout 5 s, 3 healthy / 3 unhealthy, codes
200-399 (a GRPCRoute's: protocol version GRPC, ``/AWS.ALB/healthcheck``, gRPC code 12); named
``k8s-<route ns>-<route name>-<hash>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from albctl.errors import InvalidInputError
from albctl.model.desired import (
    Action,
    FixedResponseConfig,
    ForwardTarget,
    HealthCheck,
    Target,
    TargetGroup,
)
from albctl.model.gateway.attachment import route_key
from albctl.model.gateway.config.apply import tg_health_check, tg_settings
from albctl.model.gateway.config.objects import ConfigError, ConfigObject, RouteIdentifier
from albctl.model.gateway.config.target_group import ResolvedProps, resolve, service_tgc
from albctl.model.gateway.inputs import GatewayInput
from albctl.model.gateway.objects import GROUP, HTTPBackendRef, HTTPRoute
from albctl.model.gateway.references import permitted
from albctl.model.gateway.status import RESOLVED_REFS, Cond
from albctl.model.ingress.inputs import GroupInput
from albctl.model.names import target_group_name
from albctl.model.objects import Endpoint, Service, ServicePort
from albctl.model.tags import SERVICE_TAG
from albctl.model.targets import final_targets, instance_targets, ip_targets

MAX_FORWARD_TARGET_GROUPS = 5
MAX_WEIGHT = 999
FIXED_500 = Action(
    type="fixed-response",
    fixed_response=FixedResponseConfig(status_code="500", content_type="text/plain"),
)
# a GRPCRoute rule without a usable backend: UNAVAILABLE (gateway-api grpcroute_types.go
# GRPCBackendRef), which gRPC clients read from HTTP 503 (gRPC's HTTP-to-gRPC status mapping)
FIXED_503 = Action(
    type="fixed-response",
    fixed_response=FixedResponseConfig(status_code="503", content_type="text/plain"),
)
HEALTH_CHECK = HealthCheck(
    protocol="HTTP",
    port="traffic-port",
    path="/",
    interval_seconds=15,
    timeout_seconds=5,
    healthy_threshold=3,
    unhealthy_threshold=3,
    http_code="200-399",
)
GRPC_HEALTH_CHECK = HEALTH_CHECK.model_copy(
    update={"path": "/AWS.ALB/healthcheck", "http_code": None, "grpc_code": "12"}
)


@dataclass
class RuleBackends:
    action: Action
    problems: list[Cond] = field(default_factory=list)  # ResolvedRefs False, one per bad ref


class Backends:
    """The target groups of one Gateway's routes, built once each."""

    def __init__(self, inp: GatewayInput) -> None:
        self.inp = inp
        self.group_input: GroupInput = inp.group_input()
        self.target_groups: dict[str, TargetGroup] = {}
        self.default_tgcs: list[ConfigObject] = []  # from the LoadBalancerConfigurations

    def rule_action(self, route: HTTPRoute, ri: int) -> RuleBackends:
        """The forward (or fixed 500) of ``spec.rules[ri]``."""
        rule = route.spec.rules[ri]
        out = RuleBackends(FIXED_503 if route.kind == "GRPCRoute" else FIXED_500)
        forward: list[tuple[str, int]] = []
        for j, ref in enumerate(rule.backend_refs):
            where = f"spec.rules[{ri}].backendRefs[{j}]"
            try:
                tg_id = self._target_group(route, ref, where)
            except _Unresolved as exc:
                out.problems.append(Cond(RESOLVED_REFS, False, exc.reason, exc.message))
                continue
            if ref.weight > 0:
                forward.append((tg_id, ref.weight))
        if not forward:
            return out
        if len(forward) > MAX_FORWARD_TARGET_GROUPS:
            raise InvalidInputError(
                f"{route.kind}/{route.key}",
                f"spec.rules[{ri}].backendRefs",
                f"{len(forward)} backends; an ALB forward takes at most "
                f"{MAX_FORWARD_TARGET_GROUPS}",
            )
        out.action = Action(type="forward", forward=_weighted(forward))
        return out

    def _target_group(self, route: HTTPRoute, ref: HTTPBackendRef, where: str) -> str:
        route_ns = route.metadata.namespace
        ns = ref.namespace or route_ns
        if ref.group or ref.kind != "Service":
            raise _Unresolved("InvalidKind", f"{where}: {ref.group or 'core'}/{ref.kind}")
        if not permitted(
            self.inp.grants, (GROUP, route.kind, route_ns), ("", "Service", ns, ref.name)
        ):
            raise _Unresolved(
                "RefNotPermitted",
                f"{where}: Service {ns}/{ref.name}: no ReferenceGrant in {ns} allows it",
            )
        svc = self.inp.services.get(f"{ns}/{ref.name}")
        if svc is None:
            raise _Unresolved("BackendNotFound", f"{where}: Service {ns}/{ref.name} not found")
        if ref.port is None:
            raise _Unresolved("BackendNotFound", f"{where}.port: required for a Service")
        sp = next((p for p in svc.spec.ports if p.port == ref.port), None)
        if sp is None:
            raise _Unresolved(
                "BackendNotFound", f"{where}.port: Service {svc.key} has no port {ref.port}"
            )
        tg_id = f"{route_key(route)}:{svc.key}:{sp.port}"
        if tg_id not in self.target_groups:
            try:
                self.target_groups[tg_id] = self._build(route, svc, sp, tg_id)
            except ConfigError:
                raise
            except InvalidInputError as exc:
                raise _Unresolved("UnsupportedValue", f"{where}: {exc}") from None
        return tg_id

    def _build(self, route: HTTPRoute, svc: Service, sp: ServicePort, tg_id: str) -> TargetGroup:
        inp, gi = self.inp, self.group_input
        sobj = f"Service/{svc.key}"
        rp = self._props(route, svc)
        c = tg_settings(rp, route.kind == "GRPCRoute", inp.settings.default_target_type)
        if svc.spec.ip_families[:1] == ("IPv6",) and c.ip_type != "ipv6":
            raise InvalidInputError(
                sobj, "spec.ipFamilies", "IPv6 targets need a dualstack load balancer"
            )
        waiting: list[tuple[Target, Endpoint]] = []
        if c.target_type == "instance":
            hint = "(or run albctl with --default-target-type ip)"
            port, targets = instance_targets(gi, sobj, sp, c.node_selector, hint)
        else:
            port, targets, waiting = ip_targets(gi, svc, sp, c.ip_type)
        defaults = GRPC_HEALTH_CHECK if c.version == "GRPC" else HEALTH_CHECK
        hc = tg_health_check(rp, defaults, svc, sp, c.target_type, c.version == "GRPC")
        identity = (
            inp.settings.cluster_name,
            inp.gateway.key,
            route_key(route),
            svc.metadata.uid or svc.key,
            str(sp.port),
            str(port),
            c.target_type,
            c.protocol,
            c.version,
            *(() if c.ip_type == "ipv4" else (c.ip_type,)),
        )
        name = c.name or target_group_name(route.metadata.namespace, route.metadata.name, *identity)
        return TargetGroup(
            id=tg_id,
            name=name,
            ingress=route_key(route),
            service=f"{svc.key}:{sp.port}",
            port=port,
            protocol=c.protocol,
            protocol_version=c.version,
            target_type=c.target_type,
            ip_address_type=c.ip_type,
            health_check=hc,
            attributes=c.attributes,
            tags={**c.tags, SERVICE_TAG: f"{svc.key}:{sp.port}"},
            targets=final_targets(gi, sobj, svc.metadata.namespace, name, targets, waiting),
            multi_cluster=c.multi_cluster,
        )

    def _props(self, route: HTTPRoute, svc: Service) -> ResolvedProps:
        configs = list(self.inp.configs.values())
        own = service_tgc(configs, svc.metadata.namespace, svc.metadata.name)
        rid = RouteIdentifier(
            kind=route.kind, namespace=route.metadata.namespace, name=route.metadata.name
        )
        return resolve(own, self.default_tgcs, rid)


class _Unresolved(Exception):
    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


def _weighted(forward: list[tuple[str, int]]) -> tuple[ForwardTarget, ...]:
    """Weights within ALB's 0-999, proportions kept (each positive weight stays at least 1)."""
    top = max(w for _, w in forward)
    scale = MAX_WEIGHT / top if top > MAX_WEIGHT else 1.0
    merged: dict[str, int] = {}
    for tg, w in forward:
        merged[tg] = merged.get(tg, 0) + max(1, round(w * scale))
    return tuple(
        ForwardTarget(target_group=tg, weight=min(w, MAX_WEIGHT)) for tg, w in merged.items()
    )
