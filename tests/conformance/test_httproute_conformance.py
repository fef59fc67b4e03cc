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

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from albctl.aws.clients import AwsClients
from albctl.aws.routes import read_table
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from albctl.model.router import RoutingTable, parse_request, route
from albctl.model.tags import STACK_TAG
from tests.conformance import RESULTS
from tests.conftest import AwsEnv
from tests.helpers import REGION, objects

HERE = Path(__file__).parent
INFRA = "gateway-conformance-infra"
CASES = sorted((HERE / "cases").glob("*.yaml"))


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


BASE = _load(HERE / "base.yaml")


@dataclass
class Case:
    test: str
    gateway: str
    manifests: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    listeners: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cannot_express: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _case(path: Path) -> Case:
    raw = yaml.safe_load(path.read_text())
    assert raw["test"] == path.stem, f"{path.name}: test {raw['test']!r}"
    return Case(
        test=raw["test"],
        gateway=raw.get("gateway", f"{INFRA}/same-namespace"),
        manifests=raw["manifests"],
        requests=raw["requests"],
        conditions=raw.get("conditions", []),
        listeners=raw.get("listeners", []),
        problems=raw.get("problems", []),
        cannot_express=raw.get("cannot_express"),
        raw=raw,
    )


def _documents(case: Case) -> list[dict[str, Any]]:
    """base.yaml's objects, less the base Gateways no route of the case attaches to (each
    Gateway is an ALB, and a case pays for every one it applies), plus the case's manifests."""
    wanted = {case.gateway}
    for d in case.manifests:
        if d["kind"] == "HTTPRoute":
            ns = d["metadata"]["namespace"]
            for p in d["spec"].get("parentRefs", []):
                wanted.add(f"{p.get('namespace', ns)}/{p['name']}")
    base = [
        d
        for d in BASE
        if d["kind"] != "Gateway"
        or f"{d['metadata']['namespace']}/{d['metadata']['name']}" in wanted
    ]
    return base + case.manifests


# --- what a request gets ---------------------------------------------------------------------


def _url(table: RoutingTable, req: dict[str, Any]) -> tuple[str, list[str]]:
    host = req.get("host") or table.dns_name
    headers = [f"{k}: {v}" for k, v in (req.get("headers") or {}).items()]
    path = req.get("path", "/")
    # the Host header carries a port when the test sends one (the router ignores it, as ALB)
    hostname = host.split(":")[0]
    if hostname != host:
        headers.append(f"Host: {host}")
    return f"http://{hostname}{quote(path, safe='/?=&%')}", headers


def _apply_rewrites(transforms: Any, host: str, path: str, query: str = "") -> tuple[str, str]:
    """ALB's transforms: host-header-rewrite on the host, url-rewrite on the URL's path and
    query string (ELB guide, "Transforms for listener rules"); the rewritten path."""
    path = path + (f"?{query}" if query else "")
    for t in transforms:
        for rw in t.rewrites:
            replace = re.sub(r"\$(\d)", r"\\\1", rw.replace)
            if t.type == "host-header-rewrite":
                host = re.sub(rw.regex, replace, host, count=1)
            else:
                path = re.sub(rw.regex, replace, path, count=1)
    return host, path.partition("?")[0]


def _answer(table: RoutingTable, req: dict[str, Any]) -> dict[str, Any]:
    """The request's outcome on the ALB, in the terms of the case files."""
    url, headers = _url(table, req)
    parsed = parse_request(req.get("method", "GET"), url, headers)
    r = route(table, parsed)
    a = r.action
    host, path = _apply_rewrites(r.transforms, parsed.host, parsed.path, parsed.query)
    if a.type == "fixed-response":
        assert a.fixed_response is not None
        return {"status": int(a.fixed_response.status_code)}
    if a.type == "redirect":
        rc = a.redirect
        assert rc is not None
        values = {
            "#{protocol}": parsed.scheme,
            "#{host}": host,
            "#{port}": str(parsed.port),
            "#{path}": path.removeprefix("/"),
            "#{query}": parsed.query,
        }

        def fill(text: str) -> str:
            for k, v in values.items():
                text = text.replace(k, v)
            return text

        return {
            "status": int(rc.status_code.removeprefix("HTTP_")),
            "redirect": {
                "scheme": fill(rc.protocol).lower(),
                "host": fill(rc.host),
                "port": fill(rc.port),
                "path": fill(rc.path),
            },
        }
    services: dict[str, int] = {}
    for f in a.forward:
        svc = table.services.get(f.target_group, f.target_group)
        name = svc.rsplit(":", 1)[0]  # ns/name
        services[name] = services.get(name, 0) + f.weight
    return {"status": 200, "forward": services, "rewritten": {"host": host, "path": path}}


def _mismatch(got: dict[str, Any], want: dict[str, Any], req: dict[str, Any]) -> str | None:
    """Why ``got`` is not the answer ``want`` describes (None: it is)."""
    status = want.get("status", 200)
    if got["status"] != status:
        return f"status {got['status']}, want {status} ({got})"
    if "backend" in want:
        ns = want.get("namespace", INFRA)
        backend = f"{ns}/{want['backend']}"
        live = {s for s, w in got["forward"].items() if w > 0}
        if live != {backend}:
            return f"forwarded to {sorted(live)}, want {backend}"
    if "weights" in want:
        ns = want.get("namespace", INFRA)
        total = sum(got["forward"].values())
        shares = {s: round(w / total, 3) for s, w in got["forward"].items() if w > 0}
        wsum = sum(want["weights"].values())
        expect = {f"{ns}/{k}": round(v / wsum, 3) for k, v in want["weights"].items() if v > 0}
        if shares != expect:
            return f"weights {shares}, want {expect}"
    for key, value in (want.get("rewritten") or {}).items():
        if got["rewritten"][key] != value:
            return f"backend sees {key} {got['rewritten'][key]!r}, want {value!r}"
    if "redirect" in want or 300 <= status < 400:
        exp = dict(want.get("redirect") or {})
        exp.setdefault("scheme", "http")
        exp.setdefault("path", req.get("path", "/").split("?")[0])
        for key, value in exp.items():
            if got["redirect"][key] != str(value):
                return f"redirect {key} {got['redirect'][key]!r}, want {value!r}"
    return None


# --- the test ----------------------------------------------------------------------------------


def _tables(env: AwsEnv) -> dict[str, RoutingTable]:
    """Routing tables read back from AWS by the Gateway (ns/name) each ALB's stack tag names."""
    c: AwsClients = env.clients  # type: ignore[assignment]
    arns = [lb["LoadBalancerArn"] for lb in c.elbv2.describe_load_balancers()["LoadBalancers"]]
    out: dict[str, RoutingTable] = {}
    for desc in c.elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
        tags = {t["Key"]: t["Value"] for t in desc["Tags"]}
        stack = tags.get(STACK_TAG, "")
        if stack.startswith("gateway/"):
            out[stack.removeprefix("gateway/")] = read_table(c, desc["ResourceArn"])
    return out


def _problems(report: Report) -> dict[str, list[str]]:
    return {
        o.group_id.removeprefix("gateway/"): [str(p) for p in (o.build.problems if o.build else [])]
        for o in report.outcomes
    }


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_httproute_conformance(aws: AwsEnv, path: Path) -> None:
    case = _case(path)
    settings = Settings(cluster_name=aws.cluster, region=REGION, default_target_type="ip")
    report = Engine(settings, aws.clients).run(objects(*_documents(case)), "apply")  # type: ignore[arg-type]
    errors = [o.error for o in report.outcomes if o.error]
    assert not errors, errors
    tables = _tables(aws)
    problems = _problems(report)
    statuses = {o.group_id.removeprefix("gateway/"): o.gateway for o in report.outcomes}

    failures: list[str] = []
    differs: list[str] = []
    for i, req in enumerate(case.requests):
        gw = req.get("gateway", case.gateway)
        got = _answer(tables[gw], req)
        where = f"request {i} {req.get('method', 'GET')} {req.get('host', '')}{req.get('path')}"
        wrong = _mismatch(got, req, req)
        if "alb" not in req:
            if wrong:
                failures.append(f"{where}: {wrong}")
            continue
        # ALB cannot give the upstream answer: albctl's answer is the one the case names
        if wrong is None:
            failures.append(f"{where}: gets the upstream answer, but the case says ALB cannot")
        if (why := _mismatch(got, req["alb"], req)) is not None:
            failures.append(f"{where}: not what albctl programs for it ({why})")
        differs.append(f"{where}: {req['alb'].get('why', case.cannot_express)}")

    all_problems = [p for ps in problems.values() for p in ps]
    for expected in case.problems:
        if not any(expected in p for p in all_problems):
            failures.append(f"albctl reports no problem naming {expected!r}: {all_problems}")
    if not case.problems and all_problems:
        failures.append(f"unexpected problems: {all_problems}")

    for c in case.conditions:
        gw = c.get("gateway", case.gateway)
        status = statuses[gw]
        assert status is not None
        parents = status.routes.get(f"HTTPRoute/{c['route']}", [])
        conds = [ps.conditions.get(c["type"]) for ps in parents]
        if not any(
            cond is not None and cond.status == c["status"] and cond.reason == c["reason"]
            for cond in conds
        ):
            failures.append(
                f"{c['route']}: want {c['type']}={c['status']} ({c['reason']}): {conds}"
            )

    for li in case.listeners:
        status = statuses[li.get("gateway", case.gateway)]
        assert status is not None
        [ls] = [x for x in status.listeners if x.name == li["name"]]
        if ls.attached_routes != li["attachedRoutes"]:
            failures.append(f"listener {li['name']}: {ls.attached_routes} attached routes")

    if case.cannot_express and not differs:
        failures.append("cannot_express, yet every request gets the upstream answer")
    if differs and not case.cannot_express:
        failures.append("requests marked alb: but the case does not say why ALB cannot express it")
    result = "passed" if not case.cannot_express else f"cannot express: {case.cannot_express}"
    RESULTS[case.test] = "FAILED" if failures else result
    assert not failures, "\n".join(failures)
