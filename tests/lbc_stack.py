"""Test fixture: the AWS resources the AWS Load Balancer Controller (LBC) would have made for
the demo's example app (examples/shop, IngressGroup ``shop``), written with boto3.

What LBC would build is what albctl builds from the same Ingresses (albctl reads LBC's
annotation language as a drop-in); the resources then carry LBC's names and tags, from LBC's
sources (kubernetes-sigs/aws-load-balancer-controller):
- tags ``elbv2.k8s.aws/cluster``, ``ingress.k8s.aws/stack`` = ``shop``, ``ingress.k8s.aws/resource``
  (``pkg/deploy/tracking/provider.go``) plus the Ingresses' ``tags`` annotation;
- resource ids ``LoadBalancer``, ``ManagedLBSecurityGroup``, listeners ``<port>``, rules
  ``<port>:<priority>``, target groups ``<ns>/<ingress>-<service>:<port as the Ingress names it>``;
- names ``k8s-<group≤17>-<sha256≤10>`` (load balancer, managed security group), target groups
  ``k8s-<ns≤8>-<svc≤8>-<sha256≤10>``, backend group ``k8s-traffic-<cluster>-<sha256≤10>`` tagged
  ``elbv2.k8s.aws/resource=backend-sg``, its rules on the targets' security groups described
  ``elbv2.k8s.aws/targetGroupBinding=shared``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from albctl.aws.clients import AwsClients
from albctl.aws.convert import (
    actions_to_aws,
    condition_to_aws,
    health_check_to_aws,
    sg_rules_to_aws,
    tags_to_aws,
)
from albctl.aws.discover import discover_inventory
from albctl.aws.networking import NetworkingSettings, TargetNetworking
from albctl.aws.seed import Seeded, add_pod_ips, node_manifests
from albctl.config import Settings
from albctl.controller.engine import Engine
from albctl.manifests import ObjectSet, load_manifests, parse_documents
from albctl.model.backend_rules import instance_hints
from albctl.model.desired import Stack
from albctl.model.observed import ObservedStack
from tests.helpers import REGION

SHOP = Path(__file__).resolve().parent.parent / "examples" / "shop"
GROUP = "shop"
# the Ingresses name these ports by name: LBC's target group ids carry the name
PORT_NAMES = {
    "shop/storefront-storefront:80": "shop/storefront-storefront:http",
    "shop/api-api:80": "shop/api-api:http",
    "shop/api-api-canary:80": "shop/api-api-canary:http",
}
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


@dataclass
class LbcStack:
    lb_arn: str = ""
    dns_name: str = ""
    managed_sg: str = ""
    backend_sg: str = ""
    target_groups: dict[str, str] = field(default_factory=dict)  # LBC id -> ARN
    services: dict[str, str] = field(default_factory=dict)  # TG ARN -> ns/svc:port
    listeners: dict[int, str] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)
    backend_rules: dict[str, list[int]] = field(default_factory=dict)

    @property
    def arns(self) -> list[str]:
        return [self.lb_arn, *self.target_groups.values(), *self.listeners.values(), *self.rules]


def _sha(*parts: str) -> str:
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:10]


def shop_objects(seeded: Seeded) -> ObjectSet:
    """The example app, its Nodes the seeded instances."""
    objects = load_manifests([SHOP])
    objects.nodes = []
    parse_documents(node_manifests(seeded.instances, REGION), "seeded nodes", objects)
    return objects


def shop_pod_ips(clients: AwsClients, seeded: Seeded, objects: ObjectSet) -> None:
    """The pods' IPs on the nodes' interfaces (as the VPC CNI assigns them)."""
    by_node: dict[int, list[str]] = {}
    for s in objects.endpoint_slices:
        for ep in s.endpoints:
            n = int((ep.node_name or "node-0").rpartition("-")[2])
            by_node.setdefault(n, []).extend(ep.addresses)
    for n, ips in sorted(by_node.items()):
        add_pod_ips(clients, seeded.instances[n], sorted(set(ips)))


def _desired(clients: AwsClients, cluster: str, seeded: Seeded, objects: ObjectSet) -> Stack:
    settings = Settings(cluster_name=cluster, region=REGION, vpc_id=seeded.vpc_id)
    engine = Engine(settings, clients)
    group = engine.group(objects).groups[GROUP]
    inventory = discover_inventory(clients, seeded.vpc_id, True, cluster=cluster)
    services = {s.key: s for s in objects.services}
    empty = ObservedStack(group_id=GROUP)
    build = engine._build(group, objects, services, inventory, empty, settings.build_settings())
    assert build.stack is not None and not build.invalid, build
    return build.stack


def seed_lbc_shop(
    clients: AwsClients, cluster: str, seeded: Seeded, tag_cluster: str | None = None
) -> LbcStack:
    """LBC's stack of group ``shop``, its tags naming ``tag_cluster`` (default ``cluster``)."""
    objects = shop_objects(seeded)
    stack = _desired(clients, cluster, seeded, objects)
    owner = tag_cluster or cluster
    user_tags = {"team": "shop", "env": "demo"}
    out = LbcStack()

    def lbc(rid: str) -> list[dict[str, str]]:
        return tags_to_aws(
            {
                **user_tags,
                "elbv2.k8s.aws/cluster": owner,
                "ingress.k8s.aws/stack": GROUP,
                "ingress.k8s.aws/resource": rid,
            }
        )

    ec2, elb = clients.ec2, clients.elbv2
    out.backend_sg = ec2.create_security_group(
        GroupName=f"k8s-traffic-{_NON_ALNUM.sub('', owner)}-{_sha(owner)}",
        Description="[k8s] Shared Backend SecurityGroup for LoadBalancer",
        VpcId=seeded.vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": tags_to_aws(
                    {"elbv2.k8s.aws/cluster": owner, "elbv2.k8s.aws/resource": "backend-sg"}
                ),
            }
        ],
    )["GroupId"]
    assert stack.security_group is not None
    out.managed_sg = ec2.create_security_group(
        GroupName=f"k8s-{GROUP}-{_sha(owner, GROUP)}",
        Description="[k8s] Managed SecurityGroup for LoadBalancer",
        VpcId=seeded.vpc_id,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": lbc("ManagedLBSecurityGroup")}
        ],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=out.managed_sg, IpPermissions=sg_rules_to_aws(list(stack.security_group.ingress))
    )
    by_id = _target_groups(clients, owner, seeded, stack, out, lbc)
    lb = elb.create_load_balancer(
        Name=f"k8s-{GROUP}-{_sha(owner, GROUP, stack.load_balancer.scheme)}",
        Subnets=list(stack.load_balancer.subnets),
        SecurityGroups=[out.managed_sg, out.backend_sg],
        Scheme=stack.load_balancer.scheme,
        Type="application",
        IpAddressType="ipv4",
        Tags=lbc("LoadBalancer"),
    )["LoadBalancers"][0]
    out.lb_arn, out.dns_name = lb["LoadBalancerArn"], lb["DNSName"]
    _listeners_and_rules(clients, stack, out, by_id, lbc)
    _backend_rules(clients, cluster, seeded, stack, objects, out)
    return out


def _target_groups(
    clients: AwsClients, owner: str, seeded: Seeded, stack: Stack, out: LbcStack, lbc: Any
) -> dict[str, str]:
    """albctl's target group id -> the ARN of LBC's target group for the same Service port."""
    by_id: dict[str, str] = {}
    for tg in stack.target_groups:
        lbc_id = PORT_NAMES.get(tg.id, tg.id)
        ns, _, svc = tg.service.partition("/")
        name = (
            f"k8s-{_NON_ALNUM.sub('', ns)[:8]}-{_NON_ALNUM.sub('', svc.split(':')[0])[:8]}-"
            f"{_sha(owner, GROUP, tg.ingress, tg.service, str(tg.port), tg.target_type)}"
        )
        arn = clients.elbv2.create_target_group(
            Name=name,
            Protocol=tg.protocol,
            ProtocolVersion=tg.protocol_version,
            Port=tg.port,
            VpcId=seeded.vpc_id,
            TargetType=tg.target_type,
            Tags=lbc(lbc_id),
            **health_check_to_aws(tg.health_check),
        )["TargetGroups"][0]["TargetGroupArn"]
        if tg.attributes:
            clients.elbv2.modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[{"Key": k, "Value": v} for k, v in tg.attributes.items()],
            )
        if tg.targets:
            clients.elbv2.register_targets(
                TargetGroupArn=arn, Targets=[{"Id": t.id, "Port": t.port} for t in tg.targets]
            )
        by_id[tg.id] = arn
        out.target_groups[lbc_id] = arn
        out.services[arn] = tg.service
    return by_id


def _listeners_and_rules(
    clients: AwsClients, stack: Stack, out: LbcStack, by_id: dict[str, str], lbc: Any
) -> None:
    elb = clients.elbv2
    for li in stack.listeners:
        kwargs: dict[str, Any] = {}
        if li.protocol == "HTTPS":
            kwargs = {
                "SslPolicy": li.ssl_policy,
                "Certificates": [{"CertificateArn": li.certificates[0]}],
            }
        arn = elb.create_listener(
            LoadBalancerArn=out.lb_arn,
            Protocol=li.protocol,
            Port=li.port,
            DefaultActions=actions_to_aws(li.default_action, by_id.__getitem__),
            Tags=lbc(str(li.port)),
            **kwargs,
        )["Listeners"][0]["ListenerArn"]
        if len(li.certificates) > 1:
            extra = [{"CertificateArn": c} for c in li.certificates[1:]]
            elb.add_listener_certificates(ListenerArn=arn, Certificates=extra)
        out.listeners[li.port] = arn
    for r in sorted(stack.rules, key=lambda r: (r.listener, r.priority)):
        port = int(r.listener)
        resp = elb.create_rule(
            ListenerArn=out.listeners[port],
            Priority=r.priority,
            Conditions=[condition_to_aws(c) for c in r.conditions],
            Actions=actions_to_aws(r.action, by_id.__getitem__),
            Tags=lbc(f"{port}:{r.priority}"),
        )
        out.rules.append(resp["Rules"][0]["RuleArn"])


def _backend_rules(
    clients: AwsClients,
    cluster: str,
    seeded: Seeded,
    stack: Stack,
    objects: ObjectSet,
    out: LbcStack,
) -> None:
    """LBC's rules from its backend group on the targets' security groups (the groups albctl
    itself would pick: the same ENI rules)."""
    net = TargetNetworking(clients, cluster, seeded.vpc_id, NetworkingSettings())
    hints = instance_hints(objects.endpoint_slices, objects.nodes)
    want = net.rules.desired(stack.target_groups, hints)
    for sg, ports in sorted(want.ports.items()):
        perms = [
            {
                "IpProtocol": "tcp",
                "FromPort": p,
                "ToPort": p,
                "UserIdGroupPairs": [
                    {
                        "GroupId": out.backend_sg,
                        "Description": "elbv2.k8s.aws/targetGroupBinding=shared",
                    }
                ],
            }
            for p in sorted(ports)
        ]
        clients.ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perms)
        out.backend_rules[sg] = sorted(ports)
