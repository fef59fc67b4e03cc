"""Which network interface (and so which security groups) holds each target.

ip targets: the interface whose private addresses include the pod IP (DescribeNetworkInterfaces
filtered by address, 100 addresses a call); addresses not found that way (VPC CNI prefix
delegation) are looked up on the interfaces of the pod's node, matching its IPv4 prefixes.
instance targets: the instance's primary interface (device index 0). Answers are cached for a
while: a pod IP stays on its node's interface for as long as it is allocated.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, paginate
from albctl.aws.convert import tags_from_aws
from albctl.model.backend_rules import NetworkInterface

BATCH = 100
MISS_TTL = 30.0


def _is_instance(target: str) -> bool:
    return target.startswith("i-")


def _addresses(eni: dict[str, Any]) -> set[str]:
    out = {a["PrivateIpAddress"] for a in eni.get("PrivateIpAddresses", [])}
    out |= {a["Ipv6Address"] for a in eni.get("Ipv6Addresses", [])}
    if eni.get("PrivateIpAddress"):
        out.add(eni["PrivateIpAddress"])
    return out


def _interface(eni: dict[str, Any], seen: dict[str, NetworkInterface]) -> NetworkInterface:
    """The interface of ``eni``: one object per interface and answer, shared by all of its
    addresses (a node's interface holds the IPs of many pods, each cached)."""
    got = seen.get(eni["NetworkInterfaceId"])
    if got is None:
        groups = tuple(sorted(g["GroupId"] for g in eni.get("Groups", [])))
        got = seen[eni["NetworkInterfaceId"]] = NetworkInterface(
            id=eni["NetworkInterfaceId"], security_groups=groups
        )
    return got


def _in_prefixes(ip: str, eni: dict[str, Any]) -> bool:
    addr = ipaddress.ip_address(ip)
    for p in eni.get("Ipv4Prefixes", []):
        if addr in ipaddress.ip_network(p["Ipv4Prefix"], strict=False):
            return True
    return False


class EniResolver:
    def __init__(self, clients: AwsClients, ttl: float = 300.0, vpc_id: str | None = None) -> None:
        self.c = clients
        self.ttl = ttl
        self.vpc_id = vpc_id
        self._cache: dict[str, tuple[float, NetworkInterface | None]] = {}
        self._sg_tags: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: str, store: Mapping[str, tuple[float, Any]]) -> tuple[bool, Any]:
        hit = store.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return False, None
        return True, hit[1]

    def resolve(
        self, targets: Iterable[str], instance_of: Mapping[str, str] | None = None
    ) -> dict[str, NetworkInterface | None]:
        """The interface of every target; ``instance_of`` maps pod IPs to their node's instance."""
        out: dict[str, NetworkInterface | None] = {}
        todo: list[str] = []
        with self._lock:
            for t in sorted(set(targets)):
                found, eni = self._cached(t, self._cache)
                if found:
                    out[t] = eni
                else:
                    todo.append(t)
        if not todo:
            return out
        try:
            fresh = self._lookup(todo, instance_of or {})
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "looking up the network interfaces of targets") from exc
        now = time.monotonic()
        with self._lock:
            for t in todo:
                # a miss is asked again soon: the interface may just be being attached
                stamp = now if t in fresh else now - self.ttl + MISS_TTL
                self._cache[t] = (stamp, fresh.get(t))
                out[t] = fresh.get(t)
        return out

    def _lookup(
        self, todo: list[str], instance_of: Mapping[str, str]
    ) -> dict[str, NetworkInterface]:
        ips = [t for t in todo if not _is_instance(t)]
        instances = sorted({t for t in todo if _is_instance(t)})
        found: dict[str, NetworkInterface] = {}
        seen: dict[str, NetworkInterface] = {}
        for i in range(0, len(ips), BATCH):
            batch = ips[i : i + BATCH]
            for eni in self._describe("addresses.private-ip-address", batch):
                for ip in _addresses(eni) & set(batch):
                    found[ip] = _interface(eni, seen)
        missing = [ip for ip in ips if ip not in found and ip in instance_of]
        nodes = sorted({instance_of[ip] for ip in missing})
        for eni in self._by_instances(sorted(set(nodes) | set(instances))):
            attached = (eni.get("Attachment") or {}).get("InstanceId")
            for ip in missing:
                if instance_of[ip] == attached and (ip in _addresses(eni) or _in_prefixes(ip, eni)):
                    found[ip] = _interface(eni, seen)
            if attached in instances and (eni.get("Attachment") or {}).get("DeviceIndex") == 0:
                found[attached] = _interface(eni, seen)
        return found

    def _by_instances(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(instance_ids), BATCH):
            out += self._describe("attachment.instance-id", instance_ids[i : i + BATCH])
        return out

    def _describe(self, name: str, values: list[str]) -> list[dict[str, Any]]:
        if not values:
            return []
        return list(
            paginate(
                self.c.ec2.describe_network_interfaces,
                "NetworkInterfaces",
                marker_in="NextToken",
                marker_out="NextToken",
                Filters=[{"Name": name, "Values": values}]
                + ([{"Name": "vpc-id", "Values": [self.vpc_id]}] if self.vpc_id else []),
            )
        )

    def security_group_tags(self, group_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """Tags of security groups (to pick the cluster-tagged one of several)."""
        out: dict[str, dict[str, str]] = {}
        todo: list[str] = []
        with self._lock:
            for g in sorted(set(group_ids)):
                found, tags = self._cached(g, self._sg_tags)
                if found:
                    out[g] = tags
                else:
                    todo.append(g)
        try:
            for i in range(0, len(todo), BATCH):
                resp = self.c.ec2.describe_security_groups(GroupIds=todo[i : i + BATCH])
                now = time.monotonic()
                for sg in resp.get("SecurityGroups", []):
                    tags = tags_from_aws(sg.get("Tags"))
                    out[sg["GroupId"]] = tags
                    with self._lock:
                        self._sg_tags[sg["GroupId"]] = (now, tags)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading the security groups of targets") from exc
        return out
