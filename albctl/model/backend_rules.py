"""Which ingress rules the targets' security groups need so the load balancer can reach them.

Pure: the AWS adapter says which network interface (and security groups) holds each target;
this module decides, per security group, which TCP ports must be open from the load
balancer's backend security group (or its managed frontend group), and what to add or remove
compared with the rules albctl added earlier. Rules albctl did not add are never considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from albctl.model.desired import TargetGroup
from albctl.model.objects import EndpointSlice, Node

CLUSTER_SG_TAG = "kubernetes.io/cluster/{cluster}"

# security group id -> ports (TCP, one rule per port)
PortsBySG = dict[str, frozenset[int]]


class NetworkInterface(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    security_groups: tuple[str, ...]


@dataclass
class DesiredRules:
    """Ports to open per security group, and the targets whose rule cannot be decided."""

    ports: PortsBySG = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def target_ports(target_groups: Iterable[TargetGroup]) -> dict[str, frozenset[int]]:
    """Ports each target (pod IP or instance id) must accept: traffic and health-check port."""
    out: dict[str, set[int]] = {}
    for tg in target_groups:
        hc = tg.health_check.port
        for t in tg.targets:
            ports = out.setdefault(t.id, set())
            ports.add(t.port)
            if hc.isdigit():
                ports.add(int(hc))
    return {k: frozenset(v) for k, v in out.items()}


def choose_security_group(
    eni: NetworkInterface, sg_tags: Mapping[str, Mapping[str, str]], cluster: str
) -> str | None:
    """The one security group of ``eni`` that gets the rules, or None when it is ambiguous.

    An interface with one group: that one. With several: the one tagged
    ``kubernetes.io/cluster/<cluster>`` (as EKS tags the cluster and node groups).
    """
    if len(eni.security_groups) == 1:
        return eni.security_groups[0]
    tag = CLUSTER_SG_TAG.format(cluster=cluster)
    tagged = [sg for sg in eni.security_groups if tag in sg_tags.get(sg, {})]
    return tagged[0] if len(tagged) == 1 else None


def desired_rules(
    ports_by_target: Mapping[str, frozenset[int]],
    eni_of: Mapping[str, NetworkInterface | None],
    sg_tags: Mapping[str, Mapping[str, str]],
    cluster: str,
) -> DesiredRules:
    out: dict[str, set[int]] = {}
    result = DesiredRules()
    warned: set[str] = set()
    tag = CLUSTER_SG_TAG.format(cluster=cluster)
    for target in sorted(ports_by_target):
        eni = eni_of.get(target)
        if eni is None:
            result.warnings.append(
                f"no network interface in the VPC holds target {target}: no security group "
                "rule added for it"
            )
            continue
        sg = choose_security_group(eni, sg_tags, cluster)
        if sg is None:
            if eni.id not in warned:
                warned.add(eni.id)
                result.warnings.append(
                    f"network interface {eni.id} has security groups "
                    f"{', '.join(eni.security_groups) or '(none)'} and not exactly one is tagged "
                    f"{tag}: no rule added for its targets; tag one of them"
                )
            continue
        out.setdefault(sg, set()).update(ports_by_target[target])
    result.ports = {sg: frozenset(p) for sg, p in sorted(out.items())}
    return result


def merge(*parts: Mapping[str, frozenset[int]]) -> PortsBySG:
    out: dict[str, set[int]] = {}
    for part in parts:
        for sg, ports in part.items():
            out.setdefault(sg, set()).update(ports)
    return {sg: frozenset(p) for sg, p in out.items()}


def missing(want: Mapping[str, frozenset[int]], have: Mapping[str, frozenset[int]]) -> PortsBySG:
    """Rules in ``want`` that ``have`` lacks (per security group, non-empty only)."""
    out = {sg: frozenset(ports - have.get(sg, frozenset())) for sg, ports in want.items()}
    return {sg: p for sg, p in sorted(out.items()) if p}


def instance_hints(slices: Iterable[EndpointSlice], nodes: Iterable[Node]) -> dict[str, str]:
    """Pod IP -> the instance id of its node (for interfaces found through the node)."""
    instance = {n.metadata.name: n.instance_id for n in nodes if n.instance_id}
    out: dict[str, str] = {}
    for s in slices:
        for ep in s.endpoints:
            iid = instance.get(ep.node_name or "")
            if iid:
                out.update({a: iid for a in ep.addresses})
    return out
