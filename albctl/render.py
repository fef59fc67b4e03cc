"""Human output of plans, apply reports and load balancer trees (rich on a terminal, plain when piped)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.tree import Tree

from albctl.aws.clients import is_mutating
from albctl.controller.engine import Report

SYMBOL = {
    "adopt": "[cyan]&[/]",
    "create": "[green]+[/]",
    "update": "[yellow]~[/]",
    "replace": "[magenta]-/+[/]",
    "delete": "[red]-[/]",
}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _detail(details: dict[str, Any]) -> str:
    parts = []
    for k, v in details.items():
        if isinstance(v, (dict, list)):
            parts.append(f"{k}={v}")
        else:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


def print_report(report: Report, mode: str) -> None:
    out = _console()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for note in report.notes:
        err.print(f"[dim]note: {note}[/]")
    for key, reason in report.ignored:
        err.print(f"[dim]note: Ingress/{key} ignored: {reason}[/]")
    verb = {"plan": "would", "apply": "applied", "delete": "deleted"}[mode]
    total = 0
    for o in report.outcomes:
        head = f"[bold]group {o.group_id}[/]" + (" (not in the files: pruned)" if o.pruned else "")
        if o.result and o.result.dns_name:
            head += f"  dns={o.result.dns_name}"
        out.print(head)
        for member, exc in sorted(o.invalid.items()):
            err.print(
                f"  [bold red]invalid[/] Ingress/{member} left out (its AWS resources are kept): {exc}"
            )
        if o.build:
            for obj, msg in o.build.warnings:
                err.print(f"  [yellow]warning[/] {obj}: {msg}")
            for e in o.build.secret_errors:
                err.print(f"  [yellow]warning[/] {e} (the other hosts are served)")
            for e in o.build.problems:
                err.print(f"  [bold red]invalid[/] {e}")
            if o.build.group_error:
                err.print(
                    f"  [bold red]error[/] {o.build.group_error} (nothing changed for this group)"
                )
        if o.error:
            err.print(f"  [bold red]error[/] {o.error}")
        if not o.plan.changes:
            out.print("  no changes")
        for c in o.plan.changes:
            total += 1
            out.print(
                f"  {SYMBOL[c.action]} {c.action} {c.kind} {c.id}  [dim]{_detail(c.details)}[/]"
            )
    total += _print_bindings(report, mode, out, err)
    where = f"{len(report.outcomes)} group(s)"
    if report.bindings:
        where += f" and {len(report.bindings)} target group binding(s)"
    if mode == "plan":
        out.print(f"\n{total} change(s) planned in {where}.")
    else:
        out.print(f"\n{total} change(s) {verb} in {where}.")


def _targets(items: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"{i}:{p}" for i, p in items[:6])
    return shown + (f" (+{len(items) - 6} more)" if len(items) > 6 else "")


def _print_bindings(report: Report, mode: str, out: Console, err: Console) -> int:
    """One block per TargetGroupBinding; returns the number of target changes."""
    would = "would " if mode == "plan" else ""
    total = 0
    for b in report.bindings:
        head = f"[bold]binding {b.key}[/]"
        if b.target_group_arn:
            head += f"  target-group={b.target_group_arn}"
        out.print(head)
        if b.error:
            err.print(f"  [bold red]invalid[/] {b.error} (nothing changed for this binding)")
            continue
        if b.note:
            out.print(f"  {b.note}")
        if b.registered:
            out.print(f"  {SYMBOL['create']} {would}register {_targets(b.registered)}")
        if b.deregistered:
            out.print(f"  {SYMBOL['delete']} {would}deregister {_targets(b.deregistered)}")
        if not (b.registered or b.deregistered):
            count = f" ({b.targets} target(s) registered)" if mode != "delete" else ""
            out.print(f"  no target changes{count}")
        total += len(b.registered) + len(b.deregistered)
    return total


def report_json(report: Report) -> dict[str, Any]:
    return {
        "groups": [
            {
                "group": o.group_id,
                "dnsName": o.result.dns_name if o.result else None,
                "loadBalancerArn": o.result.load_balancer_arn if o.result else None,
                "changes": [c.to_json() for c in o.plan.changes],
                "invalid": {k: str(v) for k, v in sorted(o.invalid.items())},
                "problems": [str(e) for e in (o.build.problems if o.build else [])],
                "warnings": [f"{obj}: {msg}" for obj, msg in (o.build.warnings if o.build else [])]
                + [str(e) for e in (o.build.secret_errors if o.build else [])],
                "error": o.error
                or (str(o.build.group_error) if o.build and o.build.group_error else None),
                "pruned": o.pruned,
            }
            for o in report.outcomes
        ],
        "bindings": [
            {
                "binding": b.key,
                "targetGroupARN": b.target_group_arn,
                "targets": b.targets,
                "registered": [f"{i}:{p}" for i, p in b.registered],
                "deregistered": [f"{i}:{p}" for i, p in b.deregistered],
                "error": b.error,
                "note": b.note,
            }
            for b in report.bindings
        ],
        "ignored": [{"ingress": k, "reason": r} for k, r in report.ignored],
        "awsCalls": {
            "total": sum(report.aws_calls.values()),
            "mutating": {
                f"{s}:{o}": n for (s, o), n in sorted(report.aws_calls.items()) if is_mutating(o)
            },
        },
    }


def print_tree(tree_data: dict[str, Any]) -> None:
    """Print a load balancer tree as read by :func:`albctl.aws.tree.describe_tree`."""
    lb = tree_data["loadBalancer"]
    root = Tree(f"[bold]{lb['name']}[/] ({lb['scheme']}, {lb['dnsName']})")
    for li in tree_data["listeners"]:
        certs = f", {len(li['certificates'])} certificate(s)" if li["certificates"] else ""
        node = root.add(f"[cyan]{li['protocol']}:{li['port']}[/]{certs}  default → {li['default']}")
        for r in li["rules"]:
            rn = node.add(f"[{r['priority']}] {r['conditions']} → {r['action']}")
            for tg in r["targetGroups"]:
                tn = rn.add(
                    f"[green]{tg['name']}[/] ({tg['targetType']} {tg['protocol']}:{tg['port']}, weight {tg['weight']})"
                )
                for t in tg["targets"]:
                    tn.add(f"{t['id']}:{t['port']} {t['health']}")
    _console().print(root)
