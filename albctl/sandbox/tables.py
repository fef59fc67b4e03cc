"""Server-side printing: ``meta.k8s.io/v1 Table`` responses for ``kubectl get``.

kubectl asks for a Table and prints whatever columns the server sends, so this module carries
the apiserver's column sets for the built-in kinds (Ingress: CLASS/HOSTS/ADDRESS/PORTS,
Service: TYPE/CLUSTER-IP/..., Event: LAST SEEN/TYPE/REASON/OBJECT/MESSAGE, ...) and renders
custom resources from their CRD's ``additionalPrinterColumns``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from albctl.sandbox import jsonpath
from albctl.sandbox.resources import PrinterColumn, ResourceType

Obj = dict[str, Any]
Row = list[Any]

_NAME_DOC = "Name must be unique within a namespace."
_AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created."
)


def _col(name: str, description: str = "", priority: int = 0, type_: str = "string") -> Obj:
    out: Obj = {"name": name, "type": type_, "format": "", "description": description}
    if priority:
        out["priority"] = priority
    if name == "Name":
        out["format"] = "name"
        out["description"] = description or _NAME_DOC
    return out


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration`` from apimachinery: 42s, 5m3s, 12m, 3h4m, 9h, 2d5h, 40d, 3y."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def age(value: Any) -> str:
    when = _parse_time(value)
    if when is None:
        return "<unknown>"
    return human_duration((datetime.now(UTC) - when).total_seconds())


def _get(obj: Any, *path: str) -> Any:
    cur = obj
    for part in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _name(obj: Obj) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _created(obj: Obj) -> str:
    return age(_get(obj, "metadata", "creationTimestamp"))


def _or_none(value: Any) -> str:
    return str(value) if value not in (None, "") else "<none>"


def _first_three(items: list[str]) -> str:
    if len(items) <= 3:
        return ",".join(items)
    return ",".join(items[:3]) + f" + {len(items) - 3} more..."


def _lb_addresses(status: Any) -> list[str]:
    out: list[str] = []
    for entry in _get(status, "loadBalancer", "ingress") or []:
        if isinstance(entry, dict):
            if entry.get("ip"):
                out.append(str(entry["ip"]))
            elif entry.get("hostname"):
                out.append(str(entry["hostname"]))
    return out


# --- built-in printers ------------------------------------------------------------------------


def _namespace(obj: Obj) -> Row:
    return [_name(obj), _get(obj, "status", "phase") or "", _created(obj)]


def _node(obj: Obj) -> Row:
    ready = "Unknown"
    for cond in _get(obj, "status", "conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            ready = {"True": "Ready", "False": "NotReady"}.get(str(cond.get("status")), "Unknown")
    if _get(obj, "spec", "unschedulable"):
        ready += ",SchedulingDisabled"
    roles: list[str] = []
    for key, value in (_get(obj, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]:
            roles.append(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.append(str(value))
    info = _get(obj, "status", "nodeInfo") or {}
    addresses = _get(obj, "status", "addresses") or []

    def address(kind: str) -> str:
        for entry in addresses:
            if isinstance(entry, dict) and entry.get("type") == kind:
                return str(entry.get("address"))
        return "<none>"

    return [
        _name(obj),
        ready,
        ",".join(sorted(roles)) or "<none>",
        _created(obj),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _service(obj: Obj) -> Row:
    spec = obj.get("spec") or {}
    svc_type = spec.get("type", "ClusterIP")
    external_ips = list(spec.get("externalIPs") or [])
    if svc_type in ("ClusterIP", "NodePort"):
        external = ",".join(external_ips) or "<none>"
    elif svc_type == "LoadBalancer":
        addresses = _lb_addresses(obj.get("status")) + external_ips
        external = ",".join(addresses) or "<pending>"
    elif svc_type == "ExternalName":
        external = str(spec.get("externalName", ""))
    else:
        external = "<unknown>"
    ports: list[str] = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            ports.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            ports.append(f"{port.get('port')}/{protocol}")
    selector = spec.get("selector") or {}
    return [
        _name(obj),
        svc_type,
        spec.get("clusterIP") or "<none>",
        external,
        ",".join(ports) or "<none>",
        _created(obj),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


def _pod(obj: Obj) -> Row:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    statuses = [s for s in status.get("containerStatuses") or [] if isinstance(s, dict)]
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for s in statuses:
        waiting = _get(s, "state", "waiting", "reason")
        terminated = _get(s, "state", "terminated", "reason")
        if waiting or terminated:
            reason = waiting or terminated
    if _get(obj, "metadata", "deletionTimestamp"):
        reason = "Terminating"
    return [
        _name(obj),
        f"{ready}/{len(spec.get('containers') or [])}",
        reason,
        str(restarts),
        _created(obj),
        _or_none(status.get("podIP")),
        _or_none(spec.get("nodeName")),
        _or_none(status.get("nominatedNodeName")),
        "<none>",
    ]


def _event(obj: Obj) -> Row:
    first = (
        age(obj.get("firstTimestamp")) if obj.get("firstTimestamp") else age(obj.get("eventTime"))
    )
    last = age(obj.get("lastTimestamp")) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 1
    series = obj.get("series")
    if isinstance(series, dict):
        last = age(series.get("lastObservedTime"))
        count = series.get("count", count)
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last,
        obj.get("type", ""),
        obj.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        str(obj.get("message", "")).strip(),
        first,
        int(count),
        _name(obj),
    ]


def _endpoint_slice(obj: Obj) -> Row:
    ports = [
        str(p["port"]) if isinstance(p, dict) and p.get("port") is not None else "<unset>"
        for p in obj.get("ports") or []
    ]
    addresses = [
        str(a)
        for e in obj.get("endpoints") or []
        if isinstance(e, dict)
        for a in e.get("addresses") or []
    ]
    return [
        _name(obj),
        obj.get("addressType", ""),
        _first_three(ports) or "<unset>",
        _first_three(addresses) or "<unset>",
        _created(obj),
    ]


def _ingress(obj: Obj) -> Row:
    spec = obj.get("spec") or {}
    rules = [r for r in spec.get("rules") or [] if isinstance(r, dict)]
    hosts = [str(r["host"]) for r in rules[:3] if r.get("host")]
    host_text = ",".join(hosts) or "*"
    if len(rules) > 3 and hosts:
        host_text += f" + {len(rules) - 3} more..."
    return [
        _name(obj),
        spec.get("ingressClassName") or "<none>",
        host_text,
        ",".join(_lb_addresses(obj.get("status"))),
        "80, 443" if spec.get("tls") else "80",
        _created(obj),
    ]


def _ingress_class(obj: Obj) -> Row:
    params = _get(obj, "spec", "parameters")
    shown = "<none>"
    if isinstance(params, dict):
        shown = str(params.get("kind", ""))
        if params.get("apiGroup"):
            shown += "." + str(params["apiGroup"])
        shown += "/" + str(params.get("name", ""))
    return [_name(obj), _get(obj, "spec", "controller") or "", shown, _created(obj)]


def _lease(obj: Obj) -> Row:
    return [_name(obj), _get(obj, "spec", "holderIdentity") or "", _created(obj)]


def _secret(obj: Obj) -> Row:
    data = obj.get("data") or {}
    return [_name(obj), obj.get("type", ""), len(data), _created(obj)]


def _webhook_configuration(obj: Obj) -> Row:
    return [_name(obj), len(obj.get("webhooks") or []), _created(obj)]


def _default(obj: Obj) -> Row:
    return [_name(obj), _get(obj, "metadata", "creationTimestamp") or ""]


_Printer = tuple[list[Obj], Callable[[Obj], Row]]

_PRINTERS: dict[tuple[str, str], _Printer] = {
    ("", "Namespace"): ([_col("Name"), _col("Status"), _col("Age", _AGE_DOC)], _namespace),
    ("", "Node"): (
        [
            _col("Name"),
            _col("Status"),
            _col("Roles"),
            _col("Age", _AGE_DOC),
            _col("Version"),
            _col("Internal-IP", priority=1),
            _col("External-IP", priority=1),
            _col("OS-Image", priority=1),
            _col("Kernel-Version", priority=1),
            _col("Container-Runtime", priority=1),
        ],
        _node,
    ),
    ("", "Service"): (
        [
            _col("Name"),
            _col("Type"),
            _col("Cluster-IP"),
            _col("External-IP"),
            _col("Port(s)"),
            _col("Age", _AGE_DOC),
            _col("Selector", priority=1),
        ],
        _service,
    ),
    ("", "Pod"): (
        [
            _col("Name"),
            _col("Ready"),
            _col("Status"),
            _col("Restarts", type_="string"),
            _col("Age", _AGE_DOC),
            _col("IP", priority=1),
            _col("Node", priority=1),
            _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1),
        ],
        _pod,
    ),
    ("", "Event"): (
        [
            _col("Last Seen"),
            _col("Type"),
            _col("Reason"),
            _col("Object"),
            _col("Subobject", priority=1),
            _col("Source", priority=1),
            _col("Message"),
            _col("First Seen", priority=1),
            _col("Count", priority=1),
            {**_col("Name"), "priority": 1},
        ],
        _event,
    ),
    ("discovery.k8s.io", "EndpointSlice"): (
        [
            _col("Name"),
            _col("AddressType"),
            _col("Ports"),
            _col("Endpoints"),
            _col("Age", _AGE_DOC),
        ],
        _endpoint_slice,
    ),
    ("networking.k8s.io", "Ingress"): (
        [
            _col("Name"),
            _col("Class"),
            _col("Hosts"),
            _col("Address"),
            _col("Ports"),
            _col("Age", _AGE_DOC),
        ],
        _ingress,
    ),
    ("networking.k8s.io", "IngressClass"): (
        [_col("Name"), _col("Controller"), _col("Parameters"), _col("Age", _AGE_DOC)],
        _ingress_class,
    ),
    ("coordination.k8s.io", "Lease"): (
        [_col("Name"), _col("Holder"), _col("Age", _AGE_DOC)],
        _lease,
    ),
    ("", "Secret"): (
        [_col("Name"), _col("Type"), _col("Data", type_="string"), _col("Age", _AGE_DOC)],
        _secret,
    ),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): (
        [_col("Name"), _col("Webhooks", type_="integer"), _col("Age", _AGE_DOC)],
        _webhook_configuration,
    ),
}
_PRINTERS[("events.k8s.io", "Event")] = _PRINTERS[("", "Event")]
_PRINTERS[("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")] = _PRINTERS[
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
]

_DEFAULT: _Printer = (
    [_col("Name"), _col("Created At", _AGE_DOC, type_="date")],
    _default,
)


# --- custom resources -------------------------------------------------------------------------


def _cell(column: PrinterColumn, obj: Obj) -> Any:
    try:
        found = jsonpath.evaluate(column.json_path, obj)
    except ValueError:
        return None
    if not found or found[0] is None:
        return None
    value = found[0]
    if column.type == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"))
        return str(value)
    if column.type == "integer":
        return (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    if column.type == "number":
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    if column.type == "boolean":
        return value if isinstance(value, bool) else None
    if column.type == "date":
        return age(value) if _parse_time(value) else "<invalid>"
    return str(value)


def _custom_printer(rt: ResourceType) -> _Printer:
    columns = [_col("Name")] + [
        {
            "name": c.name,
            "type": "string" if c.type == "date" else c.type,
            "format": c.format,
            "description": c.description
            or f"Custom resource definition column (in JSONPath format): {c.json_path}",
            **({"priority": c.priority} if c.priority else {}),
        }
        for c in rt.columns
    ]

    def row(obj: Obj) -> Row:
        return [_name(obj)] + [_cell(c, obj) for c in rt.columns]

    return columns, row


def printer_for(rt: ResourceType) -> _Printer:
    if rt.custom:
        return _custom_printer(rt)
    return _PRINTERS.get((rt.group, rt.kind), _DEFAULT)


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def table(
    rt: ResourceType,
    objects: list[Obj],
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    api_version: str = "meta.k8s.io/v1",
) -> Obj:
    """A ``Table`` with one row per object (objects in the ``rt`` version's form)."""
    columns, row_fn = printer_for(rt)
    rows: list[Obj] = []
    for obj in objects:
        printable = rt.from_view(obj) if rt.from_view is not None else obj
        row: Obj = {"cells": row_fn(printable)}
        included = _row_object(obj, include_object)
        if included is not None:
            row["object"] = included
        rows.append(row)
    meta: Obj = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    }
