"""Read images from an OCI image layout, as a directory or a tar (also Docker 25+ ``docker save``).

Manifest and index bytes are kept verbatim, so digests (and multi-arch indexes) survive the push.
Docker 25+ saves a multi-platform index but only one platform's content: children whose manifests
are absent are dropped, and an index left with a single child is replaced by that child.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from skoala_airgap.archive.entries import Entries
from skoala_airgap.errors import ArchiveError, DigestMismatchError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob, Compression, Manifest, SourceImage, detect_compression

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_MEDIA_COMPRESSION = {"gzip": Compression.GZIP, "zstd": Compression.ZSTD}


def _blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _parse(entries: Entries, name: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(entries.label, name, f"invalid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ArchiveError(entries.label, name, "expected a JSON object")
    return value


def _media_type(desc: Descriptor, body: dict[str, Any]) -> str:
    """Descriptor media type, falling back to the body's own field (some writers omit one of them)."""
    return (
        desc.media_type or str(body.get("mediaType", "")) or (mt.OCI_INDEX if "manifests" in body else mt.OCI_MANIFEST)
    )


def _blob(entries: Entries, desc: Descriptor, *, peek: bool) -> Blob:
    path = _blob_path(desc.digest)
    label = f"{entries.label}!{path}"
    if path not in entries:
        if desc.urls:
            return Blob(desc, None, Compression.GZIP, label=label)  # foreign layer, fetched elsewhere
        raise ArchiveError(entries.label, path, f"blob {desc.digest} listed by a manifest is missing")
    region = entries.region_of(path)
    if region.size != desc.size:
        reason = f"size {region.size} does not match the descriptor's {desc.size}"
        raise ArchiveError(entries.label, path, reason)
    by_type = next((c for k, c in _MEDIA_COMPRESSION.items() if desc.media_type.endswith(k)), Compression.NONE)
    compression = detect_compression(region.peek(4)) if peek else by_type
    return Blob(desc, region, compression, label=label)


def _verified_config(entries: Entries, config: Blob) -> Blob:
    """The config's bytes, read now (kilobytes) and checked against its digest: a changed config is a
    corrupted layout, found before anything is pushed."""
    if config.region is None:
        return config
    data = entries.read(_blob_path(config.digest))
    if Digest.of(data) != config.digest:
        raise DigestMismatchError(config.label, str(config.digest), str(Digest.of(data)))
    return dataclasses.replace(config, data=data)


def _manifest(entries: Entries, desc: Descriptor) -> Manifest | None:
    """The manifest (or index) ``desc`` points at; None when the layout does not carry it."""
    path = _blob_path(desc.digest)
    if path not in entries:
        return None
    raw = entries.read(path)
    if Digest.of(raw) != desc.digest:
        raise ArchiveError(entries.label, path, "content does not match its digest")
    body = _parse(entries, path, raw)
    media_type = _media_type(desc, body)
    if media_type in mt.INDEX_TYPES:
        listed = [Descriptor.from_json(d) for d in body.get("manifests") or []]
        children = tuple(c for c in (_manifest(entries, d) for d in listed) if c is not None)
        if not children:
            raise ArchiveError(entries.label, path, "index lists no manifest that the layout carries")
        if len(children) < len(listed) and len(children) == 1:
            return children[0]
        if len(children) < len(listed):
            raise ArchiveError(entries.label, path, "index lists manifests that the layout does not carry")
        return Manifest(media_type, raw, children=children, platform=desc.platform)
    config_desc = Descriptor.from_json(body["config"]) if isinstance(body.get("config"), dict) else None
    if config_desc is None:
        raise ArchiveError(entries.label, path, "image manifest has no config")
    layers = tuple(_blob(entries, Descriptor.from_json(d), peek=True) for d in body.get("layers") or [])
    config = _verified_config(entries, _blob(entries, config_desc, peek=False))
    return Manifest(media_type, raw, config=config, layers=layers, platform=desc.platform)


def _names(desc: Descriptor) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(full names, bare tags): containerd's name first; the OCI ref name may be only a tag."""
    names = [n for n in (desc.annotation(CONTAINERD_NAME), desc.annotation(REF_NAME)) if n]
    full = [n for n in names if "/" in n or ":" in n]
    tags = [n for n in names if n not in full]
    return tuple(dict.fromkeys(full)), tuple(dict.fromkeys(tags))


def read_oci_layout(entries: Entries) -> list[SourceImage]:
    """Every image ``index.json`` names, in order."""
    layout = _parse(entries, "oci-layout", entries.read("oci-layout"))
    if layout.get("imageLayoutVersion") != "1.0.0":
        raise ArchiveError(entries.label, "oci-layout", "unsupported imageLayoutVersion")
    index = _parse(entries, "index.json", entries.read("index.json"))
    images: list[SourceImage] = []
    for raw_desc in index.get("manifests") or []:
        desc = Descriptor.from_json(raw_desc)
        manifest = _manifest(entries, desc)
        if manifest is None:
            raise ArchiveError(entries.label, _blob_path(desc.digest), "manifest named by index.json is missing")
        names, tags = _names(desc)
        images.append(SourceImage(names, manifest, entries.label, tags))
    return images
