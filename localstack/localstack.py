#!/usr/bin/env python3
"""Run community LocalStack on the host (no docker) as a second AWS backend for albctl.

    localstack/run.sh start [--port 4566]   # install on first use, start, wait for health
    localstack/run.sh status                # exit 0 when running and healthy
    localstack/run.sh check                 # VPC + subnets + ALB through boto3, then clean up
    localstack/run.sh stop                  # SIGTERM, then SIGKILL after a grace period

LocalStack lives in its own virtualenv (``localstack/.venv``): it pins boto3 and must never
share albctl's venv. localstack-core 4.13.1 is the last release that runs on Python 3.11; the
dependency pins in ``constraints.txt`` work around packages that drifted since the LocalStack
repository was archived. The provider plugin in ``albctl_localstack_plugin/`` adds elbv2,
wafv2 and shield, which community LocalStack does not serve, on top of its bundled moto.

Only the Python standard library is used here, so any Python >= 3.10 can run this script.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
RUN = HERE / ".run"
PID_FILE = RUN / "localstack.pid"
PORT_FILE = RUN / "localstack.port"
LOG_FILE = RUN / "localstack.log"
PLUGIN = HERE / "albctl_localstack_plugin"
CONSTRAINTS = HERE / "constraints.txt"
STAMP = VENV / ".albctl-installed"

LOCALSTACK_VERSION = "4.13.1"
# The lean install: LocalStack's base runtime plus moto (not the whole [runtime] extra with
# awscli, jpype, opensearch, ...). pyparsing is needed by moto's tagging API.
REQUIREMENTS = (
    f"localstack-core[base-runtime]=={LOCALSTACK_VERSION}",
    "moto-ext",
    "pyparsing",
    "service_identity==24.2.0",
)
SERVICES = "ec2,acm,iam,sts,resourcegroupstaggingapi,elbv2,wafv2,shield"
HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def _say(msg: str) -> None:
    print(f"localstack: {msg}", file=sys.stderr, flush=True)


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _install_fingerprint() -> str:
    """Changes whenever the requirements, the pins or the plugin sources change."""
    h = hashlib.sha256()
    h.update("\n".join(REQUIREMENTS).encode())
    h.update(CONSTRAINTS.read_bytes())
    for path in sorted(PLUGIN.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
            h.update(str(path.relative_to(PLUGIN)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def install(force: bool = False) -> None:
    """Create localstack/.venv and install LocalStack, the pins and the plugin (idempotent)."""
    fingerprint = _install_fingerprint()
    if not force and STAMP.is_file() and STAMP.read_text().strip() == fingerprint:
        return
    python = os.environ.get("LOCALSTACK_PYTHON", sys.executable)
    if not _venv_python().exists():
        _say(f"creating {VENV} with {python}")
        if python == sys.executable:
            venv.EnvBuilder(with_pip=True).create(VENV)
        else:
            subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    version = subprocess.run(
        [str(_venv_python()), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    major, minor = (int(x) for x in version.split("."))
    if (major, minor) < (3, 10):
        raise SystemExit(f"localstack: Python {version} is too old (need >= 3.10)")
    started = time.monotonic()
    _say(f"installing localstack-core {LOCALSTACK_VERSION} into {VENV} (Python {version})")
    pip = [str(_venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, *REQUIREMENTS, "-c", str(CONSTRAINTS), str(PLUGIN)],
        check=True,
    )
    # the plugin's version never changes; make sure a changed source is really re-installed
    subprocess.run(
        [*pip, "--force-reinstall", "--no-deps", str(PLUGIN)],
        check=True,
    )
    # build artefacts setuptools leaves in the source tree
    for leftover in (PLUGIN / "build", *PLUGIN.glob("*.egg-info")):
        shutil.rmtree(leftover, ignore_errors=True)
    STAMP.write_text(fingerprint + "\n")
    _say(f"installed in {time.monotonic() - started:.0f} s")


def _read_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # a zombie or a reused pid that is not ours: check the command line
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid
    return pid if b"localstack.runtime.main" in cmdline else None


def _port() -> int:
    try:
        return int(PORT_FILE.read_text().strip())
    except (OSError, ValueError):
        return DEFAULT_PORT


def health(port: int, timeout: float = 2.0) -> dict[str, Any] | None:
    url = f"http://{HOST}:{port}/_localstack/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            data: dict[str, Any] = json.loads(resp.read().decode())
            return data
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _environment(port: int) -> dict[str, str]:
    scratch = RUN / "data"
    tmp = scratch / "tmp"
    for d in (scratch, tmp, scratch / "config", scratch / "volume"):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_", "PYTHON"))
    }
    env.update(
        {
            # loopback only: the default twisted gateway ignores the host of GATEWAY_LISTEN
            "GATEWAY_LISTEN": f"{HOST}:{port}",
            "GATEWAY_SERVER": "hypercorn",
            "DNS_ADDRESS": "0",  # no DNS server on :53
            "DISABLE_EVENTS": "1",  # no analytics
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "PERSISTENCE": "0",
            "SERVICES": SERVICES,
            "EAGER_SERVICE_LOADING": "1",
            "TMPDIR": str(tmp),
            "CONFIG_DIR": str(scratch / "config"),
            "LOCALSTACK_VOLUME_DIR": str(scratch / "volume"),
            "FILESYSTEM_ROOT": str(scratch),
        }
    )
    return env


def start(port: int, timeout: float) -> int:
    pid = _read_pid()
    if pid is not None:
        _say(f"already running (pid {pid}) on http://{HOST}:{_port()}")
        return 0
    install()
    if health(port, timeout=0.5) is not None:
        _say(f"port {port} already answers /_localstack/health: another LocalStack is running")
        return 1
    RUN.mkdir(parents=True, exist_ok=True)
    log = LOG_FILE.open("ab")
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(_venv_python()), "-m", "localstack.runtime.main"],
        cwd=RUN,
        env=_environment(port),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop signals the whole tree
    )
    log.close()
    PID_FILE.write_text(f"{proc.pid}\n")
    PORT_FILE.write_text(f"{port}\n")
    deadline = started + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _say(f"exited with {proc.returncode} during start-up; see {LOG_FILE}")
            PID_FILE.unlink(missing_ok=True)
            return 1
        state = health(port, timeout=1.0)
        services = (state or {}).get("services", {})
        if state is not None and services.get("elbv2") in ("running", "available"):
            elapsed = time.monotonic() - started
            _say(
                f"ready in {elapsed:.1f} s: http://{HOST}:{port} (pid {proc.pid}, "
                f"version {state.get('version')}, elbv2 {services.get('elbv2')})"
            )
            print(f"http://{HOST}:{port}")
            return 0
        if state is not None and "elbv2" not in services:
            _say("LocalStack answers but serves no elbv2: is the plugin installed?")
        time.sleep(0.25)
    _say(f"not healthy after {timeout:.0f} s; see {LOG_FILE}")
    stop()
    return 1


def stop(grace: float = 20.0) -> int:
    pid = _read_pid()
    if pid is None:
        PID_FILE.unlink(missing_ok=True)
        _say("not running")
        return 0
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        _say(f"pid {pid} still alive after {grace:.0f} s: SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    _say(f"stopped (pid {pid})")
    return 0


def _alive(pid: int) -> bool:
    # reap it if it is our child (it is not when started by another invocation)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def status() -> int:
    pid = _read_pid()
    port = _port()
    state = health(port) if pid is not None else None
    if pid is None:
        print("stopped")
        return 3
    if state is None:
        print(f"starting or unhealthy (pid {pid}, http://{HOST}:{port}); see {LOG_FILE}")
        return 1
    services = state.get("services", {})
    wanted = {s: services.get(s, "missing") for s in SERVICES.split(",")}
    print(
        json.dumps(
            {
                "pid": pid,
                "endpoint": f"http://{HOST}:{port}",
                "version": state.get("version"),
                "services": wanted,
            },
            indent=2,
        )
    )
    return 0


CHECK_SCRIPT = r"""
import sys, uuid
import boto3
endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
ec2, elb = boto3.client("ec2", **kw), boto3.client("elbv2", **kw)
name = "check-" + uuid.uuid4().hex[:8]
vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24",
                      AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
    for i, az in enumerate("ab")
]
sg = ec2.create_security_group(GroupName=name, Description="check", VpcId=vpc)["GroupId"]
lb = elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[sg],
                              Scheme="internet-facing", Type="application",
                              Tags=[{"Key": "albctl.io/cluster", "Value": "check"}])
lb = lb["LoadBalancers"][0]
tg = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc,
                             TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                               DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
print("created", lb["LoadBalancerArn"], lb["DNSName"])
elb.delete_listener(ListenerArn=listener["Listeners"][0]["ListenerArn"])
elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
elb.delete_target_group(TargetGroupArn=tg)
ec2.delete_security_group(GroupId=sg)
for s in subnets:
    ec2.delete_subnet(SubnetId=s)
ec2.delete_vpc(VpcId=vpc)
print("ok: VPC, 2 subnets, security group, ALB, target group and listener created and deleted")
"""


def check() -> int:
    """Create (and delete) a VPC, subnets and an ALB with LocalStack's own boto3."""
    if _read_pid() is None:
        _say("not running: start it first")
        return 1
    return subprocess.run(
        [str(_venv_python()), "-c", CHECK_SCRIPT, f"http://{HOST}:{_port()}"], check=False
    ).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="install on first use, start and wait for health")
    p_start.add_argument(
        "--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", DEFAULT_PORT))
    )
    p_start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")
    sub.add_parser("stop", help="stop the LocalStack started by 'start'")
    sub.add_parser("status", help="print pid and service states; exit 0 when healthy")
    sub.add_parser("check", help="create and delete an ALB through the running LocalStack")
    p_install = sub.add_parser("install", help="(re)create the LocalStack venv only")
    p_install.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "start":
        return start(args.port, args.timeout)
    if args.command == "stop":
        return stop()
    if args.command == "status":
        return status()
    if args.command == "check":
        return check()
    install(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
