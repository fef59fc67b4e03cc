"""Golden tests of ``albctl migrate`` on a corpus of ingress-nginx manifests.

``corpus/<name>.yaml`` is converted; the YAML written and the JSON report must equal
``expected/<name>.yaml`` and ``expected/<name>.report.json`` (regenerate with
``ALBCTL_UPDATE_GOLDEN=1`` and review the diff). The converted manifests must also build into
albctl's desired state with every Ingress active.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from albctl.manifests import ObjectSet, parse_documents
from albctl.migrate import migrate, render_text
from albctl.model.builder import GroupInput, build_group
from albctl.model.groups import group_ingresses
from albctl.model.settings import BuildSettings
from albctl.route import offline_inventory

HERE = Path(__file__).parent
CORPUS = sorted((HERE / "corpus").glob("*.yaml"))


def _convert(path: Path) -> tuple[str, dict[str, object]]:
    result = migrate(list(yaml.safe_load_all(path.read_text())))
    text = yaml.safe_dump_all(result.documents, sort_keys=False, width=4096)
    render_text(result.report)  # the text form renders every finding
    return text, result.report.to_json()


def _check(expected: Path, got: str) -> None:
    if os.environ.get("ALBCTL_UPDATE_GOLDEN"):
        expected.write_text(got)
    assert expected.exists(), f"no {expected.name}; run with ALBCTL_UPDATE_GOLDEN=1"
    assert expected.read_text() == got


@pytest.mark.parametrize("case", CORPUS, ids=[c.stem for c in CORPUS])
def test_golden(case: Path) -> None:
    text, report = _convert(case)
    _check(HERE / "expected" / f"{case.stem}.yaml", text)
    _check(HERE / "expected" / f"{case.stem}.report.json", json.dumps(report, indent=2) + "\n")


@pytest.mark.parametrize("case", CORPUS, ids=[c.stem for c in CORPUS])
def test_converted_manifests_build_with_every_ingress_active(case: Path) -> None:
    text, report = _convert(case)
    objs = ObjectSet()
    parse_documents(list(yaml.safe_load_all(text)), case.name, objs)
    settings = BuildSettings(cluster_name="golden", import_tls_secrets=False)
    grouping = group_ingresses(
        objs.ingresses, objs.ingress_classes, objs.ingress_class_params, settings
    )
    assert grouping.ignored == [], grouping.ignored
    inventory = offline_inventory(objs)
    services = {s.key: s for s in objs.services}
    active = []
    for group in grouping.groups.values():
        res = build_group(
            GroupInput(group, services, objs.endpoint_slices, objs.nodes, inventory, settings)
        )
        assert res.invalid == {} and res.group_error is None, (res.invalid, res.group_error)
        active += res.active
    outputs = [i["output"] for i in report["ingresses"] if i["output"]]  # type: ignore[index]
    assert sorted(active) == sorted(outputs)
