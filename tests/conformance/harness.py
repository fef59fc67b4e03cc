"""What the conformance tests share: the cases, the base objects, applying a case with albctl's
one-shot engine to moto, reading the ALBs back from AWS, and judging the routed requests.

A route kind's test module (``test_httproute_conformance.py``, ``test_grpcroute_conformance.py``)
sends its requests its own way and compares them with this module's helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from albctl.aws.clients import AwsClients
from albctl.aws.routes import read_table
from albctl.config import Settings
from albctl.controller.engine import Engine, Report
from albctl.model.gateway.status import GatewayStatus
from albctl.model.router import Route, RoutingTable
from albctl.model.tags import STACK_TAG
from tests.conformance import RESULTS
from tests.conftest import AwsEnv
from tests.helpers import REGION, objects

HERE = Path(__file__).parent
INFRA = "gateway-conformance-infra"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


BASE = load(HERE / "base.yaml")


def case_paths(kind: str) -> list[Path]:
    """The case files of the tests of one route kind (``kind:`` in the file, default HTTPRoute)."""
    return [
        p
        for p in sorted((HERE / "cases").glob("*.yaml"))
        if (yaml.safe_load(p.read_text()).get("kind") or "HTTPRoute") == kind
    ]


@dataclass
class Case:
    test: str
    kind: str
    gateway: str
    manifests: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    listeners: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cannot_express: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def load_case(path: Path) -> Case:
    raw = yaml.safe_load(path.read_text())
    assert raw["test"] == path.stem, f"{path.name}: test {raw['test']!r}"
    return Case(
        test=raw["test"],
        kind=raw.get("kind", "HTTPRoute"),
        gateway=raw.get("gateway", f"{INFRA}/same-namespace"),
        manifests=raw["manifests"],
        requests=raw["requests"],
        conditions=raw.get("conditions", []),
        listeners=raw.get("listeners", []),
        problems=raw.get("problems", []),
        cannot_express=raw.get("cannot_express"),
        raw=raw,
    )


def documents(case: Case, extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """base.yaml's objects, less the base Gateways no route of the case attaches to (each
    Gateway is an ALB, and a case pays for every one it applies), plus ``extra`` and the case's
    manifests."""
    wanted = {case.gateway}
    for d in case.manifests:
        if d["kind"] in ROUTE_KINDS:
            ns = d["metadata"]["namespace"]
            for p in d["spec"].get("parentRefs", []):
                wanted.add(f"{p.get('namespace', ns)}/{p['name']}")
    base = [
        d
        for d in BASE
        if d["kind"] != "Gateway"
        or f"{d['metadata']['namespace']}/{d['metadata']['name']}" in wanted
    ]
    return base + (extra or []) + case.manifests


# --- applying a case ---------------------------------------------------------------------------


@dataclass
class Applied:
    report: Report
    tables: dict[str, RoutingTable]  # by Gateway ns/name
    problems: dict[str, list[str]]  # by Gateway ns/name
    statuses: dict[str, GatewayStatus | None]  # by Gateway ns/name


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


def apply(env: AwsEnv, docs: list[dict[str, Any]]) -> Applied:
    """The documents applied by the one-shot engine (no errors), the ALBs read back."""
    settings = Settings(cluster_name=env.cluster, region=REGION, default_target_type="ip")
    report = Engine(settings, env.clients).run(objects(*docs), "apply")  # type: ignore[arg-type]
    errors = [o.error for o in report.outcomes if o.error]
    assert not errors, errors
    return Applied(
        report=report,
        tables=_tables(env),
        problems={
            o.group_id.removeprefix("gateway/"): [
                str(p) for p in (o.build.problems if o.build else [])
            ]
            for o in report.outcomes
        },
        statuses={o.group_id.removeprefix("gateway/"): o.gateway for o in report.outcomes},
    )


# --- what a request gets -----------------------------------------------------------------------


def apply_rewrites(transforms: Any, host: str, path: str, query: str = "") -> tuple[str, str]:
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


def outcome(table: RoutingTable, r: Route, parsed: Any) -> dict[str, Any]:
    """The routed request's outcome on the ALB, in the terms of the case files."""
    a = r.action
    host, path = apply_rewrites(r.transforms, parsed.host, parsed.path, parsed.query)
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
    return {
        "status": 200,
        "forward": services,
        "target_groups": [f.target_group for f in a.forward if f.weight > 0],
        "rewritten": {"host": host, "path": path},
    }


def mismatch(got: dict[str, Any], want: dict[str, Any], req: dict[str, Any]) -> str | None:
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


# --- judging a case ----------------------------------------------------------------------------


def judge(
    case: Case,
    applied: Applied,
    answer: Callable[[RoutingTable, dict[str, Any]], dict[str, Any]],
    compare: Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], str | None],
    describe: Callable[[dict[str, Any]], str],
) -> None:
    """Every request of the case against the upstream answer (or, with ``alb:``, the answer
    albctl programs instead), the problems, route conditions and listener counts; records the
    test's result in RESULTS and fails on any difference the case does not name."""
    failures: list[str] = []
    differs: list[str] = []
    for i, req in enumerate(case.requests):
        gw = req.get("gateway", case.gateway)
        got = answer(applied.tables[gw], req)
        where = f"request {i} {describe(req)}"
        wrong = compare(got, req, req)
        if "alb" not in req:
            if wrong:
                failures.append(f"{where}: {wrong}")
            continue
        # ALB cannot give the upstream answer: albctl's answer is the one the case names
        if wrong is None:
            failures.append(f"{where}: gets the upstream answer, but the case says ALB cannot")
        if (why := compare(got, req["alb"], req)) is not None:
            failures.append(f"{where}: not what albctl programs for it ({why})")
        differs.append(f"{where}: {req['alb'].get('why', case.cannot_express)}")

    all_problems = [p for ps in applied.problems.values() for p in ps]
    for expected in case.problems:
        if not any(expected in p for p in all_problems):
            failures.append(f"albctl reports no problem naming {expected!r}: {all_problems}")
    if not case.problems and all_problems:
        failures.append(f"unexpected problems: {all_problems}")

    for c in case.conditions:
        status = applied.statuses[c.get("gateway", case.gateway)]
        assert status is not None
        parents = status.routes.get(f"{c.get('kind', case.kind)}/{c['route']}", [])
        conds = [ps.conditions.get(c["type"]) for ps in parents]
        if not any(
            cond is not None and cond.status == c["status"] and cond.reason == c["reason"]
            for cond in conds
        ):
            failures.append(
                f"{c['route']}: want {c['type']}={c['status']} ({c['reason']}): {conds}"
            )

    for li in case.listeners:
        status = applied.statuses[li.get("gateway", case.gateway)]
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
