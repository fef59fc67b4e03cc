"""Authentication (OIDC, Cognito), JWT validation, transforms, regex conditions and
Kubernetes-exact wildcard hosts, applied to moto and read back."""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from typing import Any

from tests.aws.test_engine import clients, lbs, listeners, mutations, rules_of, run, tags_of
from tests.conftest import AwsEnv
from tests.helpers import backend, ingress, ingress_class, rule, service

HOST = "shop.example.com"
OIDC = {
    "issuer": "https://idp.example.com",
    "authorizationEndpoint": "https://idp.example.com/auth",
    "tokenEndpoint": "https://idp.example.com/token",
    "userInfoEndpoint": "https://idp.example.com/userinfo",
    "secretName": "oidc",
}
HTTPS = '[{"HTTPS": 443}]'


def oidc_secret(client_secret: str, id_key: str = "clientID") -> dict[str, Any]:
    def b64(v: str) -> str:
        return base64.b64encode(v.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "oidc", "namespace": "shop"},
        "data": {id_key: b64("shop-client"), "clientSecret": b64(client_secret)},
    }


def app(
    host: str = HOST, extra: list[dict[str, Any]] | None = None, **ann: str
) -> list[dict[str, Any]]:
    return [
        ingress_class(),
        service("web", "shop", node_port=30080),
        ingress(
            "web",
            "shop",
            scheme="internet-facing",
            rules=[rule(host, ("/", "Prefix", backend("web", 80)))],
            **ann,
        ),
        *(extra or []),
    ]


def the_rule(env: AwsEnv, port: int = 443) -> dict[str, Any]:
    [lb] = lbs(env)
    [r] = [r for r in rules_of(env, listeners(env, lb["LoadBalancerArn"])[port]["ListenerArn"])]
    return r


def test_oidc_reads_the_client_from_the_secret_and_rotates_by_digest(
    aws: AwsEnv, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    ann = {
        "listen_ports": HTTPS,
        "auth_type": "oidc",
        "auth_idp_oidc": json.dumps(OIDC),
        "auth_scope": "openid email",
    }
    report = run(aws, app(extra=[oidc_secret("s3cret-one")], **ann))
    assert report.ok, [(o.invalid, o.error) for o in report.outcomes]
    r = the_rule(aws)
    [auth, fwd] = sorted(r["Actions"], key=lambda a: a["Order"])
    assert auth["Type"] == "authenticate-oidc" and fwd["Type"] == "forward"
    cfg = auth["AuthenticateOidcConfig"]
    assert cfg["ClientId"] == "shop-client" and cfg["Issuer"] == OIDC["issuer"]
    assert cfg["Scope"] == "openid email" and cfg["OnUnauthenticatedRequest"] == "authenticate"
    digest = tags_of(aws, r["RuleArn"])["albctl.io/oidc-secret-digest"]
    assert len(digest) == 16

    assert run(aws, app(extra=[oidc_secret("s3cret-one")], **ann)).ok
    assert mutations(aws) == Counter()

    # the Secret is rotated: the rule is modified in place with the new secret
    assert run(aws, app(extra=[oidc_secret("s3cret-two", id_key="clientId")], **ann)).ok
    assert set(mutations(aws)) == {"ModifyRule", "AddTags"}
    r2 = the_rule(aws)
    assert r2["RuleArn"] == r["RuleArn"]
    assert tags_of(aws, r2["RuleArn"])["albctl.io/oidc-secret-digest"] != digest
    plan = run(aws, app(extra=[oidc_secret("s3cret-three")], **ann), mode="plan")
    # albctl's own log records (botocore, which albctl keeps at WARNING, logs request bodies
    # at DEBUG)
    ours = [repr(r.__dict__) for r in caplog.records if r.name.startswith("albctl")]
    text = json.dumps([o.plan.to_json() for o in plan.outcomes if o.plan]) + "".join(ours)
    assert "s3cret" not in text
    assert "ListenerRule" in text


def test_oidc_without_its_secret_or_key_names_the_ingress_secret_and_key(aws: AwsEnv) -> None:
    ann = {"listen_ports": HTTPS, "auth_type": "oidc", "auth_idp_oidc": json.dumps(OIDC)}
    report = run(aws, app(**ann))
    [err] = [e for o in report.outcomes for e in o.invalid.values()]
    assert "Ingress/shop/web" in str(err) and "auth-idp-oidc" in str(err)
    assert "Secret shop/oidc" in str(err) and not lbs(aws)
    broken = oidc_secret("x")
    del broken["data"]["clientSecret"]
    report = run(aws, app(extra=[broken], **ann))
    [err] = [e for o in report.outcomes for e in o.invalid.values()]
    assert "no key 'clientSecret'" in str(err)


def test_cognito_on_http_without_redirect_is_refused_naming_auth_type(aws: AwsEnv) -> None:
    cognito = {
        "userPoolARN": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/x",
        "userPoolClientID": "c",
        "userPoolDomain": "d",
    }
    ann = {"auth_type": "cognito", "auth_idp_cognito": json.dumps(cognito)}
    report = run(aws, app(listen_ports='[{"HTTP": 80}, {"HTTPS": 443}]', **ann))
    [err] = [e for o in report.outcomes for e in o.invalid.values()]
    assert "annotation alb.ingress.kubernetes.io/auth-type" in str(err) and "HTTP port 80" in str(
        err
    )
    report = run(aws, app(listen_ports='[{"HTTP": 80}, {"HTTPS": 443}]', ssl_redirect="443", **ann))
    assert report.ok, [(o.invalid, o.error) for o in report.outcomes]
    auth = sorted(the_rule(aws)["Actions"], key=lambda a: a["Order"])[0]
    assert auth["Type"] == "authenticate-cognito"
    assert auth["AuthenticateCognitoConfig"]["UserPoolDomain"] == "d"


def test_jwt_validation_and_transforms_are_applied_and_removed(aws: AwsEnv) -> None:
    jwt = {
        "jwksEndpoint": "https://idp.example.com/jwks",
        "issuer": "https://idp.example.com",
        "additionalClaims": [
            {"name": "scope", "format": "space-separated-values", "values": ["read"]}
        ],
    }
    rewrite = [
        {
            "type": "url-rewrite",
            "urlRewriteConfig": {"rewrites": [{"regex": "^/api/(.+)$", "replace": "/$1"}]},
        }
    ]
    ann = {
        "listen_ports": HTTPS,
        "jwt_validation": json.dumps(jwt),
        "transforms.web": json.dumps(rewrite),
    }
    assert run(aws, app(**ann)).ok
    r = the_rule(aws)
    pre = sorted(r["Actions"], key=lambda a: a["Order"])[0]
    assert pre["Type"] == "jwt-validation"
    assert pre["JwtValidationConfig"]["AdditionalClaims"][0]["Values"] == ["read"]
    assert r["Transforms"] == [
        {
            "Type": "url-rewrite",
            "UrlRewriteConfig": {"Rewrites": [{"Regex": "^/api/(.+)$", "Replace": "/$1"}]},
        }
    ]
    assert run(aws, app(**ann)).ok
    assert mutations(aws) == Counter()
    assert run(aws, app(listen_ports=HTTPS)).ok
    r = the_rule(aws)
    assert [a["Type"] for a in r["Actions"]] == ["forward"] and not r.get("Transforms")


def test_regex_conditions_and_mixing_names_the_conditions_annotation(aws: AwsEnv) -> None:
    cond = [
        {
            "field": "host-header",
            "hostHeaderConfig": {"regexValues": ["^api-[0-9]+\\.example\\.com$"]},
        }
    ]
    assert run(aws, app(host="", **{"conditions.web": json.dumps(cond)})).ok
    r = the_rule(aws, 80)
    [host] = [c for c in r["Conditions"] if c["Field"] == "host-header"]
    assert host["HostHeaderConfig"]["RegexValues"] == ["^api-[0-9]+\\.example\\.com$"]
    report = run(aws, app(**{"conditions.web": json.dumps(cond)}))
    [err] = [e for o in report.outcomes for e in o.invalid.values()]
    assert "annotation alb.ingress.kubernetes.io/conditions.web" in str(err)
    assert "mixes values" in str(err) and "spec.rules[0].http.paths[0]" in str(err)


def test_wildcard_hosts_match_one_label_unless_alb_matching_is_asked(aws: AwsEnv) -> None:
    assert run(aws, app(host="*.foo.com")).ok
    [host] = [c for c in the_rule(aws, 80)["Conditions"] if c["Field"] == "host-header"]
    assert host["HostHeaderConfig"] == {"RegexValues": ["^[^.]+\\.foo\\.com$"]}


# the Ingress spec's own table (kubernetes.io, Ingress, "Hostname wildcards")
SPEC_TABLE = [
    ("foo.bar.com", "bar.foo.com", False),
    ("foo.bar.com", "foo.bar.com", True),
    ("*.foo.com", "bar.foo.com", True),
    ("*.foo.com", "baz.bar.foo.com", False),
    ("*.foo.com", "foo.com", False),
]


def routes_to_web(env: AwsEnv, header: str) -> bool:
    from albctl.aws.routes import read_table
    from albctl.model.router import parse_request, route

    [lb] = lbs(env)
    table = read_table(clients(env), lb["LoadBalancerArn"])
    got = route(table, parse_request("GET", f"http://{header}/"))
    return got.action.type == "forward"


def params_doc(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "IngressClassParams",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_the_ingress_spec_hostname_wildcard_table_through_the_alb_rules(aws: AwsEnv) -> None:
    for host, header, match in SPEC_TABLE:
        assert run(aws, app(host=host)).ok
        assert routes_to_web(aws, header) is match, (host, header)
        assert routes_to_web(aws, header.upper()) is match, (host, header.upper())


def test_alb_wildcard_matching_kept_by_the_class_params(aws: AwsEnv) -> None:
    docs = app(host="*.foo.com")
    docs[0] = ingress_class(params="alb-wild")
    docs.append(params_doc("alb-wild", wildcardHostMatching="alb"))
    assert run(aws, docs).ok
    [host] = [c for c in the_rule(aws, 80)["Conditions"] if c["Field"] == "host-header"]
    assert host["HostHeaderConfig"]["Values"] == ["*.foo.com"]
    assert routes_to_web(aws, "baz.bar.foo.com") and routes_to_web(aws, "bar.foo.com")
    assert not routes_to_web(aws, "foo.com")
