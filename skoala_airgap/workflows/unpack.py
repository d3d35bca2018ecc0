"""Safe extraction for users who want the files: free-space check first, no escaping paths.

Links inside the archive are written as copies of their targets, so nothing extracted can point
outside the output directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.errors import InputError

_COPY_CHUNK = 1024 * 1024
# Keep some room free so the bastion host's disk is never filled to the last byte.
FREE_SPACE_MARGIN = 64 * 1024 * 1024


@dataclass(frozen=True)
class UnpackResult:
    files: int
    bytes: int
    directory: Path
    names: tuple[str, ...] = ()  # the files written, in archive order


def planned_size(index: TarIndex) -> int:
    return sum(index.member(m.name).region.size for m in index if m.kind != "dir")


def unpack(
    index: TarIndex, out_dir: Path, *, overwrite: bool = False, progress: Callable[[int], None] | None = None
) -> UnpackResult:
    total = planned_size(index)
    out_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out_dir).free
    if free < total + FREE_SPACE_MARGIN:
        raise InputError(
            f"{out_dir}: not enough free space: {total} bytes needed plus a {FREE_SPACE_MARGIN}-byte margin,"
            f" {free} free"
        )
    files = 0
    names: list[str] = []
    for member in index:
        target = out_dir / member.name
        if member.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
            continue
        if target.exists() and not overwrite:
            raise InputError(f"{target}: already exists (use --force to overwrite)")
        target.parent.mkdir(parents=True, exist_ok=True)
        with index.member(member.name).region.open() as reader, target.open("wb") as writer:
            while chunk := reader.read(_COPY_CHUNK):
                writer.write(chunk)
                if progress:
                    progress(len(chunk))
        target.chmod(0o644)
        files += 1
        names.append(member.name)
    return UnpackResult(files, total, out_dir, tuple(names))
