"""``albctl apply`` on an EKS-like VPC, as a subprocess against the AWS endpoint (moto server,
or LocalStack in the localstack tier): TLS Secret imported and renewed in place, backend
security group rules on the nodes' group, deletion protection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from albctl.aws.seed import add_pod_ips, node_manifests
from tests.e2e.conftest import E2E, owned
from tests.helpers import (
    REGION,
    backend,
    endpoint_slice,
    ingress,
    ingress_class,
    rule,
    service,
    write_yaml,
)
from tests.tls_helpers import key_text, tls_secret

pytestmark = [pytest.mark.e2e, pytest.mark.localstack]
HOST = "pay.example.org"


def _docs(e: E2E, secret: dict[str, Any], **ann: str) -> list[dict[str, Any]]:
    s = endpoint_slice("pay", ["10.0.200.61"], "pay", port=9000)
    s["endpoints"][0]["nodeName"] = "node-0"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pay"}},
        ingress_class(),
        *node_manifests(e.seeded.instances, REGION),
        service("pay", "pay", node_port=None, target_port=9000),
        s,
        secret,
        ingress(
            "pay",
            "pay",
            scheme="internet-facing",
            target_type="ip",
            tls=[{"hosts": [HOST], "secretName": "pay-tls"}],
            rules=[rule(HOST, ("/", "Prefix", backend("pay", 80)))],
            **ann,
        ),
    ]


def _imported(e: E2E) -> dict[str, dict[str, str]]:
    out = {}
    for c in e.clients.acm.list_certificates()["CertificateSummaryList"]:
        arn = c["CertificateArn"]
        tags = e.clients.acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]
        found = {t["Key"]: t.get("Value", "") for t in tags}
        if found.get("albctl.io/cluster") == e.cluster:
            out[arn] = found
    return out


def _node_rules(e: E2E) -> set[int]:
    [g] = e.clients.ec2.describe_security_groups(GroupIds=[e.seeded.node_security_group])[
        "SecurityGroups"
    ]
    return {
        p["FromPort"]
        for p in g["IpPermissions"]
        for pair in p.get("UserIdGroupPairs", [])
        if pair.get("Description") == f"albctl.io/cluster={e.cluster}"
    }


def test_tls_secret_backend_rules_and_deletion_protection(e2e: E2E) -> None:
    add_pod_ips(e2e.clients, e2e.seeded.instances[0], ["10.0.200.61"])
    first = tls_secret("pay-tls", "pay", [HOST])
    path = write_yaml(e2e.tmp / "pay.yaml", *_docs(e2e, first))
    out = e2e.albctl("apply", "-f", str(path), "-o", "json", check=True)
    assert key_text(first) not in out.stdout + out.stderr
    [arn] = _imported(e2e)
    detail = e2e.clients.acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert detail["DomainName"] == HOST
    [lb] = owned(e2e)["lbs"]
    ls = e2e.clients.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [c["CertificateArn"] for c in ls[0]["Certificates"]] == [arn] and ls[0]["Port"] == 443
    assert _node_rules(e2e) == {9000}

    # renewed Secret: the same ARN, re-imported
    renewed = tls_secret("pay-tls", "pay", [HOST])
    write_yaml(path, *_docs(e2e, renewed))
    again = json.loads(e2e.albctl("apply", "-f", str(path), "-o", "json", check=True).stdout)
    assert {c["kind"] for g in again["groups"] for c in g["changes"]} == {"Certificate"}
    assert list(_imported(e2e)) == [arn]

    # deletion protection: the delete is refused and everything stays
    write_yaml(
        path, *_docs(e2e, renewed, load_balancer_attributes="deletion_protection.enabled=true")
    )
    e2e.albctl("apply", "-f", str(path), check=True)
    refused = e2e.albctl("delete", "-f", str(path))
    assert (
        refused.returncode == 1
        and "deletion_protection.enabled=true" in refused.stderr + refused.stdout
    )
    assert (
        len(owned(e2e)["lbs"]) == 1 and list(_imported(e2e)) == [arn] and _node_rules(e2e) == {9000}
    )

    # protection off: delete removes the load balancer, the certificate and the rules
    write_yaml(
        path, *_docs(e2e, renewed, load_balancer_attributes="deletion_protection.enabled=false")
    )
    e2e.albctl("apply", "-f", str(path), check=True)
    e2e.albctl("delete", "-f", str(path), check=True)
    assert owned(e2e)["lbs"] == [] and _imported(e2e) == {} and _node_rules(e2e) == set()
    assert owned(e2e)["sgs"] == []
