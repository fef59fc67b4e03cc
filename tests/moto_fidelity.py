"""Where moto 5 answers unlike ELBv2, patched in the test process so the AWS tier and the
moto server of the e2e tier (a thread of the test process) behave as AWS documents:

- host-header and path-pattern conditions given only ``RegexValues`` (moto reads
  ``Values`` unconditionally and fails with a 500);
- the ``jwt-validation`` action (moto refuses the type);
- rule ``Transforms`` on CreateRule and ModifyRule, with ``ResetTransforms`` (moto drops
  them, so they never come back from DescribeRules).

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
    resp = responses.ELBV2Response
    resp.create_rule = _with_transforms(resp.create_rule, reset=False)  # type: ignore[method-assign]
    resp.modify_rule = _with_transforms(resp.modify_rule, reset=True)  # type: ignore[method-assign]
    _INSTALLED = True
