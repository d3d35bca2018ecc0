"""Describe a source without moving anything: bundles, charts, images, digests, sizes, hint checks.

Only headers, manifests, configs, hints and chart files are read, so inspecting a 2 GiB package reads
well under 1% of it. Layer bytes are read only with ``verify=True`` (the package checksum).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skoala_airgap.errors import InputError
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import SourceImage
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.open import Source
from skoala_airgap.sources.package import require_checksum


def image_summary(image: SourceImage) -> dict[str, Any]:
    manifest = image.manifest
    platforms = [str(m.platform) for m in manifest.children if m.platform]
    layers = [blob for node in manifest.walk() for blob in node.layers]
    return {
        "names": list(image.names),
        "digest": str(image.digest),
        "media_type": manifest.media_type,
        "platforms": platforms,
        "layers": len(layers),
        "compression": sorted({blob.compression.value for blob in layers}),
        "size": manifest.total_size,
    }


def _unique_bytes(images: list[SourceImage]) -> int:
    blobs: dict[Digest, int] = {}
    for image in images:
        for blob in image.manifest.blobs():
            blobs[blob.digest] = blob.size
    return sum(blobs.values())


def bundle_summary(bundle: Bundle) -> dict[str, Any]:
    from skoala_airgap.relocation.check import check_hints  # chart-side logic stays out of image paths

    images = bundle.images
    return {
        "file": bundle.label,
        "chart": bundle.chart.name,
        "version": bundle.chart.version,
        "bundle_version": bundle.version,
        "has_images": bundle.has_images,
        "images": [image_summary(image) for image in images],
        "hints": check_hints(bundle),
        "total_bytes": sum(image.manifest.total_size for image in images),
        "unique_bytes": _unique_bytes(images),
    }


def inspect_source(
    source: Source,
    *,
    verify: bool = False,
    allow_missing_checksum: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """A JSON-ready description of ``source``; ``verify`` checks the package checksum (exit 2 when it
    does not match, or when there is no checksum file unless ``allow_missing_checksum``)."""
    all_images = [image for _, image in source.all_images()]
    report: dict[str, Any] = {"ok": True, "path": str(source.path), "kind": source.kind}
    report["warnings"] = list(source.warnings)
    if verify and source.package is None:
        raise InputError(f"{source.path}: --verify checks an offline package's checksum file; this is a {source.kind}")
    if source.package is not None:
        package = source.package
        report["charts"] = [
            {"file": chart.label, "name": chart.name, "version": chart.version} for chart in package.charts
        ]
        checksum_file = package.checksum_file()
        if verify:
            result = require_checksum(package, allow_missing=allow_missing_checksum, progress=progress)
            report["checksum"] = {"file": str(result.file) if result.file else None, "status": result.status}
        else:
            status = "not-checked" if checksum_file else "absent"
            report["checksum"] = {"file": str(checksum_file) if checksum_file else None, "status": status}
    report["bundles"] = [bundle_summary(bundle) for bundle in source.bundles]
    report["images"] = [image_summary(image) for image in source.images]
    report["summary"] = report["totals"] = {
        "images": len(all_images),
        "bytes": sum(image.manifest.total_size for image in all_images),
        "unique_bytes": _unique_bytes(all_images),
    }
    return report
