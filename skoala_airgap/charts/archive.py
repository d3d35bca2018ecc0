"""Helm chart archives (``NAME-VERSION.tgz``): read into memory, since charts are kilobytes.

A chart archive holds one top-level folder (the chart name); files are returned relative to it, which
is how a bundle's ``original-chart/`` presents them too, so both feed the same hint and rewrite code.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

from skoala_airgap.charts.yaml_loader import safe_load
from skoala_airgap.errors import ArchiveError

CHART_LIMIT = 64 * 1024 * 1024  # uncompressed; far above any real chart, far below a layer


@dataclass(frozen=True)
class ChartFiles:
    """A chart as a map of relative path -> bytes, with its parsed Chart.yaml."""

    files: dict[str, bytes] = field(repr=False)
    label: str

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Parsed once: every image move of a plan asks for the chart's name and version."""
        return parse_chart_yaml(self.files, self.label)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", ""))


def parse_chart_yaml(files: dict[str, bytes], label: str) -> dict[str, Any]:
    if "Chart.yaml" not in files:
        raise ArchiveError(label, "Chart.yaml", "chart has no Chart.yaml")
    try:
        meta = safe_load(files["Chart.yaml"])
    except yaml.YAMLError as exc:
        raise ArchiveError(label, "Chart.yaml", f"invalid YAML ({exc})".replace("\n", " ")) from exc
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise ArchiveError(label, "Chart.yaml", "Chart.yaml must set name and version")
    return meta


def read_chart_tgz(data: bytes, label: str) -> ChartFiles:
    """Files of a packaged chart, relative to its top folder; unsafe paths are refused."""
    if data[:2] != b"\x1f\x8b":
        raise ArchiveError(label, None, "not a gzipped chart archive")
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise ArchiveError(label, None, f"not a readable chart archive ({exc})") from exc
    if len(raw) > CHART_LIMIT:
        raise ArchiveError(label, None, "chart archive is implausibly large")
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for info in tar:
                if not info.isreg():
                    continue
                parts = [p for p in info.name.replace("\\", "/").split("/") if p not in ("", ".")]
                if info.name.startswith("/") or ".." in parts:
                    raise ArchiveError(label, info.name, "chart contains a path outside its directory")
                if len(parts) < 2:
                    continue  # like Helm's loader: only files inside the chart directory count
                extracted = tar.extractfile(info)
                assert extracted is not None
                files["/".join(parts[1:])] = extracted.read()
    except tarfile.TarError as exc:
        raise ArchiveError(label, None, f"not a readable chart archive ({exc})") from exc
    return ChartFiles(files, label)
