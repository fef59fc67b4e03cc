"""What the informer caches keep of each object: everything the model parses, nothing of what
the API server adds for others (managedFields, last-applied, owner references, images...)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from albctl.controller.run import _node_fingerprint, _same_inputs
from albctl.controller.trim import LAST_APPLIED, PARSED, TRIMS
from albctl.manifests import KINDS
from tests.helpers import backend, endpoint_slice, ingress, rule, service


def served(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as an API server returns it: what a client wrote, plus server fields."""
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    meta.update(
        uid="6a1c",
        resourceVersion="42",
        generation=3,
        creationTimestamp="2026-12-01T00:00:00Z",
        managedFields=[{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        ownerReferences=[{"kind": "Service", "name": "x", "uid": "1"}],
    )
    meta.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(obj)
    return out


def node() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "us-east-1a"}},
        "spec": {"providerID": "aws:///us-east-1a/i-1", "podCIDR": "10.1.0.0/24"},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}
            ],
            "images": [{"names": ["registry/app:1"], "sizeBytes": 1 << 30}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "nodeInfo": {"kubeletVersion": "v1.31.0"},
        },
    }


def slice_() -> dict[str, Any]:
    s = endpoint_slice("web", ["10.0.1.1", "10.0.1.2"], "shop", port=8080)
    for e in s["endpoints"]:
        e["nodeName"] = "n1"
        e["zone"] = "us-east-1a"
        e["targetRef"] = {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "u"}
        e["hints"] = {"forZones": [{"name": "us-east-1a"}]}
    return s


def svc() -> dict[str, Any]:
    s = service("web", "shop", node_port=30080)
    s["spec"].update(clusterIP="10.100.0.1", clusterIPs=["10.100.0.1"], sessionAffinity="None")
    s["status"] = {"loadBalancer": {}}
    return s


def ing() -> dict[str, Any]:
    i = ingress("web", "shop", rules=[rule("a.example.com", ("/", "Prefix", backend("web", 80)))])
    i["status"] = {"loadBalancer": {"ingress": [{"hostname": "k8s-shop.elb.amazonaws.com"}]}}
    return i


OBJECTS = {"Node": node, "EndpointSlice": slice_, "Service": svc, "Ingress": ing}


@pytest.mark.parametrize("kind", sorted(OBJECTS))
def test_the_model_reads_the_same_from_a_trimmed_object(kind: str) -> None:
    full = served(OBJECTS[kind]())
    kept = TRIMS[kind](copy.deepcopy(full))
    assert kept is not None
    # the model holds every annotation, but reads only albctl's and LBC's prefixes
    read = copy.deepcopy(full)
    del read["metadata"]["annotations"][LAST_APPLIED]
    model = kept.get(PARSED) or KINDS[kind].model_validate(kept)
    assert model == KINDS[kind].model_validate(read)
    meta = kept["metadata"]
    assert "managedFields" not in meta and "ownerReferences" not in meta
    assert LAST_APPLIED not in meta.get("annotations", {})
    assert meta["resourceVersion"] == "42"  # what the informer compares
    assert len(json.dumps(kept, default=str)) < len(json.dumps(full))


def test_what_the_handlers_compare_survives() -> None:
    n = served(node())
    assert _node_fingerprint(TRIMS["Node"](n)) == _node_fingerprint(n)
    i = served(ing())
    trimmed = TRIMS["Ingress"](i)
    assert trimmed is not None and _same_inputs(trimmed, trimmed)
    assert trimmed["status"] == i["status"]  # the hostname albctl compares before writing
    assert trimmed["metadata"]["generation"] == 3


def test_dropped_fields_are_the_ones_albctl_never_reads() -> None:
    kept = TRIMS["Node"](served(node()))
    assert kept is not None
    assert kept["status"] == {"conditions": [{"type": "Ready", "status": "True"}]}
    s = TRIMS["EndpointSlice"](served(slice_()))
    assert s is not None
    # the endpoints are held once, parsed
    assert "endpoints" not in s and [e.addresses for e in s[PARSED].endpoints] == [
        ("10.0.1.1",),
        ("10.0.1.2",),
    ]


def test_a_slice_the_model_refuses_is_kept_as_json_for_the_snapshot_to_report() -> None:
    bad = served(slice_())
    bad["endpoints"][0]["addresses"] = "10.0.1.1"  # not a list
    kept = TRIMS["EndpointSlice"](bad)
    assert kept is not None and PARSED not in kept and len(kept["endpoints"]) == 2
