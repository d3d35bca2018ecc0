"""``skoala-airgap push-images SOURCE --registry HOST``: stream images into a registry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.options import (
    open_source_warning,
    read_password,
    registry_connection_options,
    relocation_options,
    rules_from_options,
)
from skoala_airgap.cli.render import byte_progress, emit_json, human_bytes, warn
from skoala_airgap.errors import InputError, PartialFailure


def _report(results: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "source": r.item.source_name,
            "target": r.target,
            "digest": r.digest,
            "status": r.status,
            "previous_digest": r.previous_digest,
            "error": r.error,
            "blobs": r.blobs,
            "bytes": r.bytes,
        }
        for r in results
    ]


@click.command("push-images")
@click.argument("source", type=click.Path(path_type=Path))
@relocation_options
@registry_connection_options
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Parallel blob uploads [8].")
@click.option("--chunk-size", type=click.IntRange(0), default=0, help="Upload in chunks of this many bytes.")
@click.option(
    "--compress",
    type=click.Choice(["none", "gzip"]),
    default="none",
    show_default=True,
    help="gzip uncompressed layers (docker save) while pushing; 'none' keeps their bytes and digests.",
)
@click.option("--no-overwrite", is_flag=True, help="Fail instead of moving a tag that points elsewhere.")
@click.option("--verify", is_flag=True, help="Check the package's sha512 checksum file first.")
@click.option("--dry-run", is_flag=True, help="Print where each image would go; contact nothing.")
@click.option(
    "--oci-layout",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the images into this OCI image layout directory instead of the registry.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
def push_images_command(source: Path, **opts: Any) -> None:
    """Push every image of SOURCE (package, bundle, bundle directory, images.tar or OCI layout)."""
    from skoala_airgap.relocation.plan import plan_pushes
    from skoala_airgap.workflows.push import PushRequest, run_push

    rules = rules_from_options(opts)
    src = open_source_warning(source)
    if opts["verify"] and src.package is not None:
        result = src.package.verify_checksum()
        if result.status == "mismatch":
            raise InputError(f"{source}: sha512 checksum does not match {result.file}")
    plan = plan_pushes(src.all_images(), rules)
    for problem in plan.problems:
        warn(problem)
    if opts["dry_run"]:
        for item in plan.items:
            click.echo(f"{item.source_name} -> {plan.host}/{item.target}")
        return
    request = PushRequest(
        host=plan.host,
        items=plan.items,
        username=opts["username"],
        password=read_password(opts["password_stdin"], os.environ.get("TARGET_CONTAINERS_AUTH_PASSWORD", "")),
        ca_file=opts["ca_file"],
        client_cert=opts["cert"],
        client_key=opts["key"],
        insecure=opts["insecure"],
        plain_http=opts["plain_http"],
        concurrency=opts["concurrency"],
        chunk_size=opts["chunk_size"],
        overwrite=not opts["no_overwrite"],
        oci_layout=opts["oci_layout"],
        compress=opts["compress"] == "gzip",
    )
    total = sum(item.image.manifest.total_size for item in plan.items)
    with byte_progress(total, f"push {plan.host}", enabled=not opts["quiet"] and not opts["as_json"]) as bar:
        results = run_push(request, (lambda kind, n: bar.update(n)) if bar else None)
    if opts["as_json"]:
        emit_json({"registry": plan.host, "images": _report(results), "problems": plan.problems})
    elif not opts["quiet"]:
        for r in results:
            moved = f"{r.previous_digest} -> " if r.previous_digest and r.status == "pushed" else ""
            line = f"{r.status:9} {r.item.source_name} -> {r.target} {moved}{r.digest}"
            click.echo(line + (f"  ({r.error})" if r.error else ""))
        uploaded = sum(r.bytes["uploaded"] for r in results)
        skipped = sum(r.bytes["skipped"] for r in results)
        mounted = sum(r.bytes["mounted"] for r in results)
        click.echo(
            f"{len(results)} images: uploaded {human_bytes(uploaded)}, skipped {human_bytes(skipped)},"
            f" mounted {human_bytes(mounted)}"
        )
    failed = [r for r in results if not r.ok]
    if failed or plan.problems:
        count = len(failed) + len(plan.problems)
        raise PartialFailure(f"{count} of {len(results) + len(plan.problems)} images failed")
