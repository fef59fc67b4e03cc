"""Benchmark: ``albctl apply`` of N Ingresses against a minimal boto3 script making the same calls.

One moto server (``benchmarks/motoserver.py``) for everything. For each N: AWS is reset and
seeded, ``albctl apply`` runs once with every AWS call recorded (operation, parameters,
answer); then, alternately and each on a freshly reset and seeded AWS, the two timed commands
run as new processes, start-up included (albctl's bytecode compiled first, as an install
does):

- ``albctl apply -f DIR`` (``python -m albctl.cli``);
- ``benchmarks/boto3_replay.py``: the recorded calls, in order, with this run's identifiers.

The ratio of the medians is what albctl costs above the AWS calls themselves (interpreter and
imports, manifests, model, diff).

    python benchmarks/oneshot.py --sizes 10 50 --runs 5
    python benchmarks/oneshot.py --sizes 10 --profile   # cProfile and -X importtime of apply
    python benchmarks/oneshot.py --src DIR              # albctl from another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from albctl.aws.clients import AwsClients  # noqa: E402
from albctl.aws.seed import Seeded, node_manifests, seed  # noqa: E402
from albctl.demo import REGION, _fake_credentials, _free_port  # noqa: E402

CLUSTER = "oneshot"


def manifests(n: int, seeded: Seeded) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "alb"},
            "spec": {"controller": "albctl.io/alb"},
        },
        *node_manifests(seeded.instances, REGION),
    ]
    for i in range(n):
        ns = f"team-{i}"
        port = {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30000 + i}
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"type": "NodePort", "ports": [port]},
            }
        )
        backend = {"service": {"name": "web", "port": {"number": 80}}}
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "web",
                    "namespace": ns,
                    "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"},
                },
                "spec": {
                    "ingressClassName": "alb",
                    "rules": [
                        {
                            "host": f"t{i}.example.com",
                            "http": {
                                "paths": [
                                    {"path": p, "pathType": "Prefix", "backend": backend}
                                    for p in ("/", "/api")
                                ]
                            },
                        }
                    ],
                },
            }
        )
    return docs


class Aws:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def fresh(self, n: int, work: Path) -> Seeded:
        """Reset moto, seed it, write the manifests of N Ingresses to ``work``."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
        seeded = seed(AwsClients(region=REGION, user_agent="bench"), CLUSTER, instances=3)
        (work / "app.yaml").write_text(yaml.safe_dump_all(manifests(n, seeded)))
        return seeded


RECORD = """
import pickle, sys
import botocore.client
from botocore import xform_name
from botocore.exceptions import ClientError
from albctl.cli import app

calls = []
real = botocore.client.BaseClient._make_api_call

def recording(self, operation, params):
    service = self.meta.service_model.service_name
    try:
        got = real(self, operation, params)
    except ClientError as exc:
        calls.append((service, xform_name(operation), params, exc.response))
        raise
    calls.append((service, xform_name(operation), params, got))
    return got

botocore.client.BaseClient._make_api_call = recording
try:
    app(["apply", "-f", sys.argv[1]], standalone_mode=False)
finally:
    with open(sys.argv[2], "wb") as f:
        pickle.dump(calls, f)
"""


def record(work: Path, env: dict[str, str]) -> list[tuple[str, str, dict[str, Any], Any]]:
    """Run ``albctl apply`` once with every AWS call recorded: operation, parameters, answer."""
    out = work / "recorded"
    args = [sys.executable, "-c", RECORD, str(work / "app.yaml"), str(out)]
    subprocess.run(
        args,
        env=env,
        cwd=env["PYTHONPATH"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    calls: list[tuple[str, str, dict[str, Any], Any]] = pickle.loads(out.read_bytes())
    return calls


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    # from the checkout measured: "-m" and "-c" put the working directory first on sys.path
    subprocess.run(args, env=env, cwd=env["PYTHONPATH"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(aws: Aws, n: int, runs: int, work: Path, env: dict[str, str]) -> dict[str, Any]:
    recorded_seed = aws.fresh(n, work)
    calls = record(work, env)
    apply_args = [sys.executable, "-m", "albctl.cli", "apply", "-f", str(work / "app.yaml")]
    replay_args = [sys.executable, str(ROOT / "benchmarks/boto3_replay.py"), str(work / "calls")]
    albctl_s, boto3_s = [], []
    for _ in range(runs):
        aws.fresh(n, work)
        albctl_s.append(timed(apply_args, env))
        seeded = aws.fresh(n, work)
        ids = _pairs(asdict(recorded_seed), asdict(seeded))
        (work / "calls").write_bytes(pickle.dumps((ids, calls)))
        boto3_s.append(timed(replay_args, env))
    a, b = statistics.median(albctl_s), statistics.median(boto3_s)
    return {
        "ingresses": n,
        "aws_calls": len(calls),
        "albctl_apply_seconds": round(a, 3),
        "boto3_script_seconds": round(b, 3),
        "ratio": round(a / b, 2),
        "albctl_runs": [round(x, 3) for x in albctl_s],
        "boto3_runs": [round(x, 3) for x in boto3_s],
    }


def _pairs(old: Any, new: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(old, str) and isinstance(new, str) and old != new:
        out[old] = new
    elif isinstance(old, list) and isinstance(new, list):
        for o, n in zip(old, new, strict=False):
            out |= _pairs(o, n)
    elif isinstance(old, dict) and isinstance(new, dict):
        for k in old:
            out |= _pairs(old[k], new.get(k))
    return out


def profile(aws: Aws, n: int, work: Path, env: dict[str, str]) -> None:
    """-X importtime and cProfile of one ``albctl apply`` (top entries to stdout)."""
    aws.fresh(n, work)
    args = [sys.executable, "-X", "importtime", "-m", "albctl.cli", "apply", "-f"]
    done = subprocess.run(
        [*args, str(work / "app.yaml")],
        env=env,
        cwd=env["PYTHONPATH"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time")]
    top = sorted(((int(r[1]), r[2].rstrip()) for r in rows[1:]), reverse=True)[:25]
    print("cumulative import time (us):")
    for us, name in top:
        print(f"{us:>10} {name}")
    aws.fresh(n, work)
    out = work / "apply.prof"
    profiled = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "albctl.cli"]
    subprocess.run(
        [*profiled, "apply", "-f", str(work / "app.yaml")],
        env=env,
        cwd=env["PYTHONPATH"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import pstats

    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--src", type=Path, default=ROOT, help="checkout albctl comes from")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the moto server too
    _fake_credentials()
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks/motoserver.py"), f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/_bench/calls?since=0", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        os.environ["ALBCTL_CLUSTER_NAME"] = CLUSTER
        env = {**os.environ, "PYTHONPATH": str(args.src)}
        # as installed: pip compiles the bytecode (a checkout run with PYTHONDONTWRITEBYTECODE
        # would compile albctl's modules again at every start)
        compile_all = [sys.executable, "-m", "compileall", "-q", str(args.src / "albctl")]
        subprocess.run(compile_all, check=True)
        aws = Aws(endpoint)
        with tempfile.TemporaryDirectory(prefix="albctl-oneshot-") as tmp:
            work = Path(tmp)
            if args.profile:
                profile(aws, args.sizes[0], work, env)
                return
            results = [measure(aws, n, args.runs, work, env) for n in args.sizes]
        print(json.dumps({"src": str(args.src), "runs": args.runs, "results": results}, indent=2))
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
