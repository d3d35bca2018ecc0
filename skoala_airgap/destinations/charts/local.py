"""LOCAL target: ``<path>/<name>-<version>.tgz`` plus a Helm ``index.yaml``, so the folder is a chart repo.

charts-syncer writes only the ``.tgz`` (no index) and panics at startup on any ``*.tgz`` whose name is not
``<name>-<x.y.z>.tgz`` (spec §4.6 [Q]). We index every readable chart archive whatever its file name,
skip unreadable ones with a warning, and write both files atomically (temp file + rename in the folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from skoala_airgap.charts.archive import read_chart_tgz
from skoala_airgap.charts.package import chart_filename
from skoala_airgap.charts.yaml_loader import safe_load
from skoala_airgap.destinations.charts.base import (
    ChartPublisher,
    PublishResult,
    PublishStatus,
    chart_of,
    helm_metadata,
    sha256_hex,
)
from skoala_airgap.errors import AirgapError, ArchiveError, InputError

__all__ = ["INDEX_FILE", "LocalPublisher", "build_index"]

INDEX_FILE = "index.yaml"
_log = logging.getLogger(__name__)
_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


class LocalPublisher(ChartPublisher):
    """A directory served (or copied) as a classic Helm chart repository."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped: list[str] = []  # *.tgz files the last index run could not read

    def describe(self) -> str:
        return f"LOCAL directory {self.path} (<name>-<version>.tgz + index.yaml)"

    def check(self) -> None:
        """The folder must be a folder (or creatable) and writable, before any image is pushed."""
        existing = next((p for p in (self.path, *self.path.parents) if p.exists()), None)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: target.repo.path is a file, not a folder")
        if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
            raise InputError(f"{self.path}: target.repo.path is not writable ({existing})")

    def exists(self, name: str, version: str) -> bool:
        return (self.path / chart_filename(name, version)).is_file()

    def fetch(self, name: str, version: str) -> bytes | None:
        target = self.path / chart_filename(name, version)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"{target}: cannot read: {exc.strerror or exc}") from exc

    def publish(self, name: str, version: str, tgz: bytes, *, force: bool = False) -> PublishResult:
        chart_of(tgz, name, version, chart_filename(name, version))
        target = self.path / chart_filename(name, version)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            existing = target.read_bytes() if target.is_file() else None
        except OSError as exc:
            raise InputError(f"{self.path}: cannot use LOCAL target directory: {exc.strerror or exc}") from exc
        status: PublishStatus
        if existing == tgz:
            status = "unchanged"
        elif existing is not None and not force:
            raise self.conflict(name, version, str(target))
        else:
            _atomic_write(target, tgz)
            status = "replaced" if existing is not None else "published"
        self.write_index()
        return PublishResult(name, version, status, str(target), f"sha256:{sha256_hex(tgz)}")

    def write_index(self) -> bool:
        """Regenerate index.yaml from the archives present; returns False when it was already up to date."""
        index_path = self.path / INDEX_FILE
        previous = _read_index(index_path)
        document, self.skipped = build_index(self.path, previous)
        for name in self.skipped:
            _log.warning("%s: not a readable chart archive; left out of %s", self.path / name, INDEX_FILE)
        if previous is not None and previous.get("entries") == document["entries"]:
            return False
        _atomic_write(index_path, yaml.safe_dump(document, sort_keys=True, allow_unicode=True).encode("utf-8"))
        return True


def build_index(directory: Path, previous: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Helm's ``repo index`` for ``directory``: (index document, names of unreadable ``*.tgz``).

    ``created`` is kept from ``previous`` for archives whose digest did not change (as ``helm repo index
    --merge`` does), so re-running does not rewrite the file. A name and version found twice is listed once,
    preferring the canonical file name.
    """
    now = _rfc3339(dt.datetime.now(dt.UTC))
    old_created = _created_by_digest(previous)
    names = sorted(
        p.name for p in directory.iterdir() if p.name.endswith(".tgz") and not p.name.startswith(".") and p.is_file()
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    skipped: list[str] = []
    for filename in names:
        try:
            data = (directory / filename).read_bytes()
            chart = read_chart_tgz(data, filename)
            meta = helm_metadata(chart)
        except (OSError, ArchiveError, AirgapError, yaml.YAMLError):
            skipped.append(filename)
            continue
        key = (chart.name, chart.version)
        if key in found and filename != chart_filename(*key):
            continue
        digest = sha256_hex(data)
        meta.setdefault("apiVersion", "v1")
        found[key] = {**meta, "created": old_created.get(digest, now), "digest": digest, "urls": [filename]}
    entries: dict[str, list[dict[str, Any]]] = {}
    for (name, _), entry in found.items():
        entries.setdefault(name, []).append(entry)
    for versions in entries.values():
        versions.sort(key=lambda e: _version_key(str(e["version"])), reverse=True)
    return {"apiVersion": "v1", "entries": entries, "generated": now}, skipped


def _version_key(version: str) -> tuple[Any, ...]:
    """Semver precedence (Helm sorts index entries newest first); invalid versions sort lowest."""
    match = _SEMVER.match(version)
    if match is None:
        return (0, (), 0, (), version)
    core = tuple(int(g) if g else 0 for g in match.group(1, 2, 3))
    pre = match.group(4)
    if not pre:
        return (1, core, 1, (), version)
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (1, core, 0, ids, version)


def _created_by_digest(previous: dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    entries = (previous or {}).get("entries")
    if isinstance(entries, dict):
        for versions in entries.values():
            for entry in versions if isinstance(versions, list) else ():
                if isinstance(entry, dict) and entry.get("digest") and entry.get("created"):
                    out[str(entry["digest"])] = str(entry["created"])
    return out


def _read_index(path: Path) -> dict[str, Any] | None:
    try:
        loaded = safe_load(path.read_bytes())
    except (OSError, yaml.YAMLError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _rfc3339(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _atomic_write(target: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename, so readers never see a partial file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
        raise
