"""Evaluate a bundle's hints against its chart values and cross-check them with its images.tar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skoala_airgap.charts.hints import ImageTemplate, parse_hints, render
from skoala_airgap.charts.values_context import build_values_context
from skoala_airgap.errors import InputError
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.lookup import find_image, normalised_names


@dataclass(frozen=True)
class EvaluatedHint:
    template: ImageTemplate
    reference: Reference | None
    error: str | None = None


def evaluate_hints(bundle: Bundle) -> list[EvaluatedHint]:
    """Render every hint against the bundle's original chart (values plus subchart values)."""
    templates = parse_hints(bundle.hints, bundle.index.member_label("hints.yaml"))
    context = build_values_context(bundle.chart.files, source=bundle.chart.label)
    results: list[EvaluatedHint] = []
    for template in templates:
        try:
            results.append(EvaluatedHint(template, parse_reference(render(template, context))))
        except (InputError, ValueError) as exc:
            results.append(EvaluatedHint(template, None, str(exc)))
    return results


def check_hints(bundle: Bundle) -> dict[str, Any]:
    """Hint results plus both directions of the cross-check with images.tar."""
    evaluated = evaluate_hints(bundle)
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
