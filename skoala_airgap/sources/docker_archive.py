"""Read images from a tar with a ``manifest.json``: the go-containerregistry tarball that charts-syncer
writes (``sha256:<hex>`` config, ``<hex>.tar.gz`` layers) and legacy ``docker save`` (``<id>/layer.tar``,
possibly a symlink, as skopeo and podman write it).

Members are always resolved by the paths ``manifest.json`` lists, never by guessing names. Layer digests
come from the member name (ggcr: the compressed blob's digest) or from the config's diff_ids (an
uncompressed layer's digest is its diff_id), so nothing is hashed here; the push verifies every byte.
Only when neither source of truth exists is the layer hashed. A config is read into memory anyway, so
one named by its digest (``sha256:<hex>``, ``<hex>.json``) is checked here: changed bytes under the old
name are a corrupted package (exit 2) before anything is pushed.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from typing import Any

from skoala_airgap.archive.entries import Entries
from skoala_airgap.archive.region import FileRegion
from skoala_airgap.errors import ArchiveError, DigestMismatchError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob, Compression, Manifest, SourceImage, detect_compression
from skoala_airgap.model.manifest import image_manifest_bytes, layer_media_type

_HEX_NAME = re.compile(r"^(?:sha256:)?([0-9a-f]{64})(?:\.tar\.gz|\.tar|\.json)?$")
_HASH_CHUNK = 1024 * 1024


def _json(entries: Entries, name: str) -> Any:
    try:
        return json.loads(entries.read(name))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(entries.label, name, f"invalid JSON ({exc})") from exc


def _hash_region(region: FileRegion) -> Digest:
    sha = hashlib.sha256()
    with region.open() as reader:
        while chunk := reader.read(_HASH_CHUNK):
            sha.update(chunk)
    return Digest("sha256", sha.hexdigest())


def _digest_from_path(path: str) -> Digest | None:
    """``<hex>.tar.gz``, ``sha256:<hex>`` and ``blobs/sha256/<hex>`` all name the blob's digest."""
    base = posixpath.basename(path)
    if posixpath.dirname(path) in ("blobs/sha256", "") or base.startswith("sha256:"):
        match = _HEX_NAME.match(base)
        if match:
            return Digest("sha256", match.group(1))
    return None


def _foreign_sources(entry: dict[str, Any]) -> dict[str, Descriptor]:
    """LayerSources entries for non-distributable layers; Docker 25's plain-tar entries are ignored,
    as go-containerregistry does, because those layers are in the archive."""
    out: dict[str, Descriptor] = {}
    for diff_id, desc in (entry.get("LayerSources") or {}).items():
        media_type = str(desc.get("mediaType", ""))
        if "foreign" in media_type or "nondistributable" in media_type:
            out[diff_id] = Descriptor.from_json(desc)
    return out


def _layer(entries: Entries, path: str, diff_id: str | None) -> tuple[Blob, Compression]:
    label = f"{entries.label}!{path}"
    region = entries.region_of(path)
    compression = detect_compression(region.peek(4))
    digest = _digest_from_path(path) if compression is not Compression.NONE else None
    if digest is None and compression is Compression.NONE and diff_id and Digest.is_valid(diff_id):
        digest = Digest.parse(diff_id)
    if digest is None:
        digest = _hash_region(region)
    desc = Descriptor(media_type="", size=region.size, digest=digest)
    return Blob(desc, region, compression, label=label), compression


def _image(entries: Entries, entry: dict[str, Any], position: int) -> SourceImage:
    where = f"manifest.json[{position}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
        raise ArchiveError(entries.label, "manifest.json", f"entry {position} has no Config")
    config_path = entry["Config"]
    config_bytes = entries.read(config_path)
    named = _digest_from_path(config_path)  # ggcr `sha256:<hex>`, docker save `<hex>.json`
    if named is not None and Digest.of(config_bytes) != named:
        raise DigestMismatchError(f"{entries.label}!{config_path}", str(named), str(Digest.of(config_bytes)))
    try:
        config_json = json.loads(config_bytes)
        diff_ids = list(config_json.get("rootfs", {}).get("diff_ids") or [])
    except (ValueError, AttributeError) as exc:
        raise ArchiveError(entries.label, config_path, f"invalid image config ({exc})") from exc
    layer_paths = entry.get("Layers") or []
    if diff_ids and len(diff_ids) != len(layer_paths):
        reason = f"config lists {len(diff_ids)} layers, {where} lists {len(layer_paths)}"
        raise ArchiveError(entries.label, config_path, reason)
    foreign = _foreign_sources(entry)
    layers: list[Blob] = []
    compressions: list[Compression] = []
    for i, path in enumerate(layer_paths):
        diff_id = diff_ids[i] if i < len(diff_ids) else None
        if diff_id in foreign and path not in entries:
            layers.append(Blob(foreign[diff_id], None, Compression.GZIP, label=f"{entries.label}!{path}"))
            compressions.append(Compression.GZIP)
            continue
        blob, compression = _layer(entries, path, diff_id)
        layers.append(blob)
        compressions.append(compression)
    manifest_type = mt.OCI_MANIFEST if Compression.ZSTD in compressions else mt.DOCKER_MANIFEST
    config_type = mt.OCI_CONFIG if manifest_type == mt.OCI_MANIFEST else mt.DOCKER_CONFIG
    typed = [
        blob
        if blob.descriptor.media_type
        else Blob(
            Descriptor(layer_media_type(manifest_type, comp.value), blob.size, blob.digest),
            blob.region,
            comp,
            label=blob.label,
        )
        for blob, comp in zip(layers, compressions, strict=True)
    ]
    config = Blob(
        Descriptor(config_type, len(config_bytes), Digest.of(config_bytes)),
        None,
        data=config_bytes,
        label=f"{entries.label}!{config_path}",
    )
    raw = image_manifest_bytes(manifest_type, config.descriptor, [b.descriptor for b in typed])
    manifest = Manifest(manifest_type, raw, config=config, layers=tuple(typed))
    names = tuple(str(n) for n in (entry.get("RepoTags") or []))
    return SourceImage(names, manifest, entries.label)


def read_docker_archive(entries: Entries) -> list[SourceImage]:
    """Images listed in ``manifest.json``, in file order."""
    listing = _json(entries, "manifest.json")
    if not isinstance(listing, list):
        raise ArchiveError(entries.label, "manifest.json", "expected a JSON array of images")
    return [_image(entries, entry, i) for i, entry in enumerate(listing)]
