"""What the copy engine needs from a destination, what it is asked to move, and what it reports.

A destination (a registry, an OCI layout directory) implements :class:`PushTarget`. Call order, per
image: ``manifest_digest`` for the tag; per repository ``repository_exists`` once; per blob
``blob_exists`` / ``start_upload`` (a mount) / ``upload_blob``; then ``put_manifest`` for children
before their index and the tag last. Blobs always go before the manifest that names them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob, SourceImage

# Chosen by measurement (bench/push.py, docs/benchmarks.md), 2 cores, 3 interleaved runs each: on the 160-blob
# skoala package 8 streams took 6.17 s (4: 6.26 s, 16: 6.42 s); on 8 images of 100 MiB layers 4.19 s (4: 4.62 s,
# 16: 4.19 s). Fewer streams leave the registry idle between small blobs; more only add CPU contention.
DEFAULT_CONCURRENCY = 8


class PushTarget(Protocol):
    """A destination the engine writes to. ``converts_manifests``: stored manifests may differ from the
    source bytes (OCI layouts store Docker manifests as OCI ones)."""

    host: str
    converts_manifests: bool

    def manifest_digest(self, repository: str, reference: str) -> Digest | None: ...

    def repository_exists(self, repository: str) -> bool: ...

    def blob_exists(self, repository: str, digest: Digest) -> bool: ...

    def start_upload(self, repository: str, mount: tuple[Digest, str] | None = None) -> tuple[bool, str]: ...

    def upload_blob(
        self,
        repository: str,
        blob: Blob,
        *,
        location: str | None = None,
        progress: Callable[[int], None] | None = None,
        sessions: Any = None,
        chunk_size: int = 0,
    ) -> None: ...

    def upload_gzip(
        self, repository: str, blob: Blob, *, level: int = 1, progress: Callable[[int], None] | None = None
    ) -> tuple[Digest, int]: ...

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest: ...


@dataclass(frozen=True)
class PushItem:
    """One image to one target: ``repository`` on the destination's host, tagged ``tag`` (None: by digest)."""

    image: SourceImage
    repository: str
    tag: str | None
    source_name: str
    group: str = ""  # e.g. the chart it belongs to; sync publishes a chart only if its group succeeded

    @property
    def target(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.image.digest}"


@dataclass
class ImageResult:
    item: PushItem
    target: str
    digest: str
    status: str = "pending"  # "pushed", "unchanged", "failed"
    previous_digest: str | None = None
    error: str | None = None
    input_fault: bool = False  # the failure was the source's (a corrupt blob), not the target's
    blobs: dict[str, int] = field(default_factory=lambda: {"uploaded": 0, "skipped": 0, "mounted": 0})
    bytes: dict[str, int] = field(default_factory=lambda: {"uploaded": 0, "skipped": 0, "mounted": 0})

    @property
    def ok(self) -> bool:
        return self.status in ("pushed", "unchanged")

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.item.source_name,
            "target": self.target,
            "digest": self.digest,
            "status": self.status,
            "previous_digest": self.previous_digest,
            "error": self.error,
            "blobs": self.blobs,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class PushOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    overwrite: bool = True
    chunk_size: int = 0  # 0: the destination decides (monolithic when small, chunks when large)
    retries: int = 3
    compress: bool = False  # gzip uncompressed layers of single-platform images while uploading
