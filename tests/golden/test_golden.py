"""Golden tests of the pure model: input manifests → desired state JSON.

Each ``cases/<name>.yaml`` holds Kubernetes objects plus an optional ``GoldenInventory``
document (certificates by domain, extra security groups) and ``GoldenSettings``. The expected
result is ``expected/<name>.json``. Regenerate after a deliberate change with
``ALBCTL_UPDATE_GOLDEN=1 pytest tests/golden`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from albctl.manifests import ObjectSet, parse_documents
from albctl.model.builder import GroupInput, build_group
from albctl.model.gateway.build import build_gateway
from albctl.model.gateway.select import gateway_input, our_gateways
from albctl.model.groups import group_ingresses
from albctl.model.inventory import SecurityGroupInfo
from albctl.model.settings import BuildSettings
from tests.helpers import inventory

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases").glob("*.yaml"))


def run_case(path: Path) -> dict[str, Any]:
    docs = list(yaml.safe_load_all(path.read_text()))
    inv_doc = next((d for d in docs if d and d.get("kind") == "GoldenInventory"), {})
    settings_doc = next((d for d in docs if d and d.get("kind") == "GoldenSettings"), {})
    objs = ObjectSet()
    parse_documents(
        [d for d in docs if d and not str(d.get("kind", "")).startswith("Golden")], path.name, objs
    )
    inv = inventory(inv_doc.get("certificates"))
    if inv_doc.get("securityGroups"):
        inv = inv.model_copy(
            update={
                "security_groups": tuple(SecurityGroupInfo(**s) for s in inv_doc["securityGroups"])
            }
        )
    if inv_doc.get("webAclsByName"):
        inv = inv.model_copy(update={"web_acls_by_name": inv_doc["webAclsByName"]})
    if inv_doc.get("trustStoresByName"):
        inv = inv.model_copy(update={"trust_stores_by_name": inv_doc["trustStoresByName"]})
    if inv_doc.get("targetGroupsByName"):
        inv = inv.model_copy(update={"target_groups_by_name": inv_doc["targetGroupsByName"]})
    settings = BuildSettings(cluster_name="golden", **settings_doc.get("settings", {}))
    grouping = group_ingresses(
        objs.ingresses, objs.ingress_classes, objs.ingress_class_params, settings
    )
    out: dict[str, Any] = {"ignored": [list(x) for x in grouping.ignored], "groups": {}}
    services = {s.key: s for s in objs.services}
    for gid, group in sorted(grouping.groups.items()):
        res = build_group(
            GroupInput(
                group,
                services,
                objs.endpoint_slices,
                objs.nodes,
                inv,
                settings,
                secrets={s.key: s for s in objs.secrets},
            )
        )
        out["groups"][gid] = {
            "active": res.active,
            "invalid": {k: str(v) for k, v in sorted(res.invalid.items())},
            "warnings": [f"{o}: {m}" for o, m in res.warnings],
            "groupError": str(res.group_error) if res.group_error else None,
            "stack": res.stack.model_dump(mode="json") if res.stack else None,
        }
    if objs.gateways:
        out["gateways"] = _gateways(objs, inv, settings)
    return out


def _conditions(conds: dict[str, Any]) -> dict[str, list[Any]]:
    return {t: [c.status, c.reason, c.message] for t, c in sorted(conds.items())}


def _gateways(objs: ObjectSet, inv: Any, settings: BuildSettings) -> dict[str, Any]:
    """Each of albctl's Gateways: its stack, status and what was refused."""
    out: dict[str, Any] = {}
    for sid, gw in sorted(our_gateways(objs, settings).items()):
        got = build_gateway(gateway_input(objs, gw, inv, settings))
        res = got.result
        out[sid] = {
            "conditions": _conditions(got.status.conditions),
            "routes": {
                k: [_conditions(p.conditions) for p in ps]
                for k, ps in sorted(got.status.routes.items())
            },
            "invalid": {k: str(v) for k, v in sorted(res.invalid.items())},
            "warnings": [f"{o}: {m}" for o, m in res.warnings],
            "groupError": str(res.group_error) if res.group_error else None,
            "stack": res.stack.model_dump(mode="json") if res.stack else None,
        }
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path) -> None:
    got = run_case(case)
    expected_path = HERE / "expected" / f"{case.stem}.json"
    text = json.dumps(got, indent=2, sort_keys=True) + "\n"
    if os.environ.get("ALBCTL_UPDATE_GOLDEN"):
        expected_path.write_text(text)
    assert expected_path.exists(), (
        f"no expected output for {case.stem}; run with ALBCTL_UPDATE_GOLDEN=1"
    )
    assert json.loads(expected_path.read_text()) == got


def test_every_annotation_is_covered_by_a_golden_case() -> None:
    """The annotations of the core engine each appear in at least one golden input."""
    text = "\n".join(c.read_text() for c in CASES)
    annotations = [
        "scheme",
        "load-balancer-name",
        "group.name",
        "group.order",
        "tags",
        "ip-address-type",
        "subnets",
        "security-groups",
        "listen-ports",
        "certificate-arn",
        "ssl-policy",
        "ssl-redirect",
        "inbound-cidrs",
        "target-type",
        "backend-protocol",
        "backend-protocol-version",
        "target-group-attributes",
        "load-balancer-attributes",
        "healthcheck-port",
        "healthcheck-protocol",
        "healthcheck-path",
        "healthcheck-interval-seconds",
        "healthcheck-timeout-seconds",
        "healthy-threshold-count",
        "unhealthy-threshold-count",
        "success-codes",
        "actions.",
        "conditions.",
        "waf-acl-id",
        "web-acl-id",
        "shield-advanced-protection",
        "listener-attributes.",
        "mutual-authentication",
        "minimum-load-balancer-capacity",
        "customer-owned-ipv4-pool",
        "ipam-ipv4-pool-id",
        "multi-cluster-target-group",
    ]
    missing = [a for a in annotations if f"alb.ingress.kubernetes.io/{a}" not in text]
    assert not missing, f"annotations without a golden case: {missing}"
