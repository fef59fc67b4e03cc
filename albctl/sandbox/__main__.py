"""``python -m albctl.sandbox``: run the in-memory API server in the foreground.

For local demos and manual kubectl sessions; ``albctl sandbox`` calls the same
:meth:`SandboxServer.serve_forever_until_signal`.
"""

from __future__ import annotations

import argparse
import logging

from albctl.sandbox.server import SandboxServer, parse_service_address


def _service_address(text: str) -> tuple[str, tuple[str, int]]:
    try:
        return parse_service_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m albctl.sandbox",
        description="In-memory Kubernetes API server for albctl (kubectl and client compatible).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument(
        "--kubeconfig",
        default="sandbox.kubeconfig",
        help="where to write a kubeconfig pointing at the server",
    )
    parser.add_argument(
        "--history-size", type=int, default=10000, help="watch events kept for resuming watches"
    )
    parser.add_argument(
        "--bookmark-interval",
        type=float,
        default=1.0,
        help="seconds between BOOKMARK events on watches that allow them",
    )
    parser.add_argument(
        "--service-address",
        action="append",
        type=_service_address,
        default=[],
        metavar="NS/NAME=HOST:PORT",
        help="call admission webhooks of Service NS/NAME at HOST:PORT (repeatable); "
        "otherwise the Service's EndpointSlices are used",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    server = SandboxServer(
        args.host,
        args.port,
        history_size=args.history_size,
        bookmark_interval=args.bookmark_interval,
        service_addresses=dict(args.service_address),
    )
    server.serve_forever_until_signal(args.kubeconfig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
