"""Read load balancers' listeners and rules as routing tables (read-only)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, paginate
from albctl.aws.convert import action_from_aws, condition_from_aws, transforms_from_aws
from albctl.aws.observe import describe_tags
from albctl.model.router import RouteListener, RouteRule, RoutingTable, service_of
from albctl.model.tags import CLUSTER_TAG, INGRESS_TAG, RESOURCE_TAG, SERVICE_TAG


def albctl_load_balancers(clients: AwsClients, cluster: str | None) -> list[str]:
    """ARNs of the ALBs albctl made (for ``cluster``, or for any cluster when None)."""
    try:
        lbs = [
            lb["LoadBalancerArn"]
            for lb in paginate(clients.elbv2.describe_load_balancers, "LoadBalancers")
            if lb.get("Type", "application") == "application"
        ]
        tags = describe_tags(clients, lbs)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, "listing load balancers") from exc
    return [
        arn
        for arn in lbs
        if CLUSTER_TAG in tags.get(arn, {})
        and (cluster is None or tags[arn][CLUSTER_TAG] == cluster)
    ]


def read_table(clients: AwsClients, lb_arn: str) -> RoutingTable:
    try:
        return _read(clients, lb_arn)
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, f"reading load balancer {lb_arn}") from exc


def _target_groups(clients: AwsClients, lb_arn: str) -> dict[str, str]:
    """Names of the target groups of a load balancer by ARN (none: an empty map)."""
    try:
        return {
            t["TargetGroupArn"]: t["TargetGroupName"]
            for t in paginate(
                clients.elbv2.describe_target_groups, "TargetGroups", LoadBalancerArn=lb_arn
            )
        }
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "TargetGroupNotFound":
            return {}
        raise


def _read(clients: AwsClients, lb_arn: str) -> RoutingTable:
    elb = clients.elbv2
    lb = elb.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]
    tgs = _target_groups(clients, lb_arn)
    services: dict[str, str] = {}
    for arn, tags in describe_tags(clients, list(tgs)).items():
        svc = tags.get(SERVICE_TAG) or service_of(
            tags.get(RESOURCE_TAG, ""), tags.get(INGRESS_TAG, "")
        )
        if svc:
            services[arn] = svc
    listeners = []
    for li in paginate(elb.describe_listeners, "Listeners", LoadBalancerArn=lb_arn):
        rules = [
            RouteRule(
                priority=int(r["Priority"]),
                conditions=tuple(condition_from_aws(c) for c in r.get("Conditions", [])),
                action=action_from_aws(r.get("Actions", []), str),
                transforms=transforms_from_aws(r.get("Transforms")),
            )
            for r in paginate(elb.describe_rules, "Rules", ListenerArn=li["ListenerArn"])
            if not r.get("IsDefault")
        ]
        listeners.append(
            RouteListener(
                port=int(li["Port"]),
                protocol=li.get("Protocol", "HTTP"),
                default_action=action_from_aws(li.get("DefaultActions", []), str),
                rules=tuple(rules),
            )
        )
    return RoutingTable(
        name=lb["LoadBalancerName"],
        dns_name=lb.get("DNSName", ""),
        listeners=tuple(sorted(listeners, key=lambda x: x.port)),
        services=services,
        names=tgs,
    )
