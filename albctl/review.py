"""The review commands: ``albctl status``, ``events``, ``history`` (read-only).

They read LoadBalancerGroups and Events from the cluster, and with a group name the live ALB
tree from AWS, so operators can see what albctl did and why without reading its logs.
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any

import yaml
from rich import box
from rich.console import Console
from rich.table import Table

from albctl.kube.api import KubeApi, NotFound
from albctl.kube.read import (
    event_row,
    list_events,
    load_balancer_group,
    load_balancer_groups,
    matches,
    watch_events,
)


def console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _table(*columns: str) -> Table:
    plain = not sys.stdout.isatty()
    t = Table(box=None if plain else box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for c in columns:
        t.add_column(c, no_wrap=c not in ("MESSAGE", "CHANGES"))
    return t


def _condition(status: dict[str, Any], type_: str) -> str:
    for c in status.get("conditions") or []:
        if c.get("type") == type_:
            return str(c.get("status", "Unknown"))
    return "Unknown"


def group_entry(obj: dict[str, Any]) -> dict[str, Any]:
    return {"name": obj["metadata"]["name"], **(obj.get("status") or {})}


def dump(data: Any, output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))


def status_all(api: KubeApi, output: str) -> None:
    groups = load_balancer_groups(api)
    if output in ("json", "yaml"):
        dump({"groups": [group_entry(g) for g in groups]}, output)
        return
    t = _table("NAME", "DNS", "MEMBERS", "READY", "LAST-RECONCILE", "RESULT")
    for g in groups:
        s = g.get("status") or {}
        last = s.get("lastReconcile") or {}
        t.add_row(
            g["metadata"]["name"],
            str((s.get("loadBalancer") or {}).get("dnsName") or "-"),
            str(s.get("memberCount", 0)),
            _condition(s, "Ready"),
            str(last.get("time", "-")),
            str(last.get("result", "-")),
        )
    if not groups:
        console().print("no load balancer groups (is the controller running?)")
        return
    console().print(t)


def status_one(
    api: KubeApi, name: str, output: str, tree: dict[str, Any] | None, tree_error: str | None
) -> None:
    obj = load_balancer_group(api, name)
    entry = group_entry(obj)
    if output in ("json", "yaml"):
        if tree is not None:
            entry["loadBalancerTree"] = tree
        if tree_error:
            entry["loadBalancerTreeError"] = tree_error
        dump({"groups": [entry]}, output)
        return
    from albctl.render import print_tree

    c = console()
    s = obj.get("status") or {}
    lb = s.get("loadBalancer") or {}
    c.print(f"[bold]group {name}[/]  ({s.get('groupID', '?')})")
    c.print(f"  load balancer: {lb.get('dnsName', '-')}  {lb.get('scheme', '')}")
    for cond in s.get("conditions") or []:
        c.print(
            f"  {cond['type']}: {cond['status']}  {cond.get('reason', '')}  {cond.get('message', '')}"
        )
    last = s.get("lastReconcile") or {}
    c.print(
        f"  last reconcile: {last.get('time', '-')} {last.get('result', '')} ({last.get('durationSeconds', '?')}s, {last.get('awsCalls', '?')} AWS calls)"
    )
    t = _table("MEMBER", "STATE", "MESSAGE")
    for m in s.get("members") or []:
        t.add_row(f"{m['namespace']}/{m['name']}", m["state"], m.get("message", ""))
    c.print(t)
    if tree is not None:
        print_tree(tree)
    elif tree_error:
        c.print(f"[yellow]live AWS view unavailable:[/] {tree_error}")


def history(api: KubeApi, name: str, output: str) -> None:
    obj = load_balancer_group(api, name)
    records = (obj.get("status") or {}).get("history") or []
    if output == "json":
        dump({"history": records}, "json")
        return
    t = _table("TIME", "RESULT", "DURATION", "AWS-CALLS", "CHANGES")
    for r in records:
        changes = ", ".join(
            f"{c['action']} {c['kind']} {c['id']}" for c in r.get("changes") or []
        ) or r.get("message", "")
        t.add_row(
            r.get("time", ""),
            r.get("result", ""),
            f"{r.get('durationSeconds', '')}s",
            str(r.get("awsCalls", "")),
            changes,
        )
    if not records:
        console().print(f"no reconcile of {name} has changed anything yet")
        return
    console().print(t)


def _members(api: KubeApi, group: str | None) -> set[str] | None:
    if not group:
        return None
    try:
        obj = load_balancer_group(api, group)
    except NotFound:
        return set()
    return {f"{m['namespace']}/{m['name']}" for m in (obj.get("status") or {}).get("members") or []}


def events(
    api: KubeApi,
    group: str | None,
    ingress: str | None,
    reason: str | None,
    since: datetime.timedelta | None,
    watch: bool,
    output: str,
) -> None:
    cutoff = datetime.datetime.now(datetime.UTC) - since if since else None
    members = _members(api, group)
    items, rv = list_events(api)
    rows = [event_row(e) for e in items if matches(e, group, ingress, reason, cutoff, members)]
    if output == "json" and not watch:
        dump(
            {
                "events": [
                    {k: r[k] for k in ("time", "type", "reason", "object", "message")} for r in rows
                ]
            },
            "json",
        )
        return
    c = console()

    def show(r: dict[str, Any]) -> None:
        if output == "json":
            sys.stdout.write(
                json.dumps({k: r[k] for k in ("time", "type", "reason", "object", "message")})
                + "\n"
            )
            sys.stdout.flush()
        else:
            colour = "yellow" if r["type"] == "Warning" else "green"
            count = f" (x{r['count']})" if r["count"] > 1 else ""
            c.print(
                f"{r['time']}  [{colour}]{r['type']:7}[/] {r['reason']:15} {r['object']}: {r['message']}{count}"
            )

    for r in rows:
        show(r)
    if not watch:
        if not rows and output != "json":
            c.print("no events from albctl match")
        return
    for e in watch_events(api, rv):
        if group:
            members = _members(api, group)
        if matches(e, group, ingress, reason, cutoff, members):
            show(event_row(e))
