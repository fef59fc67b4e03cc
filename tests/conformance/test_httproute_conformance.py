"""The upstream Gateway API HTTPRoute conformance tests whose outcome is a routing decision,
run against ALBs that albctl applies to moto (in-process) and read back from AWS.

Each case in ``cases/<TestName>.yaml`` transcribes one test of kubernetes-sigs/gateway-api
``conformance/tests/httproute-*.go`` (its requests and expected responses) with its manifests
(``httproute-*.yaml``) on top of ``base.yaml``. The one-shot engine applies them; every request
is routed, with ALB's matching semantics, through the listener rules read back from AWS
(:func:`albctl.aws.routes.read_table`, :func:`albctl.model.router.route`), and the rule's action
is compared with the upstream expectation:

- ``backend`` (200): a forward whose target groups (weight > 0) are all that Service's; with
  ``rewritten``, the rule's url-rewrite / host-header-rewrite transforms applied to the request
  give that path / host; with ``weights``, the forward's weights are those (instead of sampling);
- ``status: 404``: no rule matched (the listener's fixed 404), ``500``: a fixed 500;
- ``status: 301/302/...`` with ``redirect``: a redirect action whose scheme, host, port and path,
  ALB's ``#{...}`` placeholders resolved from the request, are the expected ones (as upstream:
  scheme and path default to the request's, host and port are compared only when given).

A case that ALB cannot express says why (``cannot_express``); its requests that ALB answers
differently carry ``alb:`` (what albctl programs instead, normally the fixed 500 of a refused
rule), and ``problems`` lists what albctl must report (the refused field). Anything else that
differs from upstream fails. The per-test results are printed at the end of the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from albctl.model.router import RoutingTable, parse_request, route
from tests.conformance.harness import (
    apply,
    case_paths,
    documents,
    judge,
    load_case,
    mismatch,
    outcome,
)
from tests.conftest import AwsEnv

CASES = case_paths("HTTPRoute")


def _url(table: RoutingTable, req: dict[str, Any]) -> tuple[str, list[str]]:
    host = req.get("host") or table.dns_name
    headers = [f"{k}: {v}" for k, v in (req.get("headers") or {}).items()]
    path = req.get("path", "/")
    # the Host header carries a port when the test sends one (the router ignores it, as ALB)
    hostname = host.split(":")[0]
    if hostname != host:
        headers.append(f"Host: {host}")
    return f"http://{hostname}{quote(path, safe='/?=&%')}", headers


def _answer(table: RoutingTable, req: dict[str, Any]) -> dict[str, Any]:
    """The request's outcome on the ALB, in the terms of the case files."""
    url, headers = _url(table, req)
    parsed = parse_request(req.get("method", "GET"), url, headers)
    return outcome(table, route(table, parsed), parsed)


def _describe(req: dict[str, Any]) -> str:
    return f"{req.get('method', 'GET')} {req.get('host', '')}{req.get('path')}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_httproute_conformance(aws: AwsEnv, path: Path) -> None:
    case = load_case(path)
    applied = apply(aws, documents(case))
    judge(case, applied, _answer, mismatch, _describe)
