"""Annotations about the backends: protocol, session affinity, balancing, timeouts, body size."""

from __future__ import annotations

import re

from albctl.migrate.draft import Draft
from albctl.migrate.report import NGINX, Status

ALB = "alb.ingress.kubernetes.io/"
DEFAULT_STICKY_SECONDS = 86400
IDLE_KEY = "idle_timeout.timeout_seconds"


def _n(name: str) -> str:
    return NGINX + name


def backend_protocol(d: Draft) -> None:
    value = d.nginx("backend-protocol")
    if value is None:
        return
    up = value.upper()
    name = _n("backend-protocol")
    if up == "HTTP":
        d.report.add(name, "mapped", "HTTP to the targets (albctl's default)")
    elif up == "HTTPS":
        d.alb[ALB + "backend-protocol"] = "HTTPS"
        d.report.add(name, "mapped", "HTTPS to the targets", (ALB + "backend-protocol: HTTPS",))
    elif up in ("GRPC", "GRPCS"):
        proto = "HTTPS" if up == "GRPCS" else "HTTP"
        d.alb[ALB + "backend-protocol"] = proto
        d.alb[ALB + "backend-protocol-version"] = "GRPC"
        alb = (ALB + f"backend-protocol: {proto}", ALB + "backend-protocol-version: GRPC")
        if d.tls or d.flag("force-ssl-redirect"):
            d.report.add(name, "mapped", f"gRPC over {proto} to the targets", alb)
        else:
            d.report.add(
                name,
                "approximated",
                "ALB serves gRPC on HTTPS listeners only: this Ingress has no spec.tls, so "
                "clients must use TLS with a certificate albctl finds in ACM for its hosts",
                alb,
            )
    elif up == "AUTO_HTTP":
        d.report.add(
            name, "approximated", "HTTP to the targets (ALB has no per-request protocol choice)"
        )
    else:
        d.report.add(
            name,
            "unsupported",
            f"{value}: ALB target groups speak HTTP, HTTPS or gRPC only",
            alternative="run an HTTP front for the application",
        )


def _tg_attribute(d: Draft, key: str, value: str) -> None:
    name = ALB + "target-group-attributes"
    current = dict(item.split("=", 1) for item in d.alb.get(name, "").split(",") if "=" in item)
    current[key] = value
    d.alb[name] = ",".join(f"{k}={v}" for k, v in current.items())


def sticky_seconds(d: Draft) -> int:
    for key in ("session-cookie-max-age", "session-cookie-expires"):
        raw = d.nginx(key)
        if raw and raw.isdigit():
            return max(1, min(int(raw), 604800))
    return DEFAULT_STICKY_SECONDS


_COOKIE_DETAILS = {
    "session-cookie-name": "ALB's stickiness cookie is AWSALB (and AWSALBCORS), not {value!r}",
    "session-cookie-path": "ALB sets its cookie for the whole site; path {value!r} is not used",
    "session-cookie-domain": "ALB sets its cookie for the host; domain {value!r} is not used",
    "session-cookie-samesite": "ALB sets AWSALB without SameSite and AWSALBCORS with "
    "SameSite=None; {value!r} is not used",
    "session-cookie-secure": "ALB decides the Secure flag of AWSALBCORS itself",
    "session-cookie-conditional-samesite-none": "ALB sets AWSALBCORS with SameSite=None for "
    "every browser",
    "session-cookie-change-on-failure": "ALB moves a session to a healthy target when its "
    "target fails (as with 'true')",
}


def affinity(d: Draft) -> None:
    mode = d.nginx("affinity")
    cookies = [
        k
        for k in (
            *_COOKIE_DETAILS,
            "session-cookie-max-age",
            "session-cookie-expires",
            "affinity-mode",
        )
        if d.nginx(k) is not None
    ]
    if mode is None:
        for k in cookies:
            d.report.add(_n(k), "mapped", "no effect without nginx.ingress.kubernetes.io/affinity")
        return
    if mode != "cookie":
        d.report.add(_n("affinity"), "unsupported", f"affinity {mode!r}: only 'cookie' exists")
        return
    seconds = sticky_seconds(d)
    _tg_attribute(d, "stickiness.enabled", "true")
    _tg_attribute(d, "stickiness.type", "lb_cookie")
    _tg_attribute(d, "stickiness.lb_cookie.duration_seconds", str(seconds))
    alb = (ALB + "target-group-attributes: stickiness.type=lb_cookie",)
    d.report.add(
        _n("affinity"),
        "approximated",
        "target group stickiness with ALB's own cookie (lb_cookie): a client keeps its target, "
        "but the cookie is ALB's, not one nginx would read",
        alb,
    )
    for k in cookies:
        value = d.nginx(k) or ""
        if k in ("session-cookie-max-age", "session-cookie-expires"):
            d.report.add(_n(k), "mapped", f"stickiness lasts {seconds} s", alb)
        elif k == "affinity-mode":
            status: Status = "mapped" if value == "persistent" else "approximated"
            d.report.add(
                _n(k),
                status,
                "ALB keeps a session on its target until the target leaves or fails "
                "(nginx's 'persistent'); scaling out does not rebalance sessions",
            )
        else:
            d.report.add(_n(k), "approximated", _COOKIE_DETAILS[k].format(value=value))
    if d.nginx("session-cookie-max-age") is None and d.nginx("session-cookie-expires") is None:
        d.report.add(
            _n("affinity"),
            "approximated",
            f"nginx's cookie lasts for the browser session; ALB's cookie lasts {seconds} s",
        )


def load_balance(d: Draft) -> None:
    value = d.nginx("load-balance")
    if value is None:
        return
    name = _n("load-balance")
    if value == "round_robin":
        _tg_attribute(d, "load_balancing.algorithm.type", "round_robin")
        d.report.add(name, "mapped", "round robin", (ALB + "target-group-attributes",))
    elif value == "ewma":
        _tg_attribute(d, "load_balancing.algorithm.type", "least_outstanding_requests")
        d.report.add(
            name,
            "approximated",
            "least outstanding requests, ALB's nearest to nginx's latency-weighted EWMA",
            (ALB + "target-group-attributes",),
        )
    else:
        d.report.add(name, "unsupported", f"{value!r}: not an ALB algorithm")


_SIZE = re.compile(r"^(\d+)([kKmMgG]?)$")


def timeouts(d: Draft) -> int | None:
    """The idle timeout this Ingress asks for (seconds), reported; the group sets the value."""
    wanted: list[int] = []
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        raw = d.nginx(key)
        if raw is None:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= 4000:
            d.report.add(_n(key), "unsupported", f"{raw!r}: expected seconds, 1..4000 on ALB")
            continue
        wanted.append(int(raw))
        d.report.add(
            _n(key),
            "approximated",
            "ALB's idle timeout (load balancer attribute idle_timeout.timeout_seconds): one "
            "value for the whole load balancer, the largest its Ingresses ask for; it bounds the "
            "time without data in either direction",
            (ALB + f"load-balancer-attributes: {IDLE_KEY}",),
        )
    raw = d.nginx("proxy-connect-timeout")
    if raw is not None:
        d.report.add(
            _n("proxy-connect-timeout"),
            "unsupported",
            "ALB's connection timeout to targets is fixed (10 s) and cannot be set",
        )
    return max(wanted) if wanted else None


def body_size(d: Draft) -> None:
    raw = d.nginx("proxy-body-size")
    if raw is None:
        return
    m = _SIZE.match(raw)
    limit = "no limit" if raw == "0" else raw
    d.report.add(
        _n("proxy-body-size"),
        "approximated" if m else "unsupported",
        f"ALB has no request body limit (nginx: {limit}); larger bodies reach the service "
        "instead of a 413",
        alternative="an AWS WAF size-constraint rule (alb.ingress.kubernetes.io/wafv2-acl-arn)",
    )
