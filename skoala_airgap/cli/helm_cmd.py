"""``skoala-airgap helm-command PACKAGE``: print the vendor's helm upgrade commands for skoala and skoala-init."""

from __future__ import annotations

from pathlib import Path

import click

from skoala_airgap.cli.render import warn


@click.command("helm-command")
@click.argument("package", type=click.Path(path_type=Path))
@click.option("--registry", required=True, help="Site registry (global.imageRegistry of the overrides).")
@click.option("-n", "--namespace", default="skoala-system", show_default=True, help="Namespace of the releases.")
@click.option("--repo", default=None, help="Only the chart-repository form, with this repository name.")
@click.option(
    "--chart-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Only the original-chart form, with the charts extracted under DIR.",
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="load-image.yaml sync used; passed on to the printed `skoala-airgap values` commands.",
)
def helm_command(
    package: Path, registry: str, namespace: str, repo: str | None, chart_dir: Path | None, config_path: Path | None
) -> None:
    """Print the commands that upgrade skoala and skoala-init from PACKAGE, with one version.

    Back up each release's values, write its site override, then helm upgrade with --version and
    -f BACKUP -f OVERRIDE, from a chart repository (default skoala-release) and/or from the
    original-chart inside each bundle. Refused when the two charts' versions differ. Nothing is run.
    """
    from skoala_airgap.sources.open import open_source
    from skoala_airgap.workflows.helm import upgrade_script
    from skoala_airgap.workflows.values import site_prefix

    site_prefix(registry)  # refuse a registry value the override would refuse too
    source = open_source(package)
    for message in source.warnings:
        warn(message)
    click.echo(
        upgrade_script(
            source, registry=registry, namespace=namespace, repo=repo, chart_dir=chart_dir, config=config_path
        ),
        nl=False,
    )
