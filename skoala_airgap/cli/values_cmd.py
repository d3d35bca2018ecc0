"""``skoala-airgap values``: the site values override for ``helm upgrade`` (global.imageRegistry and more)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from skoala_airgap.cli.render import emit_json, warn
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
        rows.append((image.chart, image.original, image.resolved + mark, keys))
    if len(rows) == 1:
        click.echo(f"global.imageRegistry = {result.registry} (no hinted images: pass --package)", err=err)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3], err=err)


@click.command("values")
@click.option("--registry", default="", help="Site registry for global.imageRegistry (default: from --config).")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="load-image.yaml whose rewrite rules sync used; its bundles path is the default --package.",
)
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
@click.option("--json", "as_json", is_flag=True, help="Print the resolution table as JSON (needs -o).")
def values_command(
    registry: str,
    config_path: Path | None,
    package: Path | None,
    charts: tuple[str, ...],
    backup: Path | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Write the values override that points every image of a release at the site registry.

    It sets global.imageRegistry and, for every hinted image, its own registry/repository values as the
    relocation rules compute them (--registry alone means containerRegistry; --config uses the file's
    rules, the very values sync wrote). With -f the override is merged onto the backup, keeping its
    other keys, order and comments. A table shows what each image resolves to.
    """
    from skoala_airgap.relocation.rules import RewriteRules
    from skoala_airgap.sources.bundle import Bundle
    from skoala_airgap.workflows.values import HintedChart, build_site_values

    if as_json and output is None:
        raise InputError("--json prints the table on stdout, so the override needs -o FILE")
    if output is not None and backup is not None and output.resolve() == backup.resolve():
        raise InputError(f"{output}: -o must not overwrite the backup given with -f")
    rules: RewriteRules | None = None
    bundles: list[Bundle] = []
    if config_path is not None:
        from skoala_airgap.config.model import load_config
        from skoala_airgap.workflows.sync import load_bundles

        config = load_config(config_path, environ=os.environ)
        for message in config.warnings:
            warn(message)
        rules = RewriteRules.from_target(config.target)
        skipping = [c.name for c in config.charts if c.skip_images]
        if skipping:
            warn(
                f"sync skips the images of {', '.join(skipping)} (skipImages); "
                "the override still points them at the site registry"
            )
        registry = registry or config.target.container_prefix_registry or config.target.container_registry
        if package is None and config.source.intermediate_bundles_path is not None:
            bundles, warnings = load_bundles(config)
            for message in warnings:
                warn(message)
    if not registry:
        raise InputError("--registry is required (or a --config with containerRegistry / containerPrefixRegistry)")
    if package is not None:
        from skoala_airgap.sources.open import open_source

        source = open_source(package)
        for message in source.warnings:
            warn(message)
        bundles = source.bundles
    if charts:
        unknown = sorted(set(charts) - {b.chart.name for b in bundles})
        if unknown:
            raise InputError(f"--chart {', '.join(unknown)}: not in {package or config_path or 'the input'}")
        bundles = [b for b in bundles if b.chart.name in charts]
    if not bundles:
        warn("no --package: only global.imageRegistry is set; images that do not follow it keep their registry")
    backup_text = ""
    if backup is not None:
        try:
            backup_text = backup.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{backup}: not UTF-8 text") from exc
    result = build_site_values(
        [HintedChart.from_bundle(b) for b in bundles],
        registry=registry,
        rules=rules,
        backup=backup_text,
        backup_label=str(backup) if backup is not None else "bak.yaml",
    )
    for message in result.warnings:
        warn(message)
    if output is None:
        click.echo(result.text, nl=False)
        _table(result, err=True)
        return
    output.write_text(result.text, encoding="utf-8")
    if as_json:
        emit_json(result.to_json())
    else:
        _table(result, err=False)
        click.echo(f"wrote {output}")
