"""Read what albctl owns in AWS, by ownership tags, into :class:`ObservedStack` shapes.

Load balancers and target groups are found by tag (:mod:`albctl.aws.find`) or listed with
paginated describes and their tags read with DescribeTags, 20 ARNs a call; only resources
carrying our cluster tag are kept. Security groups are filtered by the stack tag in the call, so
observing one group costs the same whatever the number of groups. Rules on
our listeners that lack our tags are kept as foreign (their priorities are respected, they are
never changed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from albctl.aws import addons
from albctl.aws.clients import AwsClients, aws_error, error_code, paginate
from albctl.aws.convert import (
    action_from_aws,
    condition_from_aws,
    health_check_from_aws,
    sg_rules_from_aws,
    tags_from_aws,
    transforms_from_aws,
)
from albctl.aws.find import describe_arns, tagged_resources
from albctl.model.desired import Stack, Target
from albctl.model.observed import (
    ObservedListener,
    ObservedLoadBalancer,
    ObservedRule,
    ObservedSecurityGroup,
    ObservedStack,
    ObservedTargetGroup,
)
from albctl.model.tags import ALBCTL_TAGS, OIDC_SECRET_TAG, TagScheme

log = logging.getLogger(__name__)

BACKEND_SG_RESOURCE = "backend-sg"

TAG_BATCH = 20
SG_FILTER_VALUES = 200  # values of one EC2 filter


class TagCache:
    """Tags by ARN between reconciles, so a reconcile reads the tags of new resources only.

    Entries expire after ``ttl`` seconds (tags changed by hand are seen within that time);
    albctl's own tag writes invalidate the entry at once.
    """

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._tags: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._puts = 0

    def get(self, arn: str) -> dict[str, str] | None:
        with self._lock:
            hit = self._tags.get(arn)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return None
        return dict(hit[1])

    def put(self, arn: str, tags: dict[str, str]) -> None:
        now = time.monotonic()
        with self._lock:
            self._tags[arn] = (now, dict(tags))
            self._puts += 1
            if self._puts % 1000 == 0:  # forget ARNs of deleted resources
                self._tags = {k: v for k, v in self._tags.items() if now - v[0] <= self.ttl}

    def invalidate(self, arn: str) -> None:
        with self._lock:
            self._tags.pop(arn, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tags)


def describe_tags(
    clients: AwsClients, arns: Iterable[str], cache: TagCache | None = None
) -> dict[str, dict[str, str]]:
    """Tags of ``arns``: from the cache, else DescribeTags in batches of 20."""
    out: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    for arn in arns:
        hit = cache.get(arn) if cache is not None else None
        if hit is None:
            missing.append(arn)
        else:
            out[arn] = hit
    fetched = _describe_tags(clients, missing)
    out.update(fetched)
    if cache is not None:
        # an ARN the answer leaves out (deleted, or too new to be listed) is asked again
        for arn in missing:
            if arn in fetched:
                cache.put(arn, fetched[arn])
    return out


def _describe_tags(clients: AwsClients, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    arns = list(arns)
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), TAG_BATCH):
        resp = clients.elbv2.describe_tags(ResourceArns=arns[i : i + TAG_BATCH])
        for d in resp.get("TagDescriptions", []):
            out[d["ResourceArn"]] = tags_from_aws(d.get("Tags"))
    return out


class Observer:
    """Observes every stack of one cluster; ``stacks`` limits the deep reads."""

    def __init__(
        self,
        clients: AwsClients,
        cluster: str,
        tag_cache: TagCache | None = None,
        read_attributes: bool = True,
        backend_security_group: str | None = None,
        scheme: TagScheme = ALBCTL_TAGS,
    ) -> None:
        self.c = clients
        self.cluster = cluster
        # the tags stacks are tracked by: albctl's, or LBC's (a stack to take over)
        self.scheme = scheme
        self.cache = tag_cache
        # False: attributes are read later, only where the desired state sets some
        # (with_attributes), since albctl compares only the keys it sets
        self.read_attributes = read_attributes
        # the cluster's backend security group, seen in the last observe (no extra call);
        # when given, it is not looked up (a caller that remembers it saves a call a group)
        self.backend_security_group = backend_security_group

    def stack_ids(self) -> set[str]:
        """The stacks of this cluster that have a load balancer or target group in AWS."""
        try:
            stack_tag = self.scheme.stack
            tagged = tagged_resources(self.c, self.cluster, None, self.scheme)
            if tagged is not None:
                return {t[stack_tag] for t in tagged.values() if stack_tag in t}
            elb = self.c.elbv2
            arns = [
                lb["LoadBalancerArn"]
                for lb in paginate(elb.describe_load_balancers, "LoadBalancers")
            ]
            arns += [
                t["TargetGroupArn"] for t in paginate(elb.describe_target_groups, "TargetGroups")
            ]
            out = set()
            for tags in describe_tags(self.c, arns, self.cache).values():
                if self.scheme.owns(tags, self.cluster) and stack_tag in tags:
                    out.add(tags[stack_tag])
            return out
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "listing load balancers") from exc

    def observe(
        self, stacks: set[str] | None = None, known: Iterable[str] = ()
    ) -> dict[str, ObservedStack]:
        """The stacks (all of the cluster's when None); ``known``: ARNs to describe even if
        the tagging API does not list them yet (just created)."""
        try:
            return self._observe(stacks, set(known))
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading load balancers") from exc

    def _find(
        self, stacks: set[str] | None, known: set[str]
    ) -> tuple[list[Any], dict[str, dict[str, str]], list[Any], dict[str, dict[str, str]]]:
        """Load balancers and target groups to look at, with their tags: by tag when the
        tagging API answers (cost independent of the account), else all of them."""
        elb = self.c.elbv2
        tagged = tagged_resources(self.c, self.cluster, stacks, self.scheme)
        if tagged is None:
            lbs = list(paginate(elb.describe_load_balancers, "LoadBalancers"))
            tgs = list(paginate(elb.describe_target_groups, "TargetGroups"))
        else:
            if self.cache is not None:
                for arn, t in tagged.items():
                    self.cache.put(arn, t)
            found = describe_arns(self.c, set(tagged) | known)
            lbs, tgs = found.load_balancers, found.target_groups
        lbs = [lb for lb in lbs if lb.get("Type", "application") == "application"]
        arns = [lb["LoadBalancerArn"] for lb in lbs] + [t["TargetGroupArn"] for t in tgs]
        tags = {a: tagged[a] for a in arns if a in tagged} if tagged is not None else {}
        tags.update(describe_tags(self.c, [a for a in arns if a not in tags], self.cache))
        lb_tags = {lb["LoadBalancerArn"]: tags.get(lb["LoadBalancerArn"], {}) for lb in lbs}
        tg_tags = {t["TargetGroupArn"]: tags.get(t["TargetGroupArn"], {}) for t in tgs}
        return lbs, lb_tags, tgs, tg_tags

    def _observe(self, stacks: set[str] | None, known: set[str]) -> dict[str, ObservedStack]:
        lbs, lb_tags, tgs, tg_tags = self._find(stacks, known)
        sgs = self._security_groups(stacks)

        def wanted(tags: dict[str, str]) -> str | None:
            if not self.scheme.owns(tags, self.cluster):
                return None
            stack = tags.get(self.scheme.stack)
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
            observed_tg = self._tg_if_present(t, tags) if stack is not None else None
            if stack is not None and observed_tg is not None:
                tg_id_by_arn[t["TargetGroupArn"]] = tags[self.scheme.resource]
                bucket(stack)["tg"].append(observed_tg)
        for sg in sgs:
            tags = tags_from_aws(sg.get("Tags"))
            backend = tags.get(ALBCTL_TAGS.resource) == BACKEND_SG_RESOURCE
            if self.scheme == ALBCTL_TAGS and backend and ALBCTL_TAGS.owns(tags, self.cluster):
                self.backend_security_group = sg["GroupId"]
            stack = wanted(tags)
            if stack is not None:
                bucket(stack)["sg"].append(_security_group(sg, tags, self.scheme.resource))
        for lb in lbs:
            tags = lb_tags.get(lb["LoadBalancerArn"], {})
            stack = wanted(tags)
            if stack is not None:
                self._load_balancer(lb, tags, bucket(stack), lambda a: tg_id_by_arn.get(a, a))
        return {
            stack: ObservedStack(
                group_id=stack,
                load_balancers=tuple(v["lb"]),
                security_groups=tuple(v["sg"]),
                target_groups=tuple(v["tg"]),
                listeners=tuple(v["li"]),
                rules=tuple(v["ru"]),
                backend_security_group=self.backend_security_group,
            )
            for stack, v in sorted(by_stack.items())
        }

    def _tg_if_present(self, t: dict[str, Any], tags: dict[str, str]) -> ObservedTargetGroup | None:
        try:
            return self._tg(t, tags)
        except ClientError as exc:
            if error_code(exc) != "TargetGroupNotFound":
                raise
            return None  # deleted since it was listed

    def _load_balancer(
        self,
        lb: dict[str, Any],
        tags: dict[str, str],
        out: dict[str, list[Any]],
        tg_id: Callable[[str], str],
    ) -> None:
        """The load balancer, its listeners and their rules, into ``out``."""
        arn = lb["LoadBalancerArn"]
        attrs = self._lb_attributes(arn) if self.read_attributes else {}
        out["lb"].append(_load_balancer(lb, tags, attrs, self.scheme.resource))
        elb = self.c.elbv2
        listeners = list(paginate(elb.describe_listeners, "Listeners", LoadBalancerArn=arn))
        li_tags = describe_tags(self.c, [li["ListenerArn"] for li in listeners], self.cache)
        for li in listeners:
            out["li"].append(self._listener(li, li_tags.get(li["ListenerArn"], {}), tg_id))
            rules = [
                r
                for r in paginate(elb.describe_rules, "Rules", ListenerArn=li["ListenerArn"])
                if not r.get("IsDefault")
            ]
            r_tags = describe_tags(self.c, [r["RuleArn"] for r in rules], self.cache)
            for r in rules:
                rt = r_tags.get(r["RuleArn"], {})
                out["ru"].append(self._rule(r, rt, li["ListenerArn"], tg_id))

    def _rule(
        self,
        r: dict[str, Any],
        tags: dict[str, str],
        listener_arn: str,
        tg_id: Callable[[str], str],
    ) -> ObservedRule:
        return ObservedRule(
            arn=r["RuleArn"],
            listener_arn=listener_arn,
            resource_id=(
                tags.get(self.scheme.resource, "") if self.scheme.owns(tags, self.cluster) else ""
            ),
            priority=int(r["Priority"]),
            conditions=tuple(condition_from_aws(c) for c in r.get("Conditions", [])),
            action=action_from_aws(r.get("Actions", []), tg_id, tags.get(OIDC_SECRET_TAG, "")),
            tags=tags,
            transforms=transforms_from_aws(r.get("Transforms")),
        )

    def _security_groups(self, stacks: set[str] | None) -> list[dict[str, Any]]:
        """The cluster's security groups: of ``stacks`` only (by the stack tag) and the
        backend group (unless already known), or all of them when ``stacks`` is None."""
        cluster = {"Name": f"tag:{self.scheme.cluster}", "Values": [self.cluster]}

        def read(*filters: dict[str, Any]) -> list[dict[str, Any]]:
            return list(
                paginate(
                    self.c.ec2.describe_security_groups,
                    "SecurityGroups",
                    marker_in="NextToken",
                    marker_out="NextToken",
                    Filters=[cluster, *filters],
                )
            )

        if stacks is None:
            return read()
        wanted = sorted(stacks)
        out: list[dict[str, Any]] = []
        for i in range(0, len(wanted), SG_FILTER_VALUES):
            chunk = wanted[i : i + SG_FILTER_VALUES]
            out += read({"Name": f"tag:{self.scheme.stack}", "Values": chunk})
        if self.backend_security_group is None and self.scheme == ALBCTL_TAGS:
            out += read({"Name": f"tag:{ALBCTL_TAGS.resource}", "Values": [BACKEND_SG_RESOURCE]})
        return out

    def _lb_attributes(self, arn: str) -> dict[str, str]:
        resp = self.c.elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)
        return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

    def _web_acl(self, arn: str) -> str:
        acl = self.c.wafv2.get_web_acl_for_resource(ResourceArn=arn).get("WebACL") or {}
        return str(acl.get("ARN", ""))

    def _tg_attributes(self, arn: str) -> dict[str, str]:
        resp = self.c.elbv2.describe_target_group_attributes(TargetGroupArn=arn)
        return {a["Key"]: a["Value"] for a in resp.get("Attributes", [])}

    def with_attributes(
        self, observed: ObservedStack, lb: bool, target_groups: set[str], web_acl: bool = False
    ) -> ObservedStack:
        """Read the attributes the desired state sets: of the load balancer when ``lb``, and of
        the target groups whose resource id is in ``target_groups``; the WAFv2 web ACL of the
        load balancer when ``web_acl``."""
        try:
            lbs = tuple(
                o.model_copy(update={"attributes": self._lb_attributes(o.arn)}) if lb else o
                for o in observed.load_balancers
            )
            if web_acl:
                lbs = tuple(o.model_copy(update={"web_acl": self._web_acl(o.arn)}) for o in lbs)
            tgs = tuple(
                o.model_copy(update={"attributes": self._tg_attributes(o.arn)})
                if o.resource_id in target_groups
                else o
                for o in observed.target_groups
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading attributes") from exc
        return observed.model_copy(update={"load_balancers": lbs, "target_groups": tgs})

    def for_desired(self, observed: ObservedStack, stack: Stack) -> ObservedStack:
        """``observed`` with what only ``stack`` needs read: the attributes it sets (load
        balancer, target groups, listeners), the web ACLs, Shield protection and capacity
        reservation it manages."""
        lb = stack.load_balancer
        observed = self.with_attributes(
            observed,
            bool(lb.attributes),
            {tg.id for tg in stack.target_groups if tg.attributes},
            web_acl=lb.web_acl is not None,
        )
        listeners = {li.id for li in stack.listeners if li.attributes}
        try:
            lbs = tuple(
                o.model_copy(update=addons.read_load_balancer(self.c, o.arn, lb))
                for o in observed.load_balancers
            )
            lis = tuple(
                o.model_copy(update={"attributes": addons.listener_attributes(self.c, o.arn)})
                if o.resource_id in listeners
                else o
                for o in observed.listeners
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "reading load balancer add-ons") from exc
        return observed.model_copy(update={"load_balancers": lbs, "listeners": lis})

    def _tg(self, t: dict[str, Any], tags: dict[str, str]) -> ObservedTargetGroup:
        arn = t["TargetGroupArn"]
        elb = self.c.elbv2
        attrs = self._tg_attributes(arn) if self.read_attributes else {}
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
            resource_id=tags[self.scheme.resource],
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
            resource_id=tags.get(self.scheme.resource, str(li["Port"])),
            port=int(li["Port"]),
            protocol=li.get("Protocol", "HTTP"),
            ssl_policy=li.get("SslPolicy"),
            certificates=tuple(certs),
            default_action=action_from_aws(
                li.get("DefaultActions", []), tg_id, tags.get(OIDC_SECRET_TAG, "")
            ),
            tags=tags,
            mutual_authentication=addons.mtls_from_aws(li),
        )


def _security_group(
    sg: dict[str, Any], tags: dict[str, str], resource_key: str
) -> ObservedSecurityGroup:
    return ObservedSecurityGroup(
        group_id=sg["GroupId"],
        resource_id=tags[resource_key],
        name=sg["GroupName"],
        ingress=sg_rules_from_aws(sg.get("IpPermissions", [])),
        tags=tags,
    )


def _load_balancer(
    lb: dict[str, Any], tags: dict[str, str], attrs: dict[str, str], resource_key: str
) -> ObservedLoadBalancer:
    return ObservedLoadBalancer(
        arn=lb["LoadBalancerArn"],
        resource_id=tags[resource_key],
        name=lb["LoadBalancerName"],
        dns_name=lb.get("DNSName", ""),
        scheme=lb.get("Scheme", ""),
        ip_address_type=lb.get("IpAddressType", "ipv4"),
        subnets=tuple(sorted(z["SubnetId"] for z in lb.get("AvailabilityZones", []))),
        security_groups=tuple(lb.get("SecurityGroups", [])),
        attributes=attrs,
        tags=tags,
        vpc_id=lb.get("VpcId", ""),
        customer_owned_ipv4_pool=lb.get("CustomerOwnedIpv4Pool"),
        ipam_ipv4_pool=(lb.get("IpamPools") or {}).get("Ipv4IpamPoolId"),
    )
