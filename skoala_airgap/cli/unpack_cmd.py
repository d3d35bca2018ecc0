"""``skoala-airgap unpack PACKAGE -o DIR``: extract safely, for users who want the files."""

from __future__ import annotations

import time
from pathlib import Path

import click

from skoala_airgap.cli.options import output_options
from skoala_airgap.cli.render import duration, finish, human_bytes


@click.command("unpack", short_help="Extract a package safely into a folder.")
@click.argument("package", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Target directory.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@output_options
def unpack_command(
    package: Path, out_dir: Path, force: bool, quiet: bool, as_json: bool, report_file: Path | None
) -> None:
    """Extract PACKAGE (any tar) into DIR, after checking there is room for it.

    Example: skoala-airgap unpack skoala_v0.28.1_amd64.tar -o ./skoala_v0.28.1_amd64
    """
    from skoala_airgap.archive.tar_index import TarIndex
    from skoala_airgap.cli.progress import ConsoleProgress
    from skoala_airgap.workflows.unpack import planned_size, unpack

    started = time.monotonic()
    index = TarIndex.open(package)
    progress = ConsoleProgress(quiet=quiet or as_json)
    progress.start(planned_size(index), "unpack")
    try:
        result = unpack(index, out_dir, overwrite=force, progress=progress.advance)
    finally:
        progress.close()
    elapsed = time.monotonic() - started
    report = {
        "ok": True,
        "package": str(package),
        "directory": str(result.directory),
        "files": list(result.names),
        "warnings": [],
        "summary": {"files": result.files, "bytes": result.bytes, "elapsed_seconds": round(elapsed, 3)},
    }
    finish(
        report,
        as_json=as_json,
        report_file=report_file,
        human=lambda: click.echo(
            f"unpacked {result.files} files ({human_bytes(result.bytes)}) into {result.directory}"
            f" in {duration(elapsed)}"
        ),
    )
