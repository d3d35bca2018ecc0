"""``skoala-airgap load SOURCE --runtime docker|podman|containerd``: put images straight into a node's runtime."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.context import inputs_from, open_input_source, plan_for
from skoala_airgap.cli.options import output_options, rule_options
from skoala_airgap.cli.progress import ConsoleProgress
from skoala_airgap.cli.render import finish, human_bytes, warn
from skoala_airgap.errors import InputError, PartialFailure

RUNTIMES = ("docker", "podman", "containerd")


# containerd's identifier rule (namespaces.Validate): checked up front, before any image is streamed.
_NAMESPACE = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")


@click.command("load", short_help="Load the images into docker, podman or containerd.")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("--runtime", type=click.Choice(RUNTIMES), required=True, help="The runtime to load into.")
@click.option("--host", default=None, help="docker/podman API socket [DOCKER_HOST / CONTAINER_HOST or the default].")
@click.option(
    "--address",
    envvar="CONTAINERD_ADDRESS",
    default="/run/containerd/containerd.sock",
    show_default=True,
    help="containerd socket.",
)
@click.option("--namespace", default="k8s.io", show_default=True, help="containerd namespace (kubelet uses k8s.io).")
@rule_options
@click.option("--untag-source", is_flag=True, help="Leave only the relocated names (remove the source names).")
@click.option(
    "--concurrency", type=click.IntRange(1, 16), default=2, show_default=True, help="Archives loaded side by side."
)
@click.option("--no-unpack", is_flag=True, help="containerd: import without unpacking into the snapshotter.")
@output_options
def load_command(source: Path | None, **opts: Any) -> None:
    """Load every image of SOURCE (package, bundle, bundle folder, images.tar or OCI layout) into a runtime.

    With rewrite rules each image gets the name the relocated charts pull (the same names push-images
    gives the registry); without, it keeps its source name.

    Example: skoala-airgap load skoala_v0.28.1_amd64.tar --runtime containerd --prefix-registry harbor.example.com
    """
    from skoala_airgap.destinations.runtime.stream import stream_size
    from skoala_airgap.workflows.load import LoadSettings, default_host, load_plan

    runtime = opts["runtime"]
    if runtime == "containerd" and opts["host"]:
        raise InputError("--host is for docker/podman; give containerd's socket with --address")
    if runtime == "containerd" and not _NAMESPACE.fullmatch(opts["namespace"]):
        raise InputError(f"--namespace {opts['namespace']}: not a containerd namespace (letters, digits, . _ -)")
    inputs = inputs_from(source, opts)
    plan = plan_for(inputs, open_input_source(inputs))
    for problem in plan.problems:
        warn(problem)
    where = opts["address"] if runtime == "containerd" else (opts["host"] or default_host(runtime))
    settings = LoadSettings(
        runtime,
        where,
        namespace=opts["namespace"],
        untag_source=opts["untag_source"],
        unpack=not opts["no_unpack"],
        concurrency=opts["concurrency"],
    )
    progress = ConsoleProgress(quiet=opts["quiet"])
    try:
        report = load_plan(plan, settings, progress, receipt=inputs.receipt_path)
    finally:
        progress.close()

    def human() -> None:
        from skoala_airgap.destinations.runtime.stream import ArchiveEntry

        for r in report.results:
            names = ", ".join(r.names) or "-"
            click.echo(
                f"{r.status:7} {r.item.display_name} -> {names} {r.item.digest}" + (f"  ({r.error})" if r.error else "")
            )
        size = stream_size([ArchiveEntry(r.item.image.manifest, r.item.target_names) for r in report.results if r.ok])
        loaded = sum(r.ok for r in report.results)
        click.echo(
            f"{loaded} of {len(report.results)} images loaded into {runtime} at {where} ({human_bytes(size)})"
            f" in {report.elapsed:.1f} s"
        )

        click.echo(inputs.describe() + (f"; receipt: {report.receipt}" if report.receipt else ""))

    data = {**report.to_json(), "rules": inputs.describe()}
    finish(data, as_json=opts["as_json"], report_file=opts["report_file"], human=human)
    failed = report.failed
    if failed or plan.problems:
        detail = f"{failed[0].item.display_name}: {failed[0].error}" if failed else plan.problems[0]
        total = len(report.results) + len(plan.problems)
        raise PartialFailure(
            f"{len(failed) + len(plan.problems)} of {total} images not loaded; {detail}",
            input_fault=bool(plan.problems) and not failed,
        )
