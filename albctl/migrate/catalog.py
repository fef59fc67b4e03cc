"""ingress-nginx annotations albctl cannot express, with why and the AWS-side way."""

from __future__ import annotations

from albctl.migrate.draft import Draft
from albctl.migrate.report import NGINX

_AUTH = (
    "albctl does not support authentication actions yet; ALB's authenticate-oidc and "
    "authenticate-cognito differ from nginx's auth",
    "an ALB authenticate-oidc / authenticate-cognito action, or auth in the application",
)
_SNIPPET = ("raw nginx configuration: never interpreted", None)
_RATE = (
    "ALB has no rate limiting",
    "an AWS WAF rate-based rule on the load balancer (alb.ingress.kubernetes.io/wafv2-acl-arn)",
)
_CORS = (
    "albctl does not set listener attributes yet; nginx adds the CORS headers itself",
    "ALB listener attributes routing.http.response.access_control_*, or CORS in the application",
)
_BUFFER = ("nginx buffering and HTTP tuning: ALB has no such setting and buffers on its own", None)
_MTLS = (
    "client certificate authentication: albctl does not support mutual-authentication yet",
    "ALB mutual TLS with a trust store (verify mode)",
)
_WAF = ("ALB has no ModSecurity", "AWS WAF managed rule groups (wafv2-acl-arn)")

CATALOG: dict[str, tuple[str, str | None]] = {
    "auth-url": _AUTH,
    "auth-signin": _AUTH,
    "auth-signin-redirect-param": _AUTH,
    "auth-method": _AUTH,
    "auth-response-headers": _AUTH,
    "auth-request-redirect": _AUTH,
    "auth-cache-key": _AUTH,
    "auth-cache-duration": _AUTH,
    "auth-proxy-set-headers": _AUTH,
    "auth-always-set-cookie": _AUTH,
    "auth-keepalive": _AUTH,
    "enable-global-auth": _AUTH,
    "auth-type": ("ALB has no basic or digest authentication", _AUTH[1]),
    "auth-secret": ("ALB has no basic or digest authentication", _AUTH[1]),
    "auth-secret-type": ("ALB has no basic or digest authentication", _AUTH[1]),
    "auth-realm": ("ALB has no basic or digest authentication", _AUTH[1]),
    "satisfy": ("ALB has no basic or digest authentication", None),
    "auth-tls-secret": _MTLS,
    "auth-tls-verify-client": _MTLS,
    "auth-tls-verify-depth": _MTLS,
    "auth-tls-error-page": _MTLS,
    "auth-tls-pass-certificate-to-upstream": _MTLS,
    "auth-tls-match-cn": _MTLS,
    "configuration-snippet": _SNIPPET,
    "server-snippet": _SNIPPET,
    "stream-snippet": _SNIPPET,
    "auth-snippet": _SNIPPET,
    "modsecurity-snippet": _SNIPPET,
    "limit-rps": _RATE,
    "limit-rpm": _RATE,
    "limit-connections": _RATE,
    "limit-burst-multiplier": _RATE,
    "limit-rate": _RATE,
    "limit-rate-after": _RATE,
    "limit-whitelist": _RATE,
    "limit-allowlist": _RATE,
    "global-rate-limit": _RATE,
    "global-rate-limit-window": _RATE,
    "global-rate-limit-key": _RATE,
    "global-rate-limit-ignored-cidrs": _RATE,
    "enable-cors": _CORS,
    "cors-allow-origin": _CORS,
    "cors-allow-methods": _CORS,
    "cors-allow-headers": _CORS,
    "cors-expose-headers": _CORS,
    "cors-allow-credentials": _CORS,
    "cors-max-age": _CORS,
    "custom-http-errors": ("ALB does not intercept error responses of targets", None),
    "default-backend": (
        "ingress-nginx uses this Service when the rule's Service has no ready endpoints (and "
        "for custom-http-errors); ALB has no failover between target groups (with no healthy "
        "target it sends to every registered target)",
        "spec.defaultBackend for requests no rule matches",
    ),
    "ssl-passthrough": ("ALB terminates TLS", "a Network Load Balancer with a TLS passthrough"),
    "upstream-vhost": (
        "albctl does not support host header rewrite transforms yet",
        "an ALB host-header rewrite transform",
    ),
    "x-forwarded-prefix": ("ALB does not add X-Forwarded-Prefix", None),
    "enable-modsecurity": _WAF,
    "enable-owasp-core-rules": _WAF,
    "modsecurity-transaction-id": _WAF,
    "upstream-hash-by": ("ALB has no consistent hashing", "target group stickiness (affinity)"),
    "upstream-hash-by-subset": ("ALB has no consistent hashing", None),
    "upstream-hash-by-subset-size": ("ALB has no consistent hashing", None),
    "proxy-buffering": _BUFFER,
    "proxy-buffer-size": _BUFFER,
    "proxy-buffers-number": _BUFFER,
    "proxy-max-temp-file-size": _BUFFER,
    "proxy-request-buffering": _BUFFER,
    "client-body-buffer-size": _BUFFER,
    "proxy-http-version": _BUFFER,
    "connection-proxy-header": _BUFFER,
    "proxy-next-upstream": ("ALB does not retry a request on another target", None),
    "proxy-next-upstream-timeout": ("ALB does not retry a request on another target", None),
    "proxy-next-upstream-tries": ("ALB does not retry a request on another target", None),
    "proxy-redirect-from": ("ALB does not rewrite response headers", None),
    "proxy-redirect-to": ("ALB does not rewrite response headers", None),
    "proxy-cookie-domain": ("ALB does not rewrite response cookies", None),
    "proxy-cookie-path": ("ALB does not rewrite response cookies", None),
    "proxy-ssl-secret": ("ALB does not present client certificates to targets", None),
    "proxy-ssl-verify": ("ALB does not verify target certificates", None),
    "proxy-ssl-verify-depth": ("ALB does not verify target certificates", None),
    "proxy-ssl-ciphers": ("ALB chooses the TLS settings towards targets", None),
    "proxy-ssl-protocols": ("ALB chooses the TLS settings towards targets", None),
    "proxy-ssl-name": ("ALB chooses the TLS settings towards targets", None),
    "proxy-ssl-server-name": ("ALB chooses the TLS settings towards targets", None),
    "ssl-ciphers": (
        "ALB uses security policies, not cipher lists",
        "alb.ingress.kubernetes.io/ssl-policy",
    ),
    "ssl-prefer-server-ciphers": (
        "ALB uses security policies",
        "alb.ingress.kubernetes.io/ssl-policy",
    ),
    "enable-access-log": (
        "ALB access logs are set per load balancer",
        "load-balancer-attributes access_logs.s3.enabled=true,access_logs.s3.bucket=...",
    ),
    "enable-rewrite-log": ("nginx debugging only", None),
    "enable-opentracing": ("ALB adds X-Amzn-Trace-Id instead", None),
    "enable-opentelemetry": ("ALB adds X-Amzn-Trace-Id instead", None),
    "opentracing-trust-incoming-span": ("ALB adds X-Amzn-Trace-Id instead", None),
    "opentelemetry-trust-incoming-span": ("ALB adds X-Amzn-Trace-Id instead", None),
    "http2-push-preload": ("ALB does not push", None),
    "mirror-target": ("ALB does not mirror requests", None),
    "mirror-request-body": ("ALB does not mirror requests", None),
    "mirror-host": ("ALB does not mirror requests", None),
    "from-to-www-redirect": (
        "not converted: add a rule for the www host with a redirect action",
        "alb.ingress.kubernetes.io/actions.* redirect with host",
    ),
    "preserve-trailing-slash": ("ALB's HTTPS redirect keeps the path as it is", None),
    "service-upstream": (
        "ALB sends to the pods (target-type ip), not the Service's cluster IP",
        None,
    ),
    "client-max-body-size": ("ALB has no body limit", None),
    "affinity-canary-behavior": ("only on a canary with affinity", None),
}

# canary annotations ingress-nginx still reads on a canary Ingress
_CANARY_OWN = ("canary", "load-balance", "upstream-hash-by", "affinity", "session-cookie")


def report_rest(d: Draft) -> None:
    """A finding for every nginx annotation of ``d`` that has none yet."""
    done = {f.annotation for f in d.report.findings}
    for key in sorted(d.annotations):
        if not key.startswith(NGINX) or key in done:
            continue
        name = key.removeprefix(NGINX)
        if d.canary and not name.startswith(_CANARY_OWN):
            d.report.add(
                key, "mapped", "ignored on a canary Ingress (ingress-nginx uses the main Ingress's)"
            )
        elif name in CATALOG:
            why, alternative = CATALOG[name]
            d.report.add(key, "unsupported", why, alternative=alternative)
        elif d.canary:
            d.report.add(
                key,
                "unsupported",
                "the canary's own setting: the merged rule uses the main Ingress's",
            )
        else:
            d.report.add(key, "unsupported", "not an annotation albctl's migration knows")
