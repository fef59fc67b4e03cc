"""The controller's object set: parsed once, handed to every reconcile until an object changes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from albctl.controller.snapshot import Snapshotter
from albctl.controller.trim import TRIMS
from albctl.kube.api import ENDPOINT_SLICE, INGRESS, Kind, KubeApi
from albctl.kube.informer import Informer
from albctl.sandbox import SandboxServer
from tests.helpers import backend, endpoint_slice, ingress, rule


def _until(check: Any) -> None:
    deadline = time.monotonic() + 10
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert check()


def test_the_same_set_until_an_object_changes(tmp_path: Path) -> None:
    with SandboxServer(bookmark_interval=0.2) as server:
        api = KubeApi(str(server.write_kubeconfig(tmp_path / "kubeconfig")))
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
        api.create(Kind("", "v1", "namespaces", False, "Namespace"), ns)
        web = rule("a.example.com", ("/", "Prefix", backend("web", 80)))
        api.create(INGRESS, ingress("web", "shop", rules=[web]), "shop")
        api.create(ENDPOINT_SLICE, endpoint_slice("web", ["10.0.1.1"], "shop"), "shop")
        informers = {
            kind: Informer(api, k, transform=TRIMS[kind])
            for kind, k in (("Ingress", INGRESS), ("EndpointSlice", ENDPOINT_SLICE))
        }
        for inf in informers.values():
            inf.start()
        try:
            assert all(inf.wait_synced(10) for inf in informers.values())
            snapshots = Snapshotter(informers)
            first = snapshots.objects()
            assert [s.endpoints[0].addresses for s in first.endpoint_slices] == [("10.0.1.1",)]
            first.derived["probe"] = 1
            assert snapshots.objects() is first  # nothing changed: nothing parsed again
            api.create(ENDPOINT_SLICE, endpoint_slice("api", ["10.0.1.2"], "shop"), "shop")
            _until(lambda: snapshots.objects() is not first)
            second = snapshots.objects()
            assert len(second.endpoint_slices) == 2 and "probe" not in second.derived
            assert second.ingresses[0] is first.ingresses[0]  # unchanged objects: same models
        finally:
            for inf in informers.values():
                inf.stop()
            api.close()
