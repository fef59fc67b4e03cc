"""GRPCRoutes read as HTTPRoutes (pure): a gRPC call is an HTTP/2 POST to
``/<service>/<method>``, so every GRPCRoute match is an HTTPRoute path match and the rest of the
Gateway builder (attachment, precedence, backends, filters, status) serves both kinds.

gateway-api ``apis/v1/grpcroute_types.go``: ``GRPCMethodMatch`` ``Exact`` (the default) with a
service and a method: the path ``/<service>/<method>``; a service only: every method of it
(the path prefix ``/<service>``, matched by segment); a method only: that method of any service
(a regex); ``RegularExpression``: the service and the method as regular expressions (either
missing: any). A match without a method matches every call. Precedence (``GRPCRouteRule``):
the longer service, then the longer method, then more header matches: an exact path of the
longer name sorts first, as a path match does.

On ALB, gRPC needs an HTTPS listener and target groups of protocol version GRPC (health check
``/AWS.ALB/healthcheck``, gRPC codes ``12``, LBC's defaults).
"""

from __future__ import annotations

import re
from typing import Any

from albctl.model.gateway.objects import (
    GRPCRoute,
    GRPCRouteMatch,
    HTTPPathMatch,
    HTTPRoute,
    HTTPRouteMatch,
)

KIND = "GRPCRoute"
_NAME = "[^/]+"


def _path(m: GRPCRouteMatch) -> HTTPPathMatch:
    mm = m.method
    if mm is None or (mm.service is None and mm.method is None):
        return HTTPPathMatch(type="PathPrefix", value="/")
    if mm.type == "RegularExpression":
        svc, meth = mm.service or _NAME, mm.method or _NAME
        return HTTPPathMatch(type="RegularExpression", value=f"^/({svc})/({meth})$")
    if mm.service and mm.method:
        return HTTPPathMatch(type="Exact", value=f"/{mm.service}/{mm.method}")
    if mm.service:
        return HTTPPathMatch(type="PathPrefix", value=f"/{mm.service}")
    return HTTPPathMatch(type="RegularExpression", value=f"^/{_NAME}/{re.escape(mm.method or '')}$")


def as_http_route(route: GRPCRoute) -> HTTPRoute:
    """The GRPCRoute as the HTTPRoute that routes the same calls (``kind`` GRPCRoute)."""
    rules: list[dict[str, Any]] = []
    for r in route.spec.rules:
        rules.append(
            {
                "name": r.name,
                "matches": [
                    HTTPRouteMatch(path=_path(m), headers=m.headers).model_dump(by_alias=True)
                    for m in r.matches
                ],
                "filters": [f.model_dump(by_alias=True) for f in r.filters],
                "backendRefs": [b.model_dump(by_alias=True) for b in r.backend_refs],
                "sessionPersistence": r.session_persistence,
            }
        )
    return HTTPRoute.model_validate(
        {
            "kind": KIND,
            "metadata": route.metadata.model_dump(by_alias=True),
            "spec": {
                "parentRefs": [p.model_dump(by_alias=True) for p in route.spec.parent_refs],
                "hostnames": list(route.spec.hostnames),
                "rules": rules,
            },
        }
    )
