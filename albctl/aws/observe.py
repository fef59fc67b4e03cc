"""Read what albctl owns in AWS, by ownership tags, into :class:`ObservedStack` shapes.

Load balancers and target groups are listed with paginated describes and their tags read
with DescribeTags, 20 ARNs a call; only resources carrying our cluster tag are kept. Rules on
our listeners that lack our tags are kept as foreign (their priorities are respected, they are
never changed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, paginate
from albctl.aws.convert import (
    action_from_aws,
    condition_from_aws,
    health_check_from_aws,
    sg_rules_from_aws,
    tags_from_aws,
)
from albctl.model.desired import Target
from albctl.model.observed import (
    ObservedListener,
    ObservedLoadBalancer,
    ObservedRule,
    ObservedSecurityGroup,
    ObservedStack,
    ObservedTargetGroup,
)
from albctl.model.tags import CLUSTER_TAG, RESOURCE_TAG, STACK_TAG, owned_by

log = logging.getLogger(__name__)

TAG_BATCH = 20


def describe_tags(clients: AwsClients, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    arns = list(arns)
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), TAG_BATCH):
        resp = clients.elbv2.describe_tags(ResourceArns=arns[i : i + TAG_BATCH])
        for d in resp.get("TagDescriptions", []):
            out[d["ResourceArn"]] = tags_from_aws(d.get("Tags"))
    return out


class Observer:
    """Observes every stack of one cluster; ``stacks`` limits the deep reads."""

    def __init__(self, clients: AwsClients, cluster: str) -> None:
        self.c = clients
        self.cluster = cluster

    def stack_ids(self) -> set[str]:
        """The stacks of this cluster that have a load balancer or target group in AWS."""
        try:
            elb = self.c.elbv2
            arns = [
                lb["LoadBalancerArn"]
                for lb in paginate(elb.describe_load_balancers, "LoadBalancers")
            ]
            arns += [
                t["TargetGroupArn"] for t in paginate(elb.describe_target_groups, "TargetGroups")
            ]
            out = set()
            for tags in describe_tags(self.c, arns).values():
                if owned_by(tags, self.cluster) and STACK_TAG in tags:
                    out.add(tags[STACK_TAG])
            return out
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "listing load balancers") from exc

    def observe(self, stacks: set[str] | None = None) -> dict[str, ObservedStack]:
        try:
            return self._observe(stacks)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading load balancers") from exc

    def _observe(self, stacks: set[str] | None) -> dict[str, ObservedStack]:
        elb = self.c.elbv2
        lbs = [
            lb
            for lb in paginate(elb.describe_load_balancers, "LoadBalancers")
            if lb.get("Type", "application") == "application"
        ]
        lb_tags = describe_tags(self.c, [lb["LoadBalancerArn"] for lb in lbs])
        tgs = list(paginate(elb.describe_target_groups, "TargetGroups"))
        tg_tags = describe_tags(self.c, [t["TargetGroupArn"] for t in tgs])
        sgs = list(
            paginate(
                self.c.ec2.describe_security_groups,
                "SecurityGroups",
                marker_in="NextToken",
                marker_out="NextToken",
                Filters=[{"Name": f"tag:{CLUSTER_TAG}", "Values": [self.cluster]}],
            )
        )

        def wanted(tags: dict[str, str]) -> str | None:
            if not owned_by(tags, self.cluster):
                return None
            stack = tags.get(STACK_TAG)
            if stack is None or (stacks is not None and stack not in stacks):
                return None
            return stack

        by_stack: dict[str, dict[str, list[Any]]] = {}

        def bucket(stack: str) -> dict[str, list[Any]]:
            return by_stack.setdefault(stack, {"lb": [], "sg": [], "tg": [], "li": [], "ru": []})

        # target groups first, so actions can be mapped back to resource ids
        tg_id_by_arn: dict[str, str] = {}
        for t in tgs:
            tags = tg_tags.get(t["TargetGroupArn"], {})
            stack = wanted(tags)
            if stack is None:
                continue
            tg_id_by_arn[t["TargetGroupArn"]] = tags[RESOURCE_TAG]
            bucket(stack)["tg"].append(self._tg(t, tags))

        def tg_id(arn: str) -> str:
            return tg_id_by_arn.get(arn, arn)

        for sg in sgs:
            tags = tags_from_aws(sg.get("Tags"))
            stack = wanted(tags)
            if stack is None:
                continue
            bucket(stack)["sg"].append(
                ObservedSecurityGroup(
                    group_id=sg["GroupId"],
                    resource_id=tags[RESOURCE_TAG],
                    name=sg["GroupName"],
                    ingress=sg_rules_from_aws(sg.get("IpPermissions", [])),
                    tags=tags,
                )
            )
        for lb in lbs:
            arn = lb["LoadBalancerArn"]
            tags = lb_tags.get(arn, {})
            stack = wanted(tags)
            if stack is None:
                continue
            b = bucket(stack)
            attrs = {
                a["Key"]: a["Value"]
                for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn).get(
                    "Attributes", []
                )
            }
            b["lb"].append(
                ObservedLoadBalancer(
                    arn=arn,
                    resource_id=tags[RESOURCE_TAG],
                    name=lb["LoadBalancerName"],
                    dns_name=lb.get("DNSName", ""),
                    scheme=lb.get("Scheme", ""),
                    ip_address_type=lb.get("IpAddressType", "ipv4"),
                    subnets=tuple(sorted(z["SubnetId"] for z in lb.get("AvailabilityZones", []))),
                    security_groups=tuple(lb.get("SecurityGroups", [])),
                    attributes=attrs,
                    tags=tags,
                    vpc_id=lb.get("VpcId", ""),
                )
            )
            listeners = list(paginate(elb.describe_listeners, "Listeners", LoadBalancerArn=arn))
            li_tags = describe_tags(self.c, [li["ListenerArn"] for li in listeners])
            for li in listeners:
                b["li"].append(self._listener(li, li_tags.get(li["ListenerArn"], {}), tg_id))
                rules = [
                    r
                    for r in paginate(elb.describe_rules, "Rules", ListenerArn=li["ListenerArn"])
                    if not r.get("IsDefault")
                ]
                r_tags = describe_tags(self.c, [r["RuleArn"] for r in rules])
                for r in rules:
                    rt = r_tags.get(r["RuleArn"], {})
                    b["ru"].append(
                        ObservedRule(
                            arn=r["RuleArn"],
                            listener_arn=li["ListenerArn"],
                            resource_id=rt.get(RESOURCE_TAG, "")
                            if owned_by(rt, self.cluster)
                            else "",
                            priority=int(r["Priority"]),
                            conditions=tuple(
                                condition_from_aws(c) for c in r.get("Conditions", [])
                            ),
                            action=action_from_aws(r.get("Actions", []), tg_id),
                            tags=rt,
                        )
                    )
        return {
            stack: ObservedStack(
                group_id=stack,
                load_balancers=tuple(v["lb"]),
                security_groups=tuple(v["sg"]),
                target_groups=tuple(v["tg"]),
                listeners=tuple(v["li"]),
                rules=tuple(v["ru"]),
            )
            for stack, v in sorted(by_stack.items())
        }

    def _tg(self, t: dict[str, Any], tags: dict[str, str]) -> ObservedTargetGroup:
        arn = t["TargetGroupArn"]
        elb = self.c.elbv2
        attrs = {
            a["Key"]: a["Value"]
            for a in elb.describe_target_group_attributes(TargetGroupArn=arn).get("Attributes", [])
        }
        health = elb.describe_target_health(TargetGroupArn=arn).get("TargetHealthDescriptions", [])
        targets = tuple(
            sorted(
                {
                    Target(
                        id=h["Target"]["Id"], port=int(h["Target"].get("Port", t.get("Port", 0)))
                    )
                    for h in health
                    if h.get("TargetHealth", {}).get("State") != "draining"
                },
                key=lambda x: (x.id, x.port),
            )
        )
        return ObservedTargetGroup(
            arn=arn,
            resource_id=tags[RESOURCE_TAG],
            name=t["TargetGroupName"],
            port=int(t.get("Port", 0)),
            protocol=t.get("Protocol", "HTTP"),
            protocol_version=t.get("ProtocolVersion", "HTTP1"),
            target_type=t.get("TargetType", "instance"),
            ip_address_type=t.get("IpAddressType", "ipv4"),
            health_check=health_check_from_aws(t),
            attributes=attrs,
            tags=tags,
            targets=targets,
            load_balancer_arns=tuple(t.get("LoadBalancerArns", [])),
        )

    def _listener(self, li: dict[str, Any], tags: dict[str, str], tg_id: Any) -> ObservedListener:
        arn = li["ListenerArn"]
        certs: list[str] = []
        if li.get("Protocol") == "HTTPS":
            listed = list(
                paginate(
                    self.c.elbv2.describe_listener_certificates, "Certificates", ListenerArn=arn
                )
            )
            default = [c["CertificateArn"] for c in li.get("Certificates", [])][:1]
            extra = sorted(
                {c["CertificateArn"] for c in listed if not c.get("IsDefault")} - set(default)
            )
            certs = default + extra
        return ObservedListener(
            arn=arn,
            load_balancer_arn=li["LoadBalancerArn"],
            resource_id=tags.get(RESOURCE_TAG, str(li["Port"])),
            port=int(li["Port"]),
            protocol=li.get("Protocol", "HTTP"),
            ssl_policy=li.get("SslPolicy"),
            certificates=tuple(certs),
            default_action=action_from_aws(li.get("DefaultActions", []), tg_id),
            tags=tags,
        )
