"""Secrets (v1): base64 data, stringData, types, immutability; the Python client and kubectl."""

from __future__ import annotations

import base64
import datetime
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client
from kubernetes.client.rest import ApiException

from albctl.sandbox import SandboxServer


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields}


def rejected(code: int, fn: Any, *args: Any) -> str:
    with pytest.raises(ApiException) as info:
        fn(*args)
    assert info.value.status == code, info.value.body
    message: str = yaml.safe_load(info.value.body)["message"]
    return message


def test_string_data_is_merged_into_data_and_never_stored(
    kube: client.ApiClient, sandbox: SandboxServer
) -> None:
    core = client.CoreV1Api(kube)
    created = core.create_namespaced_secret(
        "default",
        secret("db", data={"user": b64("admin"), "pass": b64("old")}, stringData={"pass": "new"}),
    )
    assert created.type == "Opaque"
    assert created.data == {"user": b64("admin"), "pass": b64("new")}
    assert created.string_data is None
    with urllib.request.urlopen(f"{sandbox.url}/api/v1/namespaces/default/secrets/db") as resp:
        raw = json.loads(resp.read())
    assert "stringData" not in raw

    patched = core.patch_namespaced_secret("db", "default", {"stringData": {"extra": "x y"}})
    assert patched.data["extra"] == b64("x y")
    assert patched.data["user"] == b64("admin")

    current = core.read_namespaced_secret("db", "default")
    current.data = {"only": b64("one")}
    replaced = core.replace_namespaced_secret("db", "default", current)
    assert replaced.data == {"only": b64("one")}


def test_non_base64_data_is_invalid_and_values_are_not_echoed(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    message = rejected(
        422, core.create_namespaced_secret, "default", secret("x", data={"tls.crt": "s3cr3t!"})
    )
    assert message.startswith('Secret "x" is invalid: data[tls.crt]: Invalid value')
    assert "illegal base64 data at input byte 6" in message
    assert "s3cr3t" not in message
    bad_key = rejected(
        422, core.create_namespaced_secret, "default", secret("x", data={"a/b": b64("v")})
    )
    assert 'data[a/b]: Invalid value: "a/b": a valid config key' in bad_key
    assert core.list_namespaced_secret("default").items == []


def test_tls_secrets_need_both_keys_and_type_is_immutable(kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    message = rejected(
        422,
        core.create_namespaced_secret,
        "default",
        secret("cert", type="kubernetes.io/tls", stringData={"tls.crt": "pem"}),
    )
    assert message == 'Secret "cert" is invalid: data[tls.key]: Required value'
    both = rejected(
        422, core.create_namespaced_secret, "default", secret("cert", type="kubernetes.io/tls")
    )
    assert "data[tls.crt]: Required value" in both and "data[tls.key]: Required value" in both

    core.create_namespaced_secret(
        "default",
        secret("cert", type="kubernetes.io/tls", stringData={"tls.crt": "c", "tls.key": "k"}),
    )
    changed = rejected(422, core.patch_namespaced_secret, "cert", "default", {"type": "Opaque"})
    assert 'type: Invalid value: "Opaque": field is immutable' in changed
    dropped = rejected(
        422,
        core.patch_namespaced_secret,
        "cert",
        "default",
        [{"op": "remove", "path": "/data/tls.key"}],
    )
    assert "data[tls.key]: Required value" in dropped

    core.create_namespaced_secret(
        "default", secret("frozen", immutable=True, stringData={"k": "v"})
    )
    frozen = rejected(
        422, core.patch_namespaced_secret, "frozen", "default", {"stringData": {"k": "w"}}
    )
    assert "data: Forbidden: field is immutable when `immutable` is set" in frozen

    tls = core.list_namespaced_secret("default", field_selector="type=kubernetes.io/tls")
    assert [s.metadata.name for s in tls.items] == ["cert"]
    opaque = core.list_namespaced_secret("default", field_selector="type!=kubernetes.io/tls")
    assert [s.metadata.name for s in opaque.items] == ["frozen"]


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_create_get_describe_secrets(kubeconfig: Path, tmp_path: Path) -> None:
    def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "c"), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0 or not check, result.stderr
        return result

    crt, key = _self_signed(tmp_path)
    created = kubectl("create", "secret", "tls", "shop-cert", f"--cert={crt}", f"--key={key}")
    assert created.stdout.strip() == "secret/shop-cert created"
    kubectl("create", "secret", "generic", "db", "--from-literal=user=admin", "--from-literal=pw=x")

    rows = [line.split() for line in kubectl("get", "secrets").stdout.strip().splitlines()]
    assert rows[0] == ["NAME", "TYPE", "DATA", "AGE"]
    assert rows[1][:3] == ["db", "Opaque", "2"]
    assert rows[2][:3] == ["shop-cert", "kubernetes.io/tls", "2"]

    stored = yaml.safe_load(kubectl("get", "secret", "shop-cert", "-o", "yaml").stdout)
    assert base64.b64decode(stored["data"]["tls.crt"]) == crt.read_bytes()
    described = kubectl("describe", "secret", "shop-cert").stdout
    assert "Type:  kubernetes.io/tls" in described
    assert f"tls.crt:  {len(crt.read_bytes())} bytes" in described
    assert f"tls.key:  {len(key.read_bytes())} bytes" in described

    manifest = tmp_path / "bad.yaml"
    manifest.write_text(yaml.safe_dump(secret("bad", data={"tls.crt": "not base64!"})))
    refused = kubectl("apply", "-f", str(manifest), check=False)
    assert refused.returncode == 1
    assert 'Secret "bad" is invalid: data[tls.crt]: Invalid value' in refused.stderr
