"""Gateways in the controller: queue key ``g:gateway/<namespace>/<name>``, reconciled through
the same discovery, plan, apply, backend security group and LoadBalancerGroup report as an
IngressGroup (``albctl.controller.reconciler``), with the Gateway API's own status.

A Gateway of one of albctl's GatewayClasses gets the finalizer ``albctl.io/gateway`` before
anything is created in AWS; its stack is deleted only when albctl sees it deleted (or moved to
a class albctl does not serve) under that finalizer, which is removed afterwards. After each
reconcile albctl writes, with ``observedGeneration``: the Gateway's conditions, addresses and
listeners; the ``status.parents`` entries of the routes that name it (its own entries only;
other controllers' and other Gateways' stay as they are); its GatewayClass's ``Accepted``.
Events go on the Gateway and on the routes concerned.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from albctl.aws.certificates import with_certificates
from albctl.aws.observe import Observer
from albctl.controller.engine import needs_of
from albctl.controller.handover import adopted_group, take_group
from albctl.controller.indexes import build_indexes
from albctl.controller.reconciler import Reconciler, summarize
from albctl.errors import AlbctlError, GuardRailError
from albctl.kube.api import GATEWAY, ROUTE_KINDS, NotFound
from albctl.kube.events import ObjectRef, now_rfc3339
from albctl.kube.writer import GATEWAY_FINALIZER
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.adopt import Adoption
from albctl.model.adopt_group import LEFTOVER_MEMBER, AdoptionRefusedError, handover_order
from albctl.model.builder import BuildResult
from albctl.model.desired import Stack
from albctl.model.diff import Change, Plan, diff_stack
from albctl.model.gateway.build import GatewayBuild, build_gateway
from albctl.model.gateway.config.load_balancer import class_parameters_error
from albctl.model.gateway.inputs import STACK_PREFIX, stack_id
from albctl.model.gateway.objects import Gateway
from albctl.model.gateway.select import (
    gateway_input,
    oidc_secret_refs,
    our_classes,
    secret_refs,
)
from albctl.model.gateway.status import (
    PROGRAMMED,
    Cond,
    gateway_status_json,
    route_parents_json,
)
from albctl.model.objects import Ingress, Secret
from albctl.model.observed import ObservedStack

log = logging.getLogger(__name__)

API_VERSION = "gateway.networking.k8s.io/v1"
Outcome = tuple[Plan, BuildResult | None, dict[str, Any] | None, list[Ingress], list[Ingress], str]


def is_gateway_stack(gid: str) -> bool:
    return gid.startswith(STACK_PREFIX)


class GatewayReconciler:
    def __init__(self, rec: Reconciler) -> None:
        self.rec = rec

    @property
    def controller_names(self) -> tuple[str, ...]:
        return self.rec.settings.gateway_controller_names

    def _controller_of(self, gw: Gateway) -> str:
        """The controllerName of the Gateway's class (written in its routes' status)."""
        objs = self.rec.snapshots.objects()
        cls = our_classes(objs, self.rec.settings.build_settings()).get(gw.spec.gateway_class_name)
        return cls.spec.controller_name if cls else self.controller_names[0]

    # --- which Gateways ----------------------------------------------------------------------

    def _ours(self, objs: ObjectSet, gw: Gateway) -> bool:
        classes = our_classes(objs, self.rec.settings.build_settings())
        return gw.spec.gateway_class_name in classes

    def stack_ids(self) -> set[str]:
        """The stacks of the Gateways albctl serves or still holds with its finalizer."""
        objs = self.rec.snapshots.objects()
        return {
            stack_id(g)
            for g in objs.gateways
            if self._ours(objs, g) or GATEWAY_FINALIZER in g.metadata.finalizers
        }

    # --- the reconcile -----------------------------------------------------------------------

    def reconcile(self, gid: str) -> Outcome:
        objs = self.rec.snapshots.objects()
        gw = next((g for g in objs.gateways if stack_id(g) == gid), None)
        observer = self._observer()
        observed = self.rec.read_stack(gid, observer)
        if gw is None or gw.metadata.deletion_timestamp or not self._ours(objs, gw):
            return self._remove(gid, gw, objs, observed)
        try:
            return self._serve(gid, gw, objs, observed, observer)
        except AlbctlError as exc:
            self._event(gw, "Warning", "FailedDeploy", f"reconcile failed: {exc}")
            self._programmed_false(gw, str(exc))
            raise

    def _observer(self) -> Observer:
        return Observer(
            self.rec.clients,
            self.rec.settings.cluster_name,
            self.rec.tag_cache,
            read_attributes=False,
            backend_security_group=self.rec.backend_sg,
        )

    def _serve(
        self, gid: str, gw: Gateway, objs: ObjectSet, observed: ObservedStack, observer: Observer
    ) -> Outcome:
        rec = self.rec
        rec.writer.add_gateway_finalizer(gw.metadata.namespace, gw.metadata.name)
        src = adopted_group(gw.metadata.annotations) if observed.empty else None
        group_obs = rec.read_stack(src, observer) if src else None
        # --take-over-lbc: LBC's stack of this Gateway (refused while LBC runs)
        lbc = rec.takeover.gateway_stack(gid, observed) if src is None else None
        built_from = group_obs if group_obs is not None else lbc or observed
        got = self._build(gid, gw, objs, built_from)
        build = got.result
        needs_certs = needs_of(objs).certificates
        inventory = rec.memory_of(gid).inventory
        observed = with_certificates(
            rec.clients, rec.settings.cluster_name, {gid: observed}, inventory, needs_certs
        ).get(gid, observed)
        vpc = rec.settings.vpc_id or (inventory.vpc_id if inventory else None)
        # routes whose gateway.k8s.aws configuration is invalid keep their rules as they are
        frozen = set(build.invalid)
        if build.group_error is not None:
            frozen.add(f"Gateway/{gw.key}")
        if group_obs is not None:  # the certificates the group imported go with it
            group_obs = with_certificates(
                rec.clients,
                rec.settings.cluster_name,
                {src or "": group_obs},
                inventory,
                needs_certs,
            ).get(src or "", group_obs)
        adopted: list[Change] = []
        if lbc is not None and build.stack is not None:
            observed, adopted = rec.adopt_lbc(gid, build, lbc, observed, gw.key)
        if src is not None and build.stack is not None:
            adoption = self._handover(gw, src, build.stack, group_obs, objs)
            observed = adoption.observed.model_copy(
                update={"backend_security_group": observed.backend_security_group}
            )
            adopted = adoption.changes
            frozen.add(LEFTOVER_MEMBER)
        if build.stack is not None:
            observed = rec.networking.prepare(build.stack, observed, None, vpc)
            rec.backend_sg = observed.backend_security_group or rec.backend_sg
            observed = observer.for_desired(observed, build.stack)
        plan = diff_stack(build.stack, observed, frozen)
        if adopted:
            plan.changes[:0] = adopted
            if src is not None:
                plan.changes = handover_order(plan.changes, observed)
        lb_info, arns, managed_sg = rec.apply_plan(plan, build, observed)
        if build.stack is not None:
            rules = rec.networking.finish(gid, build.stack, observed, managed_sg, objs, vpc)
            for w in rules.warnings:
                self._event(gw, "Warning", "SecurityGroupRuleSkipped", w)
        rec.remember(gid, build.stack, arns)
        self._publish(gw, got, lb_info)
        self._events(gw, got, plan)
        if adopted:
            whose = f"group {src}" if src else "the AWS Load Balancer Controller"
            self._event(gw, "Normal", "Adopted", f"took over the load balancer of {whose}")
            log_event(log, "adopted ingress group" if src else "adopted LBC's gateway", gateway=gid)
        bad = bool(build.problems or build.group_error)
        result = "PartiallyApplied" if bad else "Succeeded"
        log_event(
            log, "reconciled", group=gid, changes=len(plan.changes), result=result, kind="Gateway"
        )
        return plan, build, lb_info, [], [], result

    def _handover(
        self,
        gw: Gateway,
        src: str,
        stack: Stack,
        group_obs: ObservedStack | None,
        objs: ObjectSet,
    ) -> Adoption:
        """The adoption of group ``src``'s stack, checked against its Ingresses' routing."""
        rec = self.rec
        groups, _ = rec.groups_of(objs)
        group = groups.get(src)
        ingress_stack = None
        if group is not None and group.members and group_obs is not None:
            _, _, got = rec.desired_of(src, group, objs, group_obs)
            ingress_stack = got.stack
        cluster = rec.settings.cluster_name
        try:
            return take_group(f"Gateway/{gw.key}", src, stack, group_obs, ingress_stack, cluster)
        except AdoptionRefusedError as exc:
            self._programmed_false(gw, str(exc))
            self._event(gw, "Warning", "AdoptionRefused", str(exc))
            raise

    def _build(
        self, gid: str, gw: Gateway, objs: ObjectSet, observed: ObservedStack
    ) -> GatewayBuild:
        rec = self.rec
        inventory = rec.discover(gid, objs, observed)
        rec.memory_of(gid).inventory = inventory
        ix = build_indexes(objs)
        return build_gateway(
            gateway_input(
                objs,
                gw,
                inventory,
                rec.settings.build_settings(),
                now=datetime.datetime.now(datetime.UTC),
                pod_gates=ix.pod_gates,
                slices_index=ix.slices,
                secrets=self._secrets(gw),
            )
        )

    def _secrets(self, gw: Gateway) -> dict[str, Secret]:
        """GET the Secrets the listeners and ListenerRuleConfigurations name (no list or watch
        of Secrets)."""
        out: dict[str, Secret] = {}
        objs = self.rec.snapshots.objects()
        for key in secret_refs(gw) + oidc_secret_refs(objs.gateway_configs):
            ns, _, name = key.partition("/")
            raw = self.rec.secret_reader.get(ns, name)
            if raw is not None:
                out[key] = Secret.model_validate(raw)
        return out

    def _remove(
        self, gid: str, gw: Gateway | None, objs: ObjectSet, observed: ObservedStack
    ) -> Outcome:
        """The Gateway is deleted, or left albctl's classes: its stack goes, then the
        finalizer. A stack whose Gateway albctl cannot see at all is never deleted."""
        rec = self.rec
        held = gw is not None and GATEWAY_FINALIZER in gw.metadata.finalizers
        if not held:
            if not observed.empty:
                raise GuardRailError(
                    f"stack {gid} exists in AWS, but albctl sees no Gateway leaving it: "
                    "refusing to delete it; to remove an orphaned stack use albctl delete -f"
                )
            return Plan(group_id=gid), None, None, [], [], "Succeeded"
        assert gw is not None
        observed = with_certificates(
            rec.clients, rec.settings.cluster_name, {gid: observed}, None
        ).get(gid, observed)
        plan = diff_stack(None, observed)
        vpc = rec.settings.vpc_id or rec.vpc_of(observed)
        if plan.changes:
            observed = rec.networking.prepare(None, observed, plan, vpc)
        _, arns, managed_sg = rec.apply_plan(plan, None, observed)
        rec.networking.finish(gid, None, observed, managed_sg, objs, vpc)
        rec.remember(gid, None, arns)
        self._detach_routes(gw)
        rec.writer.remove_gateway_finalizer(gw.metadata.namespace, gw.metadata.name)
        self._event(gw, "Normal", "Deleted", f"load balancer of {gid} deleted")
        return plan, None, None, [], [], "Succeeded"

    # --- status and events ---------------------------------------------------------------------

    def _publish(self, gw: Gateway, got: GatewayBuild, lb_info: dict[str, Any] | None) -> None:
        rec, now = self.rec, now_rfc3339()
        st = got.status
        dns = lb_info.get("dnsName") if lb_info else None
        if got.result.stack is not None and not dns:
            st.set(Cond(PROGRAMMED, False, "Pending", "the load balancer is not there yet"))
        generation = gw.metadata.generation

        def gateway_status(obj: dict[str, Any]) -> dict[str, Any] | None:
            prev = obj.get("status") or {}
            new = gateway_status_json(st, generation, dns, prev, now)
            return None if all(prev.get(k) == v for k, v in new.items()) else new

        rec.writer.update_status(GATEWAY, gw.metadata.namespace, gw.metadata.name, gateway_status)
        controller = self._controller_of(gw)
        for key, parents in st.routes.items():
            self._route_status(key, gw.key, parents, now, controller)
        self._detach_routes(gw, keep=set(st.routes))
        self._accept_class(gw)

    def _route_status(
        self, key: str, gateway: str, parents: list[Any], now: str, controller: str
    ) -> None:
        """Write the route's (``<kind>/<ns>/<name>``) entries of this Gateway."""
        kind, _, rest = key.partition("/")
        ns, _, name = rest.partition("/")

        def change(obj: dict[str, Any]) -> dict[str, Any] | None:
            prev = (obj.get("status") or {}).get("parents") or []
            generation = int(obj["metadata"].get("generation") or 0)
            new = route_parents_json(prev, gateway, parents, controller, generation, now)
            return None if new == prev else {"parents": new}

        self.rec.writer.update_status(ROUTE_KINDS[kind], ns, name, change)

    def _detach_routes(self, gw: Gateway, keep: set[str] | None = None) -> None:
        """Remove this Gateway's entries from routes it no longer reports on."""
        for kind in ROUTE_KINDS:
            inf = self.rec.snapshots.informers.get(kind)
            for raw in inf.list() if inf else []:
                meta = raw.get("metadata") or {}
                key = f"{kind}/{meta.get('namespace')}/{meta.get('name')}"
                if keep is not None and key in keep:
                    continue
                parents = (raw.get("status") or {}).get("parents") or []
                for c in self.controller_names:
                    if any(
                        p.get("controllerName") == c
                        and (p.get("parentRef") or {}).get("name") == gw.metadata.name
                        and (p.get("parentRef") or {}).get("namespace") == gw.metadata.namespace
                        for p in parents
                    ):
                        self._route_status(key, gw.key, [], now_rfc3339(), c)

    def _accept_class(self, gw: Gateway) -> None:
        raw = self.rec.snapshots.raw("GatewayClass", gw.spec.gateway_class_name)
        if raw is None:
            return
        generation = int(raw["metadata"].get("generation") or 0)
        conds = (raw.get("status") or {}).get("conditions") or []
        objs = self.rec.snapshots.objects()
        cls = our_classes(objs, self.rec.settings.build_settings()).get(gw.spec.gateway_class_name)
        problem = class_parameters_error(cls, objs.gateway_configs) if cls else None
        cond = (
            Cond("Accepted", False, "InvalidParameters", problem)
            if problem
            else Cond("Accepted", True, "Accepted", f"served by {self._controller_of(gw)}")
        )
        if any(
            c.get("type") == "Accepted"
            and c.get("status") == ("True" if cond.status else "False")
            and c.get("message") == cond.message
            and c.get("observedGeneration") == generation
            for c in conds
        ):
            return
        status = {"conditions": [{**cond.to_json(generation), "lastTransitionTime": now_rfc3339()}]}
        self.rec.writer.set_gateway_class_status(gw.spec.gateway_class_name, status)

    def _programmed_false(self, gw: Gateway, message: str) -> None:
        def change(obj: dict[str, Any]) -> dict[str, Any] | None:
            prev = obj.get("status") or {}
            conds = [c for c in prev.get("conditions") or [] if c.get("type") != PROGRAMMED]
            cond = Cond(PROGRAMMED, False, "Pending", message[:1024])
            conds.append(
                {**cond.to_json(gw.metadata.generation), "lastTransitionTime": now_rfc3339()}
            )
            return {"conditions": conds}

        try:
            self.rec.writer.update_status(GATEWAY, gw.metadata.namespace, gw.metadata.name, change)
        except (AlbctlError, NotFound) as exc:
            log_event(log, "status not written", logging.WARNING, gateway=gw.key, error=str(exc))

    def _ref(self, gw: Gateway) -> ObjectRef:
        return ObjectRef(
            "Gateway", gw.metadata.name, gw.metadata.namespace, gw.metadata.uid, API_VERSION
        )

    def _event(self, gw: Gateway, type_: str, reason: str, message: str) -> None:
        self.rec.recorder.record(self._ref(gw), type_, reason, message)

    def _events(self, gw: Gateway, got: GatewayBuild, plan: Plan) -> None:
        if plan.changes:
            self._event(gw, "Normal", "Reconciled", summarize(plan.changes))
        if got.result.group_error is not None:
            self._event(gw, "Warning", "InvalidGateway", str(got.result.group_error))
        for e in got.result.problems:
            kind, _, rest = e.obj.partition("/")
            if kind in ROUTE_KINDS:
                ns, _, name = rest.partition("/")
                raw = self.rec.snapshots.raw(kind, f"{ns}/{name}")
                uid = (raw or {}).get("metadata", {}).get("uid", "")
                ref = ObjectRef(kind, name, ns, uid, API_VERSION)
                self.rec.recorder.record(ref, "Warning", "InvalidRoute", str(e))
            else:
                self._event(gw, "Warning", "InvalidGateway", str(e))
        for e in got.result.secret_errors:
            self._event(gw, "Warning", "InvalidTLSSecret", str(e))
