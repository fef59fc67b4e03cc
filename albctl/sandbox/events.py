"""Conversion between the two Event APIs, core/v1 and events.k8s.io/v1.

The apiserver keeps one Event store and serves it under both groups, so an event that the
controller records with ``events.k8s.io/v1`` shows up in ``kubectl describe`` (which reads
``core/v1``). The sandbox stores the core/v1 shape and converts at the edges, field for field as
in Kubernetes' own conversion functions.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# core/v1 field -> events.k8s.io/v1 field; every other field keeps its name
_RENAMES = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "reportingComponent": "reportingController",
}
_BACK = {v: k for k, v in _RENAMES.items()}


def core_to_events_v1(obj: Obj) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        if key in ("kind", "apiVersion"):
            continue
        if value is None:
            continue
        out[_RENAMES.get(key, key)] = value
    out["kind"] = "Event"
    out["apiVersion"] = "events.k8s.io/v1"
    return out


def events_v1_to_core(obj: Obj) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        if key in ("kind", "apiVersion"):
            continue
        out[_BACK.get(key, key)] = value
    out["kind"] = "Event"
    out["apiVersion"] = "v1"
    return out
