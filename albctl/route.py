"""``albctl route``: which rule of a load balancer serves a request (read-only).

Routing tables come from the live ALBs (AWS, read-only: the ALBs tagged for the cluster, or
those of the LoadBalancerGroups of a cluster) or from manifests (the desired state, built with
assumed subnets and certificates, no AWS). The table of the load balancer serving the
request's host is chosen, and the pure router answers.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from albctl.errors import RouteError
from albctl.manifests import ObjectSet, load_manifests
from albctl.model.builder import GroupInput, build_group
from albctl.model.gateway.build import build_gateway
from albctl.model.gateway.select import gateway_input, our_gateways
from albctl.model.groups import group_ingresses
from albctl.model.inventory import CertificateInfo, Inventory, SubnetInfo
from albctl.model.route_view import describe, route_json
from albctl.model.router import Request, RoutingTable, from_stack, parse_request, route, serves_host
from albctl.model.settings import BuildSettings

_ROLES = {"kubernetes.io/role/elb": "1", "kubernetes.io/role/internal-elb": "1"}


def offline_inventory(objects: ObjectSet) -> Inventory:
    """Subnets and a certificate for every host, so a desired state builds without AWS."""
    hosts = {r.host for i in objects.ingresses for r in i.spec.rules if r.host}
    hosts |= {h for i in objects.ingresses for t in i.spec.tls for h in t.hosts}
    hosts |= {li.hostname for g in objects.gateways for li in g.spec.listeners if li.hostname}
    return Inventory(
        vpc_id="vpc-offline",
        subnets=tuple(
            SubnetInfo(
                id=f"subnet-offline-{az}", az=f"offline-{az}", vpc_id="vpc-offline", tags=_ROLES
            )
            for az in ("a", "b")
        ),
        certificates=tuple(
            CertificateInfo(arn=f"arn:aws:acm:offline:000000000000:certificate/{h}", domains=(h,))
            for h in sorted(hosts)
        ),
    )


def tables_from_files(paths: Iterable[str | Path], cluster: str | None) -> list[RoutingTable]:
    objects = load_manifests(paths)
    settings = BuildSettings(cluster_name=cluster or "offline", import_tls_secrets=False)
    grouping = group_ingresses(
        objects.ingresses, objects.ingress_classes, objects.ingress_class_params, settings
    )
    inventory = offline_inventory(objects)
    services = {s.key: s for s in objects.services}
    tables = []
    for _, group in sorted(grouping.groups.items()):
        built = build_group(
            GroupInput(group, services, objects.endpoint_slices, objects.nodes, inventory, settings)
        )
        if built.stack is not None:
            tables.append(from_stack(built.stack))
    for gw in our_gateways(objects, settings).values():
        got = build_gateway(gateway_input(objects, gw, inventory, settings))
        if got.result.stack is not None:
            tables.append(from_stack(got.result.stack))
    return tables


def pick(tables: list[RoutingTable], host: str) -> RoutingTable:
    """The load balancer serving ``host``: one whose rules name it, else one for any host."""
    ranked = [(serves_host(t, host), t) for t in tables]
    for level in (2, 1):
        found = [t for rank, t in ranked if rank == level]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(t.name for t in found)
            raise RouteError(f"host {host} is served by several load balancers: {names}")
    raise RouteError(f"no load balancer serves host {host} ({len(tables)} looked at)")


def route_one(tables: list[RoutingTable], req: Request) -> tuple[str, dict[str, Any]]:
    """(the load balancer's name, the route as ``albctl route -o json`` prints it)."""
    table = pick(tables, req.host)
    return table.name, route_json(route(table, req), table, req)


def parse_line(line: str) -> tuple[str, str, list[str], str | None]:
    """``METHOD URL [-H 'Name: value' | Name:value]... [--source-ip IP]`` of a requests file."""
    words = shlex.split(line, comments=True)
    if len(words) < 2:
        raise RouteError(f"{line!r}: expected METHOD URL [headers]")
    headers: list[str] = []
    source_ip = None
    rest = iter(words[2:])
    for w in rest:
        if w == "--source-ip":
            source_ip = next(rest, None)
        else:
            headers.append(next(rest, "") if w in ("-H", "--header") else w)
    return words[0], words[1], headers, source_ip


def print_one(name: str, data: dict[str, Any], output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    listener, rule, action, service = describe(data)
    sys.stdout.write(
        f"load balancer: {name}\nlistener:      {listener}\n"
        f"rule:          {rule}\naction:        {action}\nservice:       {service}\n"
    )


def route_file(
    tables: list[RoutingTable], lines: list[str], source_ip: str | None
) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry: dict[str, Any] = {"request": line.strip()}
        try:
            method, url, headers, own_ip = parse_line(line)
            req = parse_request(method, url, headers, own_ip or source_ip)
            name, data = route_one(tables, req)
            entry.update({"loadBalancer": name, **data})
        except RouteError as exc:
            entry["error"] = str(exc)
        out.append(entry)
    return out


def print_table(rows: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps({"routes": rows}, indent=2) + "\n")
        return
    table = [("REQUEST", "LISTENER", "RULE", "ACTION", "SERVICE")]
    for r in rows:
        if "error" in r:
            table.append((r["request"], "-", "-", f"error: {r['error']}", "-"))
        else:
            table.append((r["request"], *describe(r)))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [c.ljust(widths[i]) for i, c in enumerate(row[:4])]
        sys.stdout.write("  ".join([*cells, row[4]]) + "\n")
