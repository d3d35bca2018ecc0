"""Open whatever the user points at: an offline package, a bundle, a directory of bundles, an
images.tar (any flavour) or an OCI layout (directory or tar)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from skoala_airgap.archive.entries import DirEntries
from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.errors import ArchiveError, InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.sources.bundle import HINTS_MEMBER, Bundle, parse_bundle_name
from skoala_airgap.sources.images import is_images_archive, read_images
from skoala_airgap.sources.package import OfflinePackage


@dataclass
class Source:
    """What was found at ``path``. ``bundles`` for packages and bundle folders, ``images`` otherwise."""

    path: Path
    kind: str  # "package", "bundle", "bundle-dir", "images", "oci-layout"
    bundles: list[Bundle] = field(default_factory=list)
    images: list[SourceImage] = field(default_factory=list)
    package: OfflinePackage | None = None
    warnings: list[str] = field(default_factory=list)

    def all_images(self) -> list[tuple[Bundle | None, SourceImage]]:
        out: list[tuple[Bundle | None, SourceImage]] = [(None, image) for image in self.images]
        for bundle in self.bundles:
            out.extend((bundle, image) for image in bundle.images)
        return out


def _bundle_dir(path: Path) -> Source:
    source = Source(path, "bundle-dir")
    for file in sorted(path.glob("*.tar")):
        if parse_bundle_name(file.name):
            source.bundles.append(Bundle.open(file))
        else:
            source.warnings.append(f"{file}: skipped, not named NAME_VERSION.bundle.tar")
    if not source.bundles:
        raise InputError(f"{path}: no NAME_VERSION.bundle.tar files found")
    return source


def open_source(path: Path) -> Source:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "oci-layout").is_file():
            return Source(path, "oci-layout", images=read_images(DirEntries(path)))
        return _bundle_dir(path)
    index = TarIndex.open(path)
    if HINTS_MEMBER in index:
        bundle = Bundle(index, path.name)
        bundle.validate()
        return Source(path, "bundle", bundles=[bundle])
    if is_images_archive(index):
        kind = "oci-layout" if "oci-layout" in index and "manifest.json" not in index else "images"
        return Source(path, kind, images=read_images(index))
    names = index.names()
    if any(n.endswith((".bundle.tar", ".tgz")) for n in names):
        package = OfflinePackage(path, index)
        for bundle in package.bundles:
            bundle.validate()
        warnings = [f"{path}!{name}: skipped, not named NAME_VERSION.bundle.tar" for name in package.skipped]
        return Source(path, "package", bundles=package.bundles, package=package, warnings=warnings)
    raise ArchiveError(str(path), None, "not an offline package, bundle, images.tar or OCI layout")
