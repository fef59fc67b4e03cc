"""The ``albctl`` command line.

One-shot mode (plan/apply/delete from manifest files) works with no cluster; AWS settings come
from the standard boto3 chain (AWS_REGION, credentials, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from albctl import __version__
from albctl.errors import AlbctlError
from albctl.logs import setup_logging

app = typer.Typer(
    name="albctl",
    help="Turn Kubernetes Ingress objects into AWS Application Load Balancers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FilesOpt = Annotated[
    list[Path],
    typer.Option(
        "-f", "--filename", help="YAML file or directory (recursive), or - for stdin; repeatable."
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster-name", envvar="ALBCTL_CLUSTER_NAME", help="Cluster name used in ownership tags."
    ),
]
VpcOpt = Annotated[
    str | None,
    typer.Option(
        "--vpc-id", envvar="ALBCTL_VPC_ID", help="VPC (default: inferred from the tagged subnets)."
    ),
]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="AWS region (default: AWS_REGION).")
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="text or json.")]
LogLevelOpt = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")]
IngressClassOpt = Annotated[
    str | None,
    typer.Option(
        "--ingress-class",
        envvar="ALBCTL_INGRESS_CLASS",
        help="Value of kubernetes.io/ingress.class handled (default alb).",
    ),
]
DefaultTagsOpt = Annotated[
    str | None,
    typer.Option(
        "--default-tags", envvar="ALBCTL_DEFAULT_TAGS", help="Tags on every resource: k=v,k2=v2."
    ),
]
TargetTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--default-target-type",
        envvar="ALBCTL_DEFAULT_TARGET_TYPE",
        help="Target type when none is set: instance (default, LBC's) or ip; Ingress and Gateway.",
    ),
]
TakeOverOpt = Annotated[
    bool,
    typer.Option(
        "--take-over-lbc",
        envvar="ALBCTL_TAKE_OVER_LBC",
        help="Adopt, in place, the load balancer the AWS Load Balancer Controller made for a "
        "group albctl has no stack for yet (LBC's tags naming this cluster and group); "
        "docs/migrate.md.",
    ),
]
GatewayControllerOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--gateway-controller-name",
        help="GatewayClass controllerName served (repeatable; default albctl.io/alb; add "
        "gateway.k8s.aws/alb to take over LBC's GatewayClasses).",
    ),
]


def _fail(message: str, code: int = 1) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _engine(args: EngineArgs) -> Any:
    from albctl.aws.clients import AwsClients
    from albctl.config import Settings
    from albctl.controller.engine import Engine

    settings = Settings.resolve(
        args.cluster,
        args.vpc,
        args.region,
        args.ingress_class,
        args.default_tags,
        args.default_target_type,
        list(args.gateway_controller_names),
    )
    settings = settings.model_copy(update={"take_over_lbc": args.take_over_lbc})
    return Engine(settings, AwsClients(region=settings.region))


def _check_output(output: str) -> None:
    if output not in ("text", "json"):
        _fail(f"--output must be text or json, got {output!r}", 2)


@dataclass(frozen=True)
class EngineArgs:
    """The engine settings every one-shot command takes."""

    cluster: str | None
    vpc: str | None
    region: str | None
    ingress_class: str | None
    default_tags: str | None
    default_target_type: str | None = None
    gateway_controller_names: tuple[str, ...] = ()
    take_over_lbc: bool = False

    def with_gateway(self, names: list[str] | None) -> EngineArgs:
        """These settings with the ``--gateway-controller-name`` values given."""
        return dataclasses.replace(self, gateway_controller_names=tuple(names or ()))

    def engine(self) -> Any:
        return _engine(self)


def _run(
    mode: str, files: list[Path], prune: bool, args: EngineArgs, output: str, log_level: str
) -> Any:
    from albctl.manifests import load_manifests

    setup_logging(log_level)
    _check_output(output)
    if not files:
        _fail("no input: pass -f FILE or -f DIRECTORY", 2)
    try:
        return args.engine().run(load_manifests(files), mode, prune=prune)
    except AlbctlError as exc:
        _fail(str(exc))
    return None


def _plan_live(
    kubeconfig: str, group: str | None, args: EngineArgs, output: str, log_level: str
) -> Any:
    from albctl.kube.api import KubeApi
    from albctl.kube.read import cluster_documents
    from albctl.manifests import ObjectSet, parse_documents

    setup_logging(log_level)
    _check_output(output)
    try:
        objects = ObjectSet()
        parse_documents(cluster_documents(KubeApi(kubeconfig)), kubeconfig, objects)
        return args.engine().run(objects, "plan", only=[group] if group else None)
    except AlbctlError as exc:
        _fail(_reach(exc))
    return None


def _finish(report: Any, mode: str, output: str) -> None:
    """Print an apply/delete report and exit non-zero when a group did not converge."""
    from albctl.render import print_report, report_json

    if output == "json":
        sys.stdout.write(json.dumps(report_json(report), indent=2, sort_keys=True) + "\n")
    else:
        print_report(report, mode)
    if not report.ok:
        raise typer.Exit(1)


def _reach(exc: AlbctlError) -> str:
    from albctl.kube.api import Unreachable

    if isinstance(exc, Unreachable):
        return f"cannot reach the Kubernetes API: {exc} (check --kubeconfig / KUBECONFIG)"
    return str(exc)


KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", envvar="KUBECONFIG", help="kubeconfig of the cluster.")
]
ReviewOutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml.")]


def _api(kubeconfig: str | None) -> Any:
    from albctl.kube.api import KubeApi

    return KubeApi(kubeconfig)


@app.command()
def status(
    group: Annotated[
        str | None,
        typer.Argument(help="A LoadBalancerGroup name: also show its live ALB tree from AWS."),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    region: RegionOpt = None,
    output: ReviewOutputOpt = "table",
) -> None:
    """Every load balancer group: DNS, members, readiness, last reconcile."""
    from albctl import review
    from albctl.kube.api import NotFound

    if output not in ("table", "json", "yaml"):
        _fail(f"--output must be table, json or yaml, got {output!r}", 2)
    try:
        api = _api(kubeconfig)
        if group is None:
            review.status_all(api, output)
            return
        from albctl.kube.read import load_balancer_group

        obj = load_balancer_group(api, group)
        arn = ((obj.get("status") or {}).get("loadBalancer") or {}).get("arn")
        tree, tree_error = None, None
        if arn:
            try:
                from albctl.aws.clients import AwsClients
                from albctl.aws.tree import describe_tree

                tree = describe_tree(AwsClients(region=region), arn)
            except Exception as exc:  # AWS may be unreachable: still show the cluster's view
                tree_error = str(exc)
        review.status_one(api, group, output, tree, tree_error)
    except NotFound:
        _fail(f"load balancer group {group!r} not found (albctl status lists them)")
    except AlbctlError as exc:
        _fail(_reach(exc))


@app.command()
def events(
    group: Annotated[
        str | None,
        typer.Option("--group", help="Only this LoadBalancerGroup and its member Ingresses."),
    ] = None,
    ingress: Annotated[
        str | None, typer.Option("--ingress", help="Only this Ingress (NAMESPACE/NAME).")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason, e.g. InvalidIngress.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only events newer than this, e.g. 30m.")
    ] = None,
    watch: Annotated[
        bool, typer.Option("-w", "--watch", help="Keep following new events.")
    ] = False,
    kubeconfig: KubeconfigOpt = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table or json.")] = "table",
) -> None:
    """albctl's Events across groups and Ingresses, oldest first."""
    import datetime

    from albctl import review

    if output not in ("table", "json"):
        _fail(f"--output must be table or json, got {output!r}", 2)
    delta = datetime.timedelta(seconds=parse_duration(since)) if since else None
    try:
        review.events(_api(kubeconfig), group, ingress, reason, delta, watch, output)
    except KeyboardInterrupt:
        return
    except AlbctlError as exc:
        _fail(_reach(exc))


@app.command()
def history(
    group: Annotated[str, typer.Argument(help="A LoadBalancerGroup name.")],
    kubeconfig: KubeconfigOpt = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table or json.")] = "table",
) -> None:
    """The reconciles of a group that changed something or failed, newest first."""
    from albctl import review
    from albctl.kube.api import NotFound

    if output not in ("table", "json"):
        _fail(f"--output must be table or json, got {output!r}", 2)
    try:
        review.history(_api(kubeconfig), group, output)
    except NotFound:
        _fail(f"load balancer group {group!r} not found (albctl status lists them)")
    except AlbctlError as exc:
        _fail(_reach(exc))


@app.command()
def plan(
    filename: FilesOpt = [],  # noqa: B006
    kubeconfig: Annotated[
        str | None,
        typer.Option("--kubeconfig", help="Plan the live cluster (read-only) instead of files."),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group", help="With --kubeconfig: only this group (name or LoadBalancerGroup name)."
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Also plan deleting stacks of this cluster that are not in the files."
        ),
    ] = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    cluster_name: ClusterOpt = None,
    vpc_id: VpcOpt = None,
    region: RegionOpt = None,
    ingress_class: IngressClassOpt = None,
    default_tags: DefaultTagsOpt = None,
    default_target_type: TargetTypeOpt = None,
    gateway_controller_name: GatewayControllerOpt = None,
    take_over_lbc: TakeOverOpt = False,
    output: OutputOpt = "text",
    log_level: LogLevelOpt = "warning",
) -> None:
    """Show what apply would change in AWS (changes nothing): for the files, or the live cluster."""
    from albctl.render import print_report

    args = EngineArgs(
        cluster_name,
        vpc_id,
        region,
        ingress_class,
        default_tags,
        default_target_type,
        take_over_lbc=take_over_lbc,
    ).with_gateway(gateway_controller_name)
    if kubeconfig:
        report = _plan_live(kubeconfig, group, args, output, log_level)
    else:
        report = _run("plan", filename, prune, args, output, log_level)
    if output == "json":
        sys.stdout.write(json.dumps(report.plan_json(), indent=2, sort_keys=True) + "\n")
    else:
        print_report(report, "plan")
    changes = report.has_changes
    if not report.ok:
        raise typer.Exit(1)
    if detailed_exitcode and changes:
        raise typer.Exit(2)


@app.command()
def apply(
    filename: FilesOpt = [],  # noqa: B006
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Also delete stacks of this cluster that are not in the files."
        ),
    ] = False,
    cluster_name: ClusterOpt = None,
    vpc_id: VpcOpt = None,
    region: RegionOpt = None,
    ingress_class: IngressClassOpt = None,
    default_tags: DefaultTagsOpt = None,
    default_target_type: TargetTypeOpt = None,
    gateway_controller_name: GatewayControllerOpt = None,
    take_over_lbc: TakeOverOpt = False,
    output: OutputOpt = "text",
    log_level: LogLevelOpt = "warning",
) -> None:
    """Make AWS match the Ingresses and Gateways in the files. Idempotent; invalid Ingresses
    are left as they are."""
    args = EngineArgs(
        cluster_name,
        vpc_id,
        region,
        ingress_class,
        default_tags,
        default_target_type,
        take_over_lbc=take_over_lbc,
    ).with_gateway(gateway_controller_name)
    _finish(_run("apply", filename, prune, args, output, log_level), "apply", output)


@app.command()
def delete(
    filename: FilesOpt = [],  # noqa: B006
    cluster_name: ClusterOpt = None,
    vpc_id: VpcOpt = None,
    region: RegionOpt = None,
    ingress_class: IngressClassOpt = None,
    gateway_controller_name: GatewayControllerOpt = None,
    output: OutputOpt = "text",
    log_level: LogLevelOpt = "warning",
) -> None:
    """Delete the AWS resources of the IngressGroups and Gateways in the files (only resources
    albctl owns)."""
    args = EngineArgs(cluster_name, vpc_id, region, ingress_class, None).with_gateway(
        gateway_controller_name
    )
    _finish(_run("delete", filename, False, args, output, log_level), "delete", output)


@app.command()
def demo(
    examples: Annotated[
        Path | None,
        typer.Option("--examples", help="Manifests to use (default: the bundled example app)."),
    ] = None,
    one_shot: Annotated[
        bool,
        typer.Option(
            "--one-shot", help="File-based apply against in-process moto instead of the live loop."
        ),
    ] = False,
) -> None:
    """Run the example app on an embedded cluster and AWS: controller, ALB tree, status, Events, cleanup."""
    from albctl.demo import run_demo

    try:
        code = run_demo(examples, one_shot=one_shot)
    except AlbctlError as exc:
        _fail(str(exc))
        return
    raise typer.Exit(code)


# where controller-runtime (and so cert-manager setups made for LBC) put the certificate
DEFAULT_WEBHOOK_CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"


@app.command()
def migrate(
    filename: Annotated[
        list[str],
        typer.Option("-f", "--filename", help="Manifests: file, directory or - (stdin)."),
    ] = [],  # noqa: B006
    report: Annotated[
        str, typer.Option("--report", help="Report format on stderr: text or json.")
    ] = "text",
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="albctl: ingress-nginx Ingresses into albctl's; gateway: albctl's or LBC's "
            "Ingresses into the Gateway API, on the same load balancers.",
        ),
    ] = "albctl",
    cluster_name: ClusterOpt = None,
    default_target_type: TargetTypeOpt = None,
) -> None:
    """Convert Ingresses: ingress-nginx's into albctl's (--to albctl), or albctl's and LBC's
    into Gateway API manifests that adopt their load balancers (--to gateway). YAML on
    stdout, report on stderr.

    Exit 0 when everything mapped exactly, 3 when something was approximated or unsupported."""
    import yaml

    from albctl.manifests import read_documents
    from albctl.migrate import render_text

    if report not in ("text", "json"):
        _fail(f"--report must be text or json, got {report!r}", 2)
    if to not in ("albctl", "gateway"):
        _fail(f"--to must be albctl or gateway, got {to!r}", 2)
    if not filename:
        _fail("no input: pass -f FILE, -f DIRECTORY or -f -", 1)
    try:
        docs = [doc for _, got in read_documents(filename) for doc in got]
        result = _convert(docs, to, cluster_name, default_target_type)
    except AlbctlError as exc:
        _fail(str(exc))
        return

    class _Plain(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # every document written out in full, no anchors

    text = yaml.dump_all(result.documents, Dumper=_Plain, sort_keys=False, width=4096)
    sys.stdout.write(text)
    if report == "json":
        sys.stderr.write(json.dumps(result.report.to_json(), indent=2) + "\n")
    else:
        sys.stderr.write(render_text(result.report))
    raise typer.Exit(result.report.exit_code)


def _convert(docs: list[Any], to: str, cluster: str | None, target_type: str | None) -> Any:
    from albctl.migrate import migrate as from_nginx

    if to == "albctl":
        return from_nginx(docs)
    from albctl.migrate.gateway import to_gateway
    from albctl.model.settings import BuildSettings

    if not cluster:
        _fail(
            "--to gateway needs the cluster name (--cluster-name or ALBCTL_CLUSTER_NAME): the "
            "load balancers' names derive from it",
            2,
        )
    if target_type not in (None, "ip", "instance"):
        _fail(f"--default-target-type must be ip or instance, got {target_type!r}", 2)
    settings = BuildSettings(
        cluster_name=cluster or "", default_target_type=target_type or "instance"
    )
    return to_gateway(docs, settings)


def _route_tables(
    files: list[str], kubeconfig: str | None, cluster: str | None, region: str | None
) -> list[Any]:
    from albctl.route import tables_from_files

    if files:
        return tables_from_files(files, cluster)
    from albctl.aws.clients import AwsClients
    from albctl.aws.routes import albctl_load_balancers, read_table

    clients = AwsClients(region=region)
    if kubeconfig:
        from albctl.kube.read import load_balancer_groups

        arns = [
            arn
            for g in load_balancer_groups(_api(kubeconfig))
            if (arn := ((g.get("status") or {}).get("loadBalancer") or {}).get("arn"))
        ]
    else:
        arns = albctl_load_balancers(clients, cluster)
    return [read_table(clients, arn) for arn in arns]


@app.command()
def route(
    method: Annotated[str | None, typer.Argument(help="HTTP method, e.g. GET.")] = None,
    url: Annotated[
        str | None, typer.Argument(help="URL, e.g. https://shop.example.com/cart.")
    ] = None,
    header: Annotated[
        list[str], typer.Option("-H", "--header", help="Request header 'Name: value'; repeatable.")
    ] = [],  # noqa: B006
    filename: Annotated[
        list[str],
        typer.Option("-f", "--filename", help="Route against these manifests (no AWS)."),
    ] = [],  # noqa: B006
    kubeconfig: Annotated[
        str | None,
        typer.Option("--kubeconfig", help="Find the load balancers through this cluster's groups."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Requests, one a line: METHOD URL [-H 'Name: value']..."),
    ] = None,
    source_ip: Annotated[
        str | None,
        typer.Option("--source-ip", help="Client address, for source-ip conditions."),
    ] = None,
    cluster_name: ClusterOpt = None,
    region: RegionOpt = None,
    output: Annotated[str, typer.Option("-o", "--output", help="text or json.")] = "text",
) -> None:
    """Which listener rule of the live ALB (or of manifests, -f) serves a request, and where it goes."""
    from albctl import route as routing
    from albctl.model.router import parse_request

    _check_output(output)
    if (method is None or url is None) and from_file is None:
        _fail("pass METHOD URL, or --from FILE", 2)
    try:
        lines = from_file.read_text().splitlines() if from_file else []
        tables = _route_tables(filename, kubeconfig, cluster_name, region)
        if from_file is not None:
            routing.print_table(routing.route_file(tables, lines, source_ip), output)
            return
        assert method is not None and url is not None
        req = parse_request(method, url, header, source_ip)
        routing.print_one(*routing.route_one(tables, req), output)
    except OSError as exc:
        _fail(f"{from_file}: {exc.strerror}")
    except AlbctlError as exc:
        _fail(_reach(exc))


def parse_duration(text: str) -> float:
    """``90``, ``30s``, ``10m``, ``1h`` → seconds."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration like 30s, 10m or 1h") from None


def missing_run_settings(cluster_name: str | None, region: str | None) -> list[str]:
    """What ``albctl run`` needs and was not given, each with how to give it. The controller
    checks this before it connects to anything, so a pod without them exits at once with the
    reason in its log instead of failing later."""
    from albctl.aws.clients import resolve_region

    missing = []
    if not (cluster_name or os.environ.get("ALBCTL_CLUSTER_NAME")):
        missing.append(
            "no cluster name: pass --cluster-name or set ALBCTL_CLUSTER_NAME "
            "(with the Helm chart: --set clusterName=<name>)"
        )
    if not resolve_region(region):
        missing.append(
            "no AWS region: pass --region or set AWS_REGION "
            "(with the Helm chart: --set region=<region>). On EKS, IRSA sets AWS_REGION in the "
            "pod; EKS Pod Identity and node instance roles do not, so set it there"
        )
    return missing


@app.command()
def run(
    kubeconfig: Annotated[
        str | None,
        typer.Option(
            "--kubeconfig",
            envvar="KUBECONFIG",
            help="kubeconfig file (default: in-cluster config).",
        ),
    ] = None,
    cluster_name: ClusterOpt = None,
    vpc_id: VpcOpt = None,
    region: RegionOpt = None,
    ingress_class: IngressClassOpt = None,
    default_tags: DefaultTagsOpt = None,
    watch_namespace: Annotated[
        list[str],
        typer.Option(
            "--watch-namespace",
            envvar="ALBCTL_WATCH_NAMESPACES",
            help="Namespace to watch; repeatable (default: all).",
        ),
    ] = [],  # noqa: B006
    workers: Annotated[
        int,
        typer.Option(
            "--workers", envvar="ALBCTL_WORKERS", min=1, help="Groups reconciled in parallel."
        ),
    ] = 4,
    resync_period: Annotated[
        str,
        typer.Option(
            "--resync-period",
            envvar="ALBCTL_RESYNC_PERIOD",
            help="Every group is reconciled this often (drift correction).",
        ),
    ] = "10m",
    leader_elect: Annotated[
        bool,
        typer.Option(
            "--leader-elect/--no-leader-elect",
            envvar="ALBCTL_LEADER_ELECT",
            help="Elect a leader on a Lease (for several replicas).",
        ),
    ] = True,
    leader_election_namespace: Annotated[
        str | None,
        typer.Option(
            "--leader-election-namespace",
            help="Namespace of the Lease (default: POD_NAMESPACE or kube-system).",
        ),
    ] = None,
    leader_election_id: Annotated[
        str, typer.Option("--leader-election-id", help="Name of the Lease.")
    ] = "albctl-leader",
    lease_duration: Annotated[
        str, typer.Option("--lease-duration", help="How long a lease is valid without renewal.")
    ] = "15s",
    shards: Annotated[
        int,
        typer.Option(
            "--shards",
            envvar="ALBCTL_SHARDS",
            min=1,
            help="Spread IngressGroups over this many shards, each with its own Lease "
            "(<leader-election-id>-<shard>); replicas share the shards. 1: one leader.",
        ),
    ] = 1,
    metrics_bind_address: Annotated[
        str,
        typer.Option(
            "--metrics-bind-address",
            envvar="ALBCTL_METRICS_BIND_ADDRESS",
            help="host:port for /metrics ('0' to disable).",
        ),
    ] = ":8080",
    health_probe_bind_address: Annotated[
        str,
        typer.Option(
            "--health-probe-bind-address",
            envvar="ALBCTL_HEALTH_PROBE_BIND_ADDRESS",
            help="host:port for /healthz and /readyz ('0' to disable).",
        ),
    ] = ":8081",
    log_format: Annotated[
        str, typer.Option("--log-format", envvar="ALBCTL_LOG_FORMAT", help="text or json.")
    ] = "text",
    log_level: LogLevelOpt = "info",
    enable_backend_security_group: Annotated[
        bool,
        typer.Option(
            "--enable-backend-security-group/--no-enable-backend-security-group",
            envvar="ALBCTL_ENABLE_BACKEND_SECURITY_GROUP",
            help="Shared backend security group on ALBs with the managed frontend group, "
            "allowed on the targets' security groups.",
        ),
    ] = True,
    backend_security_group: Annotated[
        str | None,
        typer.Option(
            "--backend-security-group",
            envvar="ALBCTL_BACKEND_SECURITY_GROUP",
            help="Use this security group (sg-...) as the backend group.",
        ),
    ] = None,
    import_tls_secrets: Annotated[
        bool,
        typer.Option(
            "--import-tls-secrets/--no-import-tls-secrets",
            envvar="ALBCTL_IMPORT_TLS_SECRETS",
            help="Import the kubernetes.io/tls Secrets of spec.tls into ACM.",
        ),
    ] = True,
    wildcard_host_matching: Annotated[
        str,
        typer.Option(
            "--wildcard-host-matching",
            envvar="ALBCTL_WILDCARD_HOST_MATCHING",
            help="Ingress wildcard hosts (*.foo.com): 'exact' matches one more DNS label, as "
            "the Ingress spec says; 'alb' keeps ALB's wildcard (any number of labels).",
        ),
    ] = "exact",
    webhook_bind_address: Annotated[
        str,
        typer.Option(
            "--webhook-bind-address",
            envvar="ALBCTL_WEBHOOK_BIND_ADDRESS",
            help="host:port of the HTTPS admission webhooks (pod readiness gates, Ingress "
            "validation); '0' to disable.",
        ),
    ] = ":9443",
    webhook_cert_dir: Annotated[
        str,
        typer.Option(
            "--webhook-cert-dir",
            envvar="ALBCTL_WEBHOOK_CERT_DIR",
            help="Directory with the webhooks' tls.crt and tls.key (reloaded when they change).",
        ),
    ] = DEFAULT_WEBHOOK_CERT_DIR,
    default_target_type: TargetTypeOpt = None,
    gateway_controller_name: GatewayControllerOpt = None,
    take_over_lbc: TakeOverOpt = False,
    lbc_namespace: Annotated[
        str,
        typer.Option(
            "--lbc-namespace",
            envvar="ALBCTL_LBC_NAMESPACE",
            help="With --take-over-lbc: the namespace of LBC's leader-election Lease "
            "(aws-load-balancer-controller-leader); while it is held, nothing is taken over.",
        ),
    ] = "kube-system",
) -> None:
    """Run the controller against a Kubernetes API (kubeconfig or in-cluster)."""
    from albctl.config import Settings, wildcard_matching
    from albctl.controller.run import (
        Controller,
        RunOptions,
        default_namespace,
        limit_malloc_arenas,
    )
    from albctl.logs import log_event
    from albctl.version import build_info

    if log_format not in ("text", "json"):
        _fail(f"--log-format must be text or json, got {log_format!r}", 2)
    missing = missing_run_settings(cluster_name, region)
    if missing:
        _fail("albctl run cannot start:\n" + "\n".join(f"  - {m}" for m in missing), 2)
    setup_logging(log_level, log_format)
    limit_malloc_arenas()
    info = build_info()
    log_event(
        logging.getLogger("albctl.run"),
        "starting",
        version=info.version,
        commit=info.commit,
        cluster=cluster_name,
    )
    namespaces = [n for item in watch_namespace for n in item.split(",") if n.strip()]
    lease = parse_duration(lease_duration)
    try:
        settings = Settings.resolve(
            cluster_name,
            vpc_id,
            region,
            ingress_class,
            default_tags,
            default_target_type,
            list(gateway_controller_name or []),
        ).model_copy(
            update={
                "enable_backend_sg": enable_backend_security_group,
                "backend_sg": backend_security_group or None,
                "import_tls_secrets": import_tls_secrets,
                "wildcard_host_matching": wildcard_matching(wildcard_host_matching),
                "take_over_lbc": take_over_lbc,
                "lbc_namespace": lbc_namespace,
            }
        )
        options = RunOptions(
            kubeconfig=kubeconfig,
            watch_namespaces=namespaces,
            workers=workers,
            resync_period=parse_duration(resync_period),
            leader_elect=leader_elect,
            leader_election_namespace=leader_election_namespace or default_namespace(),
            leader_election_id=leader_election_id,
            shards=shards,
            lease_duration=lease,
            renew_deadline=lease * 2 / 3,
            retry_period=max(lease / 7.5, 0.2),
            metrics_bind_address=metrics_bind_address,
            health_probe_bind_address=health_probe_bind_address,
            webhook_bind_address=webhook_bind_address,
            webhook_cert_dir=webhook_cert_dir,
        )
        Controller(settings, options).run_until_signal()
    except AlbctlError as exc:
        _fail(str(exc))


@app.command()
def sandbox(
    port: Annotated[
        int, typer.Option("--port", help="Port on 127.0.0.1 (0 = pick a free one).")
    ] = 0,
    kubeconfig: Annotated[
        Path, typer.Option("--kubeconfig", help="Where to write a kubeconfig for the sandbox.")
    ] = Path("sandbox.kubeconfig"),
    service_address: Annotated[
        list[str],
        typer.Option(
            "--service-address",
            help="Where a Service named by a webhook's clientConfig listens: "
            "ns/name=host:port; repeatable.",
        ),
    ] = [],  # noqa: B006
) -> None:
    """Serve an in-memory Kubernetes API on 127.0.0.1 until SIGINT/SIGTERM (for demos and tests)."""
    from albctl.sandbox.server import SandboxServer, parse_service_address

    try:
        addresses = dict(parse_service_address(a) for a in service_address)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--service-address") from None
    SandboxServer(
        host="127.0.0.1", port=port, service_addresses=addresses
    ).serve_forever_until_signal(str(kubeconfig))


@app.command("iam-policy")
def iam_policy() -> None:
    """Print the IAM policy the controller needs (JSON), e.g. for aws iam create-policy."""
    from albctl.iam import policy

    sys.stdout.write(json.dumps(policy(), indent=2) + "\n")


@app.command()
def version(
    short: Annotated[bool, typer.Option("--short", help="Print only the version number.")] = False,
    output: OutputOpt = "text",
) -> None:
    """Print albctl's version and the commit it was built from."""
    from albctl.version import build_info

    if short:
        typer.echo(__version__)
        return
    info = build_info()
    if output == "json":
        typer.echo(json.dumps({"version": info.version, "commit": info.commit}))
    elif output == "text":
        typer.echo(str(info))
    else:
        _fail(f"-o must be text or json, got {output!r}", 2)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
