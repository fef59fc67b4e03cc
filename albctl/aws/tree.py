"""Read one load balancer as a tree: listeners → rules → target groups → targets (read-only)."""

from __future__ import annotations

from typing import Any

from albctl.aws.clients import AwsClients, paginate


def _conditions(conds: list[dict[str, Any]]) -> str:
    parts = []
    for c in conds:
        field = c["Field"]
        cfg: dict[str, Any] = next((v for k, v in c.items() if k.endswith("Config")), {}) or {}
        vals = cfg.get("Values") or c.get("Values") or cfg.get("RegexValues") or []
        if field == "query-string":
            vals = [f"{v.get('Key', '')}={v['Value']}" for v in vals]
        if field == "http-header":
            field = f"header {cfg.get('HttpHeaderName')}"
        parts.append(f"{field} {'|'.join(vals)}")
    return " & ".join(parts)


def _action(
    actions: list[dict[str, Any]], names: dict[str, str]
) -> tuple[str, list[tuple[str, int]]]:
    a = sorted(actions, key=lambda x: x.get("Order", 0))[-1]
    if a["Type"] == "forward":
        tgs = (a.get("ForwardConfig") or {}).get("TargetGroups") or [
            {"TargetGroupArn": a.get("TargetGroupArn"), "Weight": 1}
        ]
        pairs = [(t["TargetGroupArn"], int(t.get("Weight", 1))) for t in tgs]
        return "forward " + ", ".join(f"{names.get(arn, arn)}({w})" for arn, w in pairs), pairs
    if a["Type"] == "redirect":
        r = a["RedirectConfig"]
        return f"redirect {r.get('Protocol')}:{r.get('Port')} {r.get('StatusCode')}", []
    f = a["FixedResponseConfig"]
    return f"fixed-response {f.get('StatusCode')}", []


class _TreeReader:
    """One load balancer's listeners, rules and target groups, each target group's health
    read once."""

    def __init__(self, clients: AwsClients, lb_arn: str) -> None:
        self.elb = clients.elbv2
        self.tgs = {
            t["TargetGroupArn"]: t
            for t in paginate(
                self.elb.describe_target_groups, "TargetGroups", LoadBalancerArn=lb_arn
            )
        }
        self.names = {arn: t["TargetGroupName"] for arn, t in self.tgs.items()}
        self.health: dict[str, list[dict[str, Any]]] = {}

    def target_group(self, arn: str, weight: int) -> dict[str, Any]:
        elb = self.elb
        t = (
            self.tgs.get(arn)
            or elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
        )
        if arn not in self.health:
            self.health[arn] = elb.describe_target_health(TargetGroupArn=arn)[
                "TargetHealthDescriptions"
            ]
        return {
            "name": t["TargetGroupName"],
            "targetType": t.get("TargetType"),
            "protocol": t.get("Protocol"),
            "port": t.get("Port"),
            "weight": weight,
            "targets": [
                {
                    "id": h["Target"]["Id"],
                    "port": h["Target"].get("Port"),
                    "health": h["TargetHealth"]["State"],
                }
                for h in self.health[arn]
            ],
        }

    def rules(self, listener_arn: str) -> list[dict[str, Any]]:
        raw = [
            r
            for r in paginate(self.elb.describe_rules, "Rules", ListenerArn=listener_arn)
            if not r.get("IsDefault")
        ]
        out = []
        for r in sorted(raw, key=lambda r: int(r["Priority"])):
            text, pairs = _action(r["Actions"], self.names)
            out.append(
                {
                    "priority": int(r["Priority"]),
                    "conditions": _conditions(r["Conditions"]),
                    "action": text,
                    "targetGroups": [self.target_group(arn, w) for arn, w in pairs],
                }
            )
        return out

    def listener(self, li: dict[str, Any]) -> dict[str, Any]:
        default, _ = _action(li["DefaultActions"], self.names)
        rules = self.rules(li["ListenerArn"])
        certs = []
        if li["Protocol"] == "HTTPS":
            certs = [
                c["CertificateArn"]
                for c in paginate(
                    self.elb.describe_listener_certificates,
                    "Certificates",
                    ListenerArn=li["ListenerArn"],
                )
            ]
        return {
            "port": li["Port"],
            "protocol": li["Protocol"],
            "default": default,
            "certificates": certs,
            "rules": rules,
        }


def describe_tree(clients: AwsClients, lb_arn: str) -> dict[str, Any]:
    elb = clients.elbv2
    lb = elb.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]
    reader = _TreeReader(clients, lb_arn)
    listeners = [
        reader.listener(li)
        for li in sorted(
            paginate(elb.describe_listeners, "Listeners", LoadBalancerArn=lb_arn),
            key=lambda x: x["Port"],
        )
    ]
    return {
        "loadBalancer": {
            "name": lb["LoadBalancerName"],
            "arn": lb_arn,
            "dnsName": lb["DNSName"],
            "scheme": lb["Scheme"],
        },
        "listeners": listeners,
    }
