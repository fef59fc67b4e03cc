"""Admission checks: the model's own verdict on an Ingress or an IngressClassParams."""

from __future__ import annotations

from typing import Any

from albctl.manifests import ObjectSet
from albctl.model.admission import Verdict, check_ingress, check_ingress_class_params
from albctl.model.objects import Ingress, IngressClassParams
from albctl.model.settings import BuildSettings
from tests.helpers import backend, ingress, ingress_class, objects, rule, service

SETTINGS = BuildSettings(cluster_name="c1")
PATHS = [rule("shop.example.com", ("/", "Prefix", backend("web", 80)))]


def ing(name: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("rules", PATHS)
    return ingress(name, "shop", **kw)


def cached(*docs: dict[str, Any]) -> ObjectSet:
    return objects(
        ingress_class(), ingress_class("with-params", params="p"), service("web", "shop"), *docs
    )


def verdict(new: dict[str, Any], objs: ObjectSet, old: dict[str, Any] | None = None) -> Verdict:
    return check_ingress(
        Ingress.model_validate(new),
        Ingress.model_validate(old) if old else None,
        objs,
        SETTINGS,
    )


def refused(v: Verdict) -> str:
    assert v.error is not None, v
    return str(v.error)


def test_annotations_paths_actions_conditions_are_checked_by_the_model() -> None:
    objs = cached()
    assert verdict(ing("ok"), objs).allowed
    assert refused(verdict(ing("a", success_codes="ok"), objs)) == (
        "Ingress/shop/a: annotation alb.ingress.kubernetes.io/success-codes: 'ok': expected "
        "codes or ranges like 200,201 or 200-299"
    )
    wild = [rule("x.example.com", ("/a*", "Prefix", backend("web", 80)))]
    assert "spec.rules[0].http.paths[0].path" in refused(verdict(ing("p", rules=wild), objs))
    action = [rule("x.example.com", ("/", "Prefix", backend("broken", "use-annotation")))]
    msg = refused(
        verdict(
            ing(
                "act",
                rules=action,
                annotations={"alb.ingress.kubernetes.io/actions.broken": '{"type": "teleport"}'},
            ),
            objs,
        )
    )
    assert msg.startswith("Ingress/shop/act: annotation alb.ingress.kubernetes.io/actions.broken")
    cond = [rule("x.example.com", ("/", "Prefix", backend("web", 80)))]
    msg = refused(
        verdict(
            ing(
                "cond",
                rules=cond,
                annotations={"alb.ingress.kubernetes.io/conditions.web": "[{]"},
            ),
            objs,
        )
    )
    assert "conditions.web" in msg and "invalid JSON" in msg


def test_group_conflicts_against_the_cached_members() -> None:
    objs = cached(ing("a", group_name="g", scheme="internet-facing"))
    msg = refused(verdict(ing("b", group_name="g", scheme="internal"), objs))
    assert msg == (
        "Ingress/shop/b: annotation alb.ingress.kubernetes.io/scheme: 'internal' conflicts with "
        "'internet-facing' set by Ingress/shop/a earlier in the group"
    )
    # earlier in the group: it is the cached member that would be left out, so it is refused
    msg = refused(verdict(ing("z", group_name="g", group_order="-1", scheme="internal"), objs))
    assert msg.startswith("Ingress/shop/a: annotation alb.ingress.kubernetes.io/scheme")
    assert "set by Ingress/shop/z" in msg
    # agreeing is fine; updating the only member is compared with itself, not its old version
    assert verdict(ing("b", group_name="g", scheme="internet-facing"), objs).allowed
    old = ing("a", group_name="g", scheme="internet-facing")
    assert verdict(ing("a", group_name="g", scheme="internal"), objs, old).allowed


def test_a_member_already_invalid_is_not_blamed_on_the_new_one() -> None:
    objs = cached(
        ing("a", group_name="g"),
        ing("broken", group_name="g", success_codes="nope"),
    )
    assert verdict(ing("b", group_name="g"), objs).allowed


def test_group_wide_errors_the_change_causes() -> None:
    objs = cached(ing("a", group_name="g"))
    msg = refused(verdict(ing("b", group_name="g", ssl_redirect="443"), objs))
    assert "ssl-redirect" in msg and "not an HTTPS listener" in msg


def test_missing_objects_only_warn() -> None:
    objs = cached()
    later = [rule("x.example.com", ("/", "Prefix", backend("later", 80)))]
    v = verdict(ing("later", rules=later), objs)
    assert v.allowed
    assert v.warnings == [
        "Ingress/shop/later: spec.rules[0].http.paths[0].backend: Service shop/later not found: "
        "admitted, it is deployed once that exists"
    ]
    v = verdict(ing("p", ingress_class="with-params"), objs)
    assert v.allowed and "IngressClassParams 'p' does not exist" in v.warnings[0]


def test_what_needs_aws_is_not_checked() -> None:
    objs = cached()
    # no certificate discovered for an HTTPS listener, a security group by name, a WAF ACL by
    # name, subnets by name: only AWS can tell
    v = verdict(
        ing(
            "aws",
            listen_ports='[{"HTTPS": 443}]',
            security_groups="corp",
            wafv2_acl_name="corp",
            subnets="a,b",
        ),
        objs,
    )
    assert v.allowed, v


def test_other_classes_deletions_and_metadata_changes_pass() -> None:
    objs = cached()
    assert verdict(ing("x", ingress_class="nginx", success_codes="ok"), objs).allowed
    bad = ing("bad", success_codes="ok")
    # albctl's own finalizer changes on an Ingress it reports as invalid are never held up
    with_finalizer = {
        **bad,
        "metadata": {**bad["metadata"], "finalizers": ["albctl.io/ingress-group"]},
    }
    assert verdict(with_finalizer, objs, bad).allowed
    deleting = {**bad, "metadata": {**bad["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert verdict(deleting, objs, bad).allowed
    # but a change to the spec of an invalid Ingress is judged
    changed = ing(
        "bad",
        success_codes="ok",
        rules=[rule("y.example.com", ("/", "Prefix", backend("web", 80)))],
    )
    assert not verdict(changed, objs, bad).allowed


def params(name: str = "p", **spec: Any) -> IngressClassParams:
    return IngressClassParams.model_validate({"metadata": {"name": name}, "spec": spec})


def test_ingress_class_params_values_are_checked_with_their_own_names() -> None:
    objs = cached()
    assert check_ingress_class_params(params(scheme="internal"), objs, SETTINGS).allowed
    v = check_ingress_class_params(params(loadBalancerName="-no-"), objs, SETTINGS)
    assert refused(v).startswith("IngressClassParams/p: spec.loadBalancerName: '-no-': expected")
    v = check_ingress_class_params(params(certificateArn=["cert"]), objs, SETTINGS)
    assert refused(v) == "IngressClassParams/p: spec.certificateArn: 'cert' is not an ARN"
    v = check_ingress_class_params(params(inboundCIDRs=["10.0.0.0/33"]), objs, SETTINGS)
    assert (
        refused(v) == "IngressClassParams/p: spec.inboundCIDRs: '10.0.0.0/33' is not a valid CIDR"
    )
    v = check_ingress_class_params(params(tags=[{"key": "aws:x", "value": "1"}]), objs, SETTINGS)
    assert refused(v) == "IngressClassParams/p: spec.tags: tag key 'aws:x' is reserved"
    v = check_ingress_class_params(params(group={"name": "Bad_Name"}), objs, SETTINGS)
    assert refused(v).startswith("IngressClassParams/p: spec.group.name: got 'Bad_Name'")


def test_ingress_class_params_that_would_break_a_group_are_refused() -> None:
    objs = cached(
        ing("a", group_name="g", scheme="internet-facing"),
        ing("b", ingress_class="with-params", group_name="g"),
    )
    objs.ingress_class_params.append(params())
    assert check_ingress_class_params(params(scheme="internet-facing"), objs, SETTINGS).allowed
    v = check_ingress_class_params(params(scheme="internal"), objs, SETTINGS)
    assert "Ingress/shop/b" in refused(v) and "conflicts with 'internet-facing'" in refused(v)
