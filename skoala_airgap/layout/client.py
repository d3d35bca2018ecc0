"""A directory OCI image layout that answers the push engine's calls like a registry would.

The :class:`~skoala_airgap.registry.push.Pusher` only needs manifest/blob existence checks, blob
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
from pathlib import Path
from typing import Any

from skoala_airgap.images.model import Blob
from skoala_airgap.model.digest import Digest
from skoala_airgap.registry.errors import DigestMismatchError

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
_CHUNK = 1024 * 1024


class LayoutClient:
    """Push destination writing into ``root``; ``host`` is the registry name used in ref names."""

    def __init__(self, root: Path, host: str) -> None:
        self.root = root
        self.host = host
        self._lock = threading.Lock()

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
            if (entry.get("annotations") or {}).get(REF_NAME) == wanted:
                return Digest.parse(entry["digest"])
        return None

    def blob_exists(self, repository: str, digest: Digest) -> bool:
        return self._blob_path(digest).is_file()

    def start_upload(self, repository: str, mount: tuple[Digest, str] | None = None) -> tuple[bool, str]:
        return (mount is not None and self._blob_path(mount[0]).is_file()), ""

    def upload_blob(
        self,
        repository: str,
        blob: Blob,
        *,
        location: str | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = 0,
    ) -> None:
        """Stream into a temp file beside the store, hashing; rename into place only if it matches."""
        target = self._blob_path(blob.digest)
        sha = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out, blob.open() as source:
                while chunk := source.read(_CHUNK):
                    sha.update(chunk)
                    out.write(chunk)
                    if progress:
                        progress(len(chunk))
            actual = Digest("sha256", sha.hexdigest())
            if actual != blob.digest:
                raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), str(actual))
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def upload_gzip(
        self, repository: str, blob: Blob, *, level: int = 1, progress: Callable[[int], None] | None = None
    ) -> tuple[Digest, int]:
        """Gzip an uncompressed layer into the store (``--compress gzip``); mtime 0 keeps it reproducible."""
        compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        source_sha, out_sha, size = hashlib.sha256(), hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root / "blobs" / "sha256", prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out, blob.open() as source:
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    source_sha.update(chunk)
                    if progress:
                        progress(len(chunk))
                    for data in (compressor.compress(chunk),):
                        out_sha.update(data)
                        size += len(data)
                        out.write(data)
                tail = compressor.flush()
                out_sha.update(tail)
                size += len(tail)
                out.write(tail)
            if source_sha.hexdigest() != blob.digest.hex:
                actual = f"sha256:{source_sha.hexdigest()}"
                raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), actual)
            digest = Digest("sha256", out_sha.hexdigest())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self._blob_path(digest))
            return digest, size
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        digest = Digest.of(raw)
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
            "annotations": {REF_NAME: name, CONTAINERD_NAME: name},
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
