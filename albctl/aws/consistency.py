"""AWS is eventually consistent: what albctl just created may be missing for a while.

Two effects, two guards:

* A call that names a resource created moments ago (RegisterTargets right after
  CreateTargetGroup, CreateListener right after CreateLoadBalancer, AuthorizeSecurityGroupIngress
  right after CreateSecurityGroup...) can answer ``*NotFound``. :class:`ConsistentClients`
  retries such a call, with jittered backoff for a bounded time, when its parameters name a
  resource albctl created recently; any other NotFound is an answer and is raised at once.
* A Describe right after a create can leave the new resource out. A reconcile that planned
  from such a read would create it a second time. :class:`Recent` remembers what albctl
  created, per stack, for a few minutes; the reconciler reads again while a resource it
  created is missing from what AWS shows (see ``Reconciler._fresh``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from albctl.aws.clients import AwsClients, error_code
from albctl.logs import log_event
from albctl.model.observed import ObservedStack

log = logging.getLogger(__name__)

# how long a NotFound of a resource albctl just created is retried
NOT_FOUND_WAIT = 20.0
# id fields of create answers
_ID_KEYS = (
    "LoadBalancerArn",
    "TargetGroupArn",
    "ListenerArn",
    "RuleArn",
    "GroupId",
    "CertificateArn",
)


def is_not_found(exc: BaseException) -> bool:
    code = error_code(exc)
    return "NotFound" in code or code == "ResourceNotFoundException"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def created_ids(response: Any) -> set[str]:
    """The ids a Create/Import answer gives (ARNs, security group ids)."""
    out: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k in _ID_KEYS and isinstance(x, str):
                    out.add(x)
                elif isinstance(x, (dict, list)):
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(response)
    return out


def settle(tries: int = 6, first: float = 0.25) -> Iterator[int]:
    """Attempts at reading something AWS may not list yet, with a growing pause between
    (about 8 seconds in all)."""
    delay = first
    for i in range(tries):
        if i:
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
        yield i


class Recent:
    """Resources albctl created in the last ``ttl`` seconds, by stack (thread-safe)."""

    def __init__(self, ttl: float = 180.0) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[str, float]] = {}  # id -> (stack, created at)
        self._deleted: dict[str, float] = {}  # id -> deleted at
        self._lock = threading.Lock()

    def deleted(self, ids: Iterable[str]) -> None:
        """``ids`` were deleted (a read may list them a while longer)."""
        now = time.monotonic()
        with self._lock:
            for rid in ids:
                self._deleted[rid] = now

    def forget_deleted(self, ids: Iterable[str]) -> None:
        with self._lock:
            for rid in ids:
                self._deleted.pop(rid, None)

    def deleted_ids(self) -> set[str]:
        now = time.monotonic()
        with self._lock:
            self._deleted = {k: t for k, t in self._deleted.items() if now - t <= self.ttl}
            return set(self._deleted)

    def add(self, stack: str, rid: str) -> None:
        with self._lock:
            self._items[rid] = (stack, time.monotonic())

    def discard(self, ids: Iterable[str]) -> None:
        """Forget ``ids``; a load balancer or listener takes its listeners and rules along."""
        with self._lock:
            for rid in ids:
                self._items.pop(rid, None)
                kind, _, path = rid.rpartition(":")[2].partition("/")
                if kind in ("loadbalancer", "listener") and path:
                    for other in [k for k in self._items if f"/{path}/" in k]:
                        self._items.pop(other, None)

    def ids(self, stack: str | None = None) -> set[str]:
        now = time.monotonic()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if now - v[1] <= self.ttl}
            return {k for k, (s, _) in self._items.items() if stack is None or s == stack}

    def __contains__(self, rid: object) -> bool:
        return isinstance(rid, str) and rid in self.ids()


def listed_ids(stack: ObservedStack) -> set[str]:
    """The ids of everything an observation of a stack lists."""
    return (
        {x.arn for x in stack.load_balancers}
        | {x.arn for x in stack.target_groups}
        | {x.arn for x in stack.listeners}
        | {x.arn for x in stack.rules}
        | {x.group_id for x in stack.security_groups}
    )


def unlisted(recent: Recent, stack: ObservedStack) -> set[str]:
    """What makes an observation of a stack stale: resources albctl created recently that it
    does not list (load balancer resources and security groups; certificates are read
    elsewhere), and resources albctl deleted recently that it still lists."""
    mine = {
        rid
        for rid in recent.ids(stack.group_id)
        if rid.startswith("sg-") or ":elasticloadbalancing:" in rid
    }
    listed = listed_ids(stack)
    return (mine - listed) | (listed & recent.deleted_ids())


class _Client:
    """One boto3 client whose operations retry the NotFound of a just-created resource."""

    def __init__(self, client: Any, owner: ConsistentClients) -> None:
        self._client = client
        self._owner = owner
        self._ops = set(client.meta.method_to_api_mapping)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in self._ops:
            return attr
        return lambda **kwargs: self._owner.call(attr, name, kwargs)


class ConsistentClients(AwsClients):
    """``AwsClients`` as seen by an apply: creates are remembered (in ``recent``, under
    ``stack``), and calls naming a resource created moments ago wait out its NotFound.

    A view of existing clients: nothing of ``AwsClients.__init__`` runs again (same session,
    counters and hooks; every other attribute is the wrapped object's)."""

    def __init__(
        self,
        clients: AwsClients,
        stack: str = "",
        recent: Recent | None = None,
        wait: float = NOT_FOUND_WAIT,
    ) -> None:
        self._clients = clients
        self.stack = stack
        self.recent = recent if recent is not None else Recent()
        self.wait = wait
        self.created: set[str] = set()
        self._wrapped: dict[str, _Client] = {}

    def client(self, service: str) -> Any:
        """The wrapped client of ``service``, made on first use like the clients themselves."""
        raw = getattr(self._clients, service.replace("-", ""))
        if service not in ("elbv2", "ec2", "acm", "wafv2", "waf-regional", "shield"):
            return raw
        wrapped = self._wrapped.get(service)
        if wrapped is None:
            wrapped = self._wrapped[service] = _Client(raw, self)
        return wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._clients, name)

    def _fresh_ids(self) -> set[str]:
        return self.created | self.recent.ids()

    def call(self, fn: Any, name: str, kwargs: dict[str, Any]) -> Any:
        deadline = time.monotonic() + self.wait
        delay = 0.2
        while True:
            try:
                resp = fn(**kwargs)
                break
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
                named = set(_strings(kwargs)) & self._fresh_ids()
                if not named or time.monotonic() >= deadline:
                    raise
                log_event(
                    log,
                    "not found yet, retrying",
                    logging.DEBUG,
                    operation=name,
                    resource=sorted(named)[0],
                    code=error_code(exc),
                )
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
        if name.startswith(("create_", "import_")):
            for rid in created_ids(resp):
                if rid not in set(_strings(kwargs)):  # not an id the call only referred to
                    self.created.add(rid)
                    self.recent.add(self.stack, rid)
        elif name.startswith("delete_"):
            named = {x for x in _strings(kwargs) if x.startswith(("arn:", "sg-"))}
            self.recent.discard(named)
            self.recent.deleted(named)
        return resp
