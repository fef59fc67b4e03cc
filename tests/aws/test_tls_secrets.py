"""TLS Secrets imported into ACM, against moto: import, serve, re-import in place on renewal,
delete when unused; never a foreign certificate, never key material in a log."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest

from tests.aws.test_engine import clients, lbs, listeners, mutations, run
from tests.conftest import AwsEnv
from tests.helpers import backend, ingress, ingress_class, rule, service
from tests.tls_helpers import key_text, tls_secret

HOST = "pay.example.org"


def app(secret: dict[str, Any] | None, name: str = "pay", **ann: str) -> list[dict[str, Any]]:
    docs = [
        ingress_class(),
        service("pay", "pay", node_port=30081),
        ingress(
            name,
            "pay",
            scheme="internet-facing",
            tls=[{"hosts": [HOST], "secretName": "pay-tls"}],
            rules=[rule(HOST, ("/", "Prefix", backend("pay", 80)))],
            **ann,
        ),
    ]
    return docs + ([secret] if secret else [])


def acm(env: AwsEnv) -> Any:
    return clients(env).acm  # type: ignore[attr-defined]


def imported(env: AwsEnv) -> dict[str, dict[str, str]]:
    """ARN -> tags of the certificates albctl imported."""
    out = {}
    for c in acm(env).list_certificates()["CertificateSummaryList"]:
        tags = {
            t["Key"]: t.get("Value", "")
            for t in acm(env).list_tags_for_certificate(CertificateArn=c["CertificateArn"])["Tags"]
        }
        if tags.get("albctl.io/cluster") == "test":
            out[c["CertificateArn"]] = tags
    return out


def https_certs(env: AwsEnv) -> list[str]:
    [lb] = lbs(env)
    li = listeners(env, lb["LoadBalancerArn"])[443]
    return [c["CertificateArn"] for c in li["Certificates"]]


def test_import_serve_renew_in_place_and_delete(aws: AwsEnv, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    secret = tls_secret("pay-tls", "pay", [HOST])
    report = run(aws, app(secret))
    assert report.ok, [(o.invalid, o.error) for o in report.outcomes]
    [(arn, tags)] = imported(aws).items()
    assert tags["albctl.io/stack"] == "pay/pay"
    assert tags["albctl.io/resource"] == "secret/pay/pay-tls"
    assert https_certs(aws) == [arn]
    detail = acm(aws).describe_certificate(CertificateArn=arn)["Certificate"]
    assert detail["DomainName"] == HOST and detail["Type"] == "IMPORTED"
    serial = detail["Serial"]

    assert run(aws, app(secret)).ok
    assert mutations(aws) == Counter()

    # cert-manager renews: same ARN, re-imported, the listener untouched
    renewed = tls_secret("pay-tls", "pay", [HOST])
    assert run(aws, app(renewed)).ok
    assert set(mutations(aws)) == {"ImportCertificate", "AddTagsToCertificate"}
    [(arn2, tags2)] = imported(aws).items()
    assert (
        arn2 == arn
        and tags2["albctl.io/certificate-sha256"] != tags["albctl.io/certificate-sha256"]
    )
    assert acm(aws).describe_certificate(CertificateArn=arn)["Certificate"]["Serial"] != serial
    assert https_certs(aws) == [arn]

    # the Ingress moves to an explicit certificate: ours is detached and deleted
    other = acm(aws).list_certificates()["CertificateSummaryList"]
    explicit = next(c["CertificateArn"] for c in other if c["CertificateArn"] != arn)
    assert run(aws, app(renewed, certificate_arn=explicit)).ok
    assert imported(aws) == {} and https_certs(aws) == [explicit]

    # and back, then the group deleted: the imported copy goes with it
    assert run(aws, app(renewed)).ok and len(imported(aws)) == 1
    assert run(aws, app(renewed), mode="delete").ok
    assert imported(aws) == {} and lbs(aws) == []
    for s in (secret, renewed):
        assert key_text(s) not in caplog.text


def test_a_broken_renewal_keeps_serving_the_last_good_certificate(aws: AwsEnv) -> None:
    assert run(aws, app(tls_secret("pay-tls", "pay", [HOST]))).ok
    [arn] = imported(aws)
    report = run(aws, app(tls_secret("pay-tls", "pay", [HOST], wrong_key=True)))
    [outcome] = report.outcomes
    assert outcome.build is not None
    [err] = outcome.build.secret_errors
    assert "does not match" in str(err) and "Secret pay/pay-tls" in str(err)
    assert mutations(aws) == Counter()
    assert https_certs(aws) == [arn] and list(imported(aws)) == [arn]


def test_our_imported_certificate_is_never_discovered_for_another_group(aws: AwsEnv) -> None:
    assert run(aws, app(tls_secret("pay-tls", "pay", [HOST]))).ok
    docs = [
        ingress_class(),
        service("pay", "shop", node_port=30082),
        ingress(
            "other",
            "shop",
            listen_ports='[{"HTTPS": 443}]',
            rules=[rule(HOST, ("/", "Prefix", backend("pay", 80)))],
        ),
    ]
    report = run(aws, docs)
    [outcome] = [o for o in report.outcomes if o.group_id == "shop/other"]
    assert "shop/other" in outcome.invalid
    assert "no usable TLS Secret" in str(outcome.invalid["shop/other"])


@pytest.mark.parametrize("import_secrets", ["false"])
def test_import_can_be_turned_off(aws: AwsEnv, monkeypatch: Any, import_secrets: str) -> None:
    monkeypatch.setenv("ALBCTL_IMPORT_TLS_SECRETS", import_secrets)
    from albctl.config import Settings
    from albctl.controller.engine import Engine
    from tests.helpers import REGION, objects

    eng = Engine(Settings.resolve("test", region=REGION), clients(aws))  # type: ignore[arg-type]
    report = eng.run(objects(*app(tls_secret("pay-tls", "pay", [HOST]))), "apply")
    assert report.ok
    assert imported(aws) == {}
    [lb] = lbs(aws)
    assert set(listeners(aws, lb["LoadBalancerArn"])) == {80}
