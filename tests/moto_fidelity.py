"""Where moto 5 answers unlike ELBv2, patched in the test process so the AWS tier and the
moto server of the e2e tier (a thread of the test process) behave as AWS documents:

- host-header and path-pattern conditions given only ``RegexValues`` (moto reads
  ``Values`` unconditionally and fails with a 500);
- the ``jwt-validation`` action (moto refuses the type);
- rule ``Transforms`` on CreateRule and ModifyRule, with ``ResetTransforms`` (moto drops
  them, so they never come back from DescribeRules);
- a target group that a rule forwards to after ModifyRule (or a listener after
  ModifyListener) is in use by that load balancer: AWS lists the load balancer in the target
  group's ``LoadBalancerArns`` and answers DescribeTargetGroups(LoadBalancerArn) with it (ELB
  API reference, ``TargetGroup.LoadBalancerArns``: "the load balancer that routes traffic to
  this target group"); moto records it on CreateRule and CreateListener only;
- UpdateSecurityGroupRuleDescriptionsIngress of a rule whose source is a security group: AWS
  finds the rule by protocol, ports and source and sets its description; moto compares the
  old description too, finds nothing and changes nothing.

Each patch only widens what moto accepts to what AWS accepts; nothing that AWS refuses is let
through. ``install()`` is idempotent.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = False


def _regex_aware(original: Any, config_key: str) -> Any:
    def validate(self: Any, condition: dict[str, Any]) -> None:
        cfg = condition.get(config_key) or {}
        if cfg.get("RegexValues") and not cfg.get("Values"):
            for value in cfg["RegexValues"]:
                if len(value) > 128:
                    from moto.elbv2.exceptions import InvalidConditionValueError

                    raise InvalidConditionValueError(
                        f"The '{condition['Field']}' regex value is too long; the limit is '128'"
                    )
            return
        original(self, condition)

    return validate


def _with_transforms(original: Any, reset: bool) -> Any:
    def handler(self: Any) -> Any:
        result = original(self)
        params = self._get_params()
        rule = result.result["Rules"][0] if hasattr(result, "result") else None
        if rule is None:
            return result
        if "Transforms" in params:
            rule.transforms = params["Transforms"]
        elif (reset and params.get("ResetTransforms")) or not hasattr(rule, "transforms"):
            rule.transforms = []
        return result

    return handler


def _associating(original: Any, lb_arn_of: Any) -> Any:
    def modify(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        lb_arn = lb_arn_of(self, result)
        actions = getattr(result, "actions", None) or getattr(result, "default_actions", [])
        for action in actions or []:
            if getattr(action, "type", None) != "forward":
                continue
            for tg_arn in self._get_target_group_arns_from(action_data=action.data):
                tg = self.target_groups.get(tg_arn)
                if tg is not None and lb_arn and lb_arn not in tg.load_balancer_arns:
                    tg.load_balancer_arns.append(lb_arn)
        return result

    return modify


def _rule_lb(backend: Any, rule: Any) -> str | None:
    for lb in backend.load_balancers.values():
        if rule.listener_arn in lb.listeners:
            return str(lb.arn)
    return None


def _describing(original: Any) -> Any:
    def update(
        self: Any,
        group_name_or_id: str,
        ip_protocol: str,
        from_port: str,
        to_port: str,
        ip_ranges: list[Any],
        source_groups: list[dict[str, Any]] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if ip_ranges or not source_groups:
            return original(
                self, group_name_or_id, ip_protocol, from_port, to_port, ip_ranges,
                source_groups, *args, **kwargs,
            )  # fmt: skip
        group = self.get_security_group_by_name_or_id(group_name_or_id, kwargs.get("vpc_id"))
        for pair in source_groups:
            for rule in group.ingress_rules if group is not None else []:
                src = rule.source_group or {}
                same = (str(rule.from_port), str(rule.to_port)) == (str(from_port), str(to_port))
                if (
                    same
                    and rule.ip_protocol == ip_protocol
                    and src.get("GroupId") == pair.get("GroupId")
                ):
                    src["Description"] = pair.get("Description", "")
        return group

    return update


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.elbv2 import models, responses

    backend = models.ELBv2Backend
    backend._validate_host_header_condition = _regex_aware(  # type: ignore[method-assign]
        backend._validate_host_header_condition, "HostHeaderConfig"
    )
    backend._validate_path_pattern_condition = _regex_aware(  # type: ignore[method-assign]
        backend._validate_path_pattern_condition, "PathPatternConfig"
    )
    original_actions = backend._validate_actions

    def validate_actions(self: Any, actions: list[Any]) -> None:
        original_actions(self, [a for a in actions if a.type != "jwt-validation"])

    backend._validate_actions = validate_actions  # type: ignore[method-assign]
    if "jwt-validation" not in models.ALLOWED_ACTIONS:
        models.ALLOWED_ACTIONS.append("jwt-validation")
    backend.modify_rule = _associating(backend.modify_rule, _rule_lb)  # type: ignore[method-assign]
    backend.modify_listener = _associating(  # type: ignore[method-assign]
        backend.modify_listener, lambda _b, li: li.load_balancer_arn
    )
    from moto.ec2.models.security_groups import SecurityGroupBackend

    SecurityGroupBackend.update_security_group_rule_descriptions_ingress = _describing(  # type: ignore[method-assign]
        SecurityGroupBackend.update_security_group_rule_descriptions_ingress
    )
    resp = responses.ELBV2Response
    resp.create_rule = _with_transforms(resp.create_rule, reset=False)  # type: ignore[method-assign]
    resp.modify_rule = _with_transforms(resp.modify_rule, reset=True)  # type: ignore[method-assign]
    _INSTALLED = True
