"""A fault-injecting AWS endpoint for tests: an HTTP proxy in front of a moto server.

Point a client's ``AWS_ENDPOINT_URL`` at :attr:`FaultProxy.url`. Every request is forwarded to
the upstream endpoint unchanged, unless a :class:`Rule` matches it; the rule then answers in
place of AWS (or after forwarding, for faults where AWS did the work and the answer is lost):

* ``throttle``: the service's own throttling error in its own wire format: EC2
  ``RequestLimitExceeded`` (HTTP 503, EC2 XML), ELBv2 ``Throttling`` (HTTP 400, query XML),
  JSON services (ACM, WAFv2, tagging) ``ThrottlingException`` (HTTP 400, ``__type``);
* ``error``: any status and code in the service's wire format (500 ``InternalFailure``,
  503 ``ServiceUnavailable``, ``ExpiredToken``...);
* ``drop``: the connection is closed without an answer (before forwarding: AWS never saw the
  request; ``after_forward=True``: AWS did it and the answer is lost);
* ``hang``: the request is held (before or after forwarding) until :meth:`Rule.release` or
  ``seconds`` pass, then the connection is dropped. ``Rule.hit`` is set when it happens: the
  deterministic seam to kill a client at a given step (the Nth CreateTargetGroup...).
  With ``seconds`` it is a timeout as the client sees it: no answer, then a dead connection.

Rules match on the service (signing name: ``elasticloadbalancing``, ``ec2``, ``acm``,
``wafv2``, ``tagging``), the operation, a substring of the request body, the access key that
signed the request, and fire on the ``nth`` match only, at most ``times`` times, and with a
``probability``. Random choices are seeded: the k-th call of an operation matched by a rule
gets the same answer in every run with the same seed, whatever the interleaving of other
operations.

Eventual consistency (:meth:`FaultProxy.eventual_consistency`): a resource just created
(load balancer, target group, listener, rule, security group, imported certificate) is left
out of the next ``hide_for`` Describe/List answers that would have shown it (a Describe by
its id answers the service's NotFound error), and the next ``not_found_for`` calls of each of
the ``not_found_ops`` that name it (by default RegisterTargets: the Register right after a
CreateTargetGroup) answer NotFound without being forwarded.

Optionally (``idempotent_creates=True``) the proxy also gives moto the idempotency AWS
documents and moto lacks: CreateLoadBalancer and CreateTargetGroup with the name of an
existing resource answer that resource instead of making a second one or failing.

Everything seen is recorded: :attr:`FaultProxy.calls` (every request: service, operation,
parameters, status, the fault injected if any) and :attr:`FaultProxy.injected` (what was
injected, by which rule). See ``tests/faults/README.md``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# --- wire formats -----------------------------------------------------------------------------

JSON_SERVICES = {"acm", "wafv2", "tagging", "shield"}
QUERY_NS = {
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
THROTTLE = {
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "json": (400, "ThrottlingException", "Rate exceeded"),
    "query": (400, "Throttling", "Rate exceeded"),
}
EXPIRED = {"ec2": "RequestExpired", "json": "ExpiredTokenException", "query": "ExpiredToken"}


def protocol_of(service: str) -> str:
    if service == "ec2":
        return "ec2"
    return "json" if service in JSON_SERVICES else "query"


def is_mutating(operation: str) -> bool:
    return not operation.startswith(("Describe", "List", "Get"))


def error_body(
    service: str, status: int, code: str, message: str
) -> tuple[int, dict[str, str], bytes]:
    """An error answer as ``service`` writes it: (status, headers, body)."""
    rid = str(uuid.uuid4())
    proto = protocol_of(service)
    if proto == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return (
            status,
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid},
            body,
        )
    if proto == "ec2":
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
        return status, {"Content-Type": "text/xml;charset=UTF-8"}, text.encode()
    ns = QUERY_NS.get(service, "")
    kind = "Receiver" if status >= 500 else "Sender"
    text = (
        f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, text.encode()


# --- requests and records ---------------------------------------------------------------------


@dataclass
class Call:
    """One request the proxy received."""

    seq: int
    time: float
    service: str
    operation: str
    params: dict[str, Any]  # query: {name: value}; JSON: the body
    access_key: str
    body: str
    status: int | None = None  # what the client got; None: no answer (dropped)
    fault: str | None = None  # the fault injected, if any
    rule: str | None = None

    @property
    def mutating(self) -> bool:
        return is_mutating(self.operation)

    def values(self) -> list[str]:
        """Every parameter value (flattened), for finding the ids a call names."""
        out: list[str] = []

        def walk(v: Any) -> None:
            if isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif isinstance(v, str):
                out.append(v)

        walk(self.params)
        return out


@dataclass
class Injection:
    seq: int
    time: float
    service: str
    operation: str
    fault: str
    rule: str
    detail: str = ""


def _parse(headers: Any, body: bytes) -> tuple[str, str, dict[str, Any], str]:
    """(service, operation, params, access key) of a signed AWS request."""
    auth = headers.get("Authorization", "") or ""
    service = access_key = ""
    if "Credential=" in auth:
        cred = auth.split("Credential=", 1)[1].split(",", 1)[0]
        parts = cred.split("/")
        access_key = parts[0]
        if len(parts) >= 4:
            service = parts[3]
    target = headers.get("X-Amz-Target")
    text = body.decode("utf-8", "replace")
    if target:
        try:
            params = json.loads(text) if text else {}
        except ValueError:
            params = {}
        return service, target.rsplit(".", 1)[-1], params, access_key
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
    return service, str(params.get("Action", "")), params, access_key


# --- rules ------------------------------------------------------------------------------------


@dataclass
class Rule:
    """What to inject, and into which calls. Build with the ``FaultProxy`` helpers."""

    fault: str  # throttle | error | drop | hang
    name: str = ""
    operations: frozenset[str] | None = None  # None: every operation
    services: frozenset[str] | None = None
    mutating_only: bool = False
    body_contains: str | None = None
    access_keys: frozenset[str] | None = None
    predicate: Callable[[Call], bool] | None = None
    probability: float = 1.0
    nth: int | None = None  # only the nth matching call (1-based)
    times: int | None = None  # at most this many injections
    after_forward: bool = False  # drop/hang: let AWS do it, lose the answer
    seconds: float | None = None  # hang: give up after this long (a timeout)
    status: int = 500
    code: str = "InternalFailure"
    message: str = "We encountered an internal error. Please try again."
    enabled: bool = True
    matched: int = 0
    fired: int = 0
    hit: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)
    _per_op: Counter[str] = field(default_factory=Counter)

    def release(self) -> None:
        """Let held (``hang``) requests go: their connections are dropped."""
        self._release.set()

    def disable(self) -> None:
        self.enabled = False
        self.release()

    def matches(self, call: Call) -> bool:
        if not self.enabled:
            return False
        if self.services is not None and call.service not in self.services:
            return False
        if self.operations is not None and call.operation not in self.operations:
            return False
        if self.mutating_only and not call.mutating:
            return False
        if self.body_contains is not None and self.body_contains not in call.body:
            return False
        if self.access_keys is not None and call.access_key not in self.access_keys:
            return False
        return not (self.predicate is not None and not self.predicate(call))


class _Consistency:
    """Eventual consistency: new resources hidden from reads and NotFound to some calls."""

    # create operation -> (id element in the answer, NotFound code of the kind)
    CREATES: dict[str, tuple[str, str]] = {
        "CreateLoadBalancer": ("LoadBalancerArn", "LoadBalancerNotFound"),
        "CreateTargetGroup": ("TargetGroupArn", "TargetGroupNotFound"),
        "CreateListener": ("ListenerArn", "ListenerNotFound"),
        "CreateRule": ("RuleArn", "RuleNotFound"),
        "CreateSecurityGroup": ("groupId", "InvalidGroup.NotFound"),
        "ImportCertificate": ("CertificateArn", "ResourceNotFoundException"),
    }
    # list containers of Describe answers and the id element of their entries
    CONTAINERS = {
        "LoadBalancers": "LoadBalancerArn",
        "TargetGroups": "TargetGroupArn",
        "Listeners": "ListenerArn",
        "Rules": "RuleArn",
        "TagDescriptions": "ResourceArn",
        "securityGroupInfo": "groupId",
    }

    def __init__(
        self,
        hide_for: int,
        not_found_for: int,
        creates: Iterable[str],
        not_found_ops: Iterable[str],
    ) -> None:
        self.hide_for = hide_for
        self.not_found_for = not_found_for
        self.creates = set(creates)
        self.not_found_ops = set(not_found_ops)
        self.hidden: dict[str, list[Any]] = {}  # id -> [reads left, NotFound code, op]
        self.refused: dict[tuple[str, str], list[Any]] = {}  # (id, op) -> [left, code]
        self.lock = threading.Lock()

    def created(self, call: Call, body: bytes) -> None:
        spec = self.CREATES.get(call.operation)
        if spec is None or call.operation not in self.creates:
            return
        element, code = spec
        rid = _find_id(body, element, protocol_of(call.service))
        if not rid:
            return
        with self.lock:
            if self.hide_for:
                self.hidden[rid] = [self.hide_for, code, call.operation]
            if self.not_found_for:
                for op in self.not_found_ops:
                    self.refused[(rid, op)] = [self.not_found_for, code]

    def before(self, call: Call) -> tuple[str, str] | None:
        """(code, id) to answer NotFound with, without forwarding."""
        values = set(call.values())
        with self.lock:
            if call.operation in self.not_found_ops:
                for (rid, op), state in self.refused.items():
                    if op == call.operation and state[0] > 0 and rid in values:
                        state[0] -= 1
                        return state[1], rid
            if not call.mutating:
                for rid, state in self.hidden.items():
                    if state[0] > 0 and rid in values:
                        state[0] -= 1
                        return state[1], rid
        return None

    def after(self, call: Call, body: bytes) -> tuple[bytes, list[str]]:
        """The answer of a read with the hidden resources taken out."""
        if call.mutating:
            return body, []
        with self.lock:
            active = {rid for rid, s in self.hidden.items() if s[0] > 0}
        if not active or not any(rid.encode() in body for rid in active):
            return body, []
        proto = protocol_of(call.service)
        if proto == "json":
            return _filter_json(body, active, self)
        return _filter_xml(body, active, self)

    def seen(self, rid: str) -> None:
        with self.lock:
            state = self.hidden.get(rid)
            if state and state[0] > 0:
                state[0] -= 1


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_id(body: bytes, element: str, proto: str) -> str | None:
    if proto == "json":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return None
        v = data.get(element)
        return str(v) if v else None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for el in root.iter():
        if _local(el.tag) == element and el.text:
            return el.text.strip()
    return None


def _filter_xml(body: bytes, active: set[str], ec: _Consistency) -> tuple[bytes, list[str]]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body, []
    removed: list[str] = []
    for parent in root.iter():
        id_el = ec.CONTAINERS.get(_local(parent.tag))
        if id_el is None:
            continue
        for child in list(parent):
            rid = next((c.text.strip() for c in child if _local(c.tag) == id_el and c.text), None)
            if rid in active:
                parent.remove(child)
                removed.append(rid)
    if not removed:
        return body, []
    for rid in set(removed):
        ec.seen(rid)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True), removed


def _filter_json(body: bytes, active: set[str], ec: _Consistency) -> tuple[bytes, list[str]]:
    try:
        data = json.loads(body)
    except ValueError:
        return body, []
    removed: list[str] = []
    for key, value in list(data.items()):
        if isinstance(value, list):
            keep = []
            for item in value:
                rid = item.get("CertificateArn") if isinstance(item, dict) else None
                if rid in active:
                    removed.append(rid)
                else:
                    keep.append(item)
            data[key] = keep
    for rid in set(removed):
        ec.seen(rid)
    return (json.dumps(data).encode() if removed else body), removed


# --- the server -------------------------------------------------------------------------------


class _Dropped(Exception):
    """The connection is closed without an answer."""


class FaultProxy:
    """An AWS endpoint in front of ``upstream`` that injects faults by rule."""

    def __init__(
        self,
        upstream: str,
        seed: int = 0,
        idempotent_creates: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.seed = seed
        self.idempotent_creates = idempotent_creates
        self.rules: list[Rule] = []
        self.calls: list[Call] = []
        self.injected: list[Injection] = []
        self.consistency: _Consistency | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self._httpd = _Server((host, 0), self)
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fault-proxy-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for r in self.rules:
            r.release()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- rules -------------------------------------------------------------------------------

    def add(self, rule: Rule) -> Rule:
        if not rule.name:
            rule.name = f"{rule.fault}-{len(self.rules) + 1}"
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            for r in self.rules:
                r.disable()
            self.rules = []
            self.consistency = None

    def throttle(self, probability: float = 1.0, **match: Any) -> Rule:
        """Throttling errors in each service's own format."""
        return self.add(Rule("throttle", probability=probability, **_match(match)))

    def error(self, status: int = 500, code: str | None = None, **match: Any) -> Rule:
        """An error answer: 500 InternalFailure, 503 ServiceUnavailable, or any code."""
        code = code or {500: "InternalFailure", 503: "ServiceUnavailable"}.get(status, "Error")
        return self.add(Rule("error", status=status, code=code, **_match(match)))

    def expired_token(self, access_keys: Iterable[str], **match: Any) -> Rule:
        """Requests signed with ``access_keys`` answer the service's expired-token error."""
        return self.add(
            Rule(
                "error",
                status=400,
                code="ExpiredToken",  # replaced per service when answered
                message="The security token included in the request is expired",
                access_keys=frozenset(access_keys),
                name=match.pop("name", "expired-token"),
                **_match(match),
            )
        )

    def drop(self, after_forward: bool = False, **match: Any) -> Rule:
        return self.add(Rule("drop", after_forward=after_forward, **_match(match)))

    def hang(self, after_forward: bool = False, seconds: float | None = None, **match: Any) -> Rule:
        return self.add(Rule("hang", after_forward=after_forward, seconds=seconds, **_match(match)))

    def eventual_consistency(
        self,
        hide_for: int = 2,
        not_found_for: int = 1,
        creates: Iterable[str] | None = None,
        not_found_ops: Iterable[str] = ("RegisterTargets",),
    ) -> None:
        self.consistency = _Consistency(
            hide_for,
            not_found_for,
            creates if creates is not None else _Consistency.CREATES,
            not_found_ops,
        )

    # --- records -----------------------------------------------------------------------------

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def counts(self, mutating: bool | None = None) -> Counter[str]:
        return Counter(
            c.operation for c in self.snapshot() if mutating is None or c.mutating == mutating
        )

    def forwarded_mutations(self) -> list[Call]:
        """Mutating calls AWS received (not answered by a fault before forwarding)."""
        return [
            c
            for c in self.snapshot()
            if c.mutating and (c.fault is None or c.fault.endswith("after-forward"))
        ]

    def injected_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(f"{i.fault}:{i.operation}" for i in self.injected)

    def summary(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(i.fault for i in self.injected))

    # --- the request path --------------------------------------------------------------------

    def _record(self, call: Call, fault: str, rule: str, detail: str = "") -> None:
        call.fault = fault
        call.rule = rule
        with self._lock:
            self.injected.append(
                Injection(call.seq, call.time, call.service, call.operation, fault, rule, detail)
            )

    def _choose(self, call: Call) -> Rule | None:
        with self._lock:
            rules = list(self.rules)
        for rule in rules:
            if not rule.matches(call):
                continue
            with self._lock:
                rule.matched += 1
                rule._per_op[call.operation] += 1
                n = rule._per_op[call.operation]
                if rule.nth is not None and rule.matched != rule.nth:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.probability < 1.0:
                    rng = random.Random(f"{self.seed}:{rule.name}:{call.operation}:{n}")
                    if rng.random() >= rule.probability:
                        continue
                rule.fired += 1
            return rule
        return None

    def handle(self, handler: _Handler, method: str, body: bytes) -> None:
        service, op, params, key = _parse(handler.headers, body)
        with self._lock:
            self._seq += 1
            call = Call(
                self._seq,
                time.monotonic(),
                service,
                op,
                params,
                key,
                body.decode("utf-8", "replace"),
            )
            self.calls.append(call)
        rule = self._choose(call) if op else None
        if rule is not None and not rule.after_forward:
            if rule.fault in ("throttle", "error"):
                self._answer_fault(handler, call, rule)
                return
            if rule.fault == "drop":
                self._record(call, "drop", rule.name)
                raise _Dropped
            if rule.fault == "hang":
                self._record(call, "hang", rule.name)
                rule.hit.set()
                rule._release.wait(rule.seconds)
                raise _Dropped
        ec = self.consistency
        if ec is not None and op:
            nf = ec.before(call)
            if nf is not None:
                code, rid = nf
                self._record(call, "not-found", "eventual-consistency", rid)
                status, headers, data = error_body(
                    service, 400, code, f"One or more resources not found: '{rid}'"
                )
                call.status = status
                handler.reply(status, headers, data)
                return
        if self.idempotent_creates and op in ("CreateLoadBalancer", "CreateTargetGroup"):
            existing = self._existing(handler, call)
            if existing is not None:
                self._record(call, "idempotent-create", "idempotent-creates")
                call.status = 200
                handler.reply(200, {"Content-Type": "text/xml"}, existing)
                return
        status, headers, data = self._forward(handler, method, body)
        if ec is not None and op and status == 200:
            ec.created(call, data)
            data, removed = ec.after(call, data)
            if removed:
                self._record(call, "hidden", "eventual-consistency", ",".join(sorted(set(removed))))
        if rule is not None:  # after_forward
            self._record(call, f"{rule.fault}-after-forward", rule.name)
            if rule.fault == "hang":
                rule.hit.set()
                rule._release.wait(rule.seconds)
            elif rule.fault in ("throttle", "error"):
                self._answer_fault(handler, call, rule)
                return
            raise _Dropped
        call.status = status
        handler.reply(status, headers, data)

    def _answer_fault(self, handler: _Handler, call: Call, rule: Rule) -> None:
        proto = protocol_of(call.service)
        if rule.fault == "throttle":
            status, code, message = THROTTLE[proto]
        else:
            status, code, message = rule.status, rule.code, rule.message
            if code == "ExpiredToken":
                code = EXPIRED[proto]
        if not call.fault:
            self._record(
                call, rule.fault if rule.fault == "throttle" else f"{status}:{code}", rule.name
            )
        status, headers, data = error_body(call.service, status, code, message)
        call.status = status
        handler.reply(status, headers, data)

    def _forward(
        self, handler: _Handler, method: str, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            headers = {
                k: v
                for k, v in handler.headers.items()
                if k.lower() not in ("connection", "transfer-encoding", "content-length")
            }
            headers["Content-Length"] = str(len(body))
            conn.request(method, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {
                k: v
                for k, v in resp.getheaders()
                if k.lower()
                not in ("connection", "transfer-encoding", "content-length", "server", "date")
            }
            return resp.status, out, data
        finally:
            conn.close()

    def _upstream_query(self, handler: _Handler, params: dict[str, str]) -> bytes | None:
        body = urllib.parse.urlencode(params).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": handler.headers.get("Authorization", ""),
            "Host": handler.headers.get("Host", ""),
            "X-Amz-Date": handler.headers.get("X-Amz-Date", ""),
        }
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return data if resp.status == 200 else None
        finally:
            conn.close()

    def _existing(self, handler: _Handler, call: Call) -> bytes | None:
        """AWS's answer to a create of something that already exists with that name."""
        name = call.params.get("Name")
        if not name:
            return None
        if call.operation == "CreateLoadBalancer":
            params = {
                "Action": "DescribeLoadBalancers",
                "Version": "2015-12-01",
                "Names.member.1": name,
            }
            kind = "LoadBalancers"
        else:
            params = {
                "Action": "DescribeTargetGroups",
                "Version": "2015-12-01",
                "Names.member.1": name,
            }
            kind = "TargetGroups"
        data = self._upstream_query(handler, params)
        if not data or b"<member>" not in data:
            return None
        text = data.decode()
        start, end = text.find(f"<{kind}>"), text.find(f"</{kind}>")
        if start < 0 or end < 0:
            return None
        inner = text[start : end + len(f"</{kind}>")]
        op = call.operation
        ns = QUERY_NS["elasticloadbalancing"]
        return (
            f'<{op}Response xmlns="{ns}"><{op}Result>{inner}</{op}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{op}Response>"
        ).encode()


def _match(match: dict[str, Any]) -> dict[str, Any]:
    """Rule keyword arguments: ``operations``/``services``/``access_keys`` as sets."""
    out = dict(match)
    for key in ("operations", "services", "access_keys"):
        v = out.get(key)
        if isinstance(v, str):
            out[key] = frozenset({v})
        elif v is not None:
            out[key] = frozenset(v)
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        try:
            proxy.handle(self, method, body)
        except _Dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
