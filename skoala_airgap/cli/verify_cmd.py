"""``skoala-airgap verify SOURCE|--config``: check the site read-only, as a user would judge it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.context import inputs_from, open_input_source, plan_for
from skoala_airgap.cli.options import connection_from, connection_options, output_options, rule_options
from skoala_airgap.cli.progress import ConsoleProgress
from skoala_airgap.cli.render import finish
from skoala_airgap.errors import InputError, PartialFailure


@click.command("verify", short_help="Check, read-only, that the site holds what was placed.")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@rule_options
@connection_options
@click.option(
    "-f",
    "--values",
    "override",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="A values override (from `values`): every image it makes the charts pull must be present.",
)
@click.option("--chart", "charts", multiple=True, help="The chart(s) the -f override is for (default: every chart).")
@output_options
def verify_command(source: Path | None, override: Path | None, charts: tuple[str, ...], **opts: Any) -> None:
    """Check that the site holds what the plan places: every target image at its digest (manifest HEAD),
    with --config every chart at its destination with the relocated values, with -f every image an
    override resolves to. Writes nothing. Exit 0 when all is present, 1 when anything is missing or
    different.

    Example: skoala-airgap verify skoala_v0.28.1_amd64.tar --prefix-registry harbor.example.com
    """
    from skoala_airgap.destinations.charts import make_publisher
    from skoala_airgap.workflows.verify import verify_site

    hint = (opts["prefix_registry"] or opts["registry"]).split("/")[0]
    inputs = inputs_from(source, opts, read_receipt=True, registry_hint=hint)
    if inputs.rules.is_empty:
        raise InputError("no rewrite rule: give --registry or --prefix-registry (or --config), or a receipt")
    plan = plan_for(inputs, open_input_source(inputs))
    connection = connection_from(opts, logins=inputs.logins)
    config = inputs.config
    moves = plan.moves(hinted_only=True, changed_only=True) if config is not None else plan.moves()
    publisher = None
    if config is not None and config.target.repo is not None:
        publisher = make_publisher(config.target.repo, connection=connection)
    progress = ConsoleProgress(quiet=opts["quiet"])
    text = (override.read_text(encoding="utf-8"), str(override)) if override is not None else None
    try:
        report = verify_site(
            plan, moves, connection, publisher=publisher, override=text, override_charts=charts, progress=progress
        )
    finally:
        progress.close()

    def human() -> None:
        for finding in report.findings:
            detail = f"  ({finding.message})" if finding.message and not finding.ok else ""
            click.echo(f"{finding.status:11} {finding.kind:8} {finding.name} -> {finding.target}{detail}")
        summary = report.to_json()["summary"]
        counts = ", ".join(f"{v} {k}" for k, v in summary.items() if k not in ("checked", "elapsed_seconds"))
        click.echo(
            f"{summary['checked']} checked: {counts or 'nothing'} in {report.elapsed:.1f} s; {inputs.describe()}"
        )

    data = {**report.to_json(), "warnings": list(plan.source.warnings), "rules": inputs.describe()}
    finish(data, as_json=opts["as_json"], report_file=opts["report_file"], human=human)
    if report.problems:
        first = report.problems[0]
        raise PartialFailure(f"{len(report.problems)} of {len(report.findings)} not as planned; {first.message}")
