"""``skoala-airgap helm-command PACKAGE``: print the vendor's helm upgrade commands for skoala and skoala-init."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.context import inputs_from, open_input_source
from skoala_airgap.cli.options import json_options, rule_options
from skoala_airgap.cli.render import finish
from skoala_airgap.errors import InputError


@click.command("helm-command", short_help="Print the helm upgrade commands for both charts.")
@click.argument("package", required=False, type=click.Path(path_type=Path))
@rule_options
@click.option("-n", "--namespace", default="skoala-system", show_default=True, help="Namespace of the releases.")
@click.option("--repo", default=None, help="Only the chart-repository form, with this repository name.")
@click.option(
    "--chart-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Only the original-chart form, with the charts extracted under DIR.",
)
@json_options
def helm_command(
    package: Path | None,
    namespace: str,
    repo: str | None,
    chart_dir: Path | None,
    as_json: bool,
    report_file: Path | None,
    **opts: Any,
) -> None:
    """Print the commands that upgrade skoala and skoala-init from PACKAGE, with one version.

    Back up each release's values, write its site override with the same rules the images were placed
    with (rule flags, else --config, else the receipt push-images/sync wrote), then helm upgrade with
    --version and -f BACKUP -f OVERRIDE. Refused when the two charts' versions differ. Nothing is run.

    Example: skoala-airgap helm-command skoala_v0.28.1_amd64.tar --prefix-registry harbor.example.com
    """
    from skoala_airgap.workflows.helm import release_charts, rule_arguments, upgrade_script
    from skoala_airgap.workflows.values import site_prefix

    hint = (opts["prefix_registry"] or opts["registry"]).split("/")[0]
    inputs = inputs_from(package, opts, read_receipt=True, registry_hint=hint, refuse_other_rules=True)
    if inputs.rules.is_empty:
        raise InputError(
            "no rewrite rule: give --registry or --prefix-registry (or --config), or push first so a receipt exists"
        )
    registry = inputs.site_registry()
    site_prefix(registry)  # refuse a registry value the override would refuse too
    source = open_input_source(inputs)
    args = rule_arguments(inputs.rules, inputs.rules_origin, config=opts["config_path"], receipt=inputs.receipt_path)
    script = upgrade_script(
        source,
        registry=registry,
        namespace=namespace,
        repo=repo,
        chart_dir=chart_dir,
        rules_args=args,
        rules_note=inputs.describe(),
    )
    charts = [{"name": c.name, "version": c.version, "bundle": c.bundle} for c in release_charts(source)]
    report = {
        "ok": True,
        "registry": registry,
        "rules": inputs.describe(),
        "charts": charts,
        "script": script,
        "warnings": list(source.warnings),
        "summary": {"charts": len(charts), "lines": len(script.splitlines())},
    }
    finish(report, as_json=as_json, report_file=report_file, human=lambda: click.echo(script, nl=False))
