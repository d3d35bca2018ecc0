"""``--platform os/arch[/variant]``: keep one platform's manifest of every multi-platform image.

charts-syncer pulls one platform (``--platform``, default linux/amd64) when it saves a bundle, so its
bundles never hold an index. OCI layouts and Docker 25 saves can: by default skoala-airgap pushes the
index as it is (every platform, digests kept); with ``--platform`` the tag gets the chosen platform's
image manifest instead, as ``crane copy --platform`` does. The index digest is then not the pushed one,
which is said once per image. Single-platform images are left alone.
"""

from __future__ import annotations

from skoala_airgap.errors import InputError
from skoala_airgap.model.descriptor import Platform
from skoala_airgap.model.image import Manifest, SourceImage
from skoala_airgap.sources.open import Source

__all__ = ["parse_platform", "select_platform"]


def parse_platform(text: str) -> Platform:
    try:
        return Platform.parse(text)
    except ValueError as exc:
        raise InputError(f"--platform: {exc} (e.g. linux/amd64 or linux/arm/v7)") from exc


def _satisfies(found: Platform | None, wanted: Platform) -> bool:
    """go-containerregistry's matching: os and architecture equal, the variant too when one is asked for."""
    if found is None:
        return False
    if (found.os, found.architecture) != (wanted.os, wanted.architecture):
        return False
    return not wanted.variant or found.variant == wanted.variant


def _pick(manifest: Manifest, wanted: Platform) -> Manifest | None:
    for child in manifest.children:
        if child.is_index:
            nested = _pick(child, wanted)
            if nested is not None:
                return nested
        elif _satisfies(child.platform, wanted):
            return child
    return None


def _platforms(manifest: Manifest) -> list[str]:
    out: list[str] = []
    for child in manifest.children:
        out += _platforms(child) if child.is_index else [str(child.platform or "unknown")]
    return out


def select_image(image: SourceImage, wanted: Platform) -> tuple[SourceImage, str | None]:
    """The image with only ``wanted``'s manifest, and a note when an index was reduced."""
    if not image.manifest.is_index:
        return image, None
    chosen = _pick(image.manifest, wanted)
    if chosen is None:
        have = ", ".join(_platforms(image.manifest)) or "none"
        raise InputError(f"{image.origin}: {image.display_name}: no {wanted} image in its index (it has {have})")
    note = (
        f"{image.display_name}: --platform {wanted}: pushing {chosen.digest} instead of the index "
        f"{image.manifest.digest}"
    )
    return SourceImage(image.names, chosen, image.origin, image.tags), note


def select_platform(source: Source, wanted: Platform) -> list[str]:
    """Reduce every multi-platform image of ``source`` (and of its bundles) to ``wanted``; returns the notes."""
    notes: list[str] = []

    def reduce(images: list[SourceImage]) -> list[SourceImage]:
        out = []
        for image in images:
            chosen, note = select_image(image, wanted)
            out.append(chosen)
            if note:
                notes.append(note)
        return out

    source.images = reduce(source.images)
    for bundle in source.bundles:
        if bundle.has_images:
            bundle.replace_images(reduce(bundle.images))
    return notes
