"""Execute a plan against AWS, in the plan's order.

Every Create call carries the ownership tags (atomic ownership). Before modifying or deleting
an existing resource its observed tags are checked again: a resource without our cluster tag
is never touched. Deletes that AWS refuses while a dependency drains (ResourceInUse,
DependencyViolation) are retried with jittered backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from albctl.aws import addons
from albctl.aws.adopt import apply_adopt
from albctl.aws.certificates import delete_certificate, import_certificate, reimport_certificate
from albctl.aws.clients import AwsClients, aws_error, error_code
from albctl.aws.consistency import ConsistentClients, Recent, settle
from albctl.aws.convert import (
    actions_to_aws,
    condition_to_aws,
    health_check_to_aws,
    sg_rules_from_aws,
    sg_rules_to_aws,
    tags_from_aws,
    tags_to_aws,
    transforms_to_aws,
)
from albctl.aws.observe import TagCache, describe_tags
from albctl.errors import AwsError, DeletionProtectedError, OwnershipError
from albctl.logs import log_event
from albctl.model.desired import (
    BACKEND_SG_ID,
    MANAGED_SG_ID,
    Action,
    Listener,
    LoadBalancer,
    Rule,
    SecurityGroup,
    TargetGroup,
)
from albctl.model.diff import Change, Plan
from albctl.model.observed import ObservedStack
from albctl.model.tags import RESOURCE_TAG, STACK_TAG, TARGETS_RECORD_PREFIX, owned_by
from albctl.model.tls import ImportedCertificate, TLSMaterial, is_secret_ref

log = logging.getLogger(__name__)
T = TypeVar("T")

DELETION_PROTECTION = "deletion_protection.enabled"
RETRY_ON_DELETE = {"ResourceInUse", "DependencyViolation", "InvalidGroup.InUse"}


def _retryable(exc: BaseException) -> bool:
    return error_code(exc) in RETRY_ON_DELETE


_dependency_retry = retry(
    retry=retry_if_exception(_retryable),
    wait=wait_exponential_jitter(multiplier=0.2, max=10),
    stop=stop_after_delay(180),
    reraise=True,
)

dependency_retry = _dependency_retry


@dataclass
class ApplyResult:
    group_id: str
    load_balancer_arn: str | None = None
    dns_name: str | None = None
    applied: list[Change] = field(default_factory=list)
    target_group_arns: dict[str, str] = field(default_factory=dict)  # resource id -> ARN
    security_group_id: str | None = None  # the managed frontend security group


class Applier:
    def __init__(
        self,
        clients: AwsClients,
        cluster: str,
        vpc_id: str | None,
        tag_cache: TagCache | None = None,
        materials: Mapping[str, TLSMaterial] | None = None,
        recent: Recent | None = None,
        client_secrets: Mapping[str, str] | None = None,
    ) -> None:
        # calls naming a resource created moments ago wait out AWS's eventual consistency
        self.c = ConsistentClients(clients, recent=recent)
        self.cluster = cluster
        self.vpc_id = vpc_id
        self.tag_cache = tag_cache
        self.materials = dict(materials or {})  # certificate id -> key material
        self.client_secrets = dict(client_secrets or {})  # OIDC: digest -> client secret

    def apply(self, plan: Plan, observed: ObservedStack) -> ApplyResult:
        self.c.stack = plan.group_id
        self.check_deletion_protection(plan)
        self.tg_arns: dict[str, str] = {}
        for tg in observed.target_groups:
            self.tg_arns.setdefault(tg.resource_id, tg.arn)
        self.listener_arns: dict[str, str] = {}
        self.sg_id: str | None = next(
            (s.group_id for s in observed.security_groups if s.resource_id == MANAGED_SG_ID), None
        )
        lb = next((lb for lb in observed.load_balancers), None)
        self.lb_arn: str | None = lb.arn if lb else None
        result = ApplyResult(
            group_id=plan.group_id,
            load_balancer_arn=self.lb_arn,
            dns_name=lb.dns_name if lb else None,
        )
        # prefer the current (non-replaced) target group of each id
        for ch in plan.changes:
            if ch.kind == "TargetGroup" and ch.action in ("update",) and ch.observed is not None:
                self.tg_arns[ch.id] = ch.observed.arn
        for li in observed.listeners:
            if li.load_balancer_arn == self.lb_arn:
                self.listener_arns[li.resource_id] = li.arn
        self.cert_arns = {c.resource_id: c.arn for c in observed.certificates}
        self._pending_priorities: dict[str, list[tuple[str, int]]] = {}
        self._observed_rules = {r.arn: r for r in observed.rules}
        self._observed = observed
        changes = plan.changes
        i = 0
        while i < len(changes):
            ch = changes[i]
            # batch consecutive priority updates of one listener into SetRulePriorities
            if ch.kind == "ListenerRule" and ch.ops == ("priority",):
                j = i
                while (
                    j < len(changes)
                    and changes[j].kind == "ListenerRule"
                    and changes[j].ops == ("priority",)
                ):
                    j += 1
                self._set_priorities(changes[i:j])
                result.applied += changes[i:j]
                i = j
                continue
            try:
                self._apply_one(ch, result)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(exc, f"{ch.action} {ch.kind} {ch.id} of {plan.group_id}") from exc
            log_event(log, "applied", group=plan.group_id, action=ch.action, kind=ch.kind, id=ch.id)
            result.applied.append(ch)
            i += 1
        result.load_balancer_arn = self.lb_arn
        result.target_group_arns = dict(self.tg_arns)
        result.security_group_id = self.sg_id
        return result

    def check_deletion_protection(self, plan: Plan) -> None:
        """Refuse a plan that deletes or replaces a load balancer with deletion protection.

        Checked before the first change, so nothing of the group is touched. AWS enforces the
        attribute only for DeleteLoadBalancer; the listeners, rules and target groups that
        would go first are protected here.
        """
        for ch in plan.changes:
            if ch.kind != "LoadBalancer" or ch.action not in ("delete", "replace"):
                continue
            obs = ch.observed
            try:
                attrs = self.c.elbv2.describe_load_balancer_attributes(LoadBalancerArn=obs.arn)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(exc, f"reading the attributes of load balancer {obs.name}") from exc
            values = {a["Key"]: a["Value"] for a in attrs.get("Attributes", [])}
            if values.get(DELETION_PROTECTION, "false").lower() == "true":
                verb = "delete" if ch.action == "delete" else "replace (a scheme change)"
                raise DeletionProtectedError(
                    f"load balancer {obs.name} of group {plan.group_id} has "
                    f"{DELETION_PROTECTION}=true: refusing to {verb} it; nothing of the group "
                    "was changed. Set the load balancer attribute "
                    f"{DELETION_PROTECTION}=false (alb.ingress.kubernetes.io/"
                    "load-balancer-attributes or the AWS console) to let albctl proceed"
                )
            log_event(log, "deletion protection off", group=plan.group_id, load_balancer=obs.name)

    # --- helpers -------------------------------------------------------------------------

    def _created(self, arn: str, tags: Mapping[str, str]) -> None:
        """Tags set in the Create call are the resource's tags: no DescribeTags needed (and
        none that could answer before AWS lists the new resource)."""
        if self.tag_cache is not None:
            self.tag_cache.put(arn, dict(tags))

    def _ours(self, tags: dict[str, str], stack: str | None, resource: str) -> bool:
        return owned_by(tags, self.cluster, stack) and tags.get(RESOURCE_TAG) == resource

    def _existing_sg(self, exc: ClientError, sg: SecurityGroup) -> dict[str, Any]:
        """The security group a duplicate-name create refers to, when it is this one of ours
        (created by an attempt whose answer was lost); else ``exc`` again."""
        if error_code(exc) != "InvalidGroup.Duplicate":
            raise exc
        filters = [{"Name": "group-name", "Values": [sg.name]}]
        if self.vpc_id:
            filters.append({"Name": "vpc-id", "Values": [self.vpc_id]})
        for _ in settle():
            for g in self.c.ec2.describe_security_groups(Filters=filters)["SecurityGroups"]:
                tags = tags_from_aws(g.get("Tags"))
                if self._ours(tags, sg.tags.get(STACK_TAG), sg.id):
                    log_event(log, "adopted", kind="SecurityGroup", id=g["GroupId"])
                    return dict(g)
        raise exc

    def _existing_tg(self, exc: ClientError, tg: TargetGroup) -> str:
        """The ARN of the target group of ours a duplicate-name create refers to (AWS answers
        an identical create with the existing group; moto refuses it), else ``exc`` again."""
        if error_code(exc) != "DuplicateTargetGroupName":
            raise exc
        for _ in settle():
            try:
                found = self.c.elbv2.describe_target_groups(Names=[tg.name])["TargetGroups"]
            except ClientError as again:
                if error_code(again) != "TargetGroupNotFound":
                    raise
                continue
            for t in found:
                arn = str(t["TargetGroupArn"])
                tags = describe_tags(self.c, [arn]).get(arn, {})
                if self._ours(tags, tg.tags.get(STACK_TAG), tg.id):
                    log_event(log, "adopted", kind="TargetGroup", id=tg.id, arn=arn)
                    return arn
        raise exc

    def _owned(self, tags: dict[str, str], what: str) -> None:
        if not owned_by(tags, self.cluster):
            raise OwnershipError(
                f"{what} does not carry albctl.io/cluster={self.cluster}; refusing to change it"
            )

    def _cert_arn(self, ref: str) -> str:
        if is_secret_ref(ref):
            if ref not in self.cert_arns:
                raise OwnershipError(f"certificate {ref} was not imported")
            return self.cert_arns[ref]
        return ref

    def _cert_arns(self, refs: Iterable[str]) -> list[dict[str, str]]:
        return [{"CertificateArn": self._cert_arn(r)} for r in refs]

    def _tg_arn(self, ref: str) -> str:
        if ref.startswith("arn:"):
            return ref
        return self.tg_arns[ref]

    def _sg_ids(self, lb: LoadBalancer) -> list[str]:
        out = []
        for s in lb.security_groups:
            if s == MANAGED_SG_ID:
                if self.sg_id is None:
                    raise OwnershipError("managed security group missing")
                out.append(self.sg_id)
            elif s == BACKEND_SG_ID:
                backend = self._observed.backend_security_group
                if backend is None:
                    raise OwnershipError("backend security group missing")
                out.append(backend)
            else:
                out.append(s)
        return out

    def _retag_elb(self, arn: str, details: dict[str, Any]) -> None:
        if self.tag_cache is not None:
            self.tag_cache.invalidate(arn)
        tags = details.get("tags", {})
        if tags.get("add"):
            self.c.elbv2.add_tags(ResourceArns=[arn], Tags=tags_to_aws(tags["add"]))
        if tags.get("remove"):
            self.c.elbv2.remove_tags(ResourceArns=[arn], TagKeys=tags["remove"])

    # --- dispatch ------------------------------------------------------------------------

    def _apply_one(self, ch: Change, result: ApplyResult) -> None:
        if ch.action == "adopt":
            arn = apply_adopt(self.c, self.cluster, ch)
            if self.tag_cache is not None:
                self.tag_cache.invalidate(arn)
            return
        handler: Callable[[Change, ApplyResult], None] = getattr(self, f"_{ch.action}_{ch.kind}")
        handler(ch, result)

    # security group
    def _create_SecurityGroup(self, ch: Change, _: ApplyResult) -> None:
        sg: SecurityGroup = ch.desired
        kwargs: dict[str, Any] = {
            "GroupName": sg.name,
            "Description": sg.description,
            "TagSpecifications": [{"ResourceType": "security-group", "Tags": tags_to_aws(sg.tags)}],
        }
        if self.vpc_id:
            kwargs["VpcId"] = self.vpc_id
        have: set[Any] = set()
        try:
            self.sg_id = self.c.ec2.create_security_group(**kwargs)["GroupId"]
        except ClientError as exc:
            # made by an earlier attempt whose answer was lost, or not listed yet
            found = self._existing_sg(exc, sg)
            self.sg_id, have = found["GroupId"], set(sg_rules_from_aws(found["IpPermissions"]))
        missing = sorted(set(sg.ingress) - have, key=str)
        if missing:
            self.c.ec2.authorize_security_group_ingress(
                GroupId=self.sg_id, IpPermissions=sg_rules_to_aws(missing)
            )

    def _update_SecurityGroup(self, ch: Change, _: ApplyResult) -> None:
        sg: SecurityGroup = ch.desired
        obs = ch.observed
        self._owned(obs.tags, f"security group {obs.group_id}")
        want, have = set(sg.ingress), set(obs.ingress)
        if want - have:
            self.c.ec2.authorize_security_group_ingress(
                GroupId=obs.group_id, IpPermissions=sg_rules_to_aws(sorted(want - have, key=str))
            )
        if have - want:
            self.c.ec2.revoke_security_group_ingress(
                GroupId=obs.group_id, IpPermissions=sg_rules_to_aws(sorted(have - want, key=str))
            )
        tags = ch.details.get("tags", {})
        if tags.get("add"):
            self.c.ec2.create_tags(Resources=[obs.group_id], Tags=tags_to_aws(tags["add"]))
        if tags.get("remove"):
            self.c.ec2.delete_tags(
                Resources=[obs.group_id], Tags=[{"Key": k} for k in tags["remove"]]
            )

    def _delete_SecurityGroup(self, ch: Change, _: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"security group {obs.group_id}")
        _dependency_retry(self.c.ec2.delete_security_group)(GroupId=obs.group_id)

    # certificates imported from TLS Secrets
    def _create_Certificate(self, ch: Change, _: ApplyResult) -> None:
        cert: ImportedCertificate = ch.desired
        material = self.materials.get(cert.id)
        if material is None:
            raise OwnershipError(f"no key material for certificate {cert.id}")
        self.cert_arns[cert.id] = import_certificate(self.c, material, cert.tags)

    def _update_Certificate(self, ch: Change, _: ApplyResult) -> None:
        cert: ImportedCertificate = ch.desired
        obs = ch.observed
        self._owned(obs.tags, f"certificate {obs.arn}")
        material = self.materials.get(cert.id)
        if self.tag_cache is not None:
            self.tag_cache.invalidate(obs.arn)
        if "reimport" in ch.ops and material is not None:
            reimport_certificate(self.c, obs.arn, material, cert.tags)
        elif "tags" in ch.ops:
            self.c.acm.add_tags_to_certificate(CertificateArn=obs.arn, Tags=tags_to_aws(cert.tags))

    def _delete_Certificate(self, ch: Change, _: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"certificate {obs.arn}")
        delete_certificate(self.c, obs.arn, obs.tags, self.cluster)

    # target groups
    def _create_TargetGroup(self, ch: Change, _: ApplyResult) -> None:
        tg: TargetGroup = ch.desired
        kwargs: dict[str, Any] = {
            "Name": tg.name,
            "Protocol": tg.protocol,
            "ProtocolVersion": tg.protocol_version,
            "Port": tg.port,
            "TargetType": tg.target_type,
            "IpAddressType": tg.ip_address_type,
            "Tags": tags_to_aws(tg.tags),
            **health_check_to_aws(tg.health_check),
        }
        if self.vpc_id:
            kwargs["VpcId"] = self.vpc_id
        try:
            arn = self.c.elbv2.create_target_group(**kwargs)["TargetGroups"][0]["TargetGroupArn"]
        except ClientError as exc:
            arn = self._existing_tg(exc, tg)
        self.tg_arns[tg.id] = arn
        self._created(arn, tg.tags)
        if tg.attributes:
            self.c.elbv2.modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[{"Key": k, "Value": v} for k, v in sorted(tg.attributes.items())],
            )

    _replace_TargetGroup = _create_TargetGroup

    def _update_TargetGroup(self, ch: Change, _: ApplyResult) -> None:
        tg: TargetGroup = ch.desired
        obs = ch.observed
        self._owned(obs.tags, f"target group {obs.name}")
        if "health_check" in ch.ops:
            hc = health_check_to_aws(tg.health_check)
            self.c.elbv2.modify_target_group(TargetGroupArn=obs.arn, **hc)
        if "attributes" in ch.ops:
            self.c.elbv2.modify_target_group_attributes(
                TargetGroupArn=obs.arn,
                Attributes=[
                    {"Key": k, "Value": v} for k, v in sorted(ch.details["attributes"].items())
                ],
            )
        if "tags" in ch.ops:
            self._retag_elb(obs.arn, ch.details)

    def _delete_TargetGroup(self, ch: Change, _: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"target group {obs.name}")
        _dependency_retry(self.c.elbv2.delete_target_group)(TargetGroupArn=obs.arn)

    def _update_Targets(self, ch: Change, _: ApplyResult) -> None:
        tg: TargetGroup = ch.desired
        arn = self.tg_arns[tg.id]
        if ch.observed is not None:
            self._owned(ch.observed.tags, f"target group {ch.observed.name}")
        for verb, call in (
            ("register", self.c.elbv2.register_targets),
            ("deregister", self.c.elbv2.deregister_targets),
        ):
            items = ch.details.get(verb, [])
            for i in range(0, len(items), 500):
                targets = []
                for t in items[i : i + 500]:
                    tid, _, port = t.rpartition(":")
                    targets.append({"Id": tid, "Port": int(port)})
                call(TargetGroupArn=arn, Targets=targets)
        if "record" in ch.details:
            self._write_targets_record(arn, ch.details["record"], ch.observed)

    def _write_targets_record(self, arn: str, record: dict[str, str], observed: Any) -> None:
        """The targets albctl registered in a multi-cluster target group, kept in its tags."""
        old = [
            k
            for k in (observed.tags if observed is not None else {})
            if k.startswith(TARGETS_RECORD_PREFIX) and k not in record
        ]
        if self.tag_cache is not None:
            self.tag_cache.invalidate(arn)
        if record:
            self.c.elbv2.add_tags(ResourceArns=[arn], Tags=tags_to_aws(record))
        if old:
            self.c.elbv2.remove_tags(ResourceArns=[arn], TagKeys=old)

    # load balancer
    def _create_LoadBalancer(self, ch: Change, result: ApplyResult) -> None:
        lb: LoadBalancer = ch.desired
        resp = self.c.elbv2.create_load_balancer(
            Name=lb.name,
            Subnets=list(lb.subnets),
            SecurityGroups=self._sg_ids(lb),
            Scheme=lb.scheme,
            Type="application",
            IpAddressType=lb.ip_address_type,
            Tags=tags_to_aws(lb.tags),
            **addons.create_parameters(lb),
        )["LoadBalancers"][0]
        self.lb_arn = resp["LoadBalancerArn"]
        self._created(resp["LoadBalancerArn"], lb.tags)
        result.load_balancer_arn = self.lb_arn
        result.dns_name = resp.get("DNSName")
        self.listener_arns = {}
        if lb.web_acl:
            self.c.wafv2.associate_web_acl(WebACLArn=lb.web_acl, ResourceArn=self.lb_arn)
        if lb.attributes:
            self.c.elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=self.lb_arn,
                Attributes=[{"Key": k, "Value": v} for k, v in lb.attributes.items()],
            )
        addons.apply_load_balancer(self.c, self.lb_arn, lb, addons.creation_ops(lb), self.c.stack)

    def _replace_LoadBalancer(self, ch: Change, result: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"load balancer {obs.name}")
        self.c.elbv2.delete_load_balancer(LoadBalancerArn=obs.arn)
        self._create_LoadBalancer(ch, result)

    def _update_LoadBalancer(self, ch: Change, _: ApplyResult) -> None:
        lb: LoadBalancer = ch.desired
        obs = ch.observed
        self._owned(obs.tags, f"load balancer {obs.name}")
        if "subnets" in ch.ops:
            self.c.elbv2.set_subnets(LoadBalancerArn=obs.arn, Subnets=list(lb.subnets))
        if "security_groups" in ch.ops:
            self.c.elbv2.set_security_groups(
                LoadBalancerArn=obs.arn, SecurityGroups=self._sg_ids(lb)
            )
        if "ip_address_type" in ch.ops:
            self.c.elbv2.set_ip_address_type(
                LoadBalancerArn=obs.arn, IpAddressType=lb.ip_address_type
            )
        if "attributes" in ch.ops:
            self.c.elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=obs.arn,
                Attributes=[{"Key": k, "Value": v} for k, v in ch.details["attributes"].items()],
            )
        if "web_acl" in ch.ops:
            if lb.web_acl:
                self.c.wafv2.associate_web_acl(WebACLArn=lb.web_acl, ResourceArn=obs.arn)
            else:
                self.c.wafv2.disassociate_web_acl(ResourceArn=obs.arn)
        addons.apply_load_balancer(self.c, obs.arn, lb, ch.ops, self.c.stack)
        if "tags" in ch.ops:
            self._retag_elb(obs.arn, ch.details)

    def _delete_LoadBalancer(self, ch: Change, _: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"load balancer {obs.name}")
        self.c.elbv2.delete_load_balancer(LoadBalancerArn=obs.arn)
        if self.lb_arn == obs.arn:
            self.lb_arn = None

    # listeners
    def _create_Listener(self, ch: Change, _: ApplyResult) -> None:
        li: Listener = ch.desired
        kwargs: dict[str, Any] = {
            "LoadBalancerArn": self.lb_arn,
            "Protocol": li.protocol,
            "Port": li.port,
            "DefaultActions": self._actions(li.default_action),
            "Tags": tags_to_aws(li.tags),
        }
        if li.protocol == "HTTPS":
            kwargs["SslPolicy"] = li.ssl_policy
            kwargs["Certificates"] = self._cert_arns(li.certificates[:1])
            if li.mutual_authentication is not None:
                kwargs["MutualAuthentication"] = addons.mtls_to_aws(li.mutual_authentication)
        arn = self.c.elbv2.create_listener(**kwargs)["Listeners"][0]["ListenerArn"]
        self.listener_arns[li.id] = arn
        self._created(arn, li.tags)
        if li.attributes:
            addons.set_listener_attributes(self.c, arn, li.attributes)
        extra = [c for c in li.certificates[1:] if c != li.certificates[0]]
        if extra:
            self.c.elbv2.add_listener_certificates(
                ListenerArn=arn, Certificates=self._cert_arns(extra)
            )

    def _update_Listener(self, ch: Change, _: ApplyResult) -> None:
        li: Listener = ch.desired
        obs = ch.observed
        self._owned(obs.tags, f"listener {obs.port}")
        if "listener" in ch.ops:
            kwargs: dict[str, Any] = {
                "ListenerArn": obs.arn,
                "Protocol": li.protocol,
                "Port": li.port,
                "DefaultActions": self._actions(li.default_action),
            }
            if li.protocol == "HTTPS":
                kwargs["SslPolicy"] = li.ssl_policy
                kwargs["Certificates"] = self._cert_arns(li.certificates[:1])
                if li.mutual_authentication is not None:
                    kwargs["MutualAuthentication"] = addons.mtls_to_aws(li.mutual_authentication)
            self.c.elbv2.modify_listener(**kwargs)
        if "attributes" in ch.ops:
            addons.set_listener_attributes(self.c, obs.arn, ch.details["attributes"])
        if ch.details.get("add_certificates"):
            self.c.elbv2.add_listener_certificates(
                ListenerArn=obs.arn, Certificates=self._cert_arns(ch.details["add_certificates"])
            )
        if ch.details.get("remove_certificates"):
            self.c.elbv2.remove_listener_certificates(
                ListenerArn=obs.arn,
                Certificates=[{"CertificateArn": c} for c in ch.details["remove_certificates"]],
            )
        if "tags" in ch.ops:
            self._retag_elb(obs.arn, ch.details)

    def _delete_Listener(self, ch: Change, _: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"listener {obs.port}")
        self.c.elbv2.delete_listener(ListenerArn=obs.arn)

    # rules
    def _create_ListenerRule(self, ch: Change, _: ApplyResult) -> None:
        r: Rule = ch.desired
        resp = self.c.elbv2.create_rule(
            ListenerArn=self.listener_arns[r.listener],
            Priority=r.priority,
            Conditions=[condition_to_aws(c) for c in r.conditions],
            Actions=self._actions(r.action),
            Tags=tags_to_aws(r.tags),
            **({"Transforms": transforms_to_aws(r.transforms)} if r.transforms else {}),
        )
        for created in resp.get("Rules", []):
            self._created(created["RuleArn"], r.tags)

    def _update_ListenerRule(self, ch: Change, _: ApplyResult) -> None:
        r: Rule = ch.desired
        obs = ch.observed
        self._owned(obs.tags, f"rule {obs.arn}")
        if "rule" in ch.ops:
            transforms: dict[str, Any] = (
                {"Transforms": transforms_to_aws(r.transforms)}
                if r.transforms
                else {"ResetTransforms": True}
                if obs.transforms
                else {}
            )
            self.c.elbv2.modify_rule(
                RuleArn=obs.arn,
                Conditions=[condition_to_aws(c) for c in r.conditions],
                Actions=self._actions(r.action),
                **transforms,
            )
        if "tags" in ch.ops:
            self._retag_elb(obs.arn, ch.details)

    def _actions(self, action: Action) -> list[dict[str, Any]]:
        return actions_to_aws(action, self._tg_arn, self._client_secret)

    def _client_secret(self, digest: str) -> str:
        secret = self.client_secrets.get(digest)
        if secret is None:
            raise AwsError("the OIDC client secret of this rule was not read; not applied")
        return secret

    def _delete_ListenerRule(self, ch: Change, _: ApplyResult) -> None:
        obs = ch.observed
        self._owned(obs.tags, f"rule {obs.arn}")
        self.c.elbv2.delete_rule(RuleArn=obs.arn)

    def _set_priorities(self, changes: list[Change]) -> None:
        """Move rules to new priorities; via temporary free priorities when they swap."""
        by_listener: dict[str, list[Change]] = {}
        for ch in changes:
            self._owned(ch.observed.tags, f"rule {ch.observed.arn}")
            by_listener.setdefault(ch.observed.listener_arn, []).append(ch)
        try:
            for listener_arn, chs in by_listener.items():
                current = {
                    int(r["Priority"]): r["RuleArn"]
                    for r in self.c.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
                    if not r.get("IsDefault")
                }
                moving = {ch.observed.arn for ch in chs}
                targets = {ch.desired.priority for ch in chs}
                if any(current.get(p) not in (None,) and current[p] not in moving for p in targets):
                    raise OwnershipError(
                        f"priority taken by a rule albctl does not manage on {listener_arn}"
                    )
                if any(p in current for p in targets):
                    temp, p = [], 50000
                    for ch in chs:
                        while p in current or p in targets:
                            p -= 1
                        temp.append({"RuleArn": ch.observed.arn, "Priority": p})
                        p -= 1
                    self.c.elbv2.set_rule_priorities(RulePriorities=temp)
                self.c.elbv2.set_rule_priorities(
                    RulePriorities=[
                        {"RuleArn": ch.observed.arn, "Priority": ch.desired.priority} for ch in chs
                    ]
                )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, "setting rule priorities") from exc
