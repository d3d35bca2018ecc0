"""charts-syncer intermediate bundles (``NAME_VERSION.bundle.tar``), read in place.

A bundle is a plain tar: ``hints.yaml`` first, the unmodified chart under ``original-chart/``, and a
nested ``images.tar`` last (absent when the bundle was saved without images).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.errors import ArchiveError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.sources.images import read_images

# charts-syncer's own pattern (pkg/util/chartutil): name has no '_' or '.', version no '_'.
BUNDLE_NAME = re.compile(r"(^[a-zA-Z][a-zA-Z0-9+-]*)_([a-zA-Z0-9][a-zA-Z0-9+-.]*)\.bundle.tar")
CHART_PREFIX = "original-chart/"
IMAGES_MEMBER = "images.tar"
HINTS_MEMBER = "hints.yaml"


def parse_bundle_name(file_name: str) -> tuple[str, str] | None:
    """(chart name, version) from a bundle file name, or None when it is not a bundle name."""
    match = BUNDLE_NAME.match(file_name)
    return (match.group(1), match.group(2)) if match else None


@dataclass
class Bundle:
    """One intermediate bundle; ``index`` may belong to a bundle nested in an offline package."""

    index: TarIndex
    file_name: str

    @classmethod
    def open(cls, path: Path) -> Bundle:
        return cls(TarIndex.open(path), path.name)

    @classmethod
    def nested(cls, package: TarIndex, member: str) -> Bundle:
        return cls(package.nested(member), member.rsplit("/", 1)[-1])

    @property
    def label(self) -> str:
        return self.index.label

    def validate(self) -> None:
        """Spec §1.7: hints and Chart.yaml must be there; images.tar is checked where images are used."""
        if HINTS_MEMBER not in self.index:
            raise ArchiveError(self.label, HINTS_MEMBER, "bundle has no hints.yaml")
        if CHART_PREFIX + "Chart.yaml" not in self.index:
            raise ArchiveError(self.label, CHART_PREFIX + "Chart.yaml", "bundle has no chart")

    @cached_property
    def hints(self) -> bytes:
        return self.index.read(HINTS_MEMBER)

    @cached_property
    def chart(self) -> ChartFiles:
        """The original chart's files; only the exact ``original-chart/`` folder (not ``original-chart2/``)."""
        files = {
            member.name[len(CHART_PREFIX) :]: self.index.read(member.name)
            for member in self.index
            if member.kind == "file" and member.name.startswith(CHART_PREFIX)
        }
        return ChartFiles(files, self.index.member_label("original-chart"))

    @property
    def name(self) -> str:
        parsed = parse_bundle_name(self.file_name)
        return parsed[0] if parsed else self.chart.name

    @property
    def version(self) -> str:
        parsed = parse_bundle_name(self.file_name)
        return parsed[1] if parsed else self.chart.version

    @property
    def has_images(self) -> bool:
        return IMAGES_MEMBER in self.index

    @cached_property
    def images(self) -> list[SourceImage]:
        if not self.has_images:
            return []
        return read_images(self.index.nested(IMAGES_MEMBER))

    def replace_images(self, images: list[SourceImage]) -> None:
        """Use ``images`` instead of what images.tar holds (e.g. one platform of each index: --platform)."""
        self.__dict__["images"] = images
