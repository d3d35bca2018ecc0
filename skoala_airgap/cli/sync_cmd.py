"""``skoala-airgap sync --config load-image.yaml``: charts-syncer-compatible relocation of bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.compat import generate_config_option, refuse_repo_source_options, repo_source_options
from skoala_airgap.cli.options import connection_from, connection_options, output_options, rules_from
from skoala_airgap.cli.progress import ConsoleProgress
from skoala_airgap.cli.render import duration, finish, moved_bytes, warn
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
        f"{v} {k}"
        for k, v in summary.items()
        if k not in ("charts", "images", "uploaded_bytes", "bytes", "elapsed_seconds")
    )
    images: dict[str, int] = {}
    for image in (i for chart in report.charts for i in chart.images):
        images[image["status"]] = images.get(image["status"], 0) + 1
    by_status = ", ".join(f"{n} {status}" for status, n in images.items())
    click.echo(
        f"{summary['charts']} charts: {counts or 'none'}; {summary['images']} images"
        + (f" ({by_status})" if by_status else "")
        + f", {moved_bytes(summary['bytes'])} in {duration(report.elapsed)}"
    )
    if report.receipt:
        click.echo(f"receipt: {report.receipt}")


@click.command("sync", short_help="Push images, then publish charts, as load-image.yaml says.")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), help="load-image.yaml to use.")
@click.option("--dry-run", is_flag=True, help="Print the plan; contact nothing, write nothing.")
@click.option("--skip-images", is_flag=True, help="Rewrite and publish charts without moving images.")
@click.option("--force", is_flag=True, help="Replace charts on the target that differ from this run's.")
@click.option(
    "--auto-create-repository",
    is_flag=True,
    help="Create the Harbor projects the images and charts need when they are missing (private; see --public).",
)
@click.option("--public", is_flag=True, help="With --auto-create-repository: create public projects.")
@click.option(
    "--platform",
    metavar="OS/ARCH",
    help="Of multi-platform images push only this one (os/arch[/variant], e.g. linux/amd64).",
)
@click.option("--print-images", is_flag=True, help="Print the images the selected charts name, one a line; exit.")
@click.option("--latest-version-only", is_flag=True, help="Of each chart, sync only its highest version.")
@click.option("--verify", is_flag=True, help="Only check that the configured charts and versions are in the source.")
@repo_source_options
@generate_config_option
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
    from skoala_airgap.workflows.sync import SyncOptions, config_logins, missing_charts, planned_images, sync

    if config_path is not None and config_path.is_dir():
        from skoala_airgap.errors import InputError

        raise InputError(f"{config_path}: is a directory; --config names a load-image.yaml file")
    refuse_repo_source_options(opts)
    path = find_config(config_path, home=Path.home(), cwd=Path.cwd())
    config = load_config(path)
    if opts["verify"]:
        _verify(missing_charts(config), opts)
        return
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
        auto_create_repository=opts["auto_create_repository"],
        public=opts["public"],
        platform=_platform(opts["platform"]),
        latest_version_only=opts["latest_version_only"],
    )
    if opts["public"] and not opts["auto_create_repository"]:
        warn("--public only matters with --auto-create-repository (it makes the projects it creates public)")
    if opts["workdir"]:
        warn(f"--workdir {opts['workdir']}: ignored (skoala-airgap keeps no chart cache; see --state-dir)")
    if opts["print_images"]:
        _print_images(planned_images(config, options, rules=rules_from({})), opts)
        return
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


def _platform(text: str | None) -> Any:
    if not text:
        return None
    from skoala_airgap.sources.platform import parse_platform

    return parse_platform(text)


def _print_images(moves: list[Any], opts: dict[str, Any]) -> None:
    """charts-syncer's ``--print-images``: the original names, one a line (stdout), nothing contacted."""
    names = list(dict.fromkeys(m.source.name for m in moves))
    report = {
        "ok": True,
        "images": [
            {"source": m.source.name, "target": m.target.name, "digest": m.digest, "chart": m.chart} for m in moves
        ],
    }
    finish(report, as_json=opts["as_json"], report_file=opts["report_file"], human=lambda: click.echo("\n".join(names)))


def _verify(missing: list[str], opts: dict[str, Any]) -> None:
    """charts-syncer's ``sync --verify``: the configured charts are in the source; nothing else happens."""
    from skoala_airgap.errors import InputError

    if missing:
        raise InputError(f"not in the source: {', '.join(missing)}")
    finish(
        {"ok": True, "missing": []},
        as_json=opts["as_json"],
        report_file=opts["report_file"],
        human=lambda: click.echo("verify success!"),
    )
