"""TargetGroupConfiguration: the properties of the target group of one route's Service port,
resolved as LBC does (docs/guide/gateway/targetgroupconfig.md, "Configuration Resolution
Order"):

1. the Service's own TargetGroupConfiguration (same namespace, ``targetReference`` naming the
   Service): its ``defaultConfiguration``, with the best ``routeConfigurations`` entry for the
   route on top (kind+namespace+name, else kind+namespace, else kind);
2. the default TargetGroupConfigurations of the Gateway's and GatewayClass's
   LoadBalancerConfigurations (the preferred one winning per field; route entries only from
   the preferred one);
3. albctl's defaults (``--default-target-type``, LBC's Gateway health check).

Levels merge per top-level field of ``TargetGroupProps`` (a ``healthCheckConfig`` block is
taken whole), except ``tags`` and ``targetGroupAttributes``, merged per key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from albctl.model.gateway.config.objects import (
    TARGET_GROUP_CONFIGURATION,
    ConfigError,
    ConfigObject,
    RouteIdentifier,
    TargetGroupConfigurationSpec,
    TargetGroupProps,
    read_spec,
)
from albctl.model.values import Fail


@dataclass
class ResolvedProps:
    props: TargetGroupProps
    # top-level field -> (object, path of the block it came from), for errors
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)

    def fail(self, name: str, sub: str = "") -> Fail:
        obj, path = self.sources.get(name, ("TargetGroupConfiguration", "spec"))
        where = f"{path}.{name}" + (f".{sub}" if sub else "")
        return lambda m: ConfigError(obj, where, m)


def service_tgc(configs: Sequence[ConfigObject], ns: str, service: str) -> ConfigObject | None:
    """The Service's TargetGroupConfiguration (the first by name when there are several)."""
    found = [
        c
        for c in sorted(configs, key=lambda c: c.metadata.name)
        if c.kind == TARGET_GROUP_CONFIGURATION
        and c.metadata.namespace == ns
        and _names(c.spec.get("targetReference"), service)
    ]
    return found[0] if found else None


def _names(ref: Any, service: str) -> bool:
    if not isinstance(ref, dict):
        return False
    return ref.get("name") == service and ref.get("kind", "Service") in ("Service", "", None)


def resolve(
    service: ConfigObject | None, defaults: Sequence[ConfigObject], route: RouteIdentifier
) -> ResolvedProps:
    """The props of a route's target group for a Service (lowest level first, merged up)."""
    layers: list[tuple[dict[str, Any], str, str]] = []
    for i, d in enumerate(reversed(defaults)):  # the preferred default last
        layers += _layers(d, route, with_routes=i == len(defaults) - 1)
    if service is not None:
        layers += _layers(service, route, with_routes=True)
    data: dict[str, Any] = {}
    sources: dict[str, tuple[str, str]] = {}
    for values, obj, path in layers:
        for k, v in values.items():
            sources[k] = (obj, path)
            if k == "tags":
                data[k] = {**data.get(k, {}), **v}
            elif k == "targetGroupAttributes":
                kept = {a["key"]: a for a in data.get(k, [])}
                kept.update({a["key"]: a for a in v})
                data[k] = list(kept.values())
            else:
                data[k] = v
    return ResolvedProps(TargetGroupProps.model_validate(data), sources)


def _layers(
    c: ConfigObject, route: RouteIdentifier, with_routes: bool
) -> list[tuple[dict[str, Any], str, str]]:
    spec = read_spec(c, TargetGroupConfigurationSpec)
    ref = spec.target_reference
    if ref is not None and ref.kind not in ("Service", ""):
        raise ConfigError(c.obj, "spec.targetReference.kind", f"{ref.kind}: albctl reads Service")
    out = [(_dump(spec.default_configuration), c.obj, "spec.defaultConfiguration")]
    if with_routes:
        best = _best_route(spec, route)
        if best is not None:
            i, props = best
            out.append((_dump(props), c.obj, f"spec.routeConfigurations[{i}].targetGroupProps"))
    return out


def _dump(props: TargetGroupProps) -> dict[str, Any]:
    return props.model_dump(by_alias=True, exclude_none=True)


def _best_route(
    spec: TargetGroupConfigurationSpec, route: RouteIdentifier
) -> tuple[int, TargetGroupProps] | None:
    """The most specific entry for the route: kind+namespace+name, kind+namespace, kind."""
    best: tuple[int, int, TargetGroupProps] | None = None
    for i, rc in enumerate(spec.route_configurations):
        rid = rc.route_identifier
        if rid.kind != route.kind:
            continue
        if rid.namespace and rid.namespace != route.namespace:
            continue
        if rid.name and (rid.name != route.name or not rid.namespace):
            continue
        rank = 2 if rid.name else 1 if rid.namespace else 0
        if best is None or rank > best[0]:
            best = (rank, i, rc.target_group_props)
    return (best[1], best[2]) if best else None
