"""Providers routing every operation of a service to LocalStack's bundled moto.

LocalStack imports this module only through the entry points in ``pyproject.toml``; the
``localstack`` imports are therefore available at run time but not in albctl's own venv.
These are LocalStack internals (``Service.for_provider``, ``aws_provider``, ``call_moto``,
``load_service``); they were checked against localstack-core 4.13.1 and 2026.3.0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localstack.services.plugins import Service, aws_provider

Handler = Callable[[Any, Any], Any]


class MotoOnlyProvider:
    """A provider with no handlers of its own: it only names its service."""

    def __init__(self, service: str) -> None:
        self.service = service


def moto_dispatch_table(provider: MotoOnlyProvider) -> dict[str, Handler]:
    """One handler per operation of the service's spec, each a plain pass-through to moto."""
    from localstack.aws.spec import load_service
    from localstack.services.moto import call_moto

    def handler(context: Any, _request: Any) -> Any:
        return call_moto(context)

    return {op: handler for op in load_service(provider.service).operation_names}


def _service(name: str) -> Service:
    return Service.for_provider(MotoOnlyProvider(name), dispatch_table_factory=moto_dispatch_table)


@aws_provider(api="elbv2")
def elbv2() -> Service:
    return _service("elbv2")


@aws_provider(api="wafv2")
def wafv2() -> Service:
    return _service("wafv2")


@aws_provider(api="shield")
def shield() -> Service:
    return _service("shield")
