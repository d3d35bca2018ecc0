"""One read interface over a tar index and a plain directory, so OCI layouts work in either form."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from skoala_airgap.archive.region import FileRegion
from skoala_airgap.archive.tar_index import SMALL_MEMBER_LIMIT, TarIndex
from skoala_airgap.errors import ArchiveError


class Entries(Protocol):
    """Named files that image readers look up: members of a tar, or files under a directory."""

    label: str

    def __contains__(self, name: str) -> bool: ...

    def region_of(self, name: str) -> FileRegion: ...

    def read(self, name: str, limit: int = SMALL_MEMBER_LIMIT) -> bytes: ...


class DirEntries:
    """Files under ``root``; names are relative POSIX paths and may not leave the root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ArchiveError(self.label, name, "path leaves the directory")
        return path

    def __contains__(self, name: str) -> bool:
        try:
            return self._path(name).is_file()
        except ArchiveError:
            return False

    def region_of(self, name: str) -> FileRegion:
        path = self._path(name)
        if not path.is_file():
            raise ArchiveError(self.label, name, "no such file")
        return FileRegion.whole(path)

    def read(self, name: str, limit: int = SMALL_MEMBER_LIMIT) -> bytes:
        region = self.region_of(name)
        if region.size > limit:
            reason = f"file is {region.size} bytes, more than the {limit}-byte limit"
            raise ArchiveError(self.label, name, reason)
        return region.read(limit)


def _check(entries: TarIndex) -> Entries:
    return entries  # TarIndex satisfies Entries structurally; mypy checks it here.
