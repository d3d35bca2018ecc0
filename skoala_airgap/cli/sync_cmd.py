"""``skoala-airgap sync --config load-image.yaml``: charts-syncer-compatible relocation of bundles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.render import byte_progress, emit_json, warn
from skoala_airgap.errors import PartialFailure


def _print(report: Any) -> None:
    for chart in report.charts:
        line = f"{chart.status:15} chart {chart.name} {chart.version} -> {chart.destination}"
        click.echo(line + (f"  ({chart.error})" if chart.error else ""))
        for image in chart.images:
            extra = f"  ({image['error']})" if image.get("error") else ""
            click.echo(f"{'':15}   image {image['source']} -> {image['target']} [{image['status']}]{extra}")


@click.command("sync")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), help="load-image.yaml to use.")
@click.option("--dry-run", is_flag=True, help="Print the plan; contact nothing, write nothing.")
@click.option("--skip-images", is_flag=True, help="Rewrite and publish charts without moving images.")
@click.option("--force", is_flag=True, help="Re-sync charts the target already has; replace different ones.")
@click.option("--insecure", is_flag=True, help="Skip TLS verification (and fall back to plain HTTP).")
@click.option("--plain-http", is_flag=True, help="Talk plain HTTP to the image registry.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option(
    "--oci-layout",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write images into this OCI image layout directory instead of the registry.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def sync_command(config_path: Path | None, **opts: Any) -> None:
    """Load charts-syncer bundles (or an offline package) into the target of a load-image.yaml.

    Exit codes: 0 all done; 1 some chart or image failed (see the report); 2 bad input or config.
    """
    from skoala_airgap.config.model import find_config, load_config
    from skoala_airgap.workflows.sync import SyncOptions, sync

    path = find_config(config_path, home=Path.home(), cwd=Path.cwd())
    config = load_config(path, environ=os.environ)
    options = SyncOptions(
        dry_run=opts["dry_run"],
        skip_images=opts["skip_images"],
        force=opts["force"],
        insecure=opts["insecure"],
        plain_http=opts["plain_http"],
        concurrency=opts["concurrency"],
        oci_layout=opts["oci_layout"],
    )
    show_bar = not opts["quiet"] and not opts["as_json"] and not opts["dry_run"]
    with byte_progress(0, "sync", enabled=show_bar) as bar:
        report = sync(config, options, (lambda kind, n: bar.update(n)) if bar else None)
    for message in report.warnings:
        warn(message)
    if opts["as_json"]:
        emit_json(report.to_json())
    else:
        _print(report)
    if report.failed:
        raise PartialFailure(f"{len(report.failed)} of {len(report.charts)} charts failed")
