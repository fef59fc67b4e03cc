"""``albctl run``: the controller process.

Informers (list+watch) feed caches; handlers turn object changes into keys on a
de-duplicating work queue (``g:<group>`` full reconcile, ``t:<group>`` targets only,
``b:<namespace>/<name>`` a TargetGroupBinding, ``n:bindings`` the bindings' security group
rules, ``p:<target group name>`` pod readiness gates); N workers process keys while this
replica is the leader. A periodic resync re-queues every group and binding, so changes made by
hand in AWS are put back. Every replica, leader or not, serves the admission webhooks from its
own caches once they are synced.

With ``--shards N`` (N > 1) there is no single leader: a replica works on a group key only
while it holds the Lease of the group's shard (:mod:`albctl.kube.shards`), and on the
cluster-wide keys (TargetGroupBindings, their networking, readiness gates of target groups no
group of its own has) only while it holds shard 0. Each worker runs its key under that key's
ownership check, which is what the writers (AWS mutating calls, Kubernetes writes) ask.
"""

from __future__ import annotations

import http.server
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import start_http_server

from albctl.aws.clients import AwsClients
from albctl.aws.health import health_reader
from albctl.aws.lean import lean_session
from albctl.aws.observe import Observer
from albctl.config import Settings
from albctl.controller.bindings import BindingController
from albctl.controller.gateway_watch import GatewayEvents, gateway_informers
from albctl.controller.gateways import GatewayReconciler
from albctl.controller.metrics import Metrics
from albctl.controller.queue import WorkQueue
from albctl.controller.readiness import PREFIX as READINESS_PREFIX
from albctl.controller.readiness import (
    ReadinessGates,
    Registered,
    registration_state,
    trim_pod,
)
from albctl.controller.reconciler import NotLeaderError, Reconciler
from albctl.controller.snapshot import Snapshotter
from albctl.controller.trim import TRIMS
from albctl.errors import AlbctlError, ConfigError
from albctl.kube.api import (
    ENDPOINT_SLICE,
    INGRESS,
    INGRESS_CLASS,
    INGRESS_CLASS_PARAMS,
    NODE,
    POD,
    SERVICE,
    TARGET_GROUP_BINDING,
    Kind,
    KubeApi,
)
from albctl.kube.events import EventRecorder
from albctl.kube.informer import Informer, Obj
from albctl.kube.leader import LeaderElector
from albctl.kube.shards import Callbacks, ShardElector, sharded_holder
from albctl.kube.writer import FINALIZER, KubeWriter
from albctl.logs import log_event
from albctl.model.gateway.inputs import STACK_PREFIX
from albctl.model.groups import services_of
from albctl.model.objects import Ingress
from albctl.model.shards import shard_of
from albctl.webhook.handlers import AdmissionHandlers
from albctl.webhook.server import ServingCertificate, WebhookServer

log = logging.getLogger(__name__)

# the one key of TargetGroupBinding networking: rules on the targets' security groups are
# computed for every binding at once (they are shared)
NETWORKING_KEY = "n:bindings"
# --shards: the rules from the shared backend group no stack needs, revoked for the cluster
BACKEND_RULES_KEY = "r:backend-rules"
# where controller-runtime (and so cert-manager setups made for LBC) put the certificate
DEFAULT_WEBHOOK_CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"


@dataclass
class RunOptions:
    kubeconfig: str | None = None
    watch_namespaces: list[str] = field(default_factory=list)
    workers: int = 4
    resync_period: float = 600.0
    leader_elect: bool = True
    leader_election_namespace: str = "kube-system"
    leader_election_id: str = "albctl-leader"
    shards: int = 1  # > 1: groups spread over shard Leases instead of one leader
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    metrics_bind_address: str = ":8080"
    health_probe_bind_address: str = ":8081"
    shutdown_timeout: float = 30.0
    identity: str = ""
    # admission webhooks: "" or "0" disables them
    webhook_bind_address: str = ""
    webhook_cert_dir: str = DEFAULT_WEBHOOK_CERT_DIR


def _split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return (host or "0.0.0.0"), int(port)


def _services_of(ing: Obj) -> set[str]:
    """Service keys an Ingress references (backends and forward actions)."""
    try:
        return services_of(Ingress.model_validate(ing))
    except ValueError:
        return set()


def _same_inputs(old: Obj, new: Obj) -> bool:
    """An Ingress update that changes nothing albctl reads (status, managedFields...), or only
    adds albctl's finalizer (written by the reconcile that is creating the group's load
    balancer: reconciling again would only read it back)."""
    fields = ("generation", "annotations", "labels", "deletionTimestamp")
    om, nm = old.get("metadata", {}), new.get("metadata", {})
    before, after = om.get("finalizers") or [], nm.get("finalizers") or []
    only_ours_added = [f for f in after if f != FINALIZER] == before and FINALIZER in after
    return (
        all(om.get(f) == nm.get(f) for f in fields)
        and (before == after or only_ours_added)
        and old.get("spec") == new.get("spec")
    )


def _node_fingerprint(node: Obj | None) -> Any:
    if node is None:
        return None
    conds = {
        c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []
    }
    spec = node.get("spec") or {}
    return (
        conds.get("Ready"),
        spec.get("providerID"),
        spec.get("unschedulable"),
        sorted((node["metadata"].get("labels") or {}).items()),
    )


class Controller:
    def __init__(
        self, settings: Settings, options: RunOptions, clients: AwsClients | None = None
    ) -> None:
        self.settings = settings
        self.options = options
        self.identity = options.identity or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
        self.api = KubeApi(options.kubeconfig)
        # the controller's clients know only the operations of its IAM policy (memory)
        self.clients = clients or AwsClients(
            region=settings.region, session=lean_session(settings.region)
        )
        self.metrics = Metrics()
        self.queue = WorkQueue()
        self._stop = threading.Event()
        self._shutdown = threading.Event()  # a signal came: give up waiting for caches
        self.informers = self._informers(options)
        self.snapshots = Snapshotter(self.informers)
        self.writer = KubeWriter(self.api)
        self.recorder = EventRecorder(self.api, self.identity)
        self.elector: LeaderElector | None = None
        self.shard_elector: ShardElector | None = None
        self._elect(options)
        # the ownership check of the key a worker thread is processing (see _may_write)
        self._scope = threading.local()
        self.reconciler = Reconciler(
            settings,
            self.clients,
            self.writer,
            self.recorder,
            self.snapshots,
            self.metrics,
            self._may_write,
        )
        if self.shard_elector is not None:
            net = self.reconciler.networking
            net.all_groups = lambda: {g for g in self.reconciler.group_ids() if self.owns_group(g)}
            net.owns = self.owns_group
        self.bindings = BindingController(
            settings,
            self.clients,
            self.writer,
            self.recorder,
            self.snapshots,
            self.metrics,
            self._may_write,
        )
        self.bindings.on_networking = lambda: self.queue.add(NETWORKING_KEY)
        self.readiness = ReadinessGates(
            settings,
            self.snapshots,
            self.writer,
            health_reader(self.clients),
            self.metrics,
            self._may_write,
            self._registered,
            self.bindings.target_types,
        )
        self.reconciler.on_target_groups = self._on_target_groups
        self.gateways = GatewayReconciler(self.reconciler)
        self.reconciler.kinds[STACK_PREFIX] = (self.gateways.reconcile, self.gateways.stack_ids)
        self.gateway_events = GatewayEvents(
            self.informers, self.gateways.stack_ids, lambda gid: self.queue.add(f"g:{gid}")
        )
        self.bindings.on_target_groups = self._on_target_groups
        self.webhooks = self._webhooks(settings, options)
        self._group_of_ingress: dict[str, set[str]] = {}
        self._services: dict[str, set[str]] = {}  # ingress key -> service keys
        self._workers: list[threading.Thread] = []
        self._inflight = 0
        self._busy: dict[int, int] = {}  # shard -> keys of it in flight
        self._inflight_lock = threading.Lock()
        self._worked = False  # since memory was last handed back
        self._wire_handlers()

    def _informers(self, options: RunOptions) -> dict[str, Informer]:
        ns = options.watch_namespaces or None
        kinds: dict[str, Kind] = {
            "Ingress": INGRESS,
            "IngressClass": INGRESS_CLASS,
            "IngressClassParams": INGRESS_CLASS_PARAMS,
            "Service": SERVICE,
            "EndpointSlice": ENDPOINT_SLICE,
            "Node": NODE,
            "TargetGroupBinding": TARGET_GROUP_BINDING,
        }
        # cached objects keep only what the model reads (memory follows albctl's use)
        informers = {
            name: Informer(self.api, kind, ns, transform=TRIMS[name])
            for name, kind in kinds.items()
        }
        # only pods with albctl's readiness gates are kept, trimmed to what the gates need
        informers["Pod"] = Informer(self.api, POD, ns, transform=trim_pod)
        # the Gateway API kinds, when their CRDs are installed
        informers.update(gateway_informers(self.api, ns))
        return informers

    def _webhooks(self, settings: Settings, options: RunOptions) -> WebhookServer | None:
        if options.webhook_bind_address in ("", "0"):
            return None
        handlers = AdmissionHandlers(
            settings.build_settings(),
            self.snapshots.objects,
            self.bindings.target_types,
            lambda path, result: self.metrics.webhook_requests.labels(path, result).inc(),
        )
        try:
            return WebhookServer(
                options.webhook_bind_address,
                ServingCertificate(options.webhook_cert_dir),
                handlers,
            )
        except OSError as exc:
            raise ConfigError(
                f"--webhook-bind-address {options.webhook_bind_address}: {exc}"
            ) from exc

    # --- leadership and shards -------------------------------------------------------------

    def _elect(self, options: RunOptions) -> None:
        ns, name = options.leader_election_namespace, options.leader_election_id
        timing = (options.lease_duration, options.renew_deadline, options.retry_period)
        if options.shards > 1:
            if not options.leader_elect:
                raise ConfigError(
                    "--shards needs leader election (--leader-elect): the shard Leases are how "
                    "replicas split the groups"
                )
            callbacks = Callbacks(
                acquired=self._on_shard_acquired,
                lost=self._on_shard_lost,
                busy=self._shard_busy,
                transition=lambda shard, what: self.metrics.shard_transitions.labels(
                    str(shard), what
                ).inc(),
                held_count=self.metrics.shards_held.set,
            )
            self.shard_elector = ShardElector(
                self._lease_api(options),
                ns,
                name,
                self.identity,
                options.shards,
                *timing,
                callbacks=callbacks,
            )
        elif options.leader_elect:
            self.elector = LeaderElector(
                self._lease_api(options),
                ns,
                name,
                self.identity,
                *timing,
                on_started=self._on_leading,
                on_stopped=self._on_stopped_leading,
                blocked=lambda: sharded_holder(self.api, ns, name),
            )

    def _lease_api(self, options: RunOptions) -> KubeApi:
        """Lease requests on their own connections, each given up at the renew deadline with
        no retry: an elector cut off the API server notices (and reports) the loss while the
        partition lasts, not after it."""
        return KubeApi(options.kubeconfig, timeout=options.renew_deadline, retries=0)

    def is_leader(self) -> bool:
        """May do the cluster-wide work: the leader, or with shards the holder of shard 0."""
        if self._stop.is_set():
            return False
        if self.shard_elector is not None:
            return self.shard_elector.holds(0)
        return self.elector.is_leader() if self.elector else True

    def owns_group(self, gid: str) -> bool:
        """May reconcile group ``gid``: the leader, or the holder of the group's shard."""
        if self.shard_elector is None:
            return self.is_leader()
        return not self._stop.is_set() and self.shard_elector.owns_group(gid)

    def _shard(self, gid: str) -> int | None:
        return shard_of(gid, self.options.shards) if self.shard_elector is not None else None

    def _may_write(self) -> bool:
        """Asked before every write: the ownership check of the key this thread works on (a
        shard lost mid-reconcile stops its writes), else the cluster-wide one."""
        check: Callable[[], bool] | None = getattr(self._scope, "check", None)
        return check() if check is not None else self.is_leader()

    def _check_for(self, key: str) -> tuple[Callable[[], bool], int | None]:
        """Who may process ``key`` here, and the shard whose work it is (None: unsharded)."""
        kind, _, rest = key.partition(":")
        gid: str | None = rest if kind in ("g", "t") else None
        if kind + ":" == READINESS_PREFIX:
            gid = self.reconciler.group_of_target_group(rest)
        if gid is not None:
            owner = gid
            return (lambda: self.owns_group(owner)), self._shard(gid)
        return self.is_leader, (0 if self.shard_elector is not None else None)

    def _shard_busy(self, shard: int) -> bool:
        with self._inflight_lock:
            return self._busy.get(shard, 0) > 0

    def _on_shard_acquired(self, shard: int) -> None:
        n = self.options.shards
        # memory from an earlier hold may be stale: the shard's groups start from AWS again
        self.reconciler.forget(lambda gid: shard_of(gid, n) == shard)
        threading.Thread(
            target=self.enqueue_all,
            kwargs={"include_aws": True, "shards": {shard}},
            name=f"enqueue-shard-{shard}",
            daemon=True,
        ).start()

    def _on_shard_lost(self, shard: int) -> None:
        n = self.options.shards
        self.reconciler.forget(lambda gid: shard_of(gid, n) == shard)

    def _on_leading(self) -> None:
        self.metrics.leader.set(1)
        self.enqueue_all(include_aws=True)

    def _on_stopped_leading(self) -> None:
        self.metrics.leader.set(0)

    # --- handlers -------------------------------------------------------------------------

    def _groups_for(self, ing: Obj | None) -> set[str]:
        if ing is None:
            return set()
        from albctl.model.groups import group_ingresses
        from albctl.model.objects import Ingress, IngressClass, IngressClassParams

        try:
            model = Ingress.model_validate(ing)
        except ValueError:
            return set()
        classes = [IngressClass.model_validate(c) for c in self.informers["IngressClass"].list()]
        params = [
            IngressClassParams.model_validate(p)
            for p in self.informers["IngressClassParams"].list()
        ]
        grouping = group_ingresses([model], classes, params, self.settings.build_settings())
        return set(grouping.groups)

    def _on_ingress(self, old: Obj | None, new: Obj | None) -> None:
        if old is not None and new is not None and _same_inputs(old, new):
            return  # a status write (ours, mostly): nothing to reconcile
        self._enqueue_ingress(old, new)

    def _enqueue_ingress(self, old: Obj | None, new: Obj | None) -> None:
        key = None
        for o in (new, old):
            if o is not None:
                m = o["metadata"]
                key = f"{m.get('namespace')}/{m['name']}"
                break
        assert key is not None
        groups = (
            self._groups_for(old) | self._groups_for(new) | self._group_of_ingress.get(key, set())
        )
        if new is not None:
            self._group_of_ingress[key] = self._groups_for(new)
            self._services[key] = _services_of(new)
        else:
            self._group_of_ingress.pop(key, None)
            self._services.pop(key, None)
        for g in groups:
            self.queue.add(f"g:{g}")

    def _groups_using(self, service_key: str) -> set[str]:
        out: set[str] = set()
        for ing, svcs in list(self._services.items()):
            if service_key in svcs:
                out |= self._group_of_ingress.get(ing, set())
        return out

    def _on_service(self, old: Obj | None, new: Obj | None) -> None:
        o = new or old
        assert o is not None
        key = f"{o['metadata'].get('namespace')}/{o['metadata']['name']}"
        for g in self._groups_using(key) | self.gateway_events.using_service(key):
            self.queue.add(f"g:{g}")
        for b in self.bindings.keys_for_service(key):
            self.queue.add(f"b:{b}")

    def _on_endpoint_slice(self, old: Obj | None, new: Obj | None) -> None:
        o = new or old
        assert o is not None
        svc = (o["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
        if not svc:
            return
        for g in self._groups_using(f"{o['metadata'].get('namespace')}/{svc}"):
            self.queue.add(f"t:{g}")
        for g in self.gateway_events.using_service(f"{o['metadata'].get('namespace')}/{svc}"):
            self.queue.add(f"g:{g}")
        for b in self.bindings.keys_for_service(f"{o['metadata'].get('namespace')}/{svc}"):
            self.queue.add(f"b:{b}")

    def _on_node(self, old: Obj | None, new: Obj | None) -> None:
        if _node_fingerprint(old) == _node_fingerprint(new):
            return
        for groups in list(self._group_of_ingress.values()):
            for g in groups:
                self.queue.add(f"t:{g}")
        for b in self.bindings.binding_keys():
            self.queue.add(f"b:{b}")

    def _on_binding(self, old: Obj | None, new: Obj | None) -> None:
        for b in self.bindings.on_binding(old, new):
            self.queue.add(f"b:{b}")

    def _registered(self, name: str) -> Registered | None:
        got = self.reconciler.registered_target_group(name) or (
            self.bindings.registered_target_group(name)
        )
        return Registered(*got) if got else None

    def _on_target_groups(self, names: set[str]) -> None:
        for n in self.readiness.pending_names(names):
            self.queue.add(READINESS_PREFIX + n)

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        for n in self.readiness.on_pod(old, new):
            self.queue.add(READINESS_PREFIX + n)
        if registration_state(old) == registration_state(new):
            return
        # a gated pod seen for the first time (its endpoint may be in a slice read before the
        # pod), or whose containers became ready or stopped being ready, or that is leaving:
        # whether its not-ready endpoint is a target changed, so the targets-only path of the
        # groups and bindings of the Services selecting it runs again
        o = new or old
        assert o is not None
        meta = o["metadata"]
        ns, labels = meta.get("namespace", ""), meta.get("labels") or {}
        for svc in self.informers["Service"].list():
            sel = (svc.get("spec") or {}).get("selector") or {}
            if svc["metadata"].get("namespace") != ns or not sel:
                continue
            if all(labels.get(k) == v for k, v in sel.items()):
                key = f"{ns}/{svc['metadata']['name']}"
                for g in self._groups_using(key):
                    self.queue.add(f"t:{g}")
                for b in self.bindings.keys_for_service(key):
                    self.queue.add(f"b:{b}")

    def _on_class(self, old: Obj | None, new: Obj | None) -> None:
        # class changes can move Ingresses in or out: recompute every Ingress's groups
        for ing in self.informers["Ingress"].list():
            self._enqueue_ingress(ing, ing)

    def _wire_handlers(self) -> None:
        self.informers["Ingress"].handlers.append(self._on_ingress)
        self.informers["Service"].handlers.append(self._on_service)
        self.informers["EndpointSlice"].handlers.append(self._on_endpoint_slice)
        self.informers["Node"].handlers.append(self._on_node)
        self.informers["TargetGroupBinding"].handlers.append(self._on_binding)
        self.informers["IngressClass"].handlers.append(self._on_class)
        self.informers["IngressClassParams"].handlers.append(self._on_class)
        self.informers["Pod"].handlers.append(self._on_pod)
        self.gateway_events.wire()

    def _wanted(self, gid: str, shards: set[int] | None) -> bool:
        if self.shard_elector is None:
            return True
        if shards is None:
            return self.owns_group(gid)
        return shard_of(gid, self.options.shards) in shards

    def enqueue_all(self, include_aws: bool = False, shards: set[int] | None = None) -> None:
        """Queue every group (of the held shards, or of ``shards``) and, for the leader or
        the holder of shard 0, the cluster-wide keys."""
        groups = set()
        for gs in list(self._group_of_ingress.values()):
            groups |= gs
        groups |= self.reconciler.group_ids()
        if include_aws:
            try:
                groups |= Observer(
                    self.clients, self.settings.cluster_name, self.reconciler.tag_cache
                ).stack_ids()
            except AlbctlError as exc:
                log_event(log, "cannot list stacks in AWS", logging.WARNING, error=str(exc))
        for g in sorted(groups):
            if self._wanted(g, shards):
                self.queue.add(f"g:{g}")
        for n in sorted(self.readiness.pending_names()):
            self.queue.add(READINESS_PREFIX + n)  # the worker keeps those it owns
        if self.shard_elector is not None and 0 not in (shards or self.shard_elector.held()):
            return
        for b in sorted(self.bindings.binding_keys()):
            self.bindings.expire(b)  # read AWS again: puts back targets changed by hand
            self.queue.add(f"b:{b}")
        self.queue.add(NETWORKING_KEY)
        if self.shard_elector is not None:
            self.queue.add(BACKEND_RULES_KEY)

    # --- workers --------------------------------------------------------------------------

    def _worker(self) -> None:
        while not self._stop.is_set():
            key = self.queue.get(timeout=0.5)
            self.metrics.queue_depth.set(len(self.queue))
            if key is None:
                self._trim_when_idle()
                continue
            self._worked = True
            check, shard = self._check_for(key)
            if not check():
                self.queue.done(key)
                continue
            with self._inflight_lock:
                self._inflight += 1
                if shard is not None:
                    self._busy[shard] = self._busy.get(shard, 0) + 1
            self._scope.check = check
            try:
                self._process(key)
            finally:
                self._scope.check = None
                with self._inflight_lock:
                    self._inflight -= 1
                    if shard is not None:
                        self._busy[shard] -= 1
                self.queue.done(key)

    def _process(self, key: str) -> None:
        kind, _, gid = key.partition(":")
        try:
            if kind in ("b", "n"):
                done = (
                    self.bindings.reconcile(gid)
                    if kind == "b"
                    else self.bindings.reconcile_networking()
                )
                if not done:
                    self.queue.add_rate_limited(key)
                    return
            elif kind == "t":
                # a group backing off after failed reconciles comes back at its time
                # (endpoint churn must not turn its backoff into a tight retry loop)
                if not self.reconciler.sync_targets(gid) and not self.queue.failures(f"g:{gid}"):
                    self.queue.add(f"g:{gid}")
            elif kind == "r":
                self.reconciler.networking.revoke_unneeded(self.snapshots.objects())
            elif kind == "p":
                delay = self.readiness.sync(gid)
                if delay is not None:
                    self.queue.add_after(key, delay)
            else:
                self.reconciler.reconcile(gid)
            self.queue.forget(key)
        except NotLeaderError:
            pass
        except Exception as exc:
            delay = self.queue.add_rate_limited(key)
            log_event(
                log,
                "will retry",
                logging.WARNING,
                key=key,
                retry_in=round(delay, 2),
                error=str(exc)[:500],
            )

    def _trim_when_idle(self) -> None:
        """Once the queue has drained after some work, hand the heap's free pages back to the
        system (a resync's answers are garbage by then, and glibc keeps their pages)."""
        with self._inflight_lock:
            if not self._worked or self._inflight:
                return
            self._worked = False
        release_free_memory()

    def _resync(self) -> None:
        while not self._stop.wait(self.options.resync_period):
            held = self.shard_elector.held() if self.shard_elector is not None else None
            if (held is None and self.is_leader()) or held:
                log_event(log, "periodic resync")
                self.enqueue_all(include_aws=True)

    def _await_gateway_api(self) -> None:
        """Start watching the Gateway API once its CRDs are installed."""
        interval = min(30.0, self.options.resync_period)
        while not self._stop.wait(interval):
            ns = self.options.watch_namespaces or None
            got = gateway_informers(self.api, ns, quiet=True)
            if not got:
                continue
            self.gateway_events.wire(got)
            for inf in got.values():
                inf.start()
            for inf in got.values():
                while not inf.wait_synced(30):
                    if self._stop.is_set():
                        return
            # one new dict, swapped in: readers iterate the old one undisturbed
            merged = {**self.informers, **got}
            self.informers = merged
            self.snapshots.informers = merged
            self.gateway_events.informers = merged
            for gid in sorted(self.gateways.stack_ids()):
                self.queue.add(f"g:{gid}")
            return

    # --- health ---------------------------------------------------------------------------

    def ready(self) -> bool:
        """Caches synced, and the webhooks served (with a certificate) when enabled."""
        synced = all(i.synced for i in self.informers.values())
        return synced and (self.webhooks is None or self.webhooks.serving)

    def _serve_health(self) -> None:
        ctl = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/healthz"):
                    ok, body = True, "ok"
                elif self.path.startswith("/readyz"):
                    ok = ctl.ready()
                    body = "ok" if ok else "informers not synced or webhooks not served"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *_: Any) -> None:
                pass

        host, port = _split_addr(self.options.health_probe_bind_address)
        self._health = http.server.ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._health.serve_forever, name="health", daemon=True).start()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.options.metrics_bind_address not in ("", "0"):
            host, port = _split_addr(self.options.metrics_bind_address)
            start_http_server(port, addr=host, registry=self.metrics.registry)
        if self.options.health_probe_bind_address not in ("", "0"):
            self._serve_health()
        for inf in self.informers.values():
            inf.start()
        # nothing is reconciled from a partial view: an object kind that cannot be listed
        # (a revoked permission, a namespace albctl may not read) looks like objects deleted
        # (Ingresses gone, EndpointSlices empty)
        for name, inf in self.informers.items():
            while not inf.wait_synced(30):
                if self._shutdown.is_set():
                    return
                log_event(
                    log,
                    "cache not synced: not reconciling until it is",
                    logging.WARNING,
                    kind=name,
                    stream_errors=inf.stream_errors,
                )
        log_event(log, "caches synced", identity=self.identity)
        if self.webhooks is not None:
            # only now: gates and validation are decided from the caches
            self.webhooks.start()
            if self.webhooks.certificate.context() is None:
                log_event(
                    log,
                    "no webhook certificate yet: TLS handshakes fail until it is there",
                    logging.WARNING,
                    directory=self.options.webhook_cert_dir,
                )
        for i in range(self.options.workers):
            t = threading.Thread(target=self._worker, name=f"worker-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        threading.Thread(target=self._resync, name="resync", daemon=True).start()
        if "Gateway" not in self.informers:
            threading.Thread(
                target=self._await_gateway_api, name="gateway-api", daemon=True
            ).start()
        if self.shard_elector is not None:
            self.shard_elector.start()
        elif self.elector:
            self.elector.start()
        else:
            self._on_leading()

    def stop(self) -> None:
        """Stop taking work, let in-flight reconciles finish (bounded), release the lease."""
        log_event(log, "shutting down", identity=self.identity)
        deadline = time.monotonic() + self.options.shutdown_timeout
        self.queue.shutdown()
        while time.monotonic() < deadline:
            with self._inflight_lock:
                if self._inflight == 0:
                    break
            time.sleep(0.1)
        self._stop.set()
        for inf in self.informers.values():
            inf.stop()
        if self.elector:
            self.elector.stop(release=True)
        if self.shard_elector is not None:
            self.shard_elector.stop(release=True)
        if getattr(self, "_health", None) is not None:
            self._health.shutdown()
        if self.webhooks is not None:
            self.webhooks.stop()
        log_event(log, "stopped", identity=self.identity)

    def run_until_signal(self) -> None:
        done = threading.Event()

        def handler(signum: int, _: Any) -> None:
            log_event(log, "signal received", signal=signal.Signals(signum).name)
            self._shutdown.set()
            done.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        self.start()
        done.wait()
        self.stop()


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Two malloc arenas instead of glibc's default of eight per core: the controller's threads
    (workers, informers, servers) otherwise each grow an arena of their own, and the process
    keeps the memory of all of them. A MALLOC_ARENA_MAX in the environment wins."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to limit
        pass


def release_free_memory() -> None:
    """malloc_trim(0): free heap pages back to the system (glibc only; elsewhere nothing)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def default_namespace() -> str:
    env = os.environ.get("POD_NAMESPACE")
    if env:
        return env
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip()
    except OSError:
        return "kube-system"
