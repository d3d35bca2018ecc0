"""Open whatever the user points at: an offline package, a bundle, a directory of bundles (what
charts-syncer's ``intermediateBundlesPath`` names), an images.tar (any flavour) or an OCI layout.

Every command opens its input here, so they all accept the same things and warn the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from skoala_airgap.archive.entries import DirEntries
from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.errors import ArchiveError, InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.sources.bundle import HINTS_MEMBER, Bundle, parse_bundle_name
from skoala_airgap.sources.images import is_images_archive, read_images
from skoala_airgap.sources.package import OfflinePackage

_SKIPPED = "skipped, not named NAME_VERSION.bundle.tar"


@dataclass
class Source:
    """What was found at ``path``. ``bundles`` for packages and bundle folders, ``images`` otherwise."""

    path: Path
    kind: str  # "package", "bundle", "bundle-dir", "images", "oci-layout"
    bundles: list[Bundle] = field(default_factory=list)
    images: list[SourceImage] = field(default_factory=list)
    package: OfflinePackage | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files that are not bundles, with the reason

    def all_images(self) -> list[tuple[Bundle | None, SourceImage]]:
        out: list[tuple[Bundle | None, SourceImage]] = [(None, image) for image in self.images]
        for bundle in self.bundles:
            out.extend((bundle, image) for image in bundle.images)
        return out


def bundle_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """Bundles in ``directory`` in lexical order, plus the ``*.tar`` files skipped (the caller warns).

    charts-syncer panics on a non-matching ``*.tar`` (e.g. ``images.tar``); we skip it. A second file that
    maps to an already seen name and version is skipped too.
    """
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.name.endswith(".tar"))
    except FileNotFoundError as exc:
        raise InputError(f"{directory}: bundle directory does not exist") from exc
    except NotADirectoryError as exc:
        raise InputError(f"{directory}: bundle path is not a directory") from exc
    except OSError as exc:
        raise InputError(f"{directory}: cannot list bundle directory: {exc.strerror or exc}") from exc
    found: list[Path] = []
    skipped: list[Path] = []
    seen: set[tuple[str, str]] = set()
    for name in names:
        path = directory / name
        key = parse_bundle_name(name)
        if key is None or key in seen or not path.is_file():
            skipped.append(path)
            continue
        seen.add(key)
        found.append(path)
    return found, skipped


def _bundle_dir(path: Path) -> Source:
    source = Source(path, "bundle-dir")
    found, skipped = bundle_files(path)
    source.bundles = [Bundle.open(file) for file in found]
    source.skipped = [f"{file}: {_SKIPPED}" for file in skipped]
    if not source.bundles:
        reasons = "; ".join(source.skipped) or "no *.tar files"
        raise InputError(f"{path}: no NAME_VERSION.bundle.tar files found ({reasons})")
    return source


def _check_bundles(source: Source) -> None:
    """Every bundle must be readable; a file name that disagrees with Chart.yaml is a warning."""
    for bundle in source.bundles:
        bundle.validate()
        chart = bundle.chart
        if chart.name != bundle.name or chart.version != bundle.version:
            source.warnings.append(
                f"{bundle.label}: file name says {bundle.name} {bundle.version}, Chart.yaml says"
                f" {chart.name} {chart.version}; using Chart.yaml"
            )


def open_source(path: Path) -> Source:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "oci-layout").is_file():
            return Source(path, "oci-layout", images=read_images(DirEntries(path)))
        source = _bundle_dir(path)
    else:
        source = _open_file(path)
    _check_bundles(source)
    source.warnings = source.skipped + source.warnings
    if source.package is not None:
        source.warnings += source.package.version_warnings()
    return source


def _open_file(path: Path) -> Source:
    index = TarIndex.open(path)
    if HINTS_MEMBER in index or (parse_bundle_name(path.name) and not is_images_archive(index)):
        return Source(path, "bundle", bundles=[Bundle(index, path.name)])
    if is_images_archive(index):
        kind = "oci-layout" if "oci-layout" in index and "manifest.json" not in index else "images"
        return Source(path, kind, images=read_images(index))
    names = index.names()
    if any(n.endswith((".bundle.tar", ".tgz")) for n in names):
        package = OfflinePackage(path, index)
        source = Source(path, "package", bundles=package.bundles, package=package)
        source.skipped = [f"{path}!{name}: {_SKIPPED}" for name in package.skipped]
        return source
    raise ArchiveError(str(path), None, "not an offline package, bundle, images.tar or OCI layout")
