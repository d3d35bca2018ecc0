"""``skoala-airgap sync --config load-image.yaml``: charts-syncer-compatible relocation of bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.options import connection_from, connection_options, output_options, rules_from
from skoala_airgap.cli.progress import ConsoleProgress
from skoala_airgap.cli.render import finish, warn
from skoala_airgap.errors import PartialFailure


def _print(report: Any) -> None:
    for chart in report.charts:
        line = f"{chart.status:15} chart {chart.name} {chart.version} -> {chart.destination}"
        click.echo(line + (f"  ({chart.error})" if chart.error else ""))
        for image in chart.images:
            extra = f"  ({image['error']})" if image.get("error") else ""
            digest = f" {image['digest']}" if image.get("digest") else ""
            click.echo(f"{'':15}   image {image['source']} -> {image['target']} [{image['status']}]{digest}{extra}")
    summary = report.summary()
    counts = ", ".join(
        f"{v} {k}" for k, v in summary.items() if k not in ("charts", "images", "uploaded_bytes", "elapsed_seconds")
    )
    click.echo(f"{summary['charts']} charts: {counts or 'none'}; {summary['images']} images in {report.elapsed:.1f} s")
    if report.receipt:
        click.echo(f"receipt: {report.receipt}")


@click.command("sync")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), help="load-image.yaml to use.")
@click.option("--dry-run", is_flag=True, help="Print the plan; contact nothing, write nothing.")
@click.option("--skip-images", is_flag=True, help="Rewrite and publish charts without moving images.")
@click.option("--force", is_flag=True, help="Replace charts on the target that differ from this run's.")
@connection_options
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Blob uploads at a time [8].")
@click.option(
    "--oci-layout",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write images into this OCI image layout directory instead of the registry.",
)
@click.option("--receipt", type=click.Path(path_type=Path, dir_okay=False), help="Site receipt [next to the config].")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), help="Upload journal and blob cache.")
@output_options
def sync_command(config_path: Path | None, **opts: Any) -> None:
    """Load charts-syncer bundles (or an offline package) into the target of a load-image.yaml.

    Images go first, in one run; a chart is published only when all its images are in place. Re-runs
    check every image again (one HEAD each) and repair what is missing. Exit codes: 0 all done;
    1 a target refused or could not be reached; 2 bad input or config.

    Example: skoala-airgap sync --config load-image.yaml --insecure true
    """
    from skoala_airgap.config.reader import find_config, load_config
    from skoala_airgap.engine.contract import DEFAULT_CONCURRENCY, PushOptions
    from skoala_airgap.workflows import receipt as receipts
    from skoala_airgap.workflows.push import PushSettings
    from skoala_airgap.workflows.sync import SyncOptions, config_logins, sync

    if config_path is not None and config_path.is_dir():
        from skoala_airgap.errors import InputError

        raise InputError(f"{config_path}: is a directory; --config names a load-image.yaml file")
    path = find_config(config_path, home=Path.home(), cwd=Path.cwd())
    config = load_config(path)
    push = PushSettings(
        connection=connection_from(opts, logins=config_logins(config)),
        options=PushOptions(concurrency=opts["concurrency"] or DEFAULT_CONCURRENCY),
        oci_layout=opts["oci_layout"],
        state=opts["state_dir"],
    )
    options = SyncOptions(
        dry_run=opts["dry_run"],
        skip_images=opts["skip_images"],
        force=opts["force"],
        push=push,
        receipt=receipts.default_path(explicit=opts["receipt"], config=path, source=None),
    )
    progress = ConsoleProgress(quiet=opts["quiet"] or opts["dry_run"])
    try:
        report = sync(config, options, progress, rules=rules_from({}))
    finally:
        progress.close()
    for message in report.warnings:
        warn(message)
    data = {**report.to_json(), "config": str(path)}
    finish(data, as_json=opts["as_json"], report_file=opts["report_file"], human=lambda: _print(report))
    if report.failed:
        first = report.failed[0]
        detail = f"{first.name} {first.version}: {first.status}: {first.error}"
        raise PartialFailure(
            f"{len(report.failed)} of {len(report.charts)} charts not done; {detail}", input_fault=report.input_fault
        )
