"""TLS Secrets in the model: checks, precedence against ACM, and no key material anywhere."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from albctl.model.builder import BuildResult, GroupInput, build_group
from albctl.model.groups import group_ingresses
from albctl.model.inventory import OwnedCertificate
from albctl.model.settings import BuildSettings
from albctl.model.tls import TLSSecretError, parse_tls_secret
from tests.helpers import backend, ingress, ingress_class, inventory, objects, rule, service
from tests.tls_helpers import key_text, tls_secret

NOW = datetime.datetime.now(datetime.UTC)


def _secret(doc: dict[str, Any]) -> Any:
    return objects(doc).secrets[0]


def _parse(doc: dict[str, Any] | None, hosts: list[str]) -> Any:
    s = _secret(doc) if doc else None
    return parse_tls_secret("Ingress/web/a", "spec.tls[0].secretName", "web/tls", s, hosts, NOW)


def test_a_good_secret_parses_with_chain_and_fingerprint() -> None:
    doc = tls_secret("tls", "web", ["shop.example.com", "*.shop.example.com"])
    got = _parse(doc, ["shop.example.com", "a.shop.example.com"])
    assert got.certificate.id == "secret/web/tls"
    assert got.certificate.domains == ("shop.example.com", "*.shop.example.com")
    assert len(got.certificate.fingerprint) == 64
    assert got.material.chain.count(b"BEGIN CERTIFICATE") == 1
    assert key_text(doc) not in repr(got)


@pytest.mark.parametrize(
    ("doc", "hosts", "reason"),
    [
        (None, [], "Secret web/tls: not found"),
        (
            tls_secret("tls", "web", ["a.example.com"], type_="Opaque"),
            [],
            "expected 'kubernetes.io/tls'",
        ),
        (tls_secret("tls", "web", ["a.example.com"], wrong_key=True), [], "does not match"),
        (tls_secret("tls", "web", ["a.example.com"], days=-1, start_days_ago=30), [], "expired"),
        (tls_secret("tls", "web", ["a.example.com"], start_days_ago=-5), [], "not valid before"),
        (tls_secret("tls", "web", ["*.example.com"]), ["x.y.example.com"], "does not cover host"),
    ],
)
def test_bad_secrets_name_the_ingress_the_secret_and_the_reason(
    doc: dict[str, Any] | None, hosts: list[str], reason: str
) -> None:
    with pytest.raises(TLSSecretError) as err:
        _parse(doc, hosts)
    msg = str(err.value)
    assert msg.startswith("Ingress/web/a: spec.tls[0].secretName: Secret web/tls")
    assert reason in msg
    if doc:
        assert key_text(doc) not in msg


def _build(
    *docs: dict[str, Any], certs: dict[str, list[str]] | None = None, **inv: Any
) -> BuildResult:
    objs = objects(ingress_class(), service("web", "web"), *docs)
    settings = BuildSettings(cluster_name="c1")
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, [], settings)
    [group] = grouping.groups.values()
    invent = inventory(certs).model_copy(update=inv)
    return build_group(
        GroupInput(
            group,
            {s.key: s for s in objs.services},
            [],
            [],
            invent,
            settings,
            secrets={s.key: s for s in objs.secrets},
            now=NOW,
        )
    )


def _ing(tls: list[dict[str, Any]], hosts: list[str], **ann: str) -> dict[str, Any]:
    return ingress(
        "a",
        "web",
        tls=tls,
        rules=[rule(h, ("/", "Prefix", backend("web", 80))) for h in hosts],
        **ann,
    )


def test_secret_makes_an_https_listener_and_an_imported_certificate() -> None:
    res = _build(
        _ing([{"hosts": ["shop.example.com"], "secretName": "tls"}], ["shop.example.com"]),
        tls_secret("tls", "web", ["shop.example.com"]),
    )
    assert res.stack is not None
    [li] = res.stack.listeners
    assert (li.port, li.protocol, li.certificates) == (443, "HTTPS", ("secret/web/tls",))
    [cert] = res.stack.certificates
    assert cert.tags["albctl.io/resource"] == "secret/web/tls"
    assert cert.tags["albctl.io/certificate-sha256"] == cert.fingerprint
    assert set(res.materials) == {"secret/web/tls"}
    dumped = res.stack.model_dump_json()
    assert "PRIVATE KEY" not in dumped


def test_precedence_explicit_then_discovered_then_secret() -> None:
    tls = [{"hosts": ["shop.example.com", "new.example.org"], "secretName": "tls"}]
    secret = tls_secret("tls", "web", ["shop.example.com", "new.example.org"])
    hosts = ["shop.example.com", "new.example.org"]
    # discovered ACM certificate wins for its host; the Secret serves the other one
    res = _build(_ing(tls, hosts), secret, certs={"shop.example.com": []})
    assert res.stack is not None
    assert res.stack.listeners[0].certificates == (
        "arn:aws:acm:us-east-1:123456789012:certificate/shop.example.com",
        "secret/web/tls",
    )
    # certificate-arn wins over both
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/explicit"
    res = _build(_ing(tls, hosts, certificate_arn=arn), secret, certs={"shop.example.com": []})
    assert res.stack is not None
    assert res.stack.listeners[0].certificates == (arn,) and res.stack.certificates == ()


def test_a_bad_secret_for_one_host_does_not_block_the_others() -> None:
    tls = [
        {"hosts": ["a.example.com"], "secretName": "good"},
        {"hosts": ["b.example.com"], "secretName": "bad"},
    ]
    res = _build(
        _ing(tls, ["a.example.com", "b.example.com"]),
        tls_secret("good", "web", ["a.example.com"]),
        tls_secret("bad", "web", ["b.example.com"], wrong_key=True),
    )
    assert res.stack is not None and res.active == ["web/a"]
    assert res.stack.listeners[0].certificates == ("secret/web/good",)
    [err] = res.secret_errors
    assert "spec.tls[1].secretName" in str(err) and "web/bad" in str(err)


def test_a_broken_secret_keeps_the_copy_imported_earlier() -> None:
    kept = OwnedCertificate(
        arn="arn:aws:acm:us-east-1:123456789012:certificate/old",
        stack="web/a",
        resource_id="secret/web/tls",
        fingerprint="f" * 64,
    )
    res = _build(
        _ing([{"hosts": ["a.example.com"], "secretName": "tls"}], ["a.example.com"]),
        tls_secret("tls", "web", ["a.example.com"], wrong_key=True),
        owned_certificates=(kept,),
    )
    assert res.stack is not None and res.secret_errors
    assert res.stack.listeners[0].certificates == ("secret/web/tls",)
    assert res.stack.certificates[0].fingerprint == "f" * 64
    assert res.materials == {}


def test_only_a_bad_secret_leaves_the_member_out_with_a_clear_error() -> None:
    res = _build(
        _ing([{"hosts": ["a.example.com"], "secretName": "missing"}], ["a.example.com"]),
    )
    assert res.stack is None
    assert "HTTPS listener 443 needs a certificate" in str(res.invalid["web/a"])
    assert "Secret web/missing: not found" in str(res.secret_errors[0])
