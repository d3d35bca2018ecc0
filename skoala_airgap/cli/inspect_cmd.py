"""``skoala-airgap inspect PATH``: what a package, bundle, images.tar or OCI layout holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.options import output_options
from skoala_airgap.cli.render import finish, human_bytes, warn


def _print_image(image: dict[str, Any], indent: str) -> None:
    name = ", ".join(image["names"]) or "<untagged>"
    plat = f"  [{', '.join(image['platforms'])}]" if image["platforms"] else ""
    click.echo(f"{indent}{name}{plat}")
    click.echo(
        f"{indent}  digest {image['digest']}  layers {image['layers']}  size {human_bytes(image['size'])}"
        f"  ({'/'.join(image['compression']) or 'no layers'})"
    )


def _print_hints(hints: dict[str, Any], indent: str) -> None:
    for entry in hints["templates"]:
        result = entry.get("reference") or f"ERROR: {entry.get('error')}"
        click.echo(f"{indent}{entry['template']}  ->  {result}")
    for name in hints["missing_from_images"]:
        click.echo(f"{indent}MISSING from images.tar: {name}")
    for name in hints["not_hinted"]:
        click.echo(f"{indent}not named by any hint: {name}")


def _print_report(report: dict[str, Any]) -> None:
    click.echo(f"{report['kind']}: {report['path']}")
    if "checksum" in report:
        checksum = report["checksum"]
        click.echo(f"checksum: {checksum['status']}" + (f" ({checksum['file']})" if checksum["file"] else ""))
    for chart in report.get("charts", []):
        click.echo(f"chart archive: {chart['name']} {chart['version']}  ({chart['file']})")
    for bundle in report["bundles"]:
        click.echo(f"bundle: {bundle['chart']} {bundle['version']}  ({bundle['file']})")
        click.echo(
            f"  images: {len(bundle['images'])}  total {human_bytes(bundle['total_bytes'])}"
            f"  unique {human_bytes(bundle['unique_bytes'])}"
        )
        for image in bundle["images"]:
            _print_image(image, "    ")
        click.echo("  hints:")
        _print_hints(bundle["hints"], "    ")
    for image in report["images"]:
        _print_image(image, "  ")
    totals = report["totals"]
    click.echo(
        f"total: {totals['images']} images, {human_bytes(totals['bytes'])},"
        f" {human_bytes(totals['unique_bytes'])} unique"
    )


@click.command("inspect", short_help="Show what a package, bundle or images.tar holds.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--verify", is_flag=True, help="Also check the package's sha512 checksum file (reads every byte).")
@click.option("--allow-missing-checksum", is_flag=True, help="With --verify: go on when there is no checksum file.")
@output_options
def inspect_command(
    path: Path, verify: bool, allow_missing_checksum: bool, quiet: bool, as_json: bool, report_file: Path | None
) -> None:
    """Show what PATH holds: an offline package, a bundle, a bundle directory, an images.tar or an OCI layout.

    Only headers, manifests, configs, hints and chart files are read (well under 1% of the bytes),
    unless --verify hashes the whole package against its sha512sum file.

    Example: skoala-airgap inspect skoala_v0.28.1_amd64.tar --verify
    """
    from skoala_airgap.cli.progress import ConsoleProgress
    from skoala_airgap.sources.open import open_source
    from skoala_airgap.workflows.inspect import inspect_source

    source = open_source(path)
    progress = ConsoleProgress(quiet=quiet)
    if verify and source.package is not None:
        progress.start(source.package.path.stat().st_size, "sha512")
    try:
        report = inspect_source(
            source, verify=verify, allow_missing_checksum=allow_missing_checksum, progress=progress.advance
        )
    finally:
        progress.close()
    for message in report["warnings"]:
        warn(message)
    finish(report, as_json=as_json, report_file=report_file, human=lambda: _print_report(report))
