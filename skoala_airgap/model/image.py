"""The one image model every source flavour maps onto: blobs, manifests (images or indexes), names.

A :class:`Manifest` holds the exact bytes that will be pushed, so its digest is known before anything
is uploaded. Blobs point at where their bytes live (a file region) and are only read when streamed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from enum import StrEnum
from typing import BinaryIO

from skoala_airgap.archive.region import FileRegion
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor, Platform
from skoala_airgap.model.digest import Digest


class Compression(StrEnum):
    GZIP = "gzip"
    ZSTD = "zstd"
    NONE = "none"


def detect_compression(head: bytes) -> Compression:
    """Compression from magic bytes, never from a file name (ggcr names zstd layers ``.tar.gz``)."""
    if head.startswith(b"\x1f\x8b"):
        return Compression.GZIP
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return Compression.ZSTD
    return Compression.NONE


@dataclass(frozen=True, slots=True)
class Blob:
    """A config or layer: its descriptor and where to read it (a file region, or bytes in memory)."""

    descriptor: Descriptor
    region: FileRegion | None
    compression: Compression = Compression.NONE
    data: bytes | None = field(default=None, repr=False)
    label: str = ""

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest

    @property
    def size(self) -> int:
        return self.descriptor.size

    @property
    def available(self) -> bool:
        """False for foreign (non-distributable) layers the archive does not carry."""
        return self.data is not None or self.region is not None

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.region is None:
            raise ValueError(f"blob {self.digest} is not in the source ({self.label})")
        return self.region.open()  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image manifest (config + layers) or an index (children), with its exact bytes."""

    media_type: str
    raw: bytes = field(repr=False)
    config: Blob | None = None
    layers: tuple[Blob, ...] = ()
    children: tuple[Manifest, ...] = ()
    platform: Platform | None = None

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEX_TYPES

    def walk(self) -> list[Manifest]:
        """Every manifest in push order: children before the index that lists them."""
        out: list[Manifest] = []
        for child in self.children:
            out.extend(child.walk())
        out.append(self)
        return out

    def blobs(self) -> list[Blob]:
        """Unique blobs of this manifest and all its children, config first within each image."""
        seen: dict[Digest, Blob] = {}
        for node in self.walk():
            for blob in ((node.config,) if node.config else ()) + node.layers:
                seen.setdefault(blob.digest, blob)
        return list(seen.values())

    @property
    def total_size(self) -> int:
        return sum(b.size for b in self.blobs()) + sum(len(m.raw) for m in self.walk())


@dataclass(frozen=True, slots=True)
class SourceImage:
    """An image found in a source, with every name the source gives it (RepoTags, ref names)."""

    names: tuple[str, ...]
    manifest: Manifest
    origin: str
    tags: tuple[str, ...] = ()  # bare tags (OCI ref names like "1.25") that name no repository

    @property
    def digest(self) -> Digest:
        return self.manifest.digest

    @property
    def display_name(self) -> str:
        return self.names[0] if self.names else f"<untagged {self.digest.short}>"
