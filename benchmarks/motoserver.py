"""A moto server for the benchmarks, in its own process, recording when each call arrived.

    python benchmarks/motoserver.py --port 5000 [--moto-as-is]

Two things differ from ``moto_server``, both about moto, not about albctl:

- Requests are served one at a time. moto's backends are not thread-safe: a GetResources
  iterating the load balancers while another thread creates one fails with a 500
  ("OrderedDict mutated during iteration"). AWS has no such failure to measure.
- ``addresses.private-ip-address`` matches secondary addresses too, as in AWS (moto: the
  primary address only).
- EC2 tags are looked up by resource id. moto's ``TaggedEC2Resource.get_tags`` scans every
  EC2 tag of the account for each resource it describes, so a DescribeSecurityGroups or a
  GetResources costs (resources x tags): with 1,000 groups (1,000 security groups) one call
  takes seconds, whatever the client asks. The index returns the same tags in the same order.
  ``--moto-as-is`` turns both off.

``--latency-ms N`` holds every AWS request N ms before it is served (outside the one-at-a-time
lock, so concurrent requests wait together), as the round trip to a real AWS endpoint does: a
benchmark can then show what concurrency (workers, replicas) buys when AWS latency, not CPU,
bounds the work.

``GET /_bench/calls?since=T`` answers ``[[time, action, user agent, seconds served], ...]`` for the calls that
arrived after T (``time.time()``), so a benchmark can time an event against the AWS call it
caused without polling AWS.
"""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

Start = Callable[..., Any]


def index_ec2_tags() -> None:
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    def get_tags(self: Any) -> list[dict[str, str]]:
        if not self.id:
            return []
        tags = self.ec2_backend.tags.get(self.id) or {}
        kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
        return [
            {"resource_id": self.id, "key": k, "value": v, "resource_type": kind}
            for k, v in tags.items()
        ]

    TaggedEC2Resource.get_tags = get_tags  # type: ignore[method-assign]


def match_secondary_addresses() -> None:
    """AWS's ``addresses.private-ip-address`` filter matches every private address of an
    interface; moto's only the primary one, so each pod IP lookup misses and albctl reads the
    node's interfaces instead (every pod IP of the node, in each answer)."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend

    original = NetworkInterfaceBackend.get_all_network_interfaces
    key = "addresses.private-ip-address"

    def get_all(self: Any, eni_ids: Any = None, filters: Any = None) -> Any:
        wanted = set((filters or {}).get(key) or [])
        if not wanted:
            return original(self, eni_ids, filters)
        rest = {k: v for k, v in filters.items() if k != key}
        return [
            eni
            for eni in original(self, eni_ids, rest)
            if wanted & {a["PrivateIpAddress"] for a in eni.private_ip_addresses}
        ]

    NetworkInterfaceBackend.get_all_network_interfaces = get_all  # type: ignore[method-assign]


class Recorder:
    """WSGI middleware: one request at a time, and the time and action of each."""

    def __init__(self, app: Callable[..., Iterable[bytes]], latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency
        self.lock = threading.Lock()
        self.calls: list[tuple[float, str, str, float]] = []

    def __call__(self, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/_bench/calls":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            since = float(query.get("since", ["0"])[0])
            with self.lock:
                body = json.dumps([c for c in self.calls if c[0] > since]).encode()
            start("200 OK", [("Content-Type", "application/json")])
            return [body]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rpartition(".")[2] if target else ""
        if not action and raw.startswith(b"Action="):
            action = raw[7:].split(b"&", 1)[0].decode()
        agent = environ.get("HTTP_USER_AGENT", "")
        if self.latency and action:
            time.sleep(self.latency)
        with self.lock:
            arrived = time.time()
            body = list(self.app(environ, start))
            served = time.time() - arrived
            self.calls.append((arrived, action, agent.split(" ")[-1], served))
            return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--moto-as-is", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    if not args.moto_as_is:
        index_ec2_tags()
        match_secondary_addresses()
    app = Recorder(DomainDispatcherApplication(create_backend_app), args.latency_ms / 1000)
    server = make_server("127.0.0.1", args.port, app, True, request_handler=MotoRequestHandler)
    print(f"listening on {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
