"""Re-package a relocated chart as a Helm ``.tgz`` that is byte-for-byte reproducible.

charts-syncer re-packages with Helm's ``chartutil.Save`` (spec §4.5): Chart.yaml re-serialised with sorted
keys and no comments, Chart.lock dropped, subcharts unpacked into directories, mtime "now". We keep what
Helm needs and change as little as possible, so the same input always gives the same bytes (and digest):

* Chart.yaml keeps its bytes except that every ``dependencies[].repository`` becomes ``""``;
* Chart.lock is dropped (its digest covers the repositories, so it would no longer match);
* the same two edits are made in every subchart *directory*, at any depth; subchart ``.tgz`` files are
  kept byte for byte (their own Chart.yaml and lock stay consistent with each other);
* members are ordered as Helm's ``Save`` writes them (Chart.yaml, values.yaml, values.schema.json,
  templates, other files, then subcharts), each group lexically; mode 0644, mtime 0, no directory entries;
* the gzip header has mtime 0 and no file name.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile

from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.charts.values_edit import set_dependency_repositories_empty
from skoala_airgap.errors import InputError

__all__ = [
    "MTIME",
    "chart_filename",
    "package_chart",
    "package_member_order",
    "strip_dependency_refs",
    "valid_chart_version",
]

#: Modification time of every member (the epoch): fixed so that packages are reproducible.
MTIME = 0
_LOCK = "Chart.lock"
# Masterminds semver ``NewVersion`` (what Helm's Metadata.Validate uses): lenient ``v`` prefix and parts.
_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(\.(0|[1-9]\d*))?(\.(0|[1-9]\d*))?"
    r"(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$"
)
_CHART_TYPES = ("", "application", "library")


def valid_chart_version(version: str) -> bool:
    """True when Helm accepts ``version`` as a chart version (SemVer 2, leniently parsed)."""
    return _SEMVER.match(version) is not None


def chart_filename(name: str, version: str) -> str:
    """``<name>-<version>.tgz``, the name Helm, ChartMuseum and index.yaml use."""
    return f"{name}-{version}.tgz"


def package_chart(chart: ChartFiles, *, values_yaml: bytes | None = None) -> bytes:
    """The chart as a reproducible Helm archive; ``values_yaml`` replaces the root values.yaml if given."""
    _validate(chart)
    files = strip_dependency_refs(dict(chart.files), chart.label, "")
    if values_yaml is not None:
        files["values.yaml"] = values_yaml
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in package_member_order(files):
            data = files[path]
            info = tarfile.TarInfo(f"{chart.name}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def package_member_order(paths: dict[str, bytes] | list[str]) -> list[str]:
    """Paths in the order Helm's ``chartutil.Save`` writes them, made deterministic.

    Helm writes subcharts in Go map order (random); we sort them by directory name.
    """
    return sorted(paths, key=_order_key)


def _order_key(path: str) -> tuple[tuple[int, str], ...]:
    if path == "Chart.yaml":
        return ((0, ""),)
    if path == "values.yaml":
        return ((1, ""),)
    if path == "values.schema.json":
        return ((2, ""),)
    if path.startswith("templates/"):
        return ((3, path),)
    if path.startswith("charts/") and not path.endswith(".prov"):
        first, _, inner = path[len("charts/") :].partition("/")
        return ((5, first), *(_order_key(inner) if inner else ()))
    return ((4, path),)


def _validate(chart: ChartFiles) -> None:
    """What Helm's ``Save`` validates first, plus safe member paths."""
    meta = chart.metadata
    where = f"{chart.label}: Chart.yaml"
    if meta.get("apiVersion") not in ("v1", "v2"):
        raise InputError(f"{where}: apiVersion must be v1 or v2, not {meta.get('apiVersion')!r}")
    name = chart.name
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InputError(f"{where}: chart name {name!r} is invalid")
    if not isinstance(meta.get("version"), str) or not valid_chart_version(chart.version):
        raise InputError(f"{where}: version {meta.get('version')!r} is not a valid SemVer 2 version")
    if str(meta.get("type") or "") not in _CHART_TYPES:
        raise InputError(f"{where}: chart type {meta.get('type')!r} is invalid")
    for path in chart.files:
        parts = path.split("/")
        if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise InputError(f"{chart.label}: {path!r}: unsafe path in chart")


def strip_dependency_refs(files: dict[str, bytes], label: str, prefix: str = "") -> dict[str, bytes]:
    """Blank dependency repositories and drop the lock in the chart at ``prefix`` and its subchart dirs."""
    chart_yaml = prefix + "Chart.yaml"
    if chart_yaml in files:
        source = f"{label}: {chart_yaml}"
        try:
            text = files[chart_yaml].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: not UTF-8 text") from exc
        edited = set_dependency_repositories_empty(text, source=source)
        if edited != text:
            files[chart_yaml] = edited.encode("utf-8")
    files.pop(prefix + _LOCK, None)
    subdirs = sorted(
        {
            path[len(prefix) + len("charts/") :].split("/", 1)[0]
            for path in files
            if path.startswith(prefix + "charts/") and path.count("/", len(prefix) + len("charts/")) >= 1
        }
    )
    for subdir in subdirs:
        if subdir.startswith(("_", ".")):
            continue  # Helm's loader does not treat these as subcharts
        files = strip_dependency_refs(files, label, f"{prefix}charts/{subdir}/")
    return files
