"""Annotation value formats, with LBC's parsing rules and our error messages."""

from __future__ import annotations

import pytest

from albctl.errors import InvalidInputError
from albctl.model.actions import parse_action, parse_conditions
from albctl.model.annotations import Annotations, parse_map
from albctl.model.certs import certificates_for_host, name_matches
from albctl.model.inventory import CertificateInfo

P = "alb.ingress.kubernetes.io/"


def test_map_format_with_escaped_and_continued_commas() -> None:
    assert parse_map("a=1, b = two ,c=x\\,y") == {"a": "1", "b": "two", "c": "x,y"}
    assert parse_map("k=v1,v2,k2=3") == {"k": "v1,v2", "k2": "3"}
    with pytest.raises(ValueError, match="empty key"):
        parse_map("=v")
    with pytest.raises(ValueError, match="key=value"):
        parse_map("novalue")


def test_integer_out_of_range_names_object_and_annotation() -> None:
    ann = Annotations("Ingress/ns/x", {P + "group.order": "5000"})
    with pytest.raises(InvalidInputError) as err:
        ann.integer("group.order", minimum=-1000, maximum=1000)
    assert err.value.obj == "Ingress/ns/x"
    assert err.value.field == f"annotation {P}group.order"
    assert "-1000..1000" in str(err.value)


def test_service_annotation_overrides_ingress_when_allowed() -> None:
    ann = Annotations("Ingress/ns/x", {P + "healthcheck-path": "/ing"}).with_service(
        "Service/ns/s", {P + "healthcheck-path": "/svc"}
    )
    assert ann.string("healthcheck-path", service_override=True) == "/svc"
    assert ann.string("healthcheck-path") == "/ing"
    bad = Annotations("Ingress/ns/x", {}).with_service("Service/ns/s", {P + "target-type": "pod"})
    with pytest.raises(
        InvalidInputError, match="Service/ns/s: annotation .*target-type: got 'pod'"
    ):
        bad.choice("target-type", ("instance", "ip"), service_override=True)


def test_invalid_cidr_is_reported() -> None:
    ann = Annotations("Ingress/a/b", {P + "inbound-cidrs": "10.0.0.0/8, 300.1.1.1/32"})
    with pytest.raises(InvalidInputError, match="'300.1.1.1/32' is not a valid CIDR"):
        ann.cidrs("inbound-cidrs")


def test_actions_json_is_case_insensitive_like_lbc() -> None:
    a = parse_action(
        "Ingress/a/b",
        "x",
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"ServiceName": "s", "ServicePort": "80", "Weight": 3},
                    {"serviceName": "t", "servicePort": "web", "weight": 1},
                ]
            },
        },
    )
    assert [(t.name, t.port, t.weight) for t in a.targets] == [("s", 80, 3), ("t", "web", 1)]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "teleport"}, "expected forward, redirect or fixed-response"),
        (
            {"type": "fixed-response", "fixedResponseConfig": {"statusCode": "700"}},
            "is not 2XX/4XX/5XX",
        ),
        (
            {"type": "redirect", "redirectConfig": {"statusCode": "HTTP_307"}},
            "expected HTTP_301 or HTTP_302",
        ),
        (
            {
                "type": "forward",
                "forwardConfig": {
                    "targetGroups": [
                        {"serviceName": "a", "servicePort": 80},
                        {"serviceName": "b", "servicePort": 80},
                    ]
                },
            },
            "weight is required",
        ),
        (
            {"type": "forward", "targetGroupARN": "arn:x", "forwardConfig": {"targetGroups": []}},
            "not both",
        ),
        (
            {"type": "forward", "forwardConfig": {"targetGroups": [{"serviceName": "a"}]}},
            "servicePort is required",
        ),
    ],
)
def test_bad_actions_are_rejected_with_the_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as err:
        parse_action("Ingress/ns/ing", "act", data)
    assert err.value.field == f"annotation {P}actions.act"


def test_conditions_validation() -> None:
    with pytest.raises(InvalidInputError, match="exactly one of values or regexValues"):
        parse_conditions("I", "c", [{"field": "host-header", "hostHeaderConfig": {}}])
    with pytest.raises(InvalidInputError, match="not a CIDR"):
        parse_conditions("I", "c", [{"field": "source-ip", "sourceIpConfig": {"values": ["x"]}}])
    with pytest.raises(InvalidInputError, match="httpHeaderName is required"):
        parse_conditions(
            "I", "c", [{"field": "http-header", "httpHeaderConfig": {"values": ["a"]}}]
        )
    got = parse_conditions("I", "c", [{"field": "path-pattern", "values": ["/legacy"]}])
    assert got[0].values == ("/legacy",)


def test_certificate_matching_rules() -> None:
    assert name_matches("*.example.com", "a.example.com")
    assert not name_matches("*.example.com", "example.com")
    assert not name_matches("*.example.com", "a.b.example.com")
    assert name_matches("*.example.com", "*.example.com")
    certs = [
        CertificateInfo(arn="arn:w", domains=("*.example.com",)),
        CertificateInfo(arn="arn:x", domains=("shop.example.com",)),
        CertificateInfo(arn="arn:p", domains=("shop.example.com",), status="PENDING_VALIDATION"),
    ]
    assert certificates_for_host("shop.example.com", certs) == ["arn:x", "arn:w"]
    assert certificates_for_host("nothing.org", certs) == []
