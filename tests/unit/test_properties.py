"""Properties of the builder: deterministic, names within AWS limits, unique priorities."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from albctl.model.builder import GroupInput, build_group
from albctl.model.groups import group_ingresses
from albctl.model.settings import BuildSettings
from tests.helpers import backend, ingress, ingress_class, inventory, objects, rule, service

DNS_LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True)
PATHS = st.lists(
    st.from_regex(r"/[a-z]{1,8}(/[a-z]{1,6})?", fullmatch=True), min_size=1, max_size=4, unique=True
)


COGNITO = (
    '{"userPoolARN": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/x", '
    '"userPoolClientID": "c", "userPoolDomain": "d"}'
)
JWT = '{"jwksEndpoint": "https://i/jwks", "issuer": "https://i"}'
REWRITE = '[{"type": "url-rewrite", "urlRewriteConfig": {"rewrites": [{"regex": "^/a", "replace": "/"}]}}]'
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/p"


def _extras(draw: Any, i: int) -> dict[str, str]:
    """Optional authentication, JWT validation, transforms and listeners of member i."""
    kind = draw(st.sampled_from(["none", "cognito", "jwt", "transform"]))
    ann: dict[str, str] = {}
    if draw(st.booleans()):
        ann["listen_ports"] = draw(
            st.sampled_from(['[{"HTTPS": 443}]', '[{"HTTP": 80}, {"HTTPS": 443}]'])
        )
        ann["certificate_arn"] = CERT
    if kind == "cognito":
        ann.update(auth_type="cognito", auth_idp_cognito=COGNITO)
    elif kind == "jwt":
        ann["jwt_validation"] = JWT
    elif kind == "transform":
        ann[f"transforms.svc{i}"] = REWRITE
    return ann


# listener attributes members may set (few keys and values, so members often conflict)
LISTENER_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["routing.http.response.server.enabled", "routing.http.xff.mode"]),
    st.sampled_from(["true", "false"]),
    max_size=2,
)
ANN = "alb.ingress.kubernetes.io/"


@st.composite
def groups(draw: Any, extras: bool = True) -> list[dict[str, Any]]:
    """Groups of 1-5 Ingresses; ``extras``: with authentication, JWT, transforms, HTTPS."""
    n = draw(st.integers(1, 5))
    docs: list[dict[str, Any]] = [ingress_class()]
    group = draw(DNS_LABEL)
    for i in range(n):
        ns = draw(DNS_LABEL)
        name = draw(DNS_LABEL) + f"-{i}"
        paths = draw(PATHS)
        ptype = draw(st.sampled_from(["Prefix", "Exact", "ImplementationSpecific"]))
        docs.append(service(f"svc{i}", namespace=ns, node_port=30000 + i))
        extra = {}
        attrs = draw(LISTENER_ATTRIBUTES)
        if attrs:
            extra["listener-attributes.HTTP-80"] = ",".join(f"{k}={v}" for k, v in attrs.items())
        shield = draw(st.sampled_from([None, "true", "false"]))
        if shield:
            extra["shield-advanced-protection"] = shield
        docs.append(
            ingress(
                name,
                namespace=ns,
                group_name=group,
                group_order=str(draw(st.integers(-3, 3))),
                annotations={ANN + k: v for k, v in extra.items()},
                **(_extras(draw, i) if extras else {}),
                rules=[
                    rule(
                        draw(st.sampled_from([None, "a.example.com", "*.b.example.com"])),
                        *[(p, ptype, backend(f"svc{i}", 80)) for p in paths],
                    )
                ],
            )
        )
    return docs


def _build(docs: list[dict[str, Any]]) -> dict[str, Any]:
    objs = objects(*docs)
    s = BuildSettings(cluster_name="a-very-long-cluster-name-for-testing-limits")
    grouping = group_ingresses(objs.ingresses, objs.ingress_classes, objs.ingress_class_params, s)
    out = {}
    for gid, g in grouping.groups.items():
        res = build_group(
            GroupInput(
                g,
                {x.key: x for x in objs.services},
                objs.endpoint_slices,
                objs.nodes,
                inventory(),
                s,
            )
        )
        out[gid] = (res.stack.model_dump(mode="json") if res.stack else None, sorted(res.invalid))
    return out


@settings(max_examples=60, deadline=None)
@given(groups(), st.randoms())
def test_same_input_in_any_order_builds_the_same_stack(
    docs: list[dict[str, Any]], rnd: random.Random
) -> None:
    shuffled = list(docs)
    rnd.shuffle(shuffled)
    assert _build(docs) == _build(shuffled)


@settings(max_examples=60, deadline=None)
@given(groups())
def test_names_within_limits_and_priorities_unique(docs: list[dict[str, Any]]) -> None:
    for stack, _invalid in _build(docs).values():
        if stack is None:
            continue
        assert len(stack["load_balancer"]["name"]) <= 32
        for tg in stack["target_groups"]:
            assert len(tg["name"]) <= 32
            assert tg["name"].replace("-", "").isalnum()
        by_listener: dict[str, list[int]] = {}
        for r in stack["rules"]:
            by_listener.setdefault(r["listener"], []).append(r["priority"])
        for prios in by_listener.values():
            assert sorted(prios) == list(range(1, len(prios) + 1))
        ids = [r["id"] for r in stack["rules"]]
        assert len(ids) == len(set(ids))


@settings(max_examples=60, deadline=None)
@given(groups())
def test_authentication_only_on_https_and_wildcards_one_label(docs: list[dict[str, Any]]) -> None:
    for stack, _invalid in _build(docs).values():
        if stack is None:
            continue
        protocols = {li["id"]: li["protocol"] for li in stack["listeners"]}
        for r in stack["rules"]:
            action = r["action"]
            if action["cognito"] or action["jwt"] or action["oidc"]:
                assert protocols[r["listener"]] == "HTTPS"
            for c in r["conditions"]:
                if c["field"] == "host-header":
                    assert "*.b.example.com" not in c["values"]
                    assert all(len(v) <= 128 for v in c["regex_values"])


def test_adding_an_ingress_late_in_the_order_keeps_earlier_priorities() -> None:
    base = [
        ingress_class(),
        service("s"),
        ingress(
            "a",
            group_name="g",
            group_order="1",
            rules=[
                rule(None, ("/a", "Prefix", backend("s", 80)), ("/b", "Exact", backend("s", 80)))
            ],
        ),
    ]
    late = ingress(
        "z", group_name="g", group_order="9", rules=[rule(None, ("/z", "Prefix", backend("s", 80)))]
    )
    before = {r["id"]: r["priority"] for r in _build(base)["g"][0]["rules"]}
    after = {r["id"]: r["priority"] for r in _build([*base, late])["g"][0]["rules"]}
    assert all(after[k] == v for k, v in before.items())
    assert len(after) == len(before) + 1


@settings(max_examples=60, deadline=None)
@given(groups(extras=False))
def test_group_wide_settings_come_from_agreeing_members_only(docs: list[dict[str, Any]]) -> None:
    """Listener attributes merge per key and Shield is exclusive: the stack holds exactly what
    the members left in set, none of them disagrees with it, and every member left out
    disagrees with it (or with a member before it)."""
    objs = objects(*docs)
    anns = {i.key: i.metadata.annotations for i in objs.ingresses}
    for stack, invalid in _build(docs).values():
        if stack is None:
            continue
        [li] = stack["listeners"]
        shield = stack["load_balancer"]["shield_protection"]
        active = [k for k in anns if k not in invalid]
        merged: dict[str, str] = {}
        for k in active:
            raw = anns[k].get(ANN + "listener-attributes.HTTP-80")
            mine = dict(p.split("=", 1) for p in raw.split(",")) if raw else {}
            assert all(merged.get(a, v) == v for a, v in mine.items())
            merged.update(mine)
            want = anns[k].get(ANN + "shield-advanced-protection")
            assert want is None or want == str(shield).lower()
        assert li["attributes"] == dict(sorted(merged.items()))
        for k in invalid:
            raw = anns[k].get(ANN + "listener-attributes.HTTP-80")
            mine = dict(p.split("=", 1) for p in raw.split(",")) if raw else {}
            shield_k = anns[k].get(ANN + "shield-advanced-protection")
            assert any(merged.get(a, v) != v for a, v in mine.items()) or (
                shield_k is not None and shield_k != str(shield).lower()
            )
