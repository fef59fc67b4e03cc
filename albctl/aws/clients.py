"""boto3 clients with adaptive retries, call counting and guarded pagination.

Settings come from the standard boto3 chain (AWS_REGION/AWS_DEFAULT_REGION, credentials,
AWS_ENDPOINT_URL), so the same code runs against AWS, a moto server or LocalStack.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from albctl import __version__
from albctl.errors import AwsError, ConfigError
from albctl.logs import log_event

log = logging.getLogger(__name__)

MAX_PAGES = 1000
THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}

# the credentials that signed the request are no longer valid: resolve the chain again
EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}

# operations that change nothing in AWS
_READ_PREFIXES = ("Describe", "List", "Get")


def is_mutating(operation: str) -> bool:
    return not operation.startswith(_READ_PREFIXES)


CallHook = Callable[[str, str], None]
_SERVICES = (
    "elbv2",
    "ec2",
    "acm",
    "wafv2",
    "waf-regional",
    "shield",
    "resourcegroupstaggingapi",
)


NO_REGION = "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"


def resolve_region(region: str | None, session: boto3.Session | None = None) -> str | None:
    """The region boto3 would use: the given one, else AWS_REGION / AWS_DEFAULT_REGION or the
    profile's region (the standard chain). None when there is none; the instance metadata is
    not asked."""
    if region:
        return region
    session = session or boto3.Session()
    return (
        session.region_name
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or None
    )


class _LazyClient:
    """An AwsClients attribute: the service's client, made on first use (an unused service's
    model is never loaded: a one-shot apply needs ELBv2 and EC2 only)."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service  # botocore's name, when it is not the attribute's

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.service = self.service or name

    def __get__(self, obj: AwsClients | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        assert self.service is not None
        return obj.client(self.service)

    def __set__(self, obj: AwsClients, value: Any) -> None:
        assert self.service is not None
        obj.__dict__[self.service] = value


class AwsClients:
    """ELBv2, EC2, ACM, WAF, Shield and tagging clients sharing one session, counting every
    call."""

    elbv2 = _LazyClient()
    ec2 = _LazyClient()
    acm = _LazyClient()
    wafv2 = _LazyClient()
    # WAF Classic (regional) and Shield Advanced (a global API; botocore resolves its one
    # endpoint from any region)
    wafregional = _LazyClient("waf-regional")
    shield = _LazyClient()
    resourcegroupstaggingapi = _LazyClient()

    def __init__(
        self,
        region: str | None = None,
        session: boto3.Session | None = None,
        user_agent: str = f"albctl/{__version__}",
    ) -> None:
        self.session = session or boto3.Session(region_name=region)
        region = resolve_region(region, self.session)
        if not region:
            raise ConfigError(NO_REGION)
        self.region = region
        self._config = Config(
            region_name=region,
            retries={"mode": "adaptive", "max_attempts": 8},
            user_agent_extra=user_agent,
            connect_timeout=10,
            read_timeout=60,
        )
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._make_lock = threading.Lock()
        self.hooks: list[CallHook] = []
        # run before every attempt of a call, botocore's retries included (after its backoff,
        # as the request is sent): a guard refuses the attempt by raising. A check made once
        # per call (``hooks``) would let a retry go out seconds after the check, when it may
        # no longer hold (the shard or leader Lease lost meanwhile).
        self.guards: list[CallHook] = []
        self.throttle_hooks: list[CallHook] = []
        self._credentials_lock = threading.Lock()
        self._reloaded_at = -1e9
        self._credentials: Any = None  # reloaded ones, for clients made after the reload

    def client(self, service: str) -> Any:
        """The client of ``service``, made on first use."""
        made = self.__dict__.get(service)
        if made is not None:
            return made
        with self._make_lock:
            made = self.__dict__.get(service)
            if made is None:
                made = self.session.client(service, config=self._config)
                if self._credentials is not None:
                    made._request_signer._credentials = self._credentials
                self._hook(made)
                self.__dict__[service] = made
            return made

    def _made(self) -> list[Any]:
        return [c for c in (self.__dict__.get(s) for s in _SERVICES) if c is not None]

    def _hook(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._count)
        service = client.meta.service_model.service_name
        client.meta.events.register(
            "before-send.*.*", functools.partial(self._before_send, service)
        )
        client.meta.events.register("needs-retry.*.*", self._throttled)
        client.meta.events.register("needs-retry.*.*", self._expired)

    def _count(self, model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        op = model.name
        with self._lock:
            self.calls[(service, op)] += 1
        for hook in self.hooks:
            hook(service, op)

    def _before_send(self, service: str, event_name: str = "", **_: Any) -> None:
        # before-send.<service id>.<operation>: an exception raised here ends the call (botocore
        # does not retry it) and nothing is sent
        op = event_name.rsplit(".", 1)[-1]
        for guard in self.guards:
            guard(service, op)

    def _throttled(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        if not response or operation is None:
            return
        code = (response[1] or {}).get("Error", {}).get("Code", "")
        if code in THROTTLE_CODES:
            for hook in self.throttle_hooks:
                hook(operation.service_model.service_name, operation.name)

    def _expired(self, response: Any = None, **_: Any) -> float | None:
        """needs-retry: an expired token is retried at once when the chain gives new
        credentials (botocore signs every attempt anew); else the error stands."""
        if not response:
            return None
        code = (response[1] or {}).get("Error", {}).get("Code", "")
        if code not in EXPIRED_CODES:
            return None
        return 0.0 if self.reload_credentials() else None

    def reload_credentials(self) -> bool:
        """Resolve the credential chain again (environment, shared files, web identity,
        container or instance role) and sign with it from now on, without a restart.

        botocore only refreshes credentials it knows will expire, and only when they are
        about to; credentials revoked or rotated earlier (or static ones rewritten in the
        shared credentials file) are picked up here. True when new credentials are in use
        (or were put in use by another thread a moment ago)."""
        with self._credentials_lock:
            if time.monotonic() - self._reloaded_at < 5.0:
                return True
            fresh = botocore.session.Session(profile=self.session.profile_name).get_credentials()
            if fresh is None:
                return False
            signers = [getattr(c, "_request_signer", None) for c in self._made()]
            current = getattr(signers[0], "_credentials", None) if signers else None
            if current is not None and (
                current.get_frozen_credentials() == fresh.get_frozen_credentials()
            ):
                return False
            for signer in signers:
                if signer is not None:
                    signer._credentials = fresh
            self._credentials = fresh
            self._reloaded_at = time.monotonic()
        log_event(
            log,
            "AWS credentials expired: reloaded from the credential chain",
            logging.WARNING,
            source=getattr(fresh, "method", ""),
        )
        return True

    def mutating_calls(self) -> Counter[tuple[str, str]]:
        return Counter({k: v for k, v in self.calls.items() if is_mutating(k[1])})

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()


def paginate(
    call: Callable[..., Any],
    result_key: str,
    marker_in: str = "Marker",
    marker_out: str = "NextMarker",
    **kwargs: Any,
) -> Iterator[Any]:
    """Follow Marker/NextMarker pages; stop on a repeated marker (a broken backend)."""
    seen: set[str] = set()
    marker: str | None = None
    for _ in range(MAX_PAGES):
        args = dict(kwargs)
        if marker:
            args[marker_in] = marker
        page = call(**args)
        yield from page.get(result_key, [])
        marker = page.get(marker_out)
        if not marker or marker in seen:
            return
        seen.add(marker)
    log.warning("pagination stopped", extra={"pages": MAX_PAGES, "result": result_key})


def aws_error(exc: Exception, doing: str) -> AwsError:
    """Turn a botocore error into our own, with what was being done."""
    if isinstance(exc, NoCredentialsError):
        return AwsError(f"{doing}: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_PROFILE)")
    if isinstance(exc, NoRegionError):
        return AwsError(f"{doing}: no AWS region (set AWS_REGION)")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return AwsError(f"{doing}: {err.get('Code', 'Error')}: {err.get('Message', str(exc))}")
    if isinstance(exc, BotoCoreError):
        return AwsError(f"{doing}: {exc}")
    return AwsError(f"{doing}: {exc}")


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""
