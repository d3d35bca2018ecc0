"""``skoala-airgap push-images SOURCE --registry HOST``: stream every image into a registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.context import inputs_from, open_input_source, plan_for, verify_checksum
from skoala_airgap.cli.options import connection_from, connection_options, output_options, rule_options
from skoala_airgap.cli.progress import ConsoleProgress, item_line
from skoala_airgap.cli.render import finish, summary_line, warn
from skoala_airgap.errors import PartialFailure


@click.command("push-images", short_help="Push every image of a package to a registry.")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@rule_options
@connection_options
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Blob uploads at a time [8].")
@click.option("--chunk-size", type=click.IntRange(0), default=0, help="Upload every blob in chunks of this many bytes.")
@click.option(
    "--compress",
    type=click.Choice(["none", "gzip"]),
    default="none",
    show_default=True,
    help="gzip uncompressed layers (docker save) while pushing; 'none' keeps their bytes and digests.",
)
@click.option("--no-overwrite", is_flag=True, help="Fail instead of moving a tag that points elsewhere.")
@click.option(
    "--auto-create-repository",
    is_flag=True,
    help="On a Harbor: create the projects the images need when they are missing (private; see --public).",
)
@click.option("--public", is_flag=True, help="With --auto-create-repository: create public projects.")
@click.option("--verify", is_flag=True, help="Check the package's sha512 checksum file first (reads every byte).")
@click.option("--allow-missing-checksum", is_flag=True, help="With --verify: go on when there is no checksum file.")
@click.option("--dry-run", is_flag=True, help="Print where each image would go; contact nothing.")
@click.option(
    "--platform",
    metavar="OS/ARCH",
    help="Of multi-platform images push only this one (os/arch[/variant], e.g. linux/arm64).",
)
@click.option(
    "--oci-layout",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the images into this OCI image layout directory instead of the registry.",
)
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), help="Upload journal and blob cache.")
@output_options
def push_images_command(source: Path | None, **opts: Any) -> None:
    """Push every image of SOURCE (package, bundle, bundle folder, images.tar or OCI layout).

    Images named by a chart's hints go where the relocated chart pulls them from; the site receipt
    records what was placed, for `values`, `helm-command` and `verify`. On a Harbor every project the
    images need must exist before anything is pushed (or --auto-create-repository creates it).

    Example: skoala-airgap push-images skoala_v0.28.1_amd64.tar --prefix-registry harbor.example.com
    """
    from skoala_airgap.engine.contract import DEFAULT_CONCURRENCY, PushOptions
    from skoala_airgap.workflows.push import PushSettings, push_plan

    inputs = inputs_from(source, opts)
    if opts["public"] and not opts["auto_create_repository"]:
        warn("--public only matters with --auto-create-repository (it makes the projects it creates public)")
    progress = ConsoleProgress(quiet=opts["quiet"])
    src = open_input_source(inputs)
    if opts["platform"]:
        from skoala_airgap.sources.platform import parse_platform, select_platform

        for note in select_platform(src, parse_platform(opts["platform"])):
            warn(note)
    verify_checksum(src, opts, progress)
    plan = plan_for(inputs, src)
    host = plan.host()
    for problem in plan.problems:
        warn(problem)
    if opts["dry_run"]:
        planned = [
            {"source": m.source.name, "target": m.target.name, "digest": m.digest, "status": "planned"}
            for m in plan.moves()
        ]
        report = {
            "ok": not plan.problems,
            "rules": inputs.describe(),
            "registry": host,
            "images": planned,
            "problems": plan.problems,
            "warnings": list(src.warnings),
            "summary": {"images": len(planned), "planned": len(planned), "problems": len(plan.problems)},
        }

        def human_plan() -> None:
            for entry in planned:
                click.echo(f"{entry['source']} -> {entry['target']}")
            click.echo(f"{len(planned)} images planned for {host}; nothing contacted; {inputs.describe()}")

        finish(report, as_json=opts["as_json"], report_file=opts["report_file"], human=human_plan)
        return
    settings = PushSettings(
        connection=connection_from(opts, logins=inputs.logins),
        options=PushOptions(
            concurrency=opts["concurrency"] or DEFAULT_CONCURRENCY,
            overwrite=not opts["no_overwrite"],
            chunk_size=opts["chunk_size"],
            compress=opts["compress"] == "gzip",
        ),
        oci_layout=opts["oci_layout"],
        state=opts["state_dir"],
    )
    try:
        result = push_plan(
            plan,
            settings,
            progress,
            receipt=inputs.receipt_path,
            config=inputs.config,
            auto_create=opts["auto_create_repository"],
            public=opts["public"],
            warn=warn,
        )
    finally:
        progress.close()

    def human() -> None:
        for r in result.results:
            moved = f" (was {r.previous_digest})" if r.previous_digest and r.status == "pushed" else ""
            click.echo(item_line(_done(r)) + moved)
        counts = {s: n for s, n in result.summary().items() if s in ("pushed", "unchanged", "failed")}
        click.echo(summary_line("images", counts, result.summary()["bytes"], result.elapsed))
        click.echo(inputs.describe() + (f"; receipt: {result.receipt}" if result.receipt else ""))

    finish(
        {**result.to_json(), "rules": inputs.describe()},
        as_json=opts["as_json"],
        report_file=opts["report_file"],
        human=human,
    )
    _raise_failures(result.failed, len(result.results), result.problems)


def _done(result: Any) -> Any:
    from skoala_airgap.engine.progress import ItemDone

    size = sum(result.bytes.values())
    return ItemDone(result.status, result.item.source_name, result.target, result.digest, size, result.error or "")


def _raise_failures(failed: list[Any], total: int, problems: list[str]) -> None:
    if not failed and not problems:
        return
    inputs = [r for r in failed if r.input_fault]
    first = inputs[0] if inputs else (failed[0] if failed else None)
    detail = f"{first.item.source_name}: {first.error}" if first else problems[0]
    count = len(failed) + len(problems)
    raise PartialFailure(
        f"{count} of {total + len(problems)} images not placed; {detail}", input_fault=bool(inputs or problems)
    )
