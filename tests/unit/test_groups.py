"""Class resolution and grouping edge cases."""

from __future__ import annotations

from albctl.model.groups import FINALIZER, group_ingresses
from albctl.model.settings import BuildSettings
from tests.helpers import backend, ingress, ingress_class, objects, rule

S = BuildSettings(cluster_name="c")


def _ing(name: str, cls: str | None, finalizer: bool, **ann: str) -> dict[str, object]:
    doc = ingress(
        name, "ns", ingress_class=cls, rules=[rule(None, ("/", "Prefix", backend("s", 80)))], **ann
    )
    if finalizer:
        doc["metadata"]["finalizers"] = [FINALIZER]  # type: ignore[index]
    return doc


def test_an_ingress_we_serve_whose_class_vanished_is_kept_as_invalid_in_its_group() -> None:
    objs = objects(_ing("served", "gone", True, group_name="team"), _ing("new", "gone", False))
    g = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, S)
    assert list(g.groups) == ["team"]
    assert "IngressClass 'gone' does not exist" in str(g.groups["team"].invalid["ns/served"])
    assert g.ignored == [("ns/new", "IngressClass 'gone' does not exist")]


def test_the_default_class_losing_its_flag_keeps_served_ingresses() -> None:
    objs = objects(ingress_class("alb"), _ing("served", None, True))
    g = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, S)
    assert "no ingress class and no default IngressClass" in str(
        g.groups["ns/served"].invalid["ns/served"]
    )


def test_moving_to_another_controllers_class_releases_the_ingress() -> None:
    objs = objects(
        ingress_class("nginx", controller="k8s.io/ingress-nginx"), _ing("served", "nginx", True)
    )
    g = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, S)
    assert g.groups == {} and g.ignored == [
        ("ns/served", "IngressClass 'nginx' belongs to 'k8s.io/ingress-nginx'")
    ]
