"""Find the image a hint names among a source's images (spec §1.5/§1.6 lookup rule).

Names are compared fully normalised (``nginx:1.25`` matches ``docker.io/library/nginx:1.25``); an
image may carry several names; an OCI ref name that is only a tag matches on the tag alone when
exactly one image has that tag. The first match in source order wins, as in charts-syncer.
"""

from __future__ import annotations

from collections.abc import Sequence

from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference


def normalised_names(image: SourceImage) -> set[str]:
    names: set[str] = set()
    for name in image.names:
        try:
            names.add(parse_reference(name).name)
        except ValueError:
            continue  # an unparsable RepoTag matches nothing (charts-syncer aborts the whole search)
    return names


def find_image(images: Sequence[SourceImage], wanted: Reference) -> SourceImage | None:
    for image in images:
        if wanted.name in normalised_names(image):
            return image
    if wanted.tag:
        by_tag = [image for image in images if wanted.tag in image.tags]
        if len(by_tag) == 1:
            return by_tag[0]
    return None
