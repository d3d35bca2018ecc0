"""``skoala-airgap load SOURCE --runtime docker|podman|containerd``: put images straight into a node's runtime."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.options import open_source_warning, relocation_options, rules_from_options
from skoala_airgap.cli.render import byte_progress, emit_json, human_bytes, warn
from skoala_airgap.errors import InputError, PartialFailure

RUNTIMES = ("docker", "podman", "containerd")


def default_host(runtime: str) -> str:
    """Where each client looks by default: DOCKER_HOST for docker, CONTAINER_HOST for podman (podman-remote)."""
    if runtime == "docker":
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if os.environ.get("CONTAINER_HOST"):
        return os.environ["CONTAINER_HOST"]
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime_dir}/podman/podman.sock"


def _report(results: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "source": r.item.display_name,
            "source_names": r.item.source_names,
            "names": r.names,
            "digest": r.item.digest,
            "image_id": r.image_id,
            "status": r.status,
            "removed": r.removed,
            "error": r.error or None,
        }
        for r in results
    ]


@click.command("load")
@click.argument("source", type=click.Path(path_type=Path))
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
@relocation_options
@click.option("--untag-source", is_flag=True, help="Leave only the relocated names (remove the source names).")
@click.option(
    "--concurrency", type=click.IntRange(1, 16), default=2, show_default=True, help="Archives loaded side by side."
)
@click.option("--no-unpack", is_flag=True, help="containerd: import without unpacking into the snapshotter.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-image lines.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def load_command(source: Path, **opts: Any) -> None:
    """Load every image of SOURCE (package, bundle, bundle directory, images.tar or OCI layout) into a runtime."""
    from skoala_airgap.destinations.runtime.stream import plan_load, stream_size

    runtime = opts["runtime"]
    if runtime == "containerd" and opts["host"]:
        raise InputError("--host is for docker/podman; give containerd's socket with --address")
    rules = rules_from_options(opts)
    src = open_source_warning(source)
    items, problems = plan_load(src.all_images(), rules)
    for problem in problems:
        warn(problem)
    where = opts["address"] if runtime == "containerd" else (opts["host"] or default_host(runtime))
    estimate = stream_size([_entry(item) for item in items])
    show = not opts["quiet"] and not opts["as_json"]
    with byte_progress(estimate, f"load {runtime}", enabled=show) as bar:
        count = bar.update if bar else None
        on_start = (lambda total: _retotal(bar, total)) if bar else None
        if runtime == "containerd":
            from skoala_airgap.destinations.runtime.containerd import load_into_containerd

            results = load_into_containerd(
                items,
                where,
                namespace=opts["namespace"],
                untag_source=opts["untag_source"],
                unpack=not opts["no_unpack"],
                concurrency=opts["concurrency"],
                count=count,
                on_start=on_start,
            )
        else:
            from skoala_airgap.destinations.runtime.engine_api import load_into_engine

            results = load_into_engine(
                items,
                where,
                untag_source=opts["untag_source"],
                concurrency=opts["concurrency"],
                count=count,
                on_start=on_start,
            )
    _render(results, problems, runtime, where, opts)
    failed = [r for r in results if not r.ok]
    if failed or problems:
        raise PartialFailure(f"{len(failed) + len(problems)} of {len(results) + len(problems)} images failed")


def _entry(item: Any) -> Any:
    from skoala_airgap.destinations.runtime.stream import ArchiveEntry

    return ArchiveEntry(item.image.manifest, item.target_names)


def _retotal(bar: Any, total: int) -> None:
    bar.total = total
    bar.refresh()


def _render(results: list[Any], problems: list[str], runtime: str, where: str, opts: dict[str, Any]) -> None:
    from skoala_airgap.destinations.runtime.stream import stream_size

    if opts["as_json"]:
        report: dict[str, Any] = {"runtime": runtime, "socket": where}
        if runtime == "containerd":
            report["namespace"] = opts["namespace"]
        emit_json({**report, "images": _report(results), "problems": problems})
        return
    if opts["quiet"]:
        return
    for r in results:
        names = ", ".join(r.names) or "-"
        line = f"{r.status:7} {r.item.display_name} -> {names} {r.item.digest}"
        click.echo(line + (f"  ({r.error})" if r.error else ""))
    size = stream_size([_entry(r.item) for r in results if r.ok])
    loaded = sum(r.ok for r in results)
    click.echo(f"{loaded} of {len(results)} images loaded into {runtime} at {where} ({human_bytes(size)})")
