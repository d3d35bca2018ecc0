"""``skoala-airgap unpack PACKAGE -o DIR``: extract safely, for users who want the files."""

from __future__ import annotations

from pathlib import Path

import click

from skoala_airgap.cli.render import byte_progress, human_bytes


@click.command("unpack")
@click.argument("package", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Target directory.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def unpack_command(package: Path, out_dir: Path, force: bool, quiet: bool) -> None:
    """Extract PACKAGE (any tar) into DIR, after checking there is room for it."""
    from skoala_airgap.archive.tar_index import TarIndex
    from skoala_airgap.workflows.unpack import planned_size, unpack

    index = TarIndex.open(package)
    with byte_progress(planned_size(index), "unpack", enabled=not quiet) as bar:
        result = unpack(index, out_dir, overwrite=force, progress=bar.update if bar else None)
    click.echo(f"unpacked {result.files} files ({human_bytes(result.bytes)}) into {result.directory}")
