"""The upstream Gateway API GRPCRoute conformance tests whose outcome is a routing decision,
run against ALBs that albctl applies to moto (in-process) and read back from AWS.

Each case in ``cases/<TestName>.yaml`` with ``kind: GRPCRoute`` transcribes one test of
kubernetes-sigs/gateway-api ``conformance/tests/grpcroute-*.go`` (its calls and expected
answers) with its manifests (``grpcroute-*.yaml``) on top of ``base.yaml``, as the HTTPRoute
cases do (:mod:`tests.conformance.harness`). Upstream sends gRPC over h2c to HTTP listeners on
port 80; ALB serves gRPC on HTTPS listeners only, so the cases attach to HTTPS listeners on port
443 instead (``changes:`` in each file says how), with the certificate of the base Secret
``tls-validity-checks-certificate`` that the suite makes at run time (made here the same way).

A gRPC call ``<service>/<rpc>`` is an HTTP/2 POST to ``/<service>/<rpc>`` with
``content-type: application/grpc``; its metadata are request headers and its authority the
Host. Each call is routed through the listener rules read back from AWS and judged:

- ``backend: X``: the rule forwards (gRPC status OK from X); every target group with weight > 0
  is Service X's; ``weights:`` the forward's weights are the backendRefs' (upstream samples);
- ``code: Unimplemented / Unavailable / ...``: the gRPC status a client reads from the ALB's
  fixed response, by gRPC's HTTP-to-gRPC status mapping (grpc/grpc
  ``doc/http-grpc-status-mapping.md``: 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, 500 and
  others UNKNOWN): no rule matched (the listener's fixed 404) is UNIMPLEMENTED, as upstream;
- every call is served by an HTTPS listener, and every target group it is forwarded to has
  protocol version GRPC (read back from AWS).

``cannot_express``, ``alb:`` and ``problems`` work as for HTTPRoute; ``alb:`` names both the
HTTP status albctl programs and the gRPC status a client reads from it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from albctl.aws.clients import AwsClients
from albctl.model.router import RoutingTable, parse_request, route
from tests.conformance.harness import (
    INFRA,
    apply,
    case_paths,
    documents,
    judge,
    load_case,
    mismatch,
    outcome,
)
from tests.conftest import AwsEnv
from tests.tls_helpers import tls_secret

CASES = case_paths("GRPCRoute")
SERVICE = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"
PORT = 443

# grpc/grpc doc/http-grpc-status-mapping.md: the status of an HTTP response without grpc-status
_HTTP_TO_GRPC = {
    400: "Internal",
    401: "Unauthenticated",
    403: "PermissionDenied",
    404: "Unimplemented",
    429: "Unavailable",
    502: "Unavailable",
    503: "Unavailable",
    504: "Unavailable",
}


@functools.cache
def _certificate() -> dict[str, Any]:
    """The base Secret tls-validity-checks-certificate, as the suite makes it ("*", "*.org")."""
    return tls_secret("tls-validity-checks-certificate", INFRA, ["*", "*.org"])


def _code(got: dict[str, Any]) -> str:
    if "forward" in got:
        return "OK"
    return _HTTP_TO_GRPC.get(got["status"], "Unknown")


def _protocol_versions(env: AwsEnv) -> dict[str, str]:
    """ProtocolVersion of every target group, by ARN."""
    c: AwsClients = env.clients  # type: ignore[assignment]
    tgs = c.elbv2.describe_target_groups()["TargetGroups"]
    return {t["TargetGroupArn"]: t.get("ProtocolVersion", "") for t in tgs}


def _answerer(env: AwsEnv) -> Any:
    versions = _protocol_versions(env)

    def answer(table: RoutingTable, req: dict[str, Any]) -> dict[str, Any]:
        host = req.get("host") or table.dns_name
        path = f"/{req.get('service', SERVICE)}/{req.get('rpc', 'Echo')}"
        headers = [f"{k}: {v}" for k, v in (req.get("headers") or {}).items()]
        url = f"https://{host}:{req.get('port', PORT)}{quote(path)}"
        parsed = parse_request("POST", url, ["content-type: application/grpc", *headers])
        r = route(table, parsed)
        got = outcome(table, r, parsed)
        [li] = [x for x in table.listeners if x.port == r.listener]
        got["listener"] = li.protocol
        got["protocol_versions"] = sorted(
            {versions.get(t, "?") for t in got.get("target_groups", [])}
        )
        return got

    return answer


def _compare(got: dict[str, Any], want: dict[str, Any], req: dict[str, Any]) -> str | None:
    """Why ``got`` is not the answer ``want`` describes (None: it is)."""
    if got["listener"] != "HTTPS":
        return f"served by a {got['listener']} listener (gRPC needs HTTPS on ALB)"
    code = want.get("code", "OK")
    if _code(got) != code:
        return f"gRPC status {_code(got)}, want {code} ({got})"
    if "status" in want and got["status"] != want["status"]:
        return f"HTTP status {got['status']}, want {want['status']} ({got})"
    if code != "OK":
        return None
    if got["protocol_versions"] != ["GRPC"]:
        return f"target groups of protocol version {got['protocol_versions']}, want GRPC"
    return mismatch(got, {**want, "status": 200}, req)


def _describe(req: dict[str, Any]) -> str:
    headers = " ".join(f"{k}={v}" for k, v in (req.get("headers") or {}).items())
    return f"{req.get('host', '')}/{req.get('rpc', 'Echo')} {headers}".strip()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_grpcroute_conformance(aws: AwsEnv, path: Path) -> None:
    case = load_case(path)
    applied = apply(aws, documents(case, [_certificate()]))
    judge(case, applied, _answerer(aws), _compare, _describe)
