"""A chart with its image hints, and the one evaluation of those hints (spec §2.3-§2.5).

``inspect``, the relocation planner and the site values override all need "what does hint N render to
against this chart's values"; they all get it here, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.charts.hints import ImageTemplate, parse_hints, render
from skoala_airgap.charts.values_context import build_values_context
from skoala_airgap.errors import InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.sources.bundle import HINTS_MEMBER, Bundle


@dataclass(frozen=True)
class EvaluatedHint:
    """Hint ``number`` (1-based, file order) and what it renders to, or why it cannot be rendered."""

    number: int
    template: ImageTemplate
    reference: Reference | None
    error: str | None = None


@dataclass(frozen=True)
class HintedChart:
    """A chart, its hints and (from a bundle) its images; images are read only when asked for."""

    chart: ChartFiles
    templates: tuple[ImageTemplate, ...]
    hints_label: str = HINTS_MEMBER
    bundle: Bundle | None = field(default=None, compare=False)

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> HintedChart:
        label = bundle.index.member_label(HINTS_MEMBER)
        return cls(bundle.chart, tuple(parse_hints(bundle.hints, label)), label, bundle)

    @classmethod
    def from_files(cls, chart: ChartFiles, hints: bytes, hints_label: str = HINTS_MEMBER) -> HintedChart:
        """Hints given beside the chart (e.g. a chart's ``.relok8s-images.yaml``)."""
        return cls(chart, tuple(parse_hints(hints, hints_label)), hints_label)

    @property
    def name(self) -> str:
        return self.chart.name

    @property
    def version(self) -> str:
        return self.chart.version

    @property
    def label(self) -> str:
        return self.bundle.label if self.bundle else self.chart.label

    @property
    def has_images(self) -> bool:
        return self.bundle is not None and self.bundle.has_images

    @property
    def images(self) -> list[SourceImage]:
        return self.bundle.images if self.bundle is not None else []

    @cached_property
    def context(self) -> dict[str, Any]:
        """The values the hints render against: root values plus each subchart's (spec §2.3)."""
        return build_values_context(self.chart.files, source=self.chart.label)

    def evaluate(self) -> list[EvaluatedHint]:
        """Every hint, rendered; failures are kept with their reason (for ``inspect``)."""
        out: list[EvaluatedHint] = []
        for number, template in enumerate(self.templates, start=1):
            try:
                out.append(EvaluatedHint(number, template, parse_reference(render(template, self.context))))
            except (InputError, ValueError) as exc:
                out.append(EvaluatedHint(number, template, None, str(exc)))
        return out

    def references(self) -> list[EvaluatedHint]:
        """Every hint, rendered; the first that fails is an :class:`InputError` naming file and item."""
        _ = self.context  # values.yaml that cannot be read is that file's fault, not the first hint's
        hints = self.evaluate()
        for hint in hints:
            if hint.reference is None:
                raise InputError(f"{self.hints_label}: item {hint.number}: {hint.error}")
        return hints
