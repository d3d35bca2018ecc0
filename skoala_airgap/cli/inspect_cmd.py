"""``skoala-airgap inspect PATH``: what a package, bundle, images.tar or OCI layout holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.render import emit_json, human_bytes, warn
from skoala_airgap.errors import InputError


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


@click.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--verify", is_flag=True, help="Also check the package's sha512 checksum file (reads every byte).")
def inspect_command(path: Path, as_json: bool, verify: bool) -> None:
    """Show what PATH holds: an offline package, a bundle, a bundle directory, an images.tar or an OCI layout."""
    from skoala_airgap.sources.open import open_source
    from skoala_airgap.workflows.inspect import inspect_source

    report = inspect_source(open_source(path), verify=verify)
    for message in report["warnings"]:
        warn(message)
    if as_json:
        emit_json(report)
    else:
        _print_report(report)
    checksum = report.get("checksum", {})
    if checksum.get("status") == "mismatch":
        raise InputError(f"{path}: sha512 checksum does not match {checksum['file']}")
