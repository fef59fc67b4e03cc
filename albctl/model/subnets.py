"""Subnet selection: discovery by role tags, or resolution of the subnets annotation."""

from __future__ import annotations

from collections.abc import Sequence

from albctl.model.inventory import SubnetInfo

ROLE_TAGS = {
    "internet-facing": "kubernetes.io/role/elb",
    "internal": "kubernetes.io/role/internal-elb",
}
CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"


class SubnetError(ValueError):
    pass


def _one_per_az(subnets: Sequence[SubnetInfo], cluster: str) -> list[SubnetInfo]:
    by_az: dict[str, SubnetInfo] = {}
    ours = CLUSTER_TAG_PREFIX + cluster
    for s in sorted(subnets, key=lambda s: (ours not in s.tags, s.id)):
        by_az.setdefault(s.az, s)
    return sorted(by_az.values(), key=lambda s: s.id)


def discover(
    subnets: Sequence[SubnetInfo],
    scheme: str,
    cluster: str,
    vpc_id: str | None,
    dualstack: bool,
) -> list[str]:
    role = ROLE_TAGS[scheme]
    ours = CLUSTER_TAG_PREFIX + cluster
    candidates = []
    for s in subnets:
        if vpc_id and s.vpc_id != vpc_id:
            continue
        if s.tags.get(role) not in ("1", ""):
            continue
        cluster_tags = [k for k in s.tags if k.startswith(CLUSTER_TAG_PREFIX)]
        if cluster_tags and ours not in cluster_tags:
            continue
        if s.available_ips < 8 or (dualstack and not s.ipv6):
            continue
        candidates.append(s)
    chosen = _one_per_az(candidates, cluster)
    if len(chosen) < 2:
        raise SubnetError(
            f"found {len(chosen)} subnet(s) tagged {role}=1 for a {scheme} load balancer"
            f"{' in ' + vpc_id if vpc_id else ''}; need one in each of at least two "
            "availability zones (tag the subnets or set the subnets annotation)"
        )
    return [s.id for s in chosen]


def resolve(names: Sequence[str], subnets: Sequence[SubnetInfo], vpc_id: str | None) -> list[str]:
    """Subnet ids or Name tag values -> ids; at least two AZs, at most one subnet per AZ."""
    chosen: list[SubnetInfo] = []
    for name in names:
        pool = [s for s in subnets if not vpc_id or s.vpc_id == vpc_id]
        match = [s for s in pool if s.id == name] or [s for s in pool if s.tags.get("Name") == name]
        if not match:
            raise SubnetError(f"subnet {name!r} not found (by id or Name tag)")
        if len(match) > 1:
            raise SubnetError(f"subnet name {name!r} matches {len(match)} subnets")
        chosen.append(match[0])
    azs = [s.az for s in chosen]
    if len(set(azs)) != len(azs):
        raise SubnetError("two subnets in one availability zone")
    if len(set(azs)) < 2:
        raise SubnetError("need subnets in at least two availability zones")
    return sorted(s.id for s in chosen)
