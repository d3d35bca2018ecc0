"""``skoala-airgap values``: the site values override for ``helm upgrade`` (global.imageRegistry and more)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from skoala_airgap.cli.context import inputs_from, open_input_source
from skoala_airgap.cli.options import json_options, rule_options
from skoala_airgap.cli.render import finish, warn
from skoala_airgap.errors import InputError

if TYPE_CHECKING:
    from skoala_airgap.workflows.values import SiteValues


def _table(result: SiteValues, *, err: bool) -> None:
    rows = [("CHART", "IMAGE", "RESOLVES TO", "SET")]
    for image in result.images:
        keys = ", ".join(".".join(path) for path, _ in image.values)
        if image.follows_global:
            keys = "global.imageRegistry" + (f", {keys}" if keys else "")
        mark = "" if image.under_site_registry else "  (NOT under the site registry)"
        mark += "  (NOT placed)" if image.placed is False else ""
        rows.append((image.chart, image.original, image.resolved + mark, keys))
    if len(rows) == 1:
        click.echo(f"global.imageRegistry = {result.registry} (no hinted images: pass --package)", err=err)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3], err=err)


@click.command("values", short_help="Write the values override for helm upgrade.")
@rule_options
@click.option(
    "--package", type=click.Path(path_type=Path), help="Offline package, bundle or bundle folder with the hints."
)
@click.option("--chart", "charts", multiple=True, help="Only this chart of the package (repeatable; default all).")
@click.option(
    "-f",
    "--values",
    "backup",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The release's values backup (helm get values RELEASE -o yaml) to merge the override onto.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here, not to stdout.")
@json_options
def values_command(
    package: Path | None,
    charts: tuple[str, ...],
    backup: Path | None,
    output: Path | None,
    as_json: bool,
    report_file: Path | None,
    **opts: Any,
) -> None:
    """Write the values override that points every image of a release at the site registry.

    It sets global.imageRegistry and, for every hinted image, its own registry/repository values as the
    relocation rules compute them: the rule flags, else --config's rules, else those of the receipt
    push-images/sync/load wrote (so the override names what was placed). With -f the override is merged
    onto the backup, keeping its other keys, order and comments. A table shows what each image resolves to.

    Example: skoala-airgap values --package skoala_v0.28.1_amd64.tar -f bak.yaml -o override.yaml
    """
    from skoala_airgap.relocation.hints import HintedChart
    from skoala_airgap.workflows.values import build_site_values

    if as_json and output is None:
        raise InputError("--json prints the table on stdout, so the override needs -o FILE")
    if output is not None and backup is not None and output.resolve() == backup.resolve():
        raise InputError(f"{output}: -o must not overwrite the backup given with -f")
    hint = (opts["prefix_registry"] or opts["registry"]).split("/")[0]
    inputs = inputs_from(package, opts, read_receipt=True, registry_hint=hint, refuse_other_rules=True)
    if inputs.rules.is_empty:
        raise InputError(
            "no rewrite rule: give --registry or --prefix-registry (or --config), or push first so a receipt exists"
        )
    notes = _receipt_notes(inputs)
    bundles = open_input_source(inputs).bundles if inputs.source is not None else []
    if inputs.config is not None and package is None:
        from skoala_airgap.config.select import chart_selected

        config = inputs.config
        bundles = [b for b in bundles if chart_selected(config, b.chart.name, b.chart.version)]
        skipping = [c.name for c in config.charts if c.skip_images]
        if skipping:
            warn(
                f"sync skips the images of {', '.join(skipping)} (skipImages);"
                " the override still points them at the site registry"
            )
    if charts:
        unknown = sorted(set(charts) - {b.chart.name for b in bundles})
        if unknown:
            raise InputError(f"--chart {', '.join(unknown)}: not in {inputs.source or 'the input'}")
        bundles = [b for b in bundles if b.chart.name in charts]
    if not bundles:
        warn("no --package: only global.imageRegistry is set; images that do not follow it keep their registry")
    backup_text = _read(backup)
    result = build_site_values(
        [HintedChart.from_bundle(b) for b in bundles],
        registry=inputs.site_registry(),
        rules=inputs.rules,
        backup=backup_text,
        backup_label=str(backup) if backup is not None else "bak.yaml",
        placed=inputs.placement.targets() if inputs.placement is not None else None,
    )
    for message in result.warnings:
        warn(message)
    receipt = str(inputs.receipt_path) if inputs.placement is not None else None
    report = {
        "ok": not result.warnings,
        **result.to_json(),
        "rules": inputs.describe(),
        "receipt": receipt,
        "output": str(output) if output is not None else None,
        "summary": {
            "images": len(result.images),
            "follow_global": sum(i.follows_global for i in result.images),
            "not_under_site_registry": sum(not i.under_site_registry for i in result.images),
            "warnings": len(result.warnings),
        },
    }
    if output is None:  # the override is the text on stdout: the table and notes go to stderr
        click.echo(result.text, nl=False)
        _table(result, err=True)
        for note in notes:
            click.echo(note, err=True)
        finish(report, as_json=False, report_file=report_file, human=lambda: None)
        return
    output.write_text(result.text, encoding="utf-8")

    def human() -> None:
        _table(result, err=False)
        for note in notes:
            click.echo(note)
        click.echo(f"wrote {output}")

    finish(report, as_json=as_json, report_file=report_file, human=human)


def _receipt_notes(inputs: Any) -> list[str]:
    """Which rules the override was made with, and from which receipt (said after the table)."""
    notes = [inputs.describe()]
    placement = inputs.placement
    if placement is None:
        return notes
    notes.append(f"receipt: {inputs.receipt_path} ({placement.destination}, by {placement.command})")
    return notes


def _read(backup: Path | None) -> str:
    if backup is None:
        return ""
    try:
        return backup.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{backup}: not UTF-8 text") from exc
