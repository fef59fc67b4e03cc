"""The Helm chart in helm/albctl: lint, values schema, render, offline validation, RBAC, CRDs.

Everything runs in-process: helm-python-sdk (the Helm v4 library) lints and renders,
kubernetes-validate checks rendered manifests against the Kubernetes JSON schemas, and
jsonschema checks custom resources against the CRDs' own OpenAPI schemas.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip(
    "helm_python", reason="helm-python-sdk (the Helm library) is needed for the chart tests"
)
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is needed for the chart tests"
)
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is needed for the chart tests")

from albctl import __version__  # noqa: E402
from albctl.kube.permissions import (  # noqa: E402
    CLUSTER_PERMISSIONS,
    NAMESPACED_PERMISSIONS,
    TAKEOVER_LEASE_PERMISSIONS,
    TAKEOVER_PERMISSIONS,
)

CHART = Path(__file__).resolve().parents[2] / "helm" / "albctl"
KUBE_VERSION = "1.33"
NAMESPACE = "kube-system"
RELEASE = "albctl"
BASE: dict[str, Any] = {"clusterName": "prod-eks"}
# custom resources the Kubernetes JSON schemas do not know; checked separately
CUSTOM_KINDS = {"IngressClassParams", "ServiceMonitor", "Issuer", "Certificate"}
DEFAULT_KINDS = Counter(
    {
        "Deployment": 1,
        "ServiceAccount": 1,
        "ClusterRole": 1,
        "ClusterRoleBinding": 1,
        "Role": 1,
        "RoleBinding": 1,
        "Service": 2,
        "PodDisruptionBudget": 1,
        "IngressClass": 1,
        "Secret": 1,
        "MutatingWebhookConfiguration": 1,
        "ValidatingWebhookConfiguration": 1,
    }
)
CLUSTER_KINDS = {
    "ClusterRole",
    "ClusterRoleBinding",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
}

Doc = dict[str, Any]


# --- helpers --------------------------------------------------------------------------------


def values(**overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(BASE), **overrides}


def render(vals: dict[str, Any]) -> list[Doc]:
    with helm.Chart.load(CHART) as chart:
        out = chart.render(vals, name=RELEASE, namespace=NAMESPACE)
    docs: list[Doc] = []
    for name, text in sorted(out.items()):
        if not name.endswith((".yaml", ".yml")):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def notes(vals: dict[str, Any]) -> str:
    with helm.Chart.load(CHART) as chart:
        out = chart.render(vals, name=RELEASE, namespace=NAMESPACE)
    return str(next(text for name, text in out.items() if name.endswith("NOTES.txt")))


def one(docs: list[Doc], kind: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def named(docs: list[Doc], kind: str, suffix: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {kind} named *{suffix}, got {len(found)}"
    return found[0]


def container(docs: list[Doc]) -> Doc:
    [c] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert isinstance(c, dict)
    return c


def args(docs: list[Doc]) -> list[str]:
    return list(container(docs)["args"])


def crd_files() -> list[Path]:
    return sorted((CHART / "crds").glob("*.yaml"))


def crd(plural: str) -> Doc:
    doc: Doc = yaml.safe_load((CHART / "crds" / f"albctl.io_{plural}.yaml").read_text())
    return doc


def crd_schema(plural: str) -> Doc:
    schema: Doc = crd(plural)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def crd_validator(plural: str) -> Any:
    return jsonschema.Draft7Validator(crd_schema(plural))


def rule_set(rules: list[Doc]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def permission_set(perms: Any) -> set[tuple[str, str, str]]:
    return {(p.api_group, p.resource, verb) for p in perms for verb in p.verbs}


def values_schema() -> Doc:
    schema: Doc = json.loads((CHART / "values.schema.json").read_text())
    return schema


def default_values() -> Doc:
    vals: Doc = yaml.safe_load((CHART / "values.yaml").read_text())
    return vals


def leaf_paths(value: Any, node: Doc, prefix: str = "") -> Iterator[str]:
    """Dotted paths of the values.yaml values the schema describes field by field (a map the
    schema types as a whole, such as resources.requests, counts as one value)."""
    if isinstance(value, dict) and value and "properties" in node:
        for k, v in value.items():
            yield from leaf_paths(v, node["properties"][k], f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix


# --- lint -----------------------------------------------------------------------------------


def test_lint_strict_is_clean() -> None:
    report = helm.lint(CHART, values(), strict=True, kube_version=f"{KUBE_VERSION}.0")
    assert report["errors"] == []
    worse_than_info = [m for m in report["messages"] if m["severity"] >= 2]
    assert worse_than_info == []


def test_lint_reports_a_missing_cluster_name() -> None:
    report = helm.lint(CHART, {}, strict=True, kube_version=f"{KUBE_VERSION}.0")
    assert report["errors"], report
    assert "clusterName" in json.dumps(report)


# --- values schema --------------------------------------------------------------------------


def test_schema_accepts_the_defaults_plus_a_cluster_name() -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values())
        chart.validate_schema(chart.merge_values(values()))


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"replicaCount": "two"}, "replicaCount"),
        ({"workers": 0}, "workers"),
        ({"unknownKey": True}, "unknownKey"),
        ({"image": {"repository": "x", "registry": "y"}}, "registry"),
        ({"serviceAccount": {"annotation": {}}}, "annotation"),
        ({"logFormat": "xml"}, "logFormat"),
        ({"logLevel": "verbose"}, "logLevel"),
        ({"watchNamespaces": ["Not_A_Namespace"]}, "watchNamespaces"),
        ({"watchNamespaces": "default"}, "watchNamespaces"),
        ({"defaultTags": {"albctl.io/cluster": "other"}}, "albctl.io/cluster"),
        ({"defaultTags": {"team": "a,b"}}, "defaultTags"),
        ({"resyncPeriod": "ten minutes"}, "resyncPeriod"),
        ({"vpcId": "vpc_123"}, "vpcId"),
        ({"region": "Europe"}, "region"),
        ({"ingressClassParams": {"spec": {"scheme": "public"}}}, "scheme"),
        ({"ingressClassParams": {"spec": {"subnets": {"names": ["a"]}}}}, "names"),
        ({"ingressClassParams": {"spec": {"sslRedirectPort": 443}}}, "sslRedirectPort"),
        ({"securityContext": {"runAsUser": "root"}}, "runAsUser"),
        ({"podDisruptionBudget": {"maxUnavailable": "half"}}, "maxUnavailable"),
        ({"clusterName": ""}, "clusterName"),
        ({"image": {"digest": "sha256:abc"}}, "digest"),
        ({"image": {"digest": "0.1.0"}}, "digest"),
    ],
)
def test_schema_rejects_bad_values(overrides: dict[str, Any], needle: str) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError) as err:
        chart.validate_schema(values(**overrides))
    assert needle in str(err.value)


def test_values_schema_is_draft7_and_agrees_with_helm() -> None:
    """values.schema.json is plain JSON Schema draft-07 (Helm 3 and 4 both read it)."""
    schema = values_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    merged = {**default_values(), **values()}
    assert list(validator.iter_errors(merged)) == []
    assert list(validator.iter_errors({**merged, "replicaCount": "two"}))
    assert list(validator.iter_errors({**merged, "clusterName": ""}))


def test_schema_requires_a_cluster_name() -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError, match="clusterName"):
        chart.validate_schema({})


def test_rendering_without_a_cluster_name_fails() -> None:
    with pytest.raises(helm.HelmError, match="clusterName"):
        render({})


def test_every_value_is_typed_described_and_defaults_match_values_yaml() -> None:
    schema = values_schema()
    assert schema["additionalProperties"] is False
    defaults = default_values()
    assert set(schema["properties"]) == set(defaults)

    def check(node: Doc, value: Any, path: str) -> None:
        assert "type" in node or "anyOf" in node, f"{path}: no type"
        assert node.get("description"), f"{path}: no description"
        assert node.get("default") == value, f"{path}: default {node.get('default')!r} != {value!r}"
        if isinstance(value, dict) and "properties" in node:
            for key, sub in value.items():
                check(node["properties"][key], sub, f"{path}.{key}")

    for key, value in defaults.items():
        check(schema["properties"][key], value, key)


def test_every_object_in_the_schema_rejects_unknown_keys() -> None:
    """additionalProperties is false (or a schema for maps) at every object level; the only
    exceptions are Kubernetes types passed through as a whole, which the API server validates."""
    passthrough: list[str] = []

    def walk(node: Doc, path: str) -> None:
        if node.get("type") == "object":
            if "additionalProperties" not in node:
                assert "Passed through unchanged" in node.get("description", ""), path
                passthrough.append(path)
            elif "properties" in node:
                assert node["additionalProperties"] is False, path
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*")
        for i, sub in enumerate(node.get("anyOf", [])):
            walk(sub, f"{path}|{i}")

    walk(values_schema(), "")
    assert sorted(passthrough) == [
        ".affinity.nodeAffinity",
        ".affinity.podAffinity",
        ".affinity.podAntiAffinity",
        ".extraEnv[].valueFrom",
    ]


def test_values_schema_for_ingress_class_params_mirrors_the_crd() -> None:
    """ingressClassParams.spec is checked with the CRD's own schema (made strict)."""

    def loosen(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: loosen(v)
                for k, v in node.items()
                if not k.startswith("x-kubernetes")
                and k not in ("description", "default")
                and not (k == "additionalProperties" and v is False)
            }
        if isinstance(node, list):
            return [loosen(v) for v in node]
        return node

    in_values = values_schema()["properties"]["ingressClassParams"]["properties"]["spec"]
    in_crd = crd_schema("ingressclassparams")["properties"]["spec"]
    assert loosen(in_values) == loosen(in_crd)


def test_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    table = readme.split("\n## Values\n", 1)[1].split("\n#", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE))
    paths = set(leaf_paths(default_values(), values_schema()))
    missing = paths - documented
    assert not missing, f"values missing from README.md: {sorted(missing)}"
    unknown = documented - paths
    assert not unknown, f"README.md documents values that do not exist: {sorted(unknown)}"


# --- rendering ------------------------------------------------------------------------------


def test_default_render_has_the_expected_objects() -> None:
    docs = render(values())
    assert Counter(d["kind"] for d in docs) == DEFAULT_KINDS
    for d in docs:
        if d["kind"] not in CLUSTER_KINDS:
            assert d["metadata"]["namespace"] == NAMESPACE, d["kind"]
        assert d["metadata"]["labels"]["app.kubernetes.io/name"] == "albctl"


VARIATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-on": {
        "region": "eu-west-1",
        "vpcId": "vpc-0123456789abcdef0",
        "watchNamespaces": ["shop", "payments"],
        "defaultTags": {"team": "platform", "env": "prod"},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "ingressClassConfig": {"default": True},
        "ingressClassParams": {
            "create": True,
            "spec": {
                "scheme": "internal",
                "group": {"name": "shared"},
                "subnets": {"tags": {"kubernetes.io/role/internal-elb": ["1"]}},
                "tags": [{"key": "cost-center", "value": "42"}],
                "loadBalancerAttributes": [{"key": "idle_timeout.timeout_seconds", "value": "120"}],
                "namespaceSelector": {"matchLabels": {"team": "a"}},
            },
        },
        "serviceAccount": {
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/albctl"}
        },
        "extraArgs": ["--some-flag=1"],
        "extraEnv": [
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "podAnnotations": {"example.com/a": "b"},
        "podLabels": {"team": "platform"},
        "imagePullSecrets": [{"name": "regcred"}],
    },
    "single-replica-no-election": {"replicaCount": 1, "leaderElection": {"enabled": False}},
    "webhooks-cert-manager": {
        "webhooks": {
            "certificate": {"source": "cert-manager"},
            "podReadinessGates": {"failurePolicy": "Fail"},
            "ingressValidation": {
                "failurePolicy": "Fail",
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": ["kube-system"],
                        }
                    ]
                },
            },
        }
    },
    "webhooks-off": {"webhooks": {"enabled": False}},
    "minimal": {
        "webhooks": {"enabled": False},
        "rbac": {"create": False},
        "serviceAccount": {"create": False, "name": "existing"},
        "metrics": {"service": {"enabled": False}},
        "podDisruptionBudget": {"enabled": False},
        "ingressClassConfig": {"create": False},
        "priorityClassName": "",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "role", "operator": "In", "values": ["infra"]}
                            ]
                        }
                    ]
                }
            }
        },
        "topologySpreadConstraints": [],
    },
}


@pytest.mark.parametrize("variation", sorted(VARIATIONS))
def test_rendered_manifests_validate_offline(variation: str) -> None:
    vals = values(**VARIATIONS[variation])
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(vals)
    docs = render(vals)
    assert docs
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    for icp in (d for d in docs if d["kind"] == "IngressClassParams"):
        crd_validator("ingressclassparams").validate(icp)
        assert icp["apiVersion"] == "albctl.io/v1beta1"


def test_offline_validation_is_not_vacuous() -> None:
    deployment = one(render(values()), "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


def test_deployment_defaults() -> None:
    docs = render(values())
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is True
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }

    c = container(docs)
    assert c["image"] == f"ghcr.io/albctl/albctl:{__version__}"
    assert c["command"] == ["albctl", "run"]
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert set(c["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 8080, "health": 8081, "webhook": 9443}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    # read-only root filesystem: /tmp is an emptyDir
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]

    assert c["args"] == [
        "--cluster-name=prod-eks",
        "--ingress-class=alb",
        "--workers=4",
        "--resync-period=10m",
        "--leader-elect",
        f"--leader-election-namespace={NAMESPACE}",
        "--leader-election-id=albctl-leader",
        "--metrics-bind-address=:8080",
        "--health-probe-bind-address=:8081",
        "--log-format=json",
        "--log-level=info",
        "--enable-backend-security-group",
        "--webhook-bind-address=:9443",
        "--webhook-cert-dir=/etc/albctl/webhook-tls",
    ]

    anti = pod["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    [term] = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (
        term["podAffinityTerm"]["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    )
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]


def test_pod_disruption_budget_and_metrics_service() -> None:
    docs = render(values())
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    svc = named(docs, "Service", "-metrics")
    assert svc["spec"]["selector"] == selector
    assert svc["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_ingress_class_defaults() -> None:
    ic = one(render(values()), "IngressClass")
    assert ic["metadata"]["name"] == "alb"
    assert ic["spec"] == {"controller": "albctl.io/alb"}
    assert "annotations" not in ic["metadata"]


def test_rbac_grants_exactly_the_declared_permissions() -> None:
    docs = render(values())
    assert rule_set(one(docs, "ClusterRole")["rules"]) == permission_set(CLUSTER_PERMISSIONS)
    role = one(docs, "Role")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert rule_set(role["rules"]) == permission_set(NAMESPACED_PERMISSIONS)
    sa = one(docs, "ServiceAccount")["metadata"]
    for kind, ref_kind, ref_name in (
        ("ClusterRoleBinding", "ClusterRole", one(docs, "ClusterRole")["metadata"]["name"]),
        ("RoleBinding", "Role", role["metadata"]["name"]),
    ):
        binding = one(docs, kind)
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": ref_kind,
            "name": ref_name,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": sa["name"], "namespace": NAMESPACE}
        ]


def test_take_over_lbc_passes_the_flags_and_grants_exactly_the_takeover_permissions() -> None:
    assert "--take-over-lbc" not in args(render(values()))
    docs = render(values(takeOverLBC=True, lbcNamespace="lbc"))
    a = args(docs)
    assert "--take-over-lbc" in a and "--lbc-namespace=lbc" in a
    assert rule_set(one(docs, "ClusterRole")["rules"]) == permission_set(
        (*CLUSTER_PERMISSIONS, *TAKEOVER_PERMISSIONS)
    )
    roles = [d for d in docs if d["kind"] == "Role"]
    [lease_role] = [r for r in roles if r["metadata"]["namespace"] == "lbc"]
    assert rule_set(lease_role["rules"]) == permission_set(TAKEOVER_LEASE_PERMISSIONS)
    assert lease_role["rules"][0]["resourceNames"] == ["aws-load-balancer-controller-leader"]
    [binding] = [
        d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["namespace"] == "lbc"
    ]
    assert binding["roleRef"]["name"] == lease_role["metadata"]["name"]


def test_everything_on() -> None:
    docs = render(values(**VARIATIONS["everything-on"]))
    a = args(docs)
    assert "--region=eu-west-1" in a
    assert "--vpc-id=vpc-0123456789abcdef0" in a
    assert [x for x in a if x.startswith("--watch-namespace")] == [
        "--watch-namespace=shop",
        "--watch-namespace=payments",
    ]
    assert "--default-tags=env=prod,team=platform" in a
    assert a[-1] == "--some-flag=1"

    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["AWS_STS_REGIONAL_ENDPOINTS"]["value"] == "regional"
    assert env["FROM_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "s"
    assert "POD_NAMESPACE" in env

    sa = one(docs, "ServiceAccount")
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/albctl"
    }

    ic = one(docs, "IngressClass")
    assert ic["metadata"]["annotations"] == {"ingressclass.kubernetes.io/is-default-class": "true"}
    icp = one(docs, "IngressClassParams")
    assert ic["spec"]["parameters"] == {
        "apiGroup": "albctl.io",
        "kind": "IngressClassParams",
        "name": icp["metadata"]["name"],
        "scope": "Cluster",
    }
    assert "namespace" not in icp["metadata"]
    assert icp["spec"]["group"] == {"name": "shared"}

    sm = one(docs, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    [endpoint] = sm["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    svc = named(docs, "Service", "-metrics")
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert any(p["name"] == endpoint["port"] for p in svc["spec"]["ports"])

    pod = one(docs, "Deployment")["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"example.com/a": "b"}
    assert pod["metadata"]["labels"]["team"] == "platform"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["spec"]["tolerations"][0]["key"] == "dedicated"


def test_single_replica_without_leader_election() -> None:
    docs = render(values(**VARIATIONS["single-replica-no-election"]))
    assert one(docs, "Deployment")["spec"]["replicas"] == 1
    a = args(docs)
    # the controller elects by default: single-replica installs switch it off explicitly
    assert "--no-leader-elect" in a
    assert not any(x.startswith(("--leader-elect", "--leader-election")) for x in a)
    assert not [d for d in docs if d["kind"] in ("Role", "RoleBinding")]


def test_more_than_one_replica_forces_leader_election() -> None:
    docs = render(values(replicaCount=3, leaderElection={"enabled": False}))
    a = args(docs)
    assert "--leader-elect" in a
    assert f"--leader-election-namespace={NAMESPACE}" in a
    assert rule_set(one(docs, "Role")["rules"]) == permission_set(NAMESPACED_PERMISSIONS)


def test_shards_are_passed_and_force_leader_election() -> None:
    assert not any(x.startswith("--shards") for x in args(render(values())))
    docs = render(values(replicaCount=3, shards=6, leaderElection={"enabled": False}))
    a = args(docs)
    assert "--shards=6" in a
    assert "--leader-elect" in a
    assert one(docs, "Deployment")["spec"]["replicas"] == 3
    assert rule_set(one(docs, "Role")["rules"]) == permission_set(NAMESPACED_PERMISSIONS)
    # one replica with several shards holds them all (and elects: the shard Leases need it)
    single = args(render(values(replicaCount=1, shards=2, leaderElection={"enabled": False})))
    assert "--shards=2" in single
    assert "--leader-elect" in single


def test_minimal_render_and_overrides() -> None:
    vals = values(**VARIATIONS["minimal"])
    docs = render(vals)
    assert Counter(d["kind"] for d in docs) == Counter({"Deployment": 1})
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "existing"
    assert "priorityClassName" not in pod
    assert pod["affinity"] == vals["affinity"]
    assert "topologySpreadConstraints" not in pod


def test_custom_class_name_image_and_flags() -> None:
    docs = render(
        values(
            ingressClass="alb-internal",
            image={"repository": "registry.example.com/albctl", "tag": "1.2.3"},
            workers=8,
            resyncPeriod="1h30m",
            logFormat="text",
            logLevel="debug",
            leaderElection={"enabled": True, "id": "albctl-internal"},
            ingressClassParams={"name": "shared-params"},
        )
    )
    a = args(docs)
    for flag in (
        "--ingress-class=alb-internal",
        "--workers=8",
        "--resync-period=1h30m",
        "--log-format=text",
        "--log-level=debug",
        "--leader-election-id=albctl-internal",
    ):
        assert flag in a
    assert container(docs)["image"] == "registry.example.com/albctl:1.2.3"
    ic = one(docs, "IngressClass")
    assert ic["metadata"]["name"] == "alb-internal"
    # an existing IngressClassParams is referenced but not created
    assert ic["spec"]["parameters"]["name"] == "shared-params"
    assert not [d for d in docs if d["kind"] == "IngressClassParams"]


def test_notes() -> None:
    text = notes(values(ingressClassConfig={"default": True}))
    assert 'cluster "prod-eks"' in text
    assert "kubectl get lbg" in text
    assert "the cluster's default IngressClass" in text
    assert "albctl.io/pod-readiness-gate-inject=enabled" in text
    assert "pod-readiness-gate-inject" not in notes(values(webhooks={"enabled": False}))


def test_notes_say_where_the_image_comes_from_and_how_to_check_a_pull() -> None:
    text = notes(values())
    assert f"Image: ghcr.io/albctl/albctl:{__version__}" in text
    assert "release workflow publishes it" in text
    assert "kubectl -n kube-system describe pod -l app.kubernetes.io/name=albctl" in text
    assert "Build and push the image" in text
    assert "--set image.repository=<repository> --set image.tag=<tag>" in text

    own = notes(values(image={"repository": "123.dkr.ecr.eu-west-1.amazonaws.com/albctl"}))
    assert f"Image: 123.dkr.ecr.eu-west-1.amazonaws.com/albctl:{__version__}" in own
    assert "release workflow" not in own
    assert "describe pod -l app.kubernetes.io/name=albctl" in own


def test_notes_warn_when_nothing_sets_the_region() -> None:
    assert "no AWS region" in notes(values())
    assert "no AWS region" not in notes(values(region="eu-west-1"))
    assert "no AWS region" not in notes(
        values(extraEnv=[{"name": "AWS_REGION", "value": "eu-west-1"}])
    )
    irsa = {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/a"}}
    assert "no AWS region" not in notes(values(serviceAccount=irsa))


def test_image_by_digest() -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(values(image={"digest": digest, "tag": "ignored"}))
    assert container(docs)["image"] == f"ghcr.io/albctl/albctl@{digest}"


def test_chart_metadata() -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == "albctl"
    # one version: the package's (tests/test_version.py checks every copy)
    assert meta["version"] == __version__
    assert str(meta["appVersion"]) == __version__


def test_the_package_the_release_pushes(tmp_path: Path) -> None:
    """`helm package helm/albctl` (the release workflow's step, here with the same Helm library):
    albctl-<version>.tgz with the chart's files and nothing else, and it renders as the
    directory does."""
    import tarfile

    archive = Path(helm.package(CHART, destination=tmp_path))
    assert archive.name == f"albctl-{__version__}.tgz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    in_dir = {f"albctl/{p.relative_to(CHART).as_posix()}" for p in CHART.rglob("*") if p.is_file()}
    assert names == in_dir
    # the helm-generated webhook certificate is new at every render: compare with the
    # webhooks' certificate from cert-manager instead (nothing random left)
    vals = values(webhooks={"certificate": {"source": "cert-manager"}})
    with helm.Chart.load_archive(archive.read_bytes()) as chart:
        packaged = chart.render(vals, name=RELEASE, namespace=NAMESPACE)
    with helm.Chart.load(CHART) as chart:
        assert packaged == chart.render(vals, name=RELEASE, namespace=NAMESPACE)


# --- CRDs -----------------------------------------------------------------------------------


def test_crds_are_plain_yaml_and_valid_v1_crds() -> None:
    with helm.Chart.load(CHART) as chart:
        shipped = sorted(c["name"] for c in chart.crds)
    assert shipped == [f"crds/{p.name}" for p in crd_files()]
    names = set()
    for path in crd_files():
        text = path.read_text()
        tokens = list(yaml.scan(text))
        assert not [t for t in tokens if isinstance(t, (yaml.AnchorToken, yaml.AliasToken))]
        docs = [d for d in yaml.safe_load_all(text) if d]
        assert len(docs) == 1, path
        doc = docs[0]
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        assert doc["apiVersion"] == "apiextensions.k8s.io/v1"
        group = doc["spec"]["group"]
        assert doc["metadata"]["name"] == f"{doc['spec']['names']['plural']}.{group}"
        names.add(doc["metadata"]["name"])
        if group == "gateway.k8s.aws":  # LBC's kinds: v1 stored, v1beta1 served too
            versions = {v["name"]: v for v in doc["spec"]["versions"]}
            assert sorted(versions) == ["v1", "v1beta1"] and versions["v1"]["storage"]
            continue
        assert group == "albctl.io"
        [version] = doc["spec"]["versions"]
        assert version["name"] == "v1beta1" and version["served"] and version["storage"]
    assert names == {
        "listenerruleconfigurations.gateway.k8s.aws",
        "loadbalancerconfigurations.gateway.k8s.aws",
        "targetgroupconfigurations.gateway.k8s.aws",
        "ingressclassparams.albctl.io",
        "targetgroupbindings.albctl.io",
        "loadbalancergroups.albctl.io",
    }


@pytest.mark.parametrize(
    "plural", ["ingressclassparams", "targetgroupbindings", "loadbalancergroups"]
)
def test_crd_schemas_are_structural(plural: str) -> None:
    """Every node has a type (or is int-or-string); properties and additionalProperties are
    never combined; the schema is a valid JSON schema."""
    schema = crd_schema(plural)
    jsonschema.Draft7Validator.check_schema(schema)

    def walk(node: Doc, path: str) -> None:
        if node.get("x-kubernetes-int-or-string"):
            assert [s["type"] for s in node["anyOf"]] == ["integer", "string"], path
            return
        assert "type" in node, f"{path}: no type"
        assert not ("properties" in node and "additionalProperties" in node), path
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*")

    walk(schema, plural)


def test_crd_scopes_names_and_subresources() -> None:
    icp, tgb, lbg = crd("ingressclassparams"), crd("targetgroupbindings"), crd("loadbalancergroups")
    assert icp["spec"]["scope"] == "Cluster"
    assert tgb["spec"]["scope"] == "Namespaced"
    assert lbg["spec"]["scope"] == "Cluster"
    assert tgb["spec"]["names"]["shortNames"] == ["tgb"]
    assert lbg["spec"]["names"]["shortNames"] == ["lbg"]
    assert "subresources" not in icp["spec"]["versions"][0]
    assert tgb["spec"]["versions"][0]["subresources"] == {"status": {}}
    assert lbg["spec"]["versions"][0]["subresources"] == {"status": {}}


def test_load_balancer_group_printer_columns() -> None:
    cols = {
        c["name"].upper(): c["jsonPath"]
        for c in crd("loadbalancergroups")["spec"]["versions"][0]["additionalPrinterColumns"]
    }
    assert cols == {
        "DNS": ".status.loadBalancer.dnsName",
        "MEMBERS": ".status.memberCount",
        "READY": '.status.conditions[?(@.type=="Ready")].status',
        "LAST-RECONCILE": ".status.lastReconcile.time",
        "AGE": ".metadata.creationTimestamp",
    }


def _icp(**spec: Any) -> Doc:
    return {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "IngressClassParams",
        "metadata": {"name": "p"},
        "spec": spec,
    }


def _tgb(**spec: Any) -> Doc:
    return {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": "b", "namespace": "shop"},
        "spec": spec,
    }


TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
RECORD = {
    "time": "2026-01-01T00:00:00Z",
    "result": "Succeeded",
    "durationSeconds": 1.5,
    "awsCalls": 12,
    "changes": [{"action": "create", "kind": "LoadBalancer", "id": "LoadBalancer"}],
}


def _lbg(**status: Any) -> Doc:
    return {
        "apiVersion": "albctl.io/v1beta1",
        "kind": "LoadBalancerGroup",
        "metadata": {"name": "shop.web"},
        "spec": {"groupID": "shop/web"},
        "status": status,
    }


GOOD_LBG_STATUS: Doc = {
    "groupID": "shop/web",
    "loadBalancer": {
        "arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/y",
        "dnsName": "x-1.us-east-1.elb.amazonaws.com",
        "scheme": "internet-facing",
    },
    "memberCount": 1,
    "members": [{"namespace": "shop", "name": "web", "state": "Active", "message": ""}],
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Reconciled",
            "message": "",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "observedGeneration": 1,
        }
    ],
    "lastReconcile": RECORD,
    "history": [RECORD, {**RECORD, "result": "Failed", "message": "boom", "changes": []}],
}


@pytest.mark.parametrize(
    ("plural", "doc", "ok"),
    [
        (
            "ingressclassparams",
            _icp(
                scheme="internet-facing",
                ipAddressType="dualstack-without-public-ipv4",
                group={"name": "team-a.web"},
                loadBalancerName="team-a",
                inboundCIDRs=["10.0.0.0/8", "2001:db8::/32"],
                certificateArn=["arn:aws:acm:us-east-1:123456789012:certificate/abc"],
                sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                sslRedirectPort="443",
                subnets={"ids": ["subnet-0abc", "subnet-0def"]},
                tags=[{"key": "team", "value": "a"}],
                targetType="ip",
                loadBalancerAttributes=[{"key": "idle_timeout.timeout_seconds", "value": "60"}],
                namespaceSelector={
                    "matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]
                },
            ),
            True,
        ),
        ("ingressclassparams", _icp(scheme="public"), False),
        ("ingressclassparams", _icp(ipAddressType="ipv6"), False),
        ("ingressclassparams", _icp(targetType="lambda"), False),
        ("ingressclassparams", _icp(group={"name": "Team_A"}), False),
        ("ingressclassparams", _icp(group={}), False),
        ("ingressclassparams", _icp(sslRedirectPort=443), False),
        ("ingressclassparams", _icp(subnets={"ids": ["sg-123"]}), False),
        ("ingressclassparams", _icp(subnets={"ids": ["subnet-1"], "tags": {"a": ["b"]}}), False),
        ("ingressclassparams", _icp(tags=[{"key": "team"}]), False),
        (
            "targetgroupbindings",
            _tgb(targetGroupARN=TG_ARN, serviceRef={"name": "web", "port": 80}),
            True,
        ),
        (
            "targetgroupbindings",
            _tgb(
                targetGroupARN=TG_ARN,
                targetType="ip",
                ipAddressType="ipv4",
                serviceRef={"name": "web", "port": "http"},
                nodeSelector={"matchLabels": {"pool": "web"}},
            ),
            True,
        ),
        ("targetgroupbindings", _tgb(serviceRef={"name": "web", "port": 80}), False),
        (
            "targetgroupbindings",
            _tgb(targetGroupARN="web-tg", serviceRef={"name": "web", "port": 80}),
            False,
        ),
        ("targetgroupbindings", _tgb(targetGroupARN=TG_ARN, serviceRef={"name": "web"}), False),
        ("targetgroupbindings", _tgb(targetGroupARN=TG_ARN, serviceRef={"port": 80}), False),
        (
            "targetgroupbindings",
            _tgb(targetGroupARN=TG_ARN, targetType="lambda", serviceRef={"name": "w", "port": 1}),
            False,
        ),
        (
            "targetgroupbindings",
            _tgb(
                targetGroupName="tf-web",
                serviceRef={"name": "web", "port": 80},
                networking={
                    "ingress": [
                        {
                            "from": [
                                {"securityGroup": {"groupID": "sg-0123abcd"}},
                                {"ipBlock": {"cidr": "10.0.0.0/8"}},
                            ],
                            "ports": [{"protocol": "TCP", "port": 8080}, {"port": "http"}],
                        }
                    ]
                },
            ),
            True,
        ),
        (
            "targetgroupbindings",
            _tgb(
                targetGroupARN=TG_ARN,
                targetGroupName="tf-web",
                serviceRef={"name": "web", "port": 80},
            ),
            False,
        ),
        (
            "targetgroupbindings",
            _tgb(targetGroupName="tf_web!", serviceRef={"name": "web", "port": 80}),
            False,
        ),
        (
            "targetgroupbindings",
            _tgb(
                targetGroupName="tf-web",
                serviceRef={"name": "web", "port": 80},
                networking={"ingress": [{"from": [{}]}]},
            ),
            False,
        ),
        (
            "targetgroupbindings",
            _tgb(
                targetGroupName="tf-web",
                serviceRef={"name": "web", "port": 80},
                networking={
                    "ingress": [
                        {
                            "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                            "ports": [{"protocol": "ICMP"}],
                        }
                    ]
                },
            ),
            False,
        ),
        (
            "targetgroupbindings",
            {
                **_tgb(targetGroupName="tf-web", serviceRef={"name": "web", "port": 80}),
                "status": {
                    "observedGeneration": 2,
                    "targetGroupARN": TG_ARN,
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "False",
                            "reason": "TargetGroupInUse",
                            "message": "spec.targetGroupName: in use",
                            "lastTransitionTime": "2026-01-01T00:00:00Z",
                            "observedGeneration": 2,
                        }
                    ],
                },
            },
            True,
        ),
        ("loadbalancergroups", _lbg(**GOOD_LBG_STATUS), True),
        (
            "loadbalancergroups",
            _lbg(members=[{"namespace": "a", "name": "b", "state": "Broken"}]),
            False,
        ),
        ("loadbalancergroups", _lbg(lastReconcile={**RECORD, "result": "Maybe"}), False),
        (
            "loadbalancergroups",
            _lbg(history=[{**RECORD, "changes": [{"action": "move", "kind": "x", "id": "y"}]}]),
            False,
        ),
        ("loadbalancergroups", _lbg(history=[RECORD] * 21), False),
        ("loadbalancergroups", _lbg(conditions=[{"type": "Ready", "status": "Yes"}]), False),
        ("loadbalancergroups", _lbg(memberCount=-1), False),
    ],
)
def test_custom_resources_against_crd_schemas(plural: str, doc: Doc, ok: bool) -> None:
    errors = list(crd_validator(plural).iter_errors(doc))
    assert (not errors) == ok, [e.message for e in errors]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"watchNamespaces": ["team-a", "team-b"], "defaultTags": {"env": "prod", "team": "web"}},
        {
            "replicaCount": 1,
            "leaderElection": {"enabled": False},
            "region": "eu-west-1",
            "vpcId": "vpc-123",
        },
    ],
)
def test_rendered_arguments_are_accepted_by_albctl_run(overrides: dict[str, Any]) -> None:
    """The container's command line parses with the real ``albctl run`` (entrypoint + args)."""
    import typer

    from albctl.cli import app

    a = args(render(values(**overrides)))
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    ctx = run.make_context("run", list(a))  # raises on an unknown flag or a bad value
    assert ctx.params["cluster_name"] == BASE["clusterName"]
    if overrides.get("leaderElection") != {"enabled": False}:
        assert ctx.params["leader_elect"] is True
        assert ctx.params["leader_election_namespace"] == NAMESPACE
    if "watchNamespaces" in overrides:
        assert ctx.params["watch_namespace"] == ["team-a", "team-b"]
        assert ctx.params["default_tags"] in ("env=prod,team=web", "team=web,env=prod")
    if overrides.get("leaderElection") == {"enabled": False}:
        assert ctx.params["leader_elect"] is False


def test_wildcard_host_matching_reaches_the_command_line() -> None:
    assert not [a for a in container(render(values()))["args"] if "wildcard" in a]
    c = container(render(values(wildcardHostMatching="alb")))
    assert "--wildcard-host-matching=alb" in c["args"]
    with pytest.raises(Exception, match="wildcardHostMatching"):
        render(values(wildcardHostMatching="sometimes"))


def test_backend_security_group_values_reach_the_command_line() -> None:
    c = container(render(values(enableBackendSecurityGroup=False)))
    assert "--no-enable-backend-security-group" in c["args"]
    assert "--no-import-tls-secrets" not in c["args"]
    c = container(render(values(importTLSSecrets=False)))
    assert "--no-import-tls-secrets" in c["args"]
    c = container(render(values(backendSecurityGroup="sg-0123456789abcdef0")))
    assert "--backend-security-group=sg-0123456789abcdef0" in c["args"]
    with pytest.raises(Exception, match="backendSecurityGroup"):
        render(values(backendSecurityGroup="default"))


# --- admission webhooks ---------------------------------------------------------------------


def _webhooks(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {w["name"]: w for w in one(docs, kind)["webhooks"]}


def test_webhooks_by_default_generated_certificate_and_safe_policies() -> None:
    import base64

    from cryptography import x509

    docs = render(values())
    svc = named(docs, "Service", "-webhook")
    assert svc["spec"]["selector"] == one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    secret = one(docs, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    ca_pem = base64.b64decode(secret["data"]["ca.crt"])
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(ca_pem)
    assert cert.issuer == ca.subject
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = f"{svc['metadata']['name']}.{NAMESPACE}.svc"
    assert dns in names.get_values_for_type(x509.DNSName)

    mutating = _webhooks(docs, "MutatingWebhookConfiguration")
    assert set(mutating) == {"mpod-elbv2.albctl.io", "mpod.albctl.io"}
    labels = set()
    for hook in mutating.values():
        # never blocks a pod, only namespaces that opted in, never albctl's own pods
        assert hook["failurePolicy"] == "Ignore"
        assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
        assert hook["clientConfig"]["service"] == {
            "name": svc["metadata"]["name"],
            "namespace": NAMESPACE,
            "path": "/mutate-v1-pod",
            "port": 443,
        }
        [r] = hook["rules"]
        assert r["resources"] == ["pods"] and r["operations"] == ["CREATE"]
        first = hook["namespaceSelector"]["matchExpressions"][0]
        assert first["operator"] == "In" and first["values"] == ["enabled"]
        labels.add(first["key"])
        assert hook["objectSelector"] == {
            "matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["albctl"]}
            ]
        }
    assert labels == {
        "elbv2.k8s.aws/pod-readiness-gate-inject",
        "albctl.io/pod-readiness-gate-inject",
    }
    validating = _webhooks(docs, "ValidatingWebhookConfiguration")
    ing, params = validating["vingress.albctl.io"], validating["vingressclassparams.albctl.io"]
    assert ing["clientConfig"]["service"]["path"] == "/validate-networking-v1-ingress"
    assert ing["rules"][0]["resources"] == ["ingresses"]
    assert set(ing["rules"][0]["operations"]) == {"CREATE", "UPDATE"}
    assert params["clientConfig"]["service"]["path"] == (
        "/validate-albctl-io-v1beta1-ingressclassparams"
    )
    assert params["rules"][0]["scope"] == "Cluster"
    for hook in validating.values():
        assert hook["failurePolicy"] == "Ignore"
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]

    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    [mount] = [m for m in container(docs)["volumeMounts"] if m["name"] == "webhook-tls"]
    assert mount == {
        "name": "webhook-tls",
        "mountPath": "/etc/albctl/webhook-tls",
        "readOnly": True,
    }
    [vol] = [v for v in pod["volumes"] if v["name"] == "webhook-tls"]
    assert vol["secret"]["secretName"] == secret["metadata"]["name"]


def test_webhooks_with_cert_manager() -> None:
    docs = render(values(**VARIATIONS["webhooks-cert-manager"]))
    assert not [d for d in docs if d["kind"] == "Secret"]
    issuer, cert = one(docs, "Issuer"), one(docs, "Certificate")
    assert issuer["apiVersion"] == cert["apiVersion"] == "cert-manager.io/v1"
    assert issuer["spec"] == {"selfSigned": {}}
    svc = named(docs, "Service", "-webhook")["metadata"]["name"]
    assert cert["spec"]["dnsNames"][0] == f"{svc}.{NAMESPACE}.svc"
    assert cert["spec"]["issuerRef"] == {"kind": "Issuer", "name": issuer["metadata"]["name"]}
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    [vol] = [v for v in pod["volumes"] if v["name"] == "webhook-tls"]
    assert vol["secret"]["secretName"] == cert["spec"]["secretName"]
    inject = f"{NAMESPACE}/{cert['metadata']['name']}"
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        conf = one(docs, kind)
        assert conf["metadata"]["annotations"] == {"cert-manager.io/inject-ca-from": inject}
        for hook in conf["webhooks"]:
            assert "caBundle" not in hook["clientConfig"]  # injected by cert-manager
            assert hook["failurePolicy"] == "Fail"
    ing = _webhooks(docs, "ValidatingWebhookConfiguration")["vingress.albctl.io"]
    assert ing["namespaceSelector"]["matchExpressions"][0]["values"] == ["kube-system"]
    # an issuer of the cluster's own
    docs = render(
        values(
            webhooks={
                "certificate": {
                    "source": "cert-manager",
                    "certManager": {"issuerRef": {"kind": "ClusterIssuer", "name": "corp-ca"}},
                }
            }
        )
    )
    assert not [d for d in docs if d["kind"] == "Issuer"]
    assert one(docs, "Certificate")["spec"]["issuerRef"] == {
        "kind": "ClusterIssuer",
        "name": "corp-ca",
    }


def test_webhooks_off() -> None:
    docs = render(values(**VARIATIONS["webhooks-off"]))
    kinds = {d["kind"] for d in docs}
    assert not kinds & {
        "Secret",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "Issuer",
        "Certificate",
    }
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Service"] == ["albctl-metrics"]
    c = container(docs)
    assert "--webhook-bind-address=0" in c["args"]
    assert not any(a.startswith("--webhook-cert-dir") for a in c["args"])
    assert {p["name"] for p in c["ports"]} == {"metrics", "health"}
    assert [m["name"] for m in c["volumeMounts"]] == ["tmp"]
    # each part on its own
    docs = render(values(webhooks={"podReadinessGates": {"enabled": False}}))
    assert not [d for d in docs if d["kind"] == "MutatingWebhookConfiguration"]
    assert one(docs, "ValidatingWebhookConfiguration")
    docs = render(values(webhooks={"ingressValidation": {"enabled": False}}))
    assert not [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]
    assert one(docs, "MutatingWebhookConfiguration")


def test_cert_manager_objects_have_the_fields_cert_manager_needs() -> None:
    docs = render(values(**VARIATIONS["webhooks-cert-manager"]))
    cert = one(docs, "Certificate")
    assert set(cert["spec"]) == {"secretName", "dnsNames", "duration", "renewBefore", "issuerRef"}
    assert cert["spec"]["duration"] == "2160h" and cert["spec"]["renewBefore"] == "360h"
    for d in (cert, one(docs, "Issuer")):
        assert d["metadata"]["namespace"] == NAMESPACE


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"webhooks": {"certificate": {"source": "vault"}}}, "source"),
        ({"webhooks": {"podReadinessGates": {"failurePolicy": "Block"}}}, "failurePolicy"),
        ({"webhooks": {"ingressValidation": {"failurePolicy": "ignore"}}}, "failurePolicy"),
        ({"webhooks": {"timeoutSeconds": 60}}, "timeoutSeconds"),
        ({"webhooks": {"port": 0}}, "port"),
        (
            {"webhooks": {"podReadinessGates": {"objectSelector": {"matchLabel": {}}}}},
            "matchLabel",
        ),
        (
            {"webhooks": {"certificate": {"certManager": {"issuerRef": {"kind": "Vault"}}}}},
            "kind",
        ),
        ({"webhooks": {"certificate": {"certManager": {"duration": "90 days"}}}}, "duration"),
    ],
)
def test_schema_rejects_bad_webhook_values(overrides: dict[str, Any], needle: str) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError) as err:
        chart.validate_schema(values(**overrides))
    assert needle in str(err.value)


def test_gateway_values() -> None:
    docs = render(values())
    assert not [d for d in docs if d["kind"] == "GatewayClass"]
    assert not [a for a in args(docs) if a.startswith(("--gateway", "--default-target"))]
    docs = render(
        values(
            defaultTargetType="ip",
            gateway={
                "controllerNames": ["albctl.io/alb", "gateway.k8s.aws/alb"],
                "gatewayClass": {"create": True, "name": "aws-alb"},
            },
        )
    )
    cls = one(docs, "GatewayClass")
    assert cls["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert cls["metadata"]["name"] == "aws-alb"
    assert cls["spec"]["controllerName"] == "albctl.io/alb"
    got = args(docs)
    assert "--default-target-type=ip" in got
    assert [a for a in got if a.startswith("--gateway-controller-name=")] == [
        "--gateway-controller-name=albctl.io/alb",
        "--gateway-controller-name=gateway.k8s.aws/alb",
    ]


def test_gateway_config_crds_are_generated_from_the_model(tmp_path: Path) -> None:
    """The gateway.k8s.aws CRDs are what ``python -m albctl.gateway_crds`` writes from
    albctl's models of LBC's kinds (regenerate them after a model change)."""
    from albctl.gateway_crds import write

    for path in write(tmp_path):
        assert path.read_text() == (CHART / "crds" / path.name).read_text(), path.name
