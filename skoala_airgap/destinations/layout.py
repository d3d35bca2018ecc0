"""A directory OCI image layout that answers the push engine's calls like a registry would.

The :class:`~skoala_airgap.engine.push.Pusher` only needs manifest/blob existence checks, blob
uploads and manifest puts, so a layout can stand in for a registry without a second engine. All
repositories share one ``blobs/`` store (a mount is therefore always "already there"); tags become
``index.json`` entries named ``<name>/<repository>:<tag>`` in ``org.opencontainers.image.ref.name`` and
``io.containerd.image.name``, which is how skopeo (``oci:DIR:REF``) and containerd look them up.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from skoala_airgap.errors import DigestMismatchError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob
from skoala_airgap.model.manifest import image_manifest_bytes

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
# The digest the image has in the source (and in a registry), kept so re-runs see "unchanged".
SOURCE_DIGEST = "dev.skoala-airgap.source.digest"
_CHUNK = 1024 * 1024
_OCI_TYPES = {
    mt.DOCKER_MANIFEST: mt.OCI_MANIFEST,
    mt.DOCKER_MANIFEST_LIST: mt.OCI_INDEX,
    mt.DOCKER_CONFIG: mt.OCI_CONFIG,
    mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP,
    mt.DOCKER_LAYER: mt.OCI_LAYER,
    mt.DOCKER_LAYER_FOREIGN_GZIP: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
}


class LayoutClient:
    """Push destination writing into ``root``; ``host`` is the registry name used in ref names.

    containers/image (skopeo, podman) ignores index.json entries with Docker media types, so Docker
    schema2 manifests and lists are stored as their OCI equivalents: same config and layer blobs, new
    manifest bytes and digest. The source digest is kept in an annotation.
    """

    converts_manifests = True

    def __init__(self, root: Path, host: str) -> None:
        self.root = root
        self.host = host
        self._lock = threading.Lock()
        self._converted: dict[str, tuple[str, int]] = {}  # source digest -> (stored digest, size)

    # -- layout files -----------------------------------------------------------------------------

    def _blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.hex

    def _index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        if path.is_file():
            data: dict[str, Any] = json.loads(path.read_text())
            return data
        return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}

    def _write_index(self, index: dict[str, Any]) -> None:
        _atomic_write(self.root / "index.json", json.dumps(index, indent=2).encode())

    def ping(self) -> None:
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        layout = self.root / "oci-layout"
        if not layout.exists():
            _atomic_write(layout, b'{"imageLayoutVersion":"1.0.0"}')

    # -- the calls the push engine makes ----------------------------------------------------------

    def _ref(self, repository: str, reference: str) -> str:
        return f"{self.host}/{repository}:{reference}"

    def manifest_digest(self, repository: str, reference: str) -> Digest | None:
        if Digest.is_valid(reference):
            digest = Digest.parse(reference)
            return digest if self._blob_path(digest).is_file() else None
        wanted = self._ref(repository, reference)
        for entry in self._index()["manifests"]:
            annotations = entry.get("annotations") or {}
            if annotations.get(REF_NAME) == wanted:
                return Digest.parse(annotations.get(SOURCE_DIGEST) or entry["digest"])
        return None

    def blob_exists(self, repository: str, digest: Digest) -> bool:
        return self._blob_path(digest).is_file()

    def repository_exists(self, repository: str) -> bool:
        return True  # one shared blob store: a blob HEAD is a stat() and may skip an upload

    def start_upload(self, repository: str, mount: tuple[Digest, str] | None = None) -> tuple[bool, str]:
        return (mount is not None and self._blob_path(mount[0]).is_file()), ""

    def upload_blob(
        self,
        repository: str,
        blob: Blob,
        *,
        location: str | None = None,
        progress: Callable[[int], None] | None = None,
        sessions: Any = None,
        chunk_size: int = 0,
    ) -> None:
        """Stream into a temp file beside the store, hashing; rename into place only if it matches."""
        self._store(blob, progress)

    def upload_gzip(
        self, repository: str, blob: Blob, *, level: int = 1, progress: Callable[[int], None] | None = None
    ) -> tuple[Digest, int]:
        """Gzip an uncompressed layer into the store (``--compress gzip``); mtime 0 keeps it reproducible."""
        return self._store(blob, progress, zlib.compressobj(level, zlib.DEFLATED, 31))

    def _store(self, blob: Blob, progress: Callable[[int], None] | None, compressor: Any = None) -> tuple[Digest, int]:
        """Copy ``blob`` (gzipped through ``compressor`` if given) into a temp file, check the source
        digest, then rename it to its content address. Returns the stored digest and size."""
        source_sha = hashlib.sha256()
        out_sha = hashlib.sha256() if compressor else None  # without one, output == source
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root / "blobs" / "sha256", prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out, blob.open() as source:

                def emit(data: bytes) -> None:
                    nonlocal size
                    if out_sha:
                        out_sha.update(data)
                    size += len(data)
                    out.write(data)

                while chunk := source.read(_CHUNK):
                    source_sha.update(chunk)
                    if progress:
                        progress(len(chunk))
                    emit(compressor.compress(chunk) if compressor else chunk)
                if compressor:
                    emit(compressor.flush())
            if source_sha.hexdigest() != blob.digest.hex:
                actual = f"sha256:{source_sha.hexdigest()}"
                raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), actual)
            digest = Digest("sha256", out_sha.hexdigest()) if out_sha else blob.digest
            os.chmod(tmp, 0o644)
            os.replace(tmp, self._blob_path(digest))
            return digest, size
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _to_oci(self, raw: bytes, media_type: str) -> tuple[bytes, str]:
        """OCI bytes for a Docker manifest or list; OCI content is kept verbatim."""
        if media_type == mt.DOCKER_MANIFEST:
            body = json.loads(raw)
            config = Descriptor.from_json(body["config"])
            layers = [Descriptor.from_json(layer) for layer in body.get("layers") or []]
            oci = [replace(d, media_type=_OCI_TYPES.get(d.media_type, d.media_type)) for d in [config, *layers]]
            return image_manifest_bytes(mt.OCI_MANIFEST, oci[0], oci[1:]), mt.OCI_MANIFEST
        if media_type == mt.DOCKER_MANIFEST_LIST:
            body = json.loads(raw)
            children = []
            for child in body.get("manifests") or []:
                digest, size = self._converted.get(child["digest"], (child["digest"], child["size"]))
                media = _OCI_TYPES.get(child.get("mediaType", ""), child.get("mediaType", ""))
                children.append({**child, "mediaType": media, "digest": digest, "size": size})
            index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": children}
            return json.dumps(index, separators=(",", ":")).encode(), mt.OCI_INDEX
        return raw, media_type

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        source_digest = Digest.of(raw)
        raw, media_type = self._to_oci(raw, media_type)
        digest = Digest.of(raw)
        with self._lock:
            self._converted[str(source_digest)] = (str(digest), len(raw))
        path = self._blob_path(digest)
        if not path.is_file():
            _atomic_write(path, raw)
        if Digest.is_valid(reference):
            return digest
        name = self._ref(repository, reference)
        entry = {
            "mediaType": media_type,
            "size": len(raw),
            "digest": str(digest),
            "annotations": {REF_NAME: name, CONTAINERD_NAME: name, SOURCE_DIGEST: str(source_digest)},
        }
        with self._lock:
            index = self._index()
            kept = [m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) != name]
            index["manifests"] = [*kept, entry]
            self._write_index(index)
        return digest


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".write-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
