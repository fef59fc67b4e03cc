"""Hypothesis strategies and checks for fuzzing albctl's model: every
``alb.ingress.kubernetes.io`` annotation albctl reads (and some it ignores) with random
strings, JSON, numbers, unicode and huge values; paths, hosts, Services and EndpointSlices.

Used by tests/faults/test_fuzz.py (a bounded number of examples) and benchmarks/fuzz.py
(a long run). The properties:

* the model never crashes: ``build_group`` returns (or raises) only ``InvalidInputError``;
* every error names the object (``Kind/namespace/name``) and the field;
* an invalid member makes no AWS call for its resources (checked against moto with the
  engine, see test_fuzz.py).
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from albctl.errors import InvalidInputError
from albctl.manifests import ObjectSet, parse_documents
from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.groups import group_ingresses
from albctl.model.settings import BuildSettings
from tests.helpers import (
    ANN,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    inventory,
    rule,
    service,
)

# every annotation albctl reads (docs/annotations.md), and a few it ignores
ANNOTATIONS = [
    "group.name",
    "group.order",
    "scheme",
    "load-balancer-name",
    "ip-address-type",
    "subnets",
    "security-groups",
    "load-balancer-attributes",
    "tags",
    "wafv2-acl-arn",
    "wafv2-acl-name",
    "inbound-cidrs",
    "security-group-prefix-lists",
    "manage-backend-security-group-rules",
    "listen-ports",
    "certificate-arn",
    "ssl-policy",
    "ssl-redirect",
    "target-type",
    "backend-protocol",
    "backend-protocol-version",
    "target-group-attributes",
    "healthcheck-port",
    "healthcheck-protocol",
    "healthcheck-path",
    "healthcheck-interval-seconds",
    "healthcheck-timeout-seconds",
    "healthy-threshold-count",
    "unhealthy-threshold-count",
    "success-codes",
    "target-node-labels",
    "use-regex-path-match",
    "actions.svc",
    "conditions.svc",
    "actions.fuzz",
    "conditions.fuzz",
    # ignored (not supported yet): must not crash either
    "auth-type",
    "shield-advanced-protection",
    "listener-attributes.HTTP-80",
]
SERVICE_ANNOTATIONS = [
    a
    for a in ANNOTATIONS
    if a.startswith(("target-", "backend-", "healthcheck-", "healthy-", "unhealthy-"))
    or a in ("success-codes", "tags")
]

# values that are nearly right, so the parsers get past their first check
PLAUSIBLE = [
    "internet-facing",
    "internal",
    "ip",
    "instance",
    "HTTP",
    "HTTPS",
    "GRPC",
    "HTTP2",
    "dualstack",
    "true",
    "false",
    "443",
    "80",
    "traffic-port",
    "http",
    "200-299",
    "0-99",
    "12",
    "a=b,c=d",
    "a=b\\,c",
    "idle_timeout.timeout_seconds=600",
    "deletion_protection.enabled=true",
    "stickiness.enabled=true,stickiness.type=lb_cookie",
    "10.0.0.0/8, ::/0",
    "pl-123, pl-456",
    "sg-123, corp-frontend",
    "subnet-puba, subnet-pubb",
    "public-a, public-b",
    '[{"HTTP": 80}, {"HTTPS": 443}]',
    '[{"HTTPS": 8443}]',
    '[{"HTTP": 0}]',
    '[{"TCP": 80}]',
    "arn:aws:acm:us-east-1:123456789012:certificate/x",
    "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/a/b",
    "none",
    "ELBSecurityPolicy-2016-08",
    "/healthz",
    "web",
    '{"type": "fixed-response", "fixedResponseConfig": {"statusCode": "503"}}',
    '{"type": "redirect", "redirectConfig": {"host": "#{host}", "statusCode": "HTTP_301"}}',
    '{"type": "forward", "forwardConfig": {"targetGroups": [{"serviceName": "svc", "servicePort": 80, "weight": 5}]}}',
    '{"type": "forward", "targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/y"}',
    '[{"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X", "values": ["a"]}}]',
    '[{"field": "query-string", "queryStringConfig": {"values": [{"key": "k", "value": "v"}]}}]',
    '[{"field": "source-ip", "sourceIpConfig": {"values": ["10.0.0.0/33"]}}]',
    '[{"field": "host-header", "hostHeaderConfig": {"values": ["*.a.example.com"]}}]',
]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "Type",
                    "field",
                    "values",
                    "statusCode",
                    "forwardConfig",
                    "targetGroups",
                    "serviceName",
                    "servicePort",
                    "weight",
                    "HTTP",
                    "HTTPS",
                    "redirectConfig",
                    "fixedResponseConfig",
                    "httpHeaderConfig",
                    "httpHeaderName",
                    "targetGroupARN",
                    "targetGroupName",
                    "key",
                    "value",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _huge(draw: Any) -> str:
    unit = draw(st.sampled_from(["a", "é", "/", "a,", "a=b,", "10.0.0.0/8,", "💥", "\x00"]))
    return unit * draw(st.sampled_from([300, 5_000, 100_000]))


@st.composite
def values(draw: Any) -> str:
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return draw(st.text(max_size=40))
    if kind == 1:
        return json.dumps(draw(JSON))
    if kind == 2:
        return str(draw(st.integers(-(2**80), 2**80)))
    if kind == 3:
        return str(draw(st.floats(allow_nan=True, allow_infinity=True)))
    if kind == 4:
        return _huge(draw)
    if kind == 5:
        return draw(
            st.sampled_from(["", " ", "\t", "null", "[]", "{}", "\\", "=", ",", ",,", "=,="])
        )
    plausible = draw(st.sampled_from(PLAUSIBLE))
    if kind == 6:
        return plausible
    # a plausible value, mutated
    pos = draw(st.integers(0, len(plausible)))
    return plausible[:pos] + draw(st.text(max_size=3)) + plausible[pos + draw(st.integers(0, 3)) :]


@st.composite
def annotations(draw: Any, names: list[str] = ANNOTATIONS) -> dict[str, str]:
    keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
    return {ANN + k: draw(values()) for k in keys}


TEXT = st.text(max_size=30)
PATH = st.one_of(
    st.sampled_from(["/", "/api", "/a/*", "/a?b", "//", "/é", "/" + "x" * 200, "", "*", "/{x}"]),
    TEXT,
    st.builds(lambda n: "/" + "a/" * n, st.integers(0, 400)),
)
HOST = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "a.example.com",
            "*.example.com",
            "*",
            "xn--bcher-kva.example",
            "bücher.example",
            "a..b",
            "-a.example.com",
            "a" * 300,
            "A.EXAMPLE.COM",
            "a.example.com.",
            "10.0.0.1",
        ]
    ),
    TEXT,
)
PORT: st.SearchStrategy[int | str] = st.one_of(
    st.integers(-5, 70_000), st.sampled_from(["http", "web", "", "use-annotation", "💥"]), TEXT
)


@dataclass
class Fuzzed:
    docs: list[dict[str, Any]]
    victim: str = "fuzz/victim"  # the member whose input is fuzzed


def base_docs() -> list[dict[str, Any]]:
    """Group ``fz``: a good member (Service svc) and a victim (Service victim), both valid."""
    return [
        ingress_class(),
        service("svc", "fuzz", node_port=None, target_port=8080),
        endpoint_slice("svc", ["10.0.100.10", "10.0.101.11"], "fuzz", port=8080),
        service("victim", "fuzz", node_port=None, target_port=8080),
        endpoint_slice("victim", ["10.0.100.20"], "fuzz", port=8080),
        ingress(
            "good",
            "fuzz",
            group_name="fz",
            group_order="1",
            scheme="internet-facing",
            target_type="ip",
            rules=[rule("good.example.com", ("/", "Prefix", backend("svc", 80)))],
        ),
        victim_ingress(),
    ]


def victim_ingress() -> dict[str, Any]:
    return ingress(
        "victim",
        "fuzz",
        group_name="fz",
        group_order="2",
        scheme="internet-facing",
        target_type="ip",
        rules=[rule("victim.example.com", ("/v", "Prefix", backend("victim", 80)))],
    )


@st.composite
def fuzzed(draw: Any) -> Fuzzed:
    """The base group with the victim's input fuzzed: its annotations, its rules (hosts,
    paths, backends), its Service or its EndpointSlice."""
    docs = base_docs()
    vic = docs[-1]
    what = draw(st.sets(st.sampled_from(["ann", "rules", "service", "slice"]), min_size=1))
    if "ann" in what:
        ann = vic["metadata"]["annotations"]
        fuzz = draw(annotations())
        if fuzz.get(ANN + "group.name") is not None and draw(st.booleans()):
            fuzz[ANN + "group.name"] = "fz"  # mostly stay in the group
        ann.update(fuzz)
        if draw(st.booleans()):  # the action/condition names a backend can refer to
            vic["spec"]["rules"][0]["http"]["paths"][0]["backend"] = backend(
                draw(st.sampled_from(["svc", "fuzz"])), "use-annotation"
            )
    if "rules" in what:
        paths = draw(
            st.lists(
                st.tuples(
                    PATH,
                    st.sampled_from(["Prefix", "Exact", "ImplementationSpecific"]) | TEXT,
                    st.sampled_from(["victim", "svc", "missing", ""]),
                    PORT,
                ),
                min_size=0,
                max_size=4,
            )
        )
        vic["spec"]["rules"] = [
            {
                **({"host": h} if (h := draw(HOST)) is not None else {}),
                "http": {
                    "paths": [
                        {"path": p, "pathType": t, "backend": backend(s, port)}
                        for p, t, s, port in paths
                    ]
                },
            }
        ]
        if draw(st.booleans()):
            vic["spec"]["defaultBackend"] = backend(
                draw(st.sampled_from(["victim", "svc", "missing"])), draw(PORT)
            )
        if draw(st.booleans()):
            vic["spec"]["tls"] = [
                {
                    "hosts": [draw(HOST) or "x"],
                    "secretName": draw(st.sampled_from(["", "tls", "💥"])),
                }
            ]
    if "service" in what:
        svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "victim")
        svc["metadata"]["annotations"] = draw(annotations(SERVICE_ANNOTATIONS))
        port = svc["spec"]["ports"][0]
        port["port"] = draw(st.integers(-5, 70_000))
        port["name"] = draw(st.sampled_from(["http", "web", "", "é"]) | TEXT)
        port["targetPort"] = draw(PORT)
        if draw(st.booleans()):
            port["nodePort"] = draw(st.integers(-5, 70_000))
        svc["spec"]["type"] = draw(
            st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]) | TEXT
        )
    if "slice" in what:
        es = next(
            d for d in docs if d["kind"] == "EndpointSlice" and d["metadata"]["name"] == "victim-a"
        )
        addrs = draw(
            st.lists(
                st.sampled_from(
                    ["10.0.100.30", "10.0.100.30", "::1", "fe80::1", "999.1.1.1", "", "a"]
                )
                | TEXT,
                max_size=6,
            )
        )
        es["endpoints"] = [
            {
                "addresses": [a],
                "conditions": {"ready": draw(st.booleans()), "terminating": draw(st.booleans())},
            }
            for a in addrs
        ]
        es["ports"] = [
            {
                "name": draw(st.sampled_from(["http", "web", ""]) | TEXT),
                "port": draw(st.integers(-5, 70_000)),
                "protocol": draw(st.sampled_from(["TCP", "UDP", "SCTP"])),
            }
        ]
        es["addressType"] = draw(st.sampled_from(["IPv4", "IPv6", "FQDN"]))
    return Fuzzed(docs)


# --- running the model ------------------------------------------------------------------------

OBJECT_RE = re.compile(
    r"^(Ingress|Service|EndpointSlice|IngressClass|IngressClassParams|Secret)/\S+"
)


@dataclass
class Outcome:
    parsed: bool  # False: an object is refused before the model (a ManifestError naming it)
    results: list[BuildResult] = field(default_factory=list)
    errors: list[InvalidInputError] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)  # members left out


def parse(docs: list[dict[str, Any]]) -> ObjectSet | None:
    from albctl.errors import ManifestError

    out = ObjectSet()
    try:
        parse_documents([json.loads(json.dumps(d)) for d in docs], "fuzz", out)
    except ManifestError as exc:
        # refused before the model, naming kind/name and field
        assert re.search(r"fuzz: \w+/\S+: field \S+", str(exc)), str(exc)
        return None
    return out


def run_model(docs: list[dict[str, Any]], settings: BuildSettings | None = None) -> Outcome:
    """Group and build every group of ``docs``: only InvalidInputError may come out."""
    objs = parse(docs)
    if objs is None:
        return Outcome(parsed=False)
    s = settings or BuildSettings(cluster_name="fuzz")
    out = Outcome(parsed=True)
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, s)
    for g in grouping.groups.values():
        out.errors += list(g.invalid.values())
        out.invalid |= set(g.invalid)
        try:
            res = build_group(
                GroupInput(
                    g,
                    {x.key: x for x in objs.services},
                    objs.endpoint_slices,
                    objs.nodes,
                    inventory(),
                    s,
                    secrets={x.key: x for x in objs.secrets},
                    now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                )
            )
        except InvalidInputError as exc:  # allowed: an error naming object and field
            out.errors.append(exc)
            continue
        out.results.append(res)
        out.errors += list(res.invalid.values()) + list(res.secret_errors)
        out.invalid |= set(res.invalid)
        if res.group_error is not None:
            out.errors.append(res.group_error)
            out.invalid |= {m.key for m in g.members}
    for err in out.errors:
        check_error(err)
    return out


def check_error(err: InvalidInputError) -> None:
    """An error names the object and the field."""
    assert isinstance(err, InvalidInputError), repr(err)
    assert OBJECT_RE.match(err.obj), f"no object named: {err.obj!r} ({err})"
    assert err.field and err.field.strip(), f"no field named: {err}"
    assert err.message and err.message.strip(), f"no message: {err}"


@dataclass
class Tally:
    examples: int = 0
    refused_before_model: int = 0
    invalid_victim: int = 0
    valid_victim: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by field kind

    def add(self, o: Outcome, victim: str = "fuzz/victim") -> None:
        self.examples += 1
        if not o.parsed:
            self.refused_before_model += 1
            return
        if victim in o.invalid:
            self.invalid_victim += 1
        else:
            self.valid_victim += 1
        for e in o.errors:
            self.errors[e.field.split("[")[0][:60]] += 1
