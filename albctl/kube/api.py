"""A small JSON REST layer over the official kubernetes client.

The official client handles configuration (kubeconfig, in-cluster service account, TLS,
tokens); albctl talks to the API with plain JSON dicts through it, because the controller
needs the whole objects (annotations of any kind, status subresources, watches with
bookmarks) and parses them into its own pydantic models. Errors become our own types.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from albctl import __version__
from albctl.errors import AlbctlError, ConfigError

log = logging.getLogger(__name__)


class KubeError(AlbctlError):
    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"Kubernetes API: {status} {reason}: {message}")


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    pass


class Gone(KubeError):
    pass


class Unreachable(KubeError):
    pass


@dataclass(frozen=True)
class Kind:
    """Where a kind lives in the API."""

    group: str
    version: str
    plural: str
    namespaced: bool
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, sub: str | None = None
    ) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


INGRESS = Kind("networking.k8s.io", "v1", "ingresses", True, "Ingress")
INGRESS_CLASS = Kind("networking.k8s.io", "v1", "ingressclasses", False, "IngressClass")
SERVICE = Kind("", "v1", "services", True, "Service")
NODE = Kind("", "v1", "nodes", False, "Node")
POD = Kind("", "v1", "pods", True, "Pod")
EVENT = Kind("", "v1", "events", True, "Event")
SECRET = Kind("", "v1", "secrets", True, "Secret")
ENDPOINT_SLICE = Kind("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice")
LEASE = Kind("coordination.k8s.io", "v1", "leases", True, "Lease")
INGRESS_CLASS_PARAMS = Kind(
    "albctl.io", "v1beta1", "ingressclassparams", False, "IngressClassParams"
)
TARGET_GROUP_BINDING = Kind(
    "albctl.io", "v1beta1", "targetgroupbindings", True, "TargetGroupBinding"
)
LOAD_BALANCER_GROUP = Kind("albctl.io", "v1beta1", "loadbalancergroups", False, "LoadBalancerGroup")
NAMESPACE = Kind("", "v1", "namespaces", False, "Namespace")
# the AWS Load Balancer Controller's bindings, read when taking its stacks over
LBC_TARGET_GROUP_BINDING = Kind(
    "elbv2.k8s.aws", "v1beta1", "targetgroupbindings", True, "TargetGroupBinding"
)
# the Gateway API (gateway.networking.k8s.io): watched when its CRDs are installed
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_CLASS = Kind(GATEWAY_API_GROUP, "v1", "gatewayclasses", False, "GatewayClass")
GATEWAY = Kind(GATEWAY_API_GROUP, "v1", "gateways", True, "Gateway")
HTTP_ROUTE = Kind(GATEWAY_API_GROUP, "v1", "httproutes", True, "HTTPRoute")
GRPC_ROUTE = Kind(GATEWAY_API_GROUP, "v1", "grpcroutes", True, "GRPCRoute")
ROUTE_KINDS = {"HTTPRoute": HTTP_ROUTE, "GRPCRoute": GRPC_ROUTE}
REFERENCE_GRANT = Kind(GATEWAY_API_GROUP, "v1beta1", "referencegrants", True, "ReferenceGrant")


def _error(status: int, reason: str, body: str) -> KubeError:
    message = body
    try:
        data = json.loads(body)
        message = data.get("message", body)
        reason = data.get("reason", reason) or reason
    except (ValueError, AttributeError):
        pass
    cls = {404: NotFound, 409: Conflict, 410: Gone}.get(status, KubeError)
    return cls(status, reason, message)


class KubeApi:
    """JSON requests to the Kubernetes API, configured like kubectl."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        timeout: float = 30,
        user_agent: str = f"albctl/{__version__}",
        retries: int | None = None,
    ) -> None:
        """``retries``: connection-level retries of one request (None: urllib3's default, 3;
        0 for requests that must fail within ``timeout``, such as Lease renewals)."""
        configuration = k8s_client.Configuration()
        configuration.retries = retries
        try:
            if kubeconfig:
                k8s_config.load_kube_config(
                    config_file=kubeconfig, context=context, client_configuration=configuration
                )  # type: ignore[no-untyped-call]
            else:
                try:
                    k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                except k8s_config.ConfigException:
                    k8s_config.load_kube_config(context=context, client_configuration=configuration)  # type: ignore[no-untyped-call]
        except (k8s_config.ConfigException, OSError) as exc:
            raise ConfigError(f"cannot load Kubernetes configuration: {exc}") from exc
        self.host = configuration.host
        self.api = k8s_client.ApiClient(configuration)
        self.api.user_agent = user_agent
        self.timeout = timeout

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            m, url, hdrs, data, _ = self.api.param_serialize(
                method=method,
                resource_path=path,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            return self.api.call_api(
                m, url, header_params=hdrs, body=data, _request_timeout=timeout or self.timeout
            )
        except ApiException as exc:
            raise _error(exc.status or 0, exc.reason or "", str(exc.body or "")) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(0, "Unreachable", f"{self.host}: {exc}") from exc

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        resp = self._send(method, path, query, body, content_type)
        raw = resp.read()
        text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        if resp.status >= 400:
            raise _error(resp.status, resp.reason or "", text)
        return json.loads(text) if text else {}

    def stream(
        self, path: str, query: Mapping[str, Any], timeout: float
    ) -> Iterator[dict[str, Any]]:
        """Watch events, one JSON object per line, until the server ends the stream."""
        resp = self._send("GET", path, query, timeout=(10, timeout))
        if resp.status >= 400:
            raw = resp.read()
            raise _error(
                resp.status, resp.reason or "", raw.decode() if isinstance(raw, bytes) else str(raw)
            )
        buffer = b""
        try:
            for chunk in resp.response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            if buffer.strip():
                yield json.loads(buffer)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(0, "Unreachable", f"watch {path}: {exc}") from exc
        finally:
            resp.response.release_conn()

    # --- typed helpers -----------------------------------------------------------------

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("GET", kind.path(namespace, name))

    def list(self, kind: Kind, namespace: str | None = None, **query: Any) -> dict[str, Any]:
        return self.request("GET", kind.path(namespace), query)

    def create(
        self, kind: Kind, body: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        return self.request("POST", kind.path(namespace), body=body)

    def replace(self, kind: Kind, body: dict[str, Any], sub: str | None = None) -> dict[str, Any]:
        meta = body["metadata"]
        return self.request("PUT", kind.path(meta.get("namespace"), meta["name"], sub), body=body)

    def merge_patch(
        self,
        kind: Kind,
        name: str,
        patch: dict[str, Any],
        namespace: str | None = None,
        sub: str | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "PATCH",
            kind.path(namespace, name, sub),
            body=patch,
            content_type="application/merge-patch+json",
        )

    def strategic_patch(
        self,
        kind: Kind,
        name: str,
        patch: dict[str, Any],
        namespace: str | None = None,
        sub: str | None = None,
    ) -> dict[str, Any]:
        """A strategic merge patch (built-in kinds only): lists with a merge key, such as
        ``status.conditions`` by ``type``, are merged element by element."""
        return self.request(
            "PATCH",
            kind.path(namespace, name, sub),
            body=patch,
            content_type="application/strategic-merge-patch+json",
        )

    def delete(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("DELETE", kind.path(namespace, name))
