"""Server-side defaulting: the fields a real cluster fills in that clients rely on seeing.

Two stages, as in kube-apiserver:

* :func:`scheme_defaults`, the versioned types' ``SetDefaults_*`` functions, which the
  apiserver runs while decoding a request body, so before any mutating webhook sees the object
  (and again after each webhook's patch): kubernetes pkg/apis/core/v1/defaults.go
  (``SetDefaults_Service``, ``SetDefaults_Pod``, ``SetDefaults_PodSpec``,
  ``SetDefaults_Container``, ``SetDefaults_ContainerPort``, ``SetDefaults_Namespace``) and
  pkg/apis/discovery/v1/defaults.go (``SetDefaults_EndpointPort``).
* :func:`on_create` / :func:`on_update`, the registry's own work after admission: Services get
  a ``spec.clusterIP`` from 10.96.0.0/16 and a ``nodePort`` from 30000-32767 for each port of a
  NodePort or LoadBalancer Service, kept across updates that omit them (as ``kubectl apply``
  does; pkg/registry/core/service/storage); namespaces get ``spec.finalizers`` and
  ``status.phase: Active``; pods start Pending (pkg/registry/core/pod/strategy.go
  ``PrepareForCreate``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from albctl.sandbox import secrets, webhookconfigs
from albctl.sandbox.errors import ApiError, invalid
from albctl.sandbox.resources import ResourceType

Obj = dict[str, Any]

NODE_PORT_MIN = 30000
NODE_PORT_MAX = 32767
_CLUSTER_NET = ipaddress.IPv4Network("10.96.0.0/16")
_FIRST_HOST = 10  # 10.96.0.1 is the apiserver's own Service in a real cluster


def _used(services: Iterable[Obj], skip: tuple[str, str]) -> tuple[set[str], set[int]]:
    ips: set[str] = set()
    ports: set[int] = set()
    for svc in services:
        meta = svc.get("metadata", {})
        if (meta.get("namespace", ""), meta.get("name", "")) == skip:
            continue
        spec = svc.get("spec", {})
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                ips.add(str(ip))
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and port.get("nodePort"):
                ports.add(int(port["nodePort"]))
    return ips, ports


def _next_ip(used: set[str]) -> str:
    hosts = _CLUSTER_NET.num_addresses - 1
    for offset in range(_FIRST_HOST, hosts):
        candidate = str(_CLUSTER_NET.network_address + offset)
        if candidate not in used:
            return candidate
    raise ApiError(500, "InternalError", "range is full: no more cluster IPs available")


def _service_defaults(obj: Obj) -> None:
    """kubernetes pkg/apis/core/v1/defaults.go ``SetDefaults_Service``.

    ``type`` ClusterIP, ``sessionAffinity`` None; each port's ``protocol`` TCP and a
    ``targetPort`` that is missing, 0 or "" becomes the port's ``port``; NodePort and
    LoadBalancer Services get ``externalTrafficPolicy: Cluster``; every type but ExternalName
    ``internalTrafficPolicy: Cluster``; LoadBalancer ``allocateLoadBalancerNodePorts: true``.
    """
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return  # refused by validation
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, "") and "port" in port:
                port["targetPort"] = port["port"]
    svc_type = spec["type"]
    if svc_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if svc_type in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def _endpoint_slice_defaults(obj: Obj) -> None:
    """kubernetes pkg/apis/discovery/v1/defaults.go ``SetDefaults_EndpointPort``: each port's
    ``name`` defaults to "" and its ``protocol`` to TCP."""
    for port in obj.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")


def _service(obj: Obj, old: Obj | None, services: Iterable[Obj], name: str) -> None:
    _service_defaults(obj)
    spec = obj["spec"]
    if not isinstance(spec, dict):
        return
    old_spec: Obj = (old or {}).get("spec", {})
    svc_type = spec["type"]
    meta = obj.get("metadata", {})
    used_ips, used_ports = _used(services, (meta.get("namespace", ""), name))
    if svc_type == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        return
    _cluster_ip(spec, old_spec, used_ips, name)
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    if svc_type in ("NodePort", "LoadBalancer"):
        _node_ports(spec, old_spec, used_ports, name)
    else:
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.pop("nodePort", None)


def _invalid_service(name: str, field: str, message: str) -> ApiError:
    return invalid("", "Service", name, [(field, "FieldValueInvalid", message)])


def _cluster_ip(spec: Obj, old_spec: Obj, used_ips: set[str], name: str) -> None:
    """The cluster IP: kept from the old object, checked when asked for, else the next free."""
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    requested = spec.get("clusterIP")
    if not requested:
        spec["clusterIP"] = _next_ip(used_ips)
    elif requested != "None":
        try:
            address = ipaddress.IPv4Address(requested)
        except ValueError:
            raise _invalid_service(
                name,
                "spec.clusterIPs[0]",
                f'Invalid value: "{requested}": must be a valid IP address',
            ) from None
        if str(address) in used_ips:
            raise _invalid_service(
                name,
                "spec.clusterIPs",
                f'Invalid value: []string{{"{requested}"}}: failed to allocate IP '
                f"{requested}: provided IP is already allocated",
            )
    spec["clusterIPs"] = [spec["clusterIP"]]


def _node_ports(spec: Obj, old_spec: Obj, used_ports: set[int], name: str) -> None:
    """Node ports: kept from the old object, checked when asked for, else the next free."""
    old_ports = {
        (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
        for p in old_spec.get("ports") or []
        if isinstance(p, dict)
    }
    next_port = NODE_PORT_MIN
    for i, port in enumerate(spec.get("ports") or []):
        if not isinstance(port, dict):
            continue
        if not port.get("nodePort"):
            kept = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if kept:
                port["nodePort"] = kept
        wanted = port.get("nodePort")
        if wanted:
            if not isinstance(wanted, int) or not NODE_PORT_MIN <= wanted <= NODE_PORT_MAX:
                raise _invalid_service(
                    name,
                    f"spec.ports[{i}].nodePort",
                    f"Invalid value: {wanted}: provided port is not in the valid range. "
                    f"The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}",
                )
            if wanted in used_ports:
                raise _invalid_service(
                    name,
                    f"spec.ports[{i}].nodePort",
                    f"Invalid value: {wanted}: provided port is already allocated",
                )
            used_ports.add(wanted)
            continue
        while next_port in used_ports:
            next_port += 1
        if next_port > NODE_PORT_MAX:
            raise ApiError(500, "InternalError", "range is full: no more node ports available")
        port["nodePort"] = next_port
        used_ports.add(next_port)


def _pod(obj: Obj) -> None:
    """kubernetes pkg/apis/core/v1/defaults.go ``SetDefaults_Pod``, ``SetDefaults_PodSpec``,
    ``SetDefaults_Container`` and ``SetDefaults_ContainerPort`` (the fields clients read)."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return  # refused by validation
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue
            image = str(container.get("image", ""))
            tag = image.rsplit("/", 1)[-1]
            latest = ":" not in tag or tag.endswith(":latest")
            container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def scheme_defaults(rt: ResourceType, obj: Obj) -> None:
    """The versioned type's ``SetDefaults_*`` functions (see the module docstring).

    The apiserver runs them while decoding every request body (create, update, patch result)
    and again on the object each mutating webhook patched
    (staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/mutating/dispatcher.go
    ``callAttrMutatingHook``: ``o.GetObjectDefaulter().Default(attr.VersionedObject)``), so
    webhooks see them. Idempotent; touches only the kinds named here.
    """
    if rt.group == "" and rt.kind == "Service":
        _service_defaults(obj)
    elif rt.group == "" and rt.kind == "Pod":
        _pod(obj)
    elif rt.group == "" and rt.kind == "Namespace":
        # SetDefaults_Namespace
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(meta, dict) and isinstance(name, str) and name:
            labels = meta.get("labels")
            if not isinstance(labels, dict):
                labels = meta["labels"] = {}
            labels["kubernetes.io/metadata.name"] = name
    elif rt.group == "discovery.k8s.io" and rt.kind == "EndpointSlice":
        _endpoint_slice_defaults(obj)


def on_decode(rt: ResourceType, obj: Obj) -> None:
    """What the apiserver does while decoding a request body into its internal form.

    The type's defaults (:func:`scheme_defaults`); Secrets: base64 ``data`` is checked and
    ``stringData`` merged into it; webhook configurations get their defaults
    (failurePolicy, timeoutSeconds, selectors...).
    """
    scheme_defaults(rt, obj)
    if rt.group == "" and rt.kind == "Secret":
        secrets.decode(obj)
    elif rt.group == webhookconfigs.GROUP:
        webhookconfigs.set_defaults(obj, mutating=rt.kind.startswith("Mutating"))


def on_create(rt: ResourceType, obj: Obj, services: Iterable[Obj]) -> None:
    """Fill in defaults on a new object (status already reset as the kind requires)."""
    name = str(obj.get("metadata", {}).get("name", ""))
    if rt.group == "" and rt.kind == "Namespace":
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {})["phase"] = "Active"
    elif rt.group == "" and rt.kind == "Service":
        _service(obj, None, services, name)
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif rt.group == "" and rt.kind == "Pod":
        _pod(obj)
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", "BestEffort")
    elif rt.group == "networking.k8s.io" and rt.kind == "Ingress":
        obj.setdefault("status", {}).setdefault("loadBalancer", {})


def on_update(rt: ResourceType, old: Obj, obj: Obj, services: Iterable[Obj]) -> None:
    """Keep allocated and defaulted values that an update body left out."""
    name = str(obj.get("metadata", {}).get("name", ""))
    if rt.group == "" and rt.kind == "Service":
        _service(obj, old, services, name)
    elif rt.group == "" and rt.kind == "Pod":
        _pod(obj)
    elif rt.group == "" and rt.kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
