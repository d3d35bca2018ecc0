"""OCI target: a chart pushed as ``helm push`` does, to ``<host>/<url path>/<chart name>:<version>``.

The artifact follows Helm (spec §4) rather than charts-syncer (spec §4.6 [Q]): the config blob is the full
Chart.yaml metadata as Helm's JSON (charts-syncer stores only name and version), ``+`` in the version
becomes ``_`` in the tag (charts-syncer keeps it and the push fails), and the manifest carries Helm's
OCI annotations. Like Helm, the manifest JSON has no top-level ``mediaType``; the PUT's Content-Type
says what it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
import json
import re
import tarfile
from typing import Any
from urllib.parse import urlsplit

from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.connection.errors import RegistryError
from skoala_airgap.connection.http import Notify
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.charts.base import (
    ChartConflictError,
    ChartPublisher,
    PublishResult,
    PublishStatus,
    chart_of,
    go_json,
    helm_metadata,
)
from skoala_airgap.destinations.connect import open_registry
from skoala_airgap.destinations.registry import RegistryClient
from skoala_airgap.errors import InputError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob

__all__ = ["OciPublisher", "chart_manifest", "oci_tag", "split_oci_url"]

_TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
_TITLE, _VERSION = "org.opencontainers.image.title", "org.opencontainers.image.version"
_PREFIX = "org.opencontainers.image."


def oci_tag(version: str) -> str:
    """Helm's tag for a chart version: ``+`` (not allowed in tags) becomes ``_``."""
    tag = version.replace("+", "_")
    if not _TAG_RE.match(tag):
        raise InputError(f"chart version {version!r} cannot be an OCI tag")
    return tag


def split_oci_url(url: str) -> tuple[str, str, str]:
    """``http(s)://`` or ``oci://`` ``host[:port][/path]`` -> (scheme, host, path without slashes)."""
    parts = urlsplit(url if "://" in url else f"oci://{url}")
    if parts.scheme not in ("http", "https", "oci") or not parts.hostname:
        raise InputError(f"{url}: an OCI chart target looks like https://<host>[/<path>] or oci://<host>[/<path>]")
    host = parts.netloc.rpartition("@")[2]
    return parts.scheme, host, parts.path.strip("/")


def chart_manifest(chart: ChartFiles, tgz: bytes, *, created: str | None = None) -> tuple[bytes, bytes]:
    """(config bytes, manifest bytes) exactly as Helm's ``registry.Client.Push`` builds them."""
    meta = helm_metadata(chart)
    config = go_json(meta)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "config": _descriptor(mt.HELM_CONFIG, config),
        "layers": [_descriptor(mt.HELM_CHART_CONTENT, tgz)],
        "annotations": _annotations(meta, created or _created(tgz)),
    }
    return config, go_json(manifest)


class OciPublisher(ChartPublisher):
    """Charts as OCI artifacts in a registry (Harbor >= 2.8 projects included)."""

    def __init__(
        self,
        url: str,
        *,
        connection: ConnectionSettings | None = None,
        notify: Notify | None = None,
        client: RegistryClient | None = None,
    ) -> None:
        self.scheme, self.host, self.path = split_oci_url(url)
        settings = connection or ConnectionSettings()
        if self.scheme == "http":  # an http:// URL says plain HTTP; oci:// follows the scheme policy
            settings = dataclasses.replace(settings, plain_http=True)
        self.settings, self.notify = settings, notify
        self._client = client

    @property
    def client(self) -> RegistryClient:
        """The registry, opened (scheme chosen, pinged) on first use so a dry run contacts nothing."""
        if self._client is None:
            self._client = open_registry(self.host, self.settings, pool_size=2, notify=self.notify)
        return self._client

    def check(self) -> None:
        _ = self.client

    def repository(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path else name

    def reference(self, name: str, version: str) -> str:
        return f"{self.host}/{self.repository(name)}:{oci_tag(version)}"

    def describe(self) -> str:
        where = f"{self.host}/{self.path}" if self.path else self.host
        return f"OCI oci://{where}/<chart>:<version>"

    def exists(self, name: str, version: str) -> bool:
        """The tag is listed and its manifest's config is Helm's (charts-syncer's check)."""
        repository, tag = self.repository(name), oci_tag(version)
        if tag not in self.client.tags(repository):
            return False
        found = self._manifest(repository, tag)
        return found is not None and _config_type(found) == mt.HELM_CONFIG

    def fetch(self, name: str, version: str) -> bytes | None:
        repository = self.repository(name)
        manifest = self._manifest(repository, oci_tag(version))
        layer = _chart_layer(manifest) if manifest else ""
        if not Digest.is_valid(layer):
            return None
        return self.client.get_blob(repository, Digest.parse(layer))

    def publish(self, name: str, version: str, tgz: bytes, *, force: bool = False) -> PublishResult:
        chart = chart_of(tgz, name, version, f"{name}-{version}.tgz")
        repository, tag = self.repository(name), oci_tag(version)
        location = self.reference(name, version)
        layer_digest = Digest.of(tgz)
        existing = self._manifest(repository, tag)
        if existing is not None:
            if _config_type(existing) == mt.HELM_CONFIG and _chart_layer(existing) == str(layer_digest):
                return PublishResult(name, version, "unchanged", location, str(layer_digest))
            if not force:
                what = (
                    "a different chart"
                    if _config_type(existing) == mt.HELM_CONFIG
                    else "an artifact that is not a chart"
                )
                raise ChartConflictError(f"{location}: already holds {what}; use --force to replace it")
        config, manifest = chart_manifest(chart, tgz)
        for data, media_type in ((config, mt.HELM_CONFIG), (tgz, mt.HELM_CHART_CONTENT)):
            digest = Digest.of(data)
            if not self.client.blob_exists(repository, digest):
                blob = Blob(
                    Descriptor(media_type, len(data), digest), None, data=data, label=f"{location} {media_type}"
                )
                self.client.upload_blob(repository, blob)
        self.client.put_manifest(repository, tag, manifest, mt.OCI_MANIFEST)
        status: PublishStatus = "replaced" if existing is not None else "published"
        return PublishResult(name, version, status, location, str(layer_digest))

    def _manifest(self, repository: str, tag: str) -> dict[str, Any] | None:
        try:
            raw, _ = self.client.get_manifest(repository, tag)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        try:
            loaded = json.loads(raw)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    """ocispec.Descriptor field order: mediaType, digest, size."""
    return {"mediaType": media_type, "digest": str(Digest.of(data)), "size": len(data)}


def _config_type(manifest: dict[str, Any]) -> str:
    config = manifest.get("config")
    return str(config.get("mediaType", "")) if isinstance(config, dict) else ""


def _chart_layer(manifest: dict[str, Any]) -> str:
    for layer in manifest.get("layers") or ():
        if isinstance(layer, dict) and layer.get("mediaType") in (mt.HELM_CHART_CONTENT, "application/tar+gzip"):
            return str(layer.get("digest", ""))
    return ""


def _annotations(meta: dict[str, Any], created: str) -> dict[str, str]:
    """Helm's ``generateOCIAnnotations``: chart fields, then Chart.yaml annotations (not title/version)."""
    out: dict[str, str] = {}
    maintainers = ", ".join(
        str(m.get("name", "")) + (f" ({m['email']})" if m.get("email") else "") for m in meta.get("maintainers", ())
    )
    for key, value in (
        ("description", meta.get("description")),
        ("title", meta.get("name")),
        ("version", meta.get("version")),
        ("url", meta.get("home")),
        ("created", created),
        ("source", (meta.get("sources") or [None])[0]),
        ("authors", maintainers),
    ):
        if value:
            out[_PREFIX + key] = str(value)
    for key, value in (meta.get("annotations") or {}).items():
        if key not in (_TITLE, _VERSION):
            out[key] = str(value)
    return dict(sorted(out.items()))


def _created(tgz: bytes) -> str:
    """The newest member mtime (Helm uses the archive's mtime), or now when the package pins mtimes to 0."""
    newest = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tgz)), mode="r:") as tar:
            newest = max((int(m.mtime) for m in tar.getmembers()), default=0)
    except (OSError, EOFError, tarfile.TarError):
        newest = 0
    moment = dt.datetime.fromtimestamp(newest, dt.UTC) if newest > 0 else dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
