"""The ``albctl`` command line.

One-shot mode (plan/apply/delete from manifest files) works with no cluster; AWS settings come
from the standard boto3 chain (AWS_REGION, credentials, AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

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
    typer.Option("-f", "--filename", help="YAML file or directory (recursive); repeatable."),
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


def _fail(message: str, code: int = 1) -> None:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _engine(
    cluster: str | None,
    vpc: str | None,
    region: str | None,
    ingress_class: str | None,
    default_tags: str | None,
) -> Any:
    from albctl.aws.clients import AwsClients
    from albctl.config import Settings
    from albctl.controller.engine import Engine

    settings = Settings.resolve(cluster, vpc, region, ingress_class, default_tags)
    return Engine(settings, AwsClients(region=settings.region))


def _check_output(output: str) -> None:
    if output not in ("text", "json"):
        _fail(f"--output must be text or json, got {output!r}", 2)


def _run(
    mode: str,
    files: list[Path],
    prune: bool,
    cluster: str | None,
    vpc: str | None,
    region: str | None,
    ingress_class: str | None,
    default_tags: str | None,
    output: str,
    log_level: str,
) -> Any:
    from albctl.manifests import load_manifests

    setup_logging(log_level)
    _check_output(output)
    if not files:
        _fail("no input: pass -f FILE or -f DIRECTORY", 2)
    try:
        objects = load_manifests(files)
        engine = _engine(cluster, vpc, region, ingress_class, default_tags)
        return engine.run(objects, mode, prune=prune)
    except AlbctlError as exc:
        _fail(str(exc))
    return None


@app.command()
def plan(
    filename: FilesOpt = [],  # noqa: B006
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
    output: OutputOpt = "text",
    log_level: LogLevelOpt = "warning",
) -> None:
    """Show what apply would change in AWS for the Ingresses in the files (changes nothing)."""
    from albctl.render import print_report

    report = _run(
        "plan",
        filename,
        prune,
        cluster_name,
        vpc_id,
        region,
        ingress_class,
        default_tags,
        output,
        log_level,
    )
    if output == "json":
        sys.stdout.write(json.dumps(report.plan_json(), indent=2, sort_keys=True) + "\n")
    else:
        print_report(report, "plan")
    changes = any(o.plan.changes for o in report.outcomes)
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
    output: OutputOpt = "text",
    log_level: LogLevelOpt = "warning",
) -> None:
    """Make AWS match the Ingresses in the files. Idempotent; invalid Ingresses are left as they are."""
    from albctl.render import print_report, report_json

    report = _run(
        "apply",
        filename,
        prune,
        cluster_name,
        vpc_id,
        region,
        ingress_class,
        default_tags,
        output,
        log_level,
    )
    if output == "json":
        sys.stdout.write(json.dumps(report_json(report), indent=2, sort_keys=True) + "\n")
    else:
        print_report(report, "apply")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def delete(
    filename: FilesOpt = [],  # noqa: B006
    cluster_name: ClusterOpt = None,
    vpc_id: VpcOpt = None,
    region: RegionOpt = None,
    ingress_class: IngressClassOpt = None,
    output: OutputOpt = "text",
    log_level: LogLevelOpt = "warning",
) -> None:
    """Delete the AWS resources of the IngressGroups in the files (only resources albctl owns)."""
    from albctl.render import print_report, report_json

    report = _run(
        "delete",
        filename,
        False,
        cluster_name,
        vpc_id,
        region,
        ingress_class,
        None,
        output,
        log_level,
    )
    if output == "json":
        sys.stdout.write(json.dumps(report_json(report), indent=2, sort_keys=True) + "\n")
    else:
        print_report(report, "delete")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def demo(
    examples: Annotated[
        Path | None,
        typer.Option("--examples", help="Manifests to apply (default: the bundled example app)."),
    ] = None,
) -> None:
    """Run the example app against an embedded AWS (moto): apply, show the ALB tree, re-plan."""
    from albctl.demo import run_demo

    try:
        code = run_demo(examples)
    except AlbctlError as exc:
        _fail(str(exc))
        return
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print albctl's version."""
    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
