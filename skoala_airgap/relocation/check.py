"""Cross-check a bundle's hints with its images.tar in both directions (for ``inspect``)."""

from __future__ import annotations

from typing import Any

from skoala_airgap.relocation.hints import HintedChart
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.lookup import find_image, normalised_names


def check_hints(bundle: Bundle) -> dict[str, Any]:
    """Hint results plus both directions of the cross-check with images.tar."""
    evaluated = HintedChart.from_bundle(bundle).evaluate()
    images = bundle.images
    missing: list[str] = []
    used: set[int] = set()
    for hint in evaluated:
        if hint.reference is None:
            continue
        image = find_image(images, hint.reference)
        if image is None:
            missing.append(hint.reference.name)
        else:
            used.add(id(image))
    not_hinted = [
        name
        for image in images
        if id(image) not in used
        for name in (sorted(normalised_names(image)) or [image.display_name])
    ]
    return {
        "templates": [
            {"template": h.template.raw, "reference": h.reference.name if h.reference else None, "error": h.error}
            for h in evaluated
        ],
        "missing_from_images": list(dict.fromkeys(missing)) if bundle.has_images else [],
        "not_hinted": not_hinted,
    }
