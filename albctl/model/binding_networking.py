"""TargetGroupBinding networking: the ingress rules to authorize on the targets' security groups
(pure).

``spec.networking.ingress[]`` lists sources (security groups or CIDR blocks) and ports; albctl
allows them on the security group of each target's network interface (ip targets: the ENI
holding the pod IP; instance targets: the instance's primary ENI). An ENI with one security
group: that one; with several: the one tagged ``kubernetes.io/cluster/<cluster>``; otherwise
nothing is authorized for that target and the binding is told why.

Rules are shared: the desired set is the union over every binding, so two bindings asking for
the same rule on the same security group get one rule. The AWS adapter tags the rules it adds
and only ever revokes rules carrying those tags.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from albctl.errors import InvalidBindingError
from albctl.model.objects import NetworkingPeer, TargetGroupBinding

ALL_PORTS = (0, 65535)
PROTOCOLS = ("TCP", "UDP")


class Permission(BaseModel):
    """One ingress rule on one security group: ports from one source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group_id: str
    protocol: str  # tcp | udp
    from_port: int
    to_port: int
    source_group: str | None = None
    cidr: str | None = None

    def describe(self) -> str:
        ports = "all" if (self.from_port, self.to_port) == ALL_PORTS else str(self.from_port)
        if self.to_port != self.from_port and ports != "all":
            ports += f"-{self.to_port}"
        return f"{self.group_id} {self.protocol}/{ports} from {self.source_group or self.cidr}"


class Eni(BaseModel):
    """A network interface a target lives on, with its security groups' ids and tags."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    security_groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (id, tags)


@dataclass(frozen=True)
class NetworkingEntry:
    """A valid binding with networking rules, and the targets it registered."""

    binding: TargetGroupBinding
    targets: frozenset[tuple[str, int]]  # (instance id or IP address, port)
    target_type: str = "ip"


@dataclass
class NetworkingPlan:
    permissions: set[Permission] = field(default_factory=set)
    # binding key -> what could not be authorized, and why
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.problems


def _error(b: TargetGroupBinding, where: str, message: str) -> InvalidBindingError:
    return InvalidBindingError(f"TargetGroupBinding/{b.key}", where, message, "InvalidSpec")


def _peer(b: TargetGroupBinding, where: str, peer: NetworkingPeer) -> tuple[str | None, str | None]:
    if (peer.security_group is None) == (peer.ip_block is None):
        raise _error(b, where, "set exactly one of securityGroup and ipBlock")
    if peer.security_group is not None:
        if not peer.security_group.group_id.startswith("sg-"):
            raise _error(b, f"{where}.securityGroup.groupID", "must be a security group id sg-…")
        return peer.security_group.group_id, None
    assert peer.ip_block is not None
    try:
        return None, str(ipaddress.ip_network(peer.ip_block.cidr, strict=False))
    except ValueError:
        raise _error(
            b, f"{where}.ipBlock.cidr", f"{peer.ip_block.cidr!r} is not a CIDR block"
        ) from None


def _ports(b: TargetGroupBinding, i: int) -> list[tuple[str, int, int]]:
    assert b.spec.networking is not None
    rule = b.spec.networking.ingress[i]
    if not rule.ports:
        return [("tcp", *ALL_PORTS)]
    out: list[tuple[str, int, int]] = []
    for j, p in enumerate(rule.ports):
        where = f"spec.networking.ingress[{i}].ports[{j}]"
        protocol = (p.protocol or "TCP").upper()
        if protocol not in PROTOCOLS:
            raise _error(b, f"{where}.protocol", f"{p.protocol!r}: must be TCP or UDP")
        if isinstance(p.port, str):
            raise _error(
                b, f"{where}.port", f"{p.port!r}: named ports are not supported; use a number"
            )
        if p.port is not None and not 1 <= p.port <= 65535:
            raise _error(b, f"{where}.port", f"{p.port}: must be 1-65535")
        low, high = (p.port, p.port) if p.port is not None else ALL_PORTS
        out.append((protocol.lower(), low, high))
    return out


def rules_of(b: TargetGroupBinding) -> list[tuple[str, int, int, str | None, str | None]]:
    """(protocol, from port, to port, source group, CIDR) the binding asks for; raises on an
    invalid ``spec.networking``."""
    out: list[tuple[str, int, int, str | None, str | None]] = []
    for i, rule in enumerate(b.spec.networking.ingress if b.spec.networking else ()):
        if not rule.from_:
            raise _error(b, f"spec.networking.ingress[{i}].from", "needs at least one source")
        ports = _ports(b, i)
        for j, peer in enumerate(rule.from_):
            group, cidr = _peer(b, f"spec.networking.ingress[{i}].from[{j}]", peer)
            out += [(proto, low, high, group, cidr) for proto, low, high in ports]
    return out


def target_security_group(eni: Eni, cluster: str) -> tuple[str | None, str]:
    """The security group of an ENI that albctl authorizes on, or (None, why not)."""
    groups = eni.security_groups
    if len(groups) == 1:
        return groups[0][0], ""
    tagged = [
        g for g, tags in groups if any(k == f"kubernetes.io/cluster/{cluster}" for k, _ in tags)
    ]
    if len(tagged) == 1:
        return tagged[0], ""
    if not groups:
        return None, f"network interface {eni.id} has no security group"
    return None, (
        f"network interface {eni.id} has {len(groups)} security groups and "
        f"{'none' if not tagged else len(tagged)} tagged kubernetes.io/cluster/{cluster}"
    )


def desired_permissions(
    entries: Sequence[NetworkingEntry], enis: Mapping[str, Eni], cluster: str
) -> NetworkingPlan:
    """The union of the rules every binding needs on its targets' security groups.

    ``enis``: target id (IP address or instance id) → its network interface."""
    plan = NetworkingPlan()
    for entry in entries:
        rules = rules_of(entry.binding)
        groups: set[str] = set()
        for target, _ in sorted(entry.targets):
            eni = enis.get(target)
            if eni is None:
                plan.problems.setdefault(entry.binding.key, []).append(
                    f"no network interface found for target {target}"
                )
                continue
            group, why = target_security_group(eni, cluster)
            if group is None:
                plan.problems.setdefault(entry.binding.key, []).append(f"target {target}: {why}")
                continue
            groups.add(group)
        plan.permissions |= {
            Permission(group_id=g, protocol=p, from_port=lo, to_port=hi, source_group=sg, cidr=cidr)
            for g in groups
            for p, lo, hi, sg, cidr in rules
        }
    return plan
