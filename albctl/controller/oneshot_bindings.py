"""TargetGroupBindings in one-shot mode (``albctl plan|apply|delete -f``).

Targets are registered (plan: counted) or deregistered (delete) with the same model and AWS
code the controller uses. ``spec.networking`` rules are authorized on apply; revoking a rule
needs the whole cluster's bindings, so only the controller (``albctl run``) revokes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from albctl.aws.binding import TargetSync, deregister_all, find_target_group
from albctl.aws.binding import sync_targets as aws_sync_targets
from albctl.aws.binding_networking import apply_permissions, target_enis
from albctl.aws.clients import AwsClients
from albctl.errors import AlbctlError, InvalidBindingError
from albctl.logs import log_event
from albctl.manifests import ObjectSet
from albctl.model.binding import (
    BindingInput,
    TargetKey,
    check_target_group,
    plan_binding,
    target_group_ref,
)
from albctl.model.binding_networking import NetworkingEntry, desired_permissions
from albctl.model.readiness import pod_gates

log = logging.getLogger(__name__)

Mode = Literal["plan", "apply", "delete"]


@dataclass
class BindingOutcome:
    """What one TargetGroupBinding of the files did (or, for a plan, would do)."""

    key: str
    target_group_arn: str | None = None
    targets: int = 0
    registered: list[TargetKey] = field(default_factory=list)
    deregistered: list[TargetKey] = field(default_factory=list)
    error: str | None = None
    note: str | None = None
    rules_added: int = 0  # spec.networking rules authorized

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def changes(self) -> list[dict[str, Any]]:
        """Plan-JSON entries (one ``update`` of the binding's targets, when any change)."""
        if not (self.registered or self.deregistered):
            return []
        details = {
            "targetGroupARN": self.target_group_arn,
            "register": [f"{i}:{p}" for i, p in self.registered],
            "deregister": [f"{i}:{p}" for i, p in self.deregistered],
        }
        return [
            {"action": "update", "kind": "TargetGroupBinding", "id": self.key, "details": details}
        ]


# --- TargetGroupBindings in the files -----------------------------------------------------------


def _binding_input(
    clients: AwsClients, objects: ObjectSet, index: int, vpc_id: str | None
) -> BindingInput:
    b = objects.target_group_bindings[index]
    kind, ref = target_group_ref(b)
    return BindingInput(
        b,
        find_target_group(clients, kind, ref),
        {s.key: s for s in objects.services},
        objects.endpoint_slices,
        objects.nodes,
        vpc_id,
        objects.target_group_bindings,
        pod_gates(objects.pods),
    )


def _release(clients: AwsClients, inp: BindingInput, out: BindingOutcome, dry: bool) -> None:
    """delete -f: empty the target group the binding holds; nothing when it holds none."""
    try:
        check_target_group(inp)
    except InvalidBindingError as exc:
        if exc.reason in ("TargetGroupNotFound", "TargetGroupInUse"):
            out.note = f"{exc.message}: nothing to deregister"
            return
        raise
    assert inp.target_group is not None
    out.target_group_arn = inp.target_group.arn
    out.deregistered = deregister_all(clients, inp.target_group.arn, dry_run=dry).deregistered


def _bind(
    clients: AwsClients, inp: BindingInput, out: BindingOutcome, dry: bool, cluster: str
) -> None:
    result = plan_binding(inp)
    if result.error is not None:
        raise result.error
    assert result.target_group is not None
    out.target_group_arn = result.target_group.arn
    out.targets = len(result.targets)
    sync: TargetSync = aws_sync_targets(clients, result.target_group.arn, result.targets, dry)
    out.registered, out.deregistered = sync.registered, sync.deregistered
    spec = inp.binding.spec
    if spec.networking and spec.networking.ingress and not dry:
        entry = NetworkingEntry(inp.binding, result.targets, result.target_type or "ip")
        _authorize(clients, inp, entry, out, cluster)


def _authorize(
    clients: AwsClients,
    inp: BindingInput,
    entry: NetworkingEntry,
    out: BindingOutcome,
    cluster: str,
) -> None:
    """Add the binding's spec.networking rules on its targets' security groups (no revoke)."""
    assert inp.vpc_id is not None  # checked against the target group's VPC
    ips = {t for t, _ in entry.targets} if entry.target_type == "ip" else set()
    instances = {t for t, _ in entry.targets} if entry.target_type == "instance" else set()
    enis = target_enis(clients, inp.vpc_id, ips, instances)
    plan = desired_permissions([entry], enis, cluster)
    changes = apply_permissions(clients, cluster, plan.permissions, revoke=False)
    out.rules_added = len(changes.added)
    problems = [p for ps in plan.problems.values() for p in ps]
    if problems:
        out.note = f"spec.networking: not authorized for {len(problems)} target(s): {problems[0]}"


def run_bindings(
    clients: AwsClients, objects: ObjectSet, mode: Mode, vpc_id: str | None, cluster: str
) -> list[BindingOutcome]:
    """Register (plan/apply) or deregister (delete) the targets of every binding in the files.

    An invalid binding is reported and changes nothing; the others are still applied."""
    outcomes: list[BindingOutcome] = []
    order = sorted(
        range(len(objects.target_group_bindings)),
        key=lambda i: objects.target_group_bindings[i].key,
    )
    for i in order:
        out = BindingOutcome(objects.target_group_bindings[i].key)
        try:
            inp = _binding_input(clients, objects, i, vpc_id)
            if mode == "delete":
                _release(clients, inp, out, dry=False)
            else:
                _bind(clients, inp, out, mode == "plan", cluster)
        except AlbctlError as exc:
            out.error = str(exc)
            log_event(log, "binding failed", logging.ERROR, binding=out.key, error=str(exc))
        outcomes.append(out)
    return outcomes
