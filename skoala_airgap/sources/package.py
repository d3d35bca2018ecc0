"""Vendor offline packages (``skoala_vX.Y.Z_amd64.tar``): bundles and chart archives, read in place.

The package sits beside ``skoala_vX.Y.Z_amd64_checksum.sha512sum``. Hashing 1.5 GB is the one step
that must read every byte, so it runs only when asked (``inspect --verify``, ``push-images --verify``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.charts.archive import ChartFiles, read_chart_tgz
from skoala_airgap.errors import ArchiveError, InputError
from skoala_airgap.sources.bundle import Bundle, parse_bundle_name

# Charts that must be upgraded together and therefore carry one version.
LOCKSTEP_CHARTS = ("skoala", "skoala-init")
_HASH_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class ChecksumResult:
    file: Path | None
    status: str  # "match", "mismatch", "absent"
    expected: str = ""
    actual: str = ""


@dataclass
class OfflinePackage:
    path: Path
    index: TarIndex
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path) -> OfflinePackage:
        return cls(path, TarIndex.open(path))

    @cached_property
    def bundles(self) -> list[Bundle]:
        found: list[Bundle] = []
        for member in self.index:
            base = member.name.rsplit("/", 1)[-1]
            if member.kind == "dir" or not base.endswith(".tar"):
                continue
            if parse_bundle_name(base):
                found.append(Bundle.nested(self.index, member.name))
            else:
                self.skipped.append(member.name)
        return found

    @cached_property
    def charts(self) -> list[ChartFiles]:
        return [
            read_chart_tgz(self.index.read(m.name), self.index.member_label(m.name))
            for m in self.index
            if m.kind == "file" and m.name.endswith(".tgz")
        ]

    def version_warnings(self) -> list[str]:
        """skoala and skoala-init must be upgraded together, so their versions must match."""
        versions: dict[str, set[str]] = {}
        for bundle in self.bundles:
            versions.setdefault(bundle.name, set()).add(bundle.version)
        for chart in self.charts:
            versions.setdefault(chart.name, set()).add(chart.version)
        present = {name: versions[name] for name in LOCKSTEP_CHARTS if name in versions}
        if len(present) < 2 or len(set().union(*present.values())) == 1:
            return []
        listed = ", ".join(f"{name} {'/'.join(sorted(v))}" for name, v in present.items())
        return [f"{self.path.name}: chart versions differ ({listed}); they must be upgraded together"]

    def checksum_file(self) -> Path | None:
        candidate = self.path.with_name(f"{self.path.stem}_checksum.sha512sum")
        return candidate if candidate.is_file() else None

    def verify_checksum(self, progress: Callable[[int], None] | None = None) -> ChecksumResult:
        checksum_path = self.checksum_file()
        if checksum_path is None:
            return ChecksumResult(None, "absent")
        expected = _expected_sha512(checksum_path, self.path.name)
        sha = hashlib.sha512()
        with self.path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                sha.update(chunk)
                if progress:
                    progress(len(chunk))
        actual = sha.hexdigest()
        return ChecksumResult(checksum_path, "match" if actual == expected else "mismatch", expected, actual)


def require_checksum(
    package: OfflinePackage, *, allow_missing: bool, progress: Callable[[int], None] | None = None
) -> ChecksumResult:
    """``--verify``: the package must match its sha512sum file; a missing file is an error unless allowed."""
    result = package.verify_checksum(progress)
    if result.status == "absent" and not allow_missing:
        expected = package.path.with_name(f"{package.path.stem}_checksum.sha512sum")
        raise InputError(
            f"{package.path}: --verify: no checksum file ({expected.name} next to the package); "
            "use --allow-missing-checksum to go on without it"
        )
    if result.status == "mismatch":
        raise InputError(f"{package.path}: sha512 checksum does not match {result.file}")
    return result


def _expected_sha512(checksum_path: Path, file_name: str) -> str:
    """The hex for ``file_name`` in a sha512sum file ("<hex>  <name>" lines; '*' marks binary mode)."""
    try:
        lines = checksum_path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{checksum_path}: cannot read checksum file ({exc})") from exc
    for line in lines:
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and parts[1].lstrip("*").rsplit("/", 1)[-1] == file_name:
            if len(parts[0]) != 128:
                raise ArchiveError(str(checksum_path), file_name, "checksum line is not a sha512 hex digest")
            return parts[0].lower()
    raise ArchiveError(str(checksum_path), file_name, "no checksum line for this file")
