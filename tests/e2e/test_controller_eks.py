"""The live loop on an EKS-like VPC: backend security group rules follow pods (fast path
included), and an ALB with deletion protection survives the deletion of its Ingresses."""

from __future__ import annotations

from typing import Any

import pytest

from albctl.aws.seed import add_pod_ips
from tests.e2e.conftest import owned
from tests.e2e.test_controller import Live, app, converged, live, wait_for
from tests.helpers import endpoint_slice

pytestmark = pytest.mark.e2e
__all__ = ["live"]


def _rules(lv: Live, sg_id: str) -> set[tuple[int, str]]:
    [g] = lv.e2e.clients.ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"]
    return {
        (p["FromPort"], pair["GroupId"])
        for p in g["IpPermissions"]
        for pair in p.get("UserIdGroupPairs", [])
        if pair.get("Description", "").startswith("albctl.io/cluster=")
    }


def _backend_sg(lv: Live) -> str | None:
    found = [
        g
        for g in owned(lv.e2e)["sgs"]
        if {"Key": "albctl.io/resource", "Value": "backend-sg"} in g["Tags"]
    ]
    return found[0]["GroupId"] if found else None


def _slice(ips: dict[str, str]) -> dict[str, Any]:
    s = endpoint_slice("api", list(ips), "web", port=9000)
    for ep in s["endpoints"]:
        ep["nodeName"] = ips[ep["addresses"][0]]
    return s


def test_backend_rules_follow_pods_and_go_with_the_last_ingress(live: Live) -> None:
    e, seeded = live.e2e, live.e2e.seeded
    add_pod_ips(e.clients, seeded.instances[0], ["10.0.200.40"])
    # a pod with its own interface and security group (security groups for pods)
    pods_sg = e.clients.ec2.create_security_group(
        GroupName="pods", Description="pods", VpcId=seeded.vpc_id
    )["GroupId"]
    e.clients.ec2.create_network_interface(
        SubnetId=seeded.private_subnets[1], PrivateIpAddress="10.0.201.41", Groups=[pods_sg]
    )
    live.start_controller()
    docs = app(live, api_ips=[])
    docs = [d for d in docs if d["kind"] != "EndpointSlice"] + [_slice({"10.0.200.40": "node-0"})]
    live.apply(*docs)
    wait_for("the ALB", lambda: converged(live))
    backend = wait_for("the backend security group", lambda: _backend_sg(live))
    assert backend in converged(live)["lb"]["SecurityGroups"]
    node_sg = seeded.node_security_group
    wait_for(
        "rules on the nodes' group",
        lambda: _rules(live, node_sg) == {(9000, backend), (30100, backend)},
    )
    # a new pod on its own interface: its rule comes with the target (fast path)
    live.apply(_slice({"10.0.200.40": "node-0", "10.0.201.41": "node-1"}))
    wait_for("the pod's group allowed", lambda: _rules(live, pods_sg) == {(9000, backend)})
    # gone again: the rule goes, the nodes' rules stay
    live.apply(_slice({"10.0.200.40": "node-0"}))
    wait_for("the pod's rule revoked", lambda: _rules(live, pods_sg) == set())
    assert _rules(live, node_sg) == {(9000, backend), (30100, backend)}
    # every Ingress deleted: rules revoked and the backend group deleted
    for name in ("front", "api"):
        _delete(live, name)
    wait_for("no load balancer", lambda: owned(e)["lbs"] == [])
    wait_for("no rules", lambda: _rules(live, node_sg) == set())
    wait_for("the backend group deleted", lambda: _backend_sg(live) is None)


def _delete(lv: Live, name: str) -> None:
    from albctl.kube.api import INGRESS

    lv.api.delete(INGRESS, name, "web")


def test_protected_alb_survives_the_deletion_of_its_ingresses(live: Live) -> None:
    live.start_controller()
    docs = app(live, load_balancer_attributes="deletion_protection.enabled=true")
    live.apply(*docs)
    state = wait_for("the ALB", lambda: converged(live))
    tgs_before = {t["TargetGroupArn"] for t in owned(live.e2e)["tgs"]}
    for name in ("front", "api"):
        _delete(live, name)
    event = wait_for(
        "a FailedDeploy event naming the attribute",
        lambda: [
            ev
            for ev in live.events("FailedDeploy")
            if "deletion_protection.enabled=true" in ev["message"]
        ],
    )
    assert event
    # the load balancer and what the last member had are still there (the first deletion may
    # have removed that member's own rules while the group still had another member), and
    # the finalizers keep the Ingresses
    [lb] = owned(live.e2e)["lbs"]
    assert lb["LoadBalancerArn"] == state["lb"]["LoadBalancerArn"]
    left = {t["TargetGroupArn"] for t in owned(live.e2e)["tgs"]}
    assert left and left <= tgs_before
    ing = live.ingress("web", "api")  # deleted last: the group's last member
    assert ing["metadata"]["deletionTimestamp"]
    assert "albctl.io/ingress-group" in ing["metadata"]["finalizers"]
    # protection off (by hand, in AWS): the delete goes through at the next retry
    live.e2e.clients.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=state["lb"]["LoadBalancerArn"],
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}],
    )
    wait_for("no load balancer", lambda: owned(live.e2e)["lbs"] == [], timeout=60)
    from albctl.kube.api import INGRESS, NotFound

    def gone() -> bool:
        try:
            live.api.get(INGRESS, "api", "web")
        except NotFound:
            return True
        return False

    wait_for("the Ingress gone", gone, timeout=30)


def _imported(lv: Live) -> dict[str, dict[str, str]]:
    acm = lv.e2e.clients.acm
    out = {}
    for c in acm.list_certificates()["CertificateSummaryList"]:
        arn = c["CertificateArn"]
        tags = {
            t["Key"]: t.get("Value", "")
            for t in acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]
        }
        if tags.get("albctl.io/cluster") == lv.e2e.cluster:
            out[arn] = tags
    return out


def _https_certs(lv: Live) -> list[str]:
    [lb] = owned(lv.e2e)["lbs"]
    ls = lv.e2e.clients.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
    [li] = [x for x in ls["Listeners"] if x["Port"] == 443]
    return [c["CertificateArn"] for c in li["Certificates"]]


def test_tls_secret_is_imported_renewed_in_place_and_deleted(live: Live) -> None:
    from albctl.kube.api import INGRESS
    from tests.helpers import backend, ingress, ingress_class, rule, service
    from tests.tls_helpers import key_text, tls_secret

    host = "pay.example.org"
    live.start_controller(resync="2s")
    ing = ingress(
        "pay",
        "web",
        scheme="internet-facing",
        tls=[{"hosts": [host], "secretName": "pay-tls"}],
        rules=[rule(host, ("/", "Prefix", backend("pay", 80)))],
    )
    first = tls_secret("pay-tls", "web", [host])
    live.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
        ingress_class(),
        service("pay", "web", node_port=30181),
        first,
        ing,
    )
    arn = wait_for("an imported certificate", lambda: list(_imported(live)) or None)[0]
    wait_for("served on 443", lambda: _https_certs(live) == [arn], timeout=30)
    fp = _imported(live)[arn]["albctl.io/certificate-sha256"]
    # cert-manager renews the Secret: re-imported in place at the next resync
    renewed = tls_secret("pay-tls", "web", [host])
    live.apply(renewed)
    wait_for(
        "the renewal re-imported",
        lambda: _imported(live).get(arn, {}).get("albctl.io/certificate-sha256") not in (None, fp),
        timeout=30,
    )
    assert list(_imported(live)) == [arn] and _https_certs(live) == [arn]
    # a broken renewal: reported, the good certificate keeps serving
    live.apply(tls_secret("pay-tls", "web", [host], wrong_key=True))
    wait_for(
        "an InvalidTLSSecret event",
        lambda: [e for e in live.events("InvalidTLSSecret") if "web/pay-tls" in e["message"]],
    )
    assert list(_imported(live)) == [arn] and _https_certs(live) == [arn]
    # the Ingress deleted: the imported copy goes too
    live.api.delete(INGRESS, "pay", "web")
    wait_for("no load balancer", lambda: owned(live.e2e)["lbs"] == [], timeout=40)
    wait_for("the certificate deleted", lambda: _imported(live) == {}, timeout=30)
    logs = live.logs_text()
    assert key_text(first) not in logs and key_text(renewed) not in logs


def test_a_certificate_issued_after_a_miss_is_used_at_once(live: Live) -> None:
    """The controller caches the ACM list for a minute; a host that found no certificate
    makes it read the list again, so a new certificate is used at the next reconcile."""
    from albctl.aws.seed import self_signed
    from tests.helpers import backend, ingress, ingress_class, rule, service

    host = "late.example.net"
    live.start_controller()
    ing = ingress(
        "late",
        "web",
        scheme="internet-facing",
        listen_ports='[{"HTTPS": 443}]',
        rules=[rule(host, ("/", "Prefix", backend("late", 80)))],
    )
    live.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
        ingress_class(),
        service("late", "web", node_port=30182),
        ing,
    )
    wait_for(
        "the missing certificate reported",
        lambda: [e for e in live.events("InvalidIngress") if host in e["message"]],
    )
    cert, key = self_signed(host, [])
    arn = live.e2e.clients.acm.import_certificate(Certificate=cert, PrivateKey=key)[
        "CertificateArn"
    ]
    ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/tags"] = "retry=1"
    live.apply(ing)  # the next reconcile, well within the cache's minute
    wait_for(
        "served with the new certificate",
        lambda: len(owned(live.e2e)["lbs"]) == 1 and _https_certs(live) == [arn],
        timeout=20,
    )


def test_oidc_client_secret_read_from_its_secret_and_rotated(live: Live) -> None:
    """The controller GETs the OIDC Secret an Ingress names, authenticates the rule with it,
    and modifies the rule when the Secret is rotated; the secret is never logged."""
    import json

    from tests.aws.test_rule_features import OIDC, oidc_secret
    from tests.helpers import backend, ingress, ingress_class, rule, service

    live.start_controller(resync="2s")
    secret = oidc_secret("first-client-secret")
    secret["metadata"]["namespace"] = "web"
    ing = ingress(
        "login",
        "web",
        scheme="internet-facing",
        listen_ports='[{"HTTPS": 443}]',
        auth_type="oidc",
        auth_idp_oidc=json.dumps(OIDC),
        rules=[rule("login.example.com", ("/", "Prefix", backend("login", 80)))],
    )
    live.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
        ingress_class(),
        service("login", "web", node_port=30182),
        secret,
        ing,
    )

    def auth_digest() -> tuple[str, str] | None:
        elb = live.e2e.clients.elbv2
        for lb in owned(live.e2e)["lbs"]:
            for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
                for r in elb.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]:
                    kinds = [a["Type"] for a in r["Actions"]]
                    if "authenticate-oidc" in kinds:
                        tags = elb.describe_tags(ResourceArns=[r["RuleArn"]])["TagDescriptions"]
                        found = {t["Key"]: t["Value"] for t in tags[0]["Tags"]}
                        return r["RuleArn"], found["albctl.io/oidc-secret-digest"]
        return None

    arn, digest = wait_for("an authenticated rule", auth_digest, timeout=40)
    rotated = oidc_secret("second-client-secret")
    rotated["metadata"]["namespace"] = "web"
    live.apply(rotated)
    wait_for(
        "the rotation applied", lambda: (got := auth_digest()) and got[1] != digest, timeout=30
    )
    assert auth_digest()[0] == arn  # type: ignore[index]
    logs = live.logs_text()
    assert "first-client-secret" not in logs and "second-client-secret" not in logs
