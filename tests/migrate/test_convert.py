"""Details of the conversion: classes, canaries, TLS sharing, ordering, redirects, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from albctl.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
N = "nginx.ingress.kubernetes.io/"
A = "alb.ingress.kubernetes.io/"


def ing(
    name: str,
    host: str,
    *paths: tuple[str, str, str],
    ns: str = "default",
    cls: str | None = "nginx",
    ann: dict[str, str] | None = None,
    tls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": p,
                            "pathType": t,
                            "backend": {"service": {"name": s, "port": {"number": 80}}},
                        }
                        for p, t, s in paths
                    ]
                },
            }
        ]
    }
    if cls:
        spec["ingressClassName"] = cls
    if tls:
        spec["tls"] = tls
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "annotations": ann or {}},
        "spec": spec,
    }


def findings(result: Any, key: str) -> dict[str, str]:
    rep = next(i for i in result.report.ingresses if i.ingress == key)
    return {f.annotation: f.status for f in rep.findings}


def out(result: Any, name: str) -> dict[str, Any]:
    return next(
        d for d in result.documents if d.get("kind") == "Ingress" and d["metadata"]["name"] == name
    )


def test_classes_decide_what_is_converted() -> None:
    docs = [
        ing("a", "a.example.com", ("/", "Prefix", "a")),
        ing(
            "b",
            "b.example.com",
            ("/", "Prefix", "b"),
            cls=None,
            ann={"kubernetes.io/ingress.class": "nginx"},
        ),
        ing("c", "c.example.com", ("/", "Prefix", "c"), cls="alb"),
        ing("d", "d.example.com", ("/", "Prefix", "d"), cls=None),
    ]
    r = migrate(docs)
    assert [i.ingress for i in r.report.ingresses] == ["default/a", "default/b"]
    assert out(r, "b")["spec"]["ingressClassName"] == "alb"
    assert "kubernetes.io/ingress.class" not in out(r, "b")["metadata"]["annotations"]
    assert out(r, "c") == docs[2] and out(r, "d") == docs[3]  # passed through unchanged
    default = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": "nginx",
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
        },
        "spec": {"controller": "k8s.io/ingress-nginx"},
    }
    r2 = migrate([default, docs[3]])
    assert [i.ingress for i in r2.report.ingresses] == ["default/d"]
    assert r.report.exit_code == 0


def test_canary_without_main_is_reported_and_not_written() -> None:
    r = migrate(
        [
            ing(
                "c",
                "x.example.com",
                ("/", "Prefix", "v2"),
                ann={N + "canary": "true", N + "canary-weight": "5"},
            )
        ]
    )
    assert findings(r, "default/c")["spec.rules"] == "unsupported"
    assert not [d for d in r.documents if d.get("kind") == "Ingress"]
    assert r.report.exit_code == 3


def test_tls_shared_in_namespace_and_longest_path_first_across_ingresses() -> None:
    r = migrate(
        [
            ing(
                "root",
                "s.example.com",
                ("/", "Prefix", "web"),
                tls=[{"hosts": ["s.example.com"], "secretName": "s-tls"}],
            ),
            ing("api", "s.example.com", ("/api", "Prefix", "api")),
        ]
    )
    api, root = out(r, "api"), out(r, "root")
    assert api["spec"]["tls"] == [{"hosts": ["s.example.com"], "secretName": "s-tls"}]
    assert api["metadata"]["annotations"][A + "group.order"] == "0"
    assert root["metadata"]["annotations"][A + "group.order"] == "1"
    assert root["metadata"]["annotations"][A + "ssl-redirect"] == "443"


def test_unorderable_ingresses_are_reported() -> None:
    r = migrate(
        [
            ing("a", "h.example.com", ("/", "Prefix", "a"), ("/x/y/z", "Prefix", "a")),
            ing("b", "h.example.com", ("/x", "Prefix", "b")),
        ]
    )
    assert any("longest match" in n for n in r.report.notes)
    assert r.report.exit_code == 3


def test_redirect_keeping_the_uri_and_identity_rewrite() -> None:
    r = migrate(
        [
            ing(
                "m",
                "m.example.com",
                ("/", "Prefix", "x"),
                ann={N + "permanent-redirect": "https://new.example.com$request_uri"},
            ),
            ing(
                "w",
                "w.example.com",
                ("/(.*)", "ImplementationSpecific", "x"),
                ann={N + "rewrite-target": "/$1", N + "use-regex": "true"},
            ),
        ]
    )
    action = json.loads(out(r, "m")["metadata"]["annotations"][A + "actions.redirect"])
    assert action["redirectConfig"] == {
        "protocol": "HTTPS",
        "host": "new.example.com",
        "port": "443",
        "statusCode": "HTTP_301",
        "path": "/#{path}",
        "query": "#{query}",
    }
    assert findings(r, "default/w")[N + "rewrite-target"] == "mapped"
    assert out(r, "w")["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/^/(.*)"


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "albctl.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exit_codes_and_stdin(tmp_path: Path) -> None:
    plain = yaml.safe_dump(ing("a", "a.example.com", ("/", "Prefix", "a")))
    done = _cli("migrate", "-f", "-", stdin=plain)
    assert done.returncode == 0, done.stderr
    assert [d["kind"] for d in yaml.safe_load_all(done.stdout)] == ["IngressClass", "Ingress"]
    assert "1 mapped, 0 approximated, 0 unsupported" in done.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Ingress\nmetadata: [\n")
    assert _cli("migrate", "-f", str(bad)).returncode == 1
    assert _cli("migrate", "-f", str(tmp_path / "missing.yaml")).returncode == 1
    snippet = yaml.safe_dump(
        ing("a", "a.example.com", ("/", "Prefix", "a"), ann={N + "server-snippet": "return 403;"})
    )
    got = _cli("migrate", "-f", "-", "--report", "json", stdin=snippet)
    assert got.returncode == 3
    assert json.loads(got.stderr)["summary"]["unsupported"] == 1
