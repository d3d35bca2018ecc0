"""The one module of ``doctor`` that imports the rest of skoala_airgap.

The package is being reorganised, so every import of another skoala_airgap module lives here (the
package reader, the values override, the error types) and the other doctor modules only import this
one. Heavy modules are imported inside the functions, so ``doctor`` without a package stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from skoala_airgap.errors import AirgapError, ConfigError, InputError, PartialFailure

__all__ = [
    "AirgapError",
    "ConfigError",
    "ImageExists",
    "InputError",
    "PackageFacts",
    "PartialFailure",
    "override_images",
    "read_package",
]

#: ``exists(image_ref)`` -> True (present), False (absent) or None (could not tell). ``verify`` will
#: provide one; until it is wired in, the image check reports that it is not available.
ImageExists = Callable[[str], bool | None]

SKOALA = "skoala"
SKOALA_INIT = "skoala-init"


@dataclass(frozen=True)
class PackageFacts:
    """What the pre-upgrade checks need from a package: chart versions and the checksum verdict."""

    path: Path
    kind: str
    versions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lockstep_warnings: tuple[str, ...] = ()
    checksum_status: str = "absent"  # "match", "mismatch", "absent", "n/a" (not a vendor package)
    checksum_file: Path | None = None

    def version_of(self, chart: str) -> str | None:
        """The chart's version when the package holds exactly one, else None."""
        found = self.versions.get(chart, ())
        return found[0] if len(found) == 1 else None


def read_package(path: Path, *, verify_checksum: bool = True) -> PackageFacts:
    """Chart versions from the bundles (lockstep also covers chart archives) and the sha512 verdict."""
    from skoala_airgap.sources.open import open_source

    source = open_source(path)
    versions: dict[str, set[str]] = {}
    for bundle in source.bundles:
        versions.setdefault(bundle.name, set()).add(bundle.version)
    package = source.package
    if package is None:
        return PackageFacts(path, source.kind, _sorted(versions), checksum_status="n/a")
    for chart in package.charts:
        versions.setdefault(chart.name, set()).add(chart.version)
    status, checksum_file = "absent", package.checksum_file()
    if checksum_file is not None and verify_checksum:
        status = package.verify_checksum().status
    return PackageFacts(path, source.kind, _sorted(versions), tuple(package.version_warnings()), status, checksum_file)


def _sorted(versions: dict[str, set[str]]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(sorted(found)) for name, found in versions.items()}


def override_images(package: Path, registry: str, backup_text: str, backup_label: str) -> tuple[list[str], list[str]]:
    """Every image skoala's release would pull with the ``values`` override for ``registry``, and the
    override's warnings (a tag the backup pins that the package does not hold, an image off the site).

    The rules are those of the package's receipt for ``registry`` when there is one (what ``values``
    would use), else ``containerRegistry: registry``."""
    from skoala_airgap.relocation.rules import RewriteRules
    from skoala_airgap.sources.open import open_source
    from skoala_airgap.workflows.inputs import resolve_inputs
    from skoala_airgap.workflows.values import HintedChart, build_site_values

    charts = [HintedChart.from_bundle(b) for b in open_source(package).bundles if b.name == SKOALA]
    if not charts:
        raise InputError(f"{package}: no {SKOALA} bundle, so the images of its override are unknown")
    found = resolve_inputs(
        package, RewriteRules(), config_path=None, receipt_path=None, read_receipt=True, registry_hint=registry
    )
    rules = found.placement.rules if found.placement is not None else None
    result = build_site_values(charts, registry=registry, rules=rules, backup=backup_text, backup_label=backup_label)
    return sorted({image.resolved for image in result.images}), list(result.warnings)
