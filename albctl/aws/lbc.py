"""Read what the AWS Load Balancer Controller (LBC) made for this cluster, to take it over.

Stacks are read by LBC's tracking tags (``elbv2.k8s.aws/cluster`` = this cluster, the stack
tag ``ingress.k8s.aws/stack`` = the group id) with the same observer as albctl's own stacks;
nothing whose LBC tags name another cluster is ever read here. LBC's shared backend security
group is found by ``elbv2.k8s.aws/cluster`` and ``elbv2.k8s.aws/resource=backend-sg``, with the
single-port TCP rules LBC added from it (description ``elbv2.k8s.aws/targetGroupBinding=shared``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws.clients import AwsClients, aws_error, paginate
from albctl.aws.convert import tags_from_aws
from albctl.aws.observe import Observer, TagCache
from albctl.model.adopt import LbcBackend
from albctl.model.desired import BACKEND_SG_ID, Stack
from albctl.model.gateway.inputs import STACK_PREFIX
from albctl.model.lbc import (
    LBC_BACKEND_SG,
    LBC_CLUSTER_TAG,
    LBC_GATEWAY_TAGS,
    LBC_RULE_DESCRIPTION,
    LBC_SG_RESOURCE_TAG,
    LBC_TAGS,
)
from albctl.model.observed import ObservedStack


class LbcStacks:
    """LBC's stacks and backend security group of one cluster."""

    def __init__(
        self, clients: AwsClients, cluster: str, tag_cache: TagCache | None = None
    ) -> None:
        self.c = clients
        self.cluster = cluster
        self.observer = Observer(
            clients, cluster, tag_cache, read_attributes=False, scheme=LBC_TAGS
        )
        self.gateway_observer = Observer(
            clients, cluster, tag_cache, read_attributes=False, scheme=LBC_GATEWAY_TAGS
        )

    def observe_gateways(self, stacks: Iterable[str]) -> dict[str, ObservedStack]:
        """LBC's stacks of the Gateways among ``stacks`` (albctl's ids ``gateway/<ns>/<name>``;
        LBC's are ``<ns>/<name>`` under ``gateway.k8s.aws.alb/stack``), by albctl's ids."""
        ids = {gid.removeprefix(STACK_PREFIX): gid for gid in stacks}
        if not ids:
            return {}
        found = self.gateway_observer.observe(set(ids))
        return {
            ids[k]: obs.model_copy(update={"group_id": ids[k]})
            for k, obs in found.items()
            if obs.load_balancers and k in ids
        }

    def observe(self, stacks: Iterable[str]) -> dict[str, ObservedStack]:
        """LBC's stacks among ``stacks`` (group ids) that have a load balancer."""
        wanted = set(stacks)
        if not wanted:
            return {}
        found = self.observer.observe(wanted)
        return {gid: obs for gid, obs in found.items() if obs.load_balancers}

    def backend_to_adopt(
        self,
        stack: Stack,
        lbc: ObservedStack,
        have: str | None,
        enabled: bool = True,
        user_sg: str | None = None,
    ) -> LbcBackend | None:
        """LBC's backend security group, taken over with the stack when albctl has none yet
        (``have``), manages one itself (``enabled``, no ``user_sg``) for this stack, and the
        adopted load balancer uses LBC's."""
        if not enabled or user_sg or have or stack.backend_rules_source != BACKEND_SG_ID:
            return None
        return self.backend([g for lb in lbc.load_balancers for g in lb.security_groups])

    def backend(self, used_by: Iterable[str]) -> LbcBackend | None:
        """LBC's backend security group when one of ``used_by`` (security group ids of an
        adopted load balancer) is it; with LBC's rules from it."""
        filters = [
            {"Name": f"tag:{LBC_CLUSTER_TAG}", "Values": [self.cluster]},
            {"Name": f"tag:{LBC_SG_RESOURCE_TAG}", "Values": [LBC_BACKEND_SG]},
        ]
        try:
            groups = self.c.ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
            used = set(used_by)
            sg = next((g for g in sorted(groups, key=_id) if g["GroupId"] in used), None)
            if sg is None:
                return None
            rules = self._rules(sg["GroupId"])
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading LBC's backend security group") from exc
        return LbcBackend(sg["GroupId"], tags_from_aws(sg.get("Tags")), rules)

    def _rules(self, source: str) -> tuple[tuple[str, int], ...]:
        groups = paginate(
            self.c.ec2.describe_security_groups,
            "SecurityGroups",
            marker_in="NextToken",
            marker_out="NextToken",
            Filters=[{"Name": "ip-permission.group-id", "Values": [source]}],
        )
        out: set[tuple[str, int]] = set()
        for g in groups:
            for p in g.get("IpPermissions", []):
                if p.get("IpProtocol") not in ("tcp", "6") or p.get("FromPort") != p.get("ToPort"):
                    continue  # a port range stays LBC's (albctl manages single ports)
                for pair in p.get("UserIdGroupPairs", []):
                    if pair.get("GroupId") == source and (
                        pair.get("Description") == LBC_RULE_DESCRIPTION
                    ):
                        out.add((g["GroupId"], int(p["FromPort"])))
        return tuple(sorted(out))


def _id(group: dict[str, Any]) -> str:
    return str(group["GroupId"])
