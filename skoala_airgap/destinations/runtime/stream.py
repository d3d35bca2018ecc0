"""What ``load`` hands a runtime: the names each image gets, and the image tar streamed on the fly.

Runtimes only take images as a tar, but the bundle's images.tar is the wrong flavour for some of them
(containerd rebuilds the manifest of a docker-archive, so ``@sha256:`` references stop matching the
registry). So the tar is generated here from the image model, blob by blob in 1 MiB chunks straight from
the source files, and consumed as it is produced: nothing is extracted to disk or held in memory.

Two shapes:

- :func:`docker_archive_chunks`: ``docker save`` style (``manifest.json`` + config + layers) for the
  Engine API. dockerd and podman (c/image) both decompress gzip or zstd layers from such an archive, so
  layers go in exactly as the bundle stores them.
- :func:`oci_layout_chunks`: an OCI image layout for ``ctr images import`` carrying our manifest bytes
  verbatim, with ``index.json`` naming every reference (``io.containerd.image.name``), so containerd's
  image digest is the one ``push-images`` gives the registry.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import tarfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from skoala_airgap.errors import AirgapError, DigestMismatchError, RuntimeUnavailableError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob, Manifest, SourceImage
from skoala_airgap.model.reference import DOCKER_HUB, DOCKER_HUB_ALIAS, parse_reference

CHUNK = 1 << 20
BLOCK = 512
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
CONTAINERD_NAME = "io.containerd.image.name"
REF_NAME = "org.opencontainers.image.ref.name"

ByteCounter = Callable[[int], object]


class RuntimeLoadError(AirgapError):
    """The runtime refused an archive or a ctr/Engine API call failed (exit 1, names the runtime's words)."""


@dataclass
class LoadItem:
    """One distinct image (by manifest digest) and every name it should carry in the runtime."""

    image: SourceImage
    group: str
    source_names: list[str] = field(default_factory=list)  # normalised names from the source
    target_names: list[str] = field(default_factory=list)  # names the install expects (relocated)

    @property
    def digest(self) -> str:
        """The manifest digest ``push-images`` pushes; containerd keeps it, docker/podman make their own IDs."""
        return str(self.image.digest)

    @property
    def display_name(self) -> str:
        return self.source_names[0] if self.source_names else self.image.display_name

    def archive_names(self, *, untag_source: bool) -> list[str]:
        """Names written into the tar: the targets, plus the source names unless they are to go."""
        extra = [] if untag_source else [n for n in self.source_names if n not in self.target_names]
        return self.target_names + extra

    def stale_names(self) -> list[str]:
        """Source names that ``--untag-source`` removes (never one that is also a target)."""
        return [n for n in self.source_names if n not in self.target_names]


@dataclass
class LoadResult:
    """Per-image outcome, as the CLI reports it."""

    item: LoadItem
    status: str  # "loaded" or "failed"
    names: list[str] = field(default_factory=list)
    image_id: str = ""
    removed: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "loaded"


def runtime_name(host: str, repository: str, tag: str | None, digest: str | None = None) -> str:
    """A fully-qualified name as runtimes spell it: Docker Hub is ``docker.io`` (podman would otherwise
    prefix short names with ``localhost/``)."""
    host = DOCKER_HUB_ALIAS if host == DOCKER_HUB else host
    return f"{host}/{repository}@{digest}" if tag is None else f"{host}/{repository}:{tag}"


def probe_unix_socket(path: str, what: str) -> None:
    """Fail before streaming anything, in one line naming the socket: missing, refused or not permitted."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise RuntimeUnavailableError(f"{path}: no such socket; is {what} running?") from None
    except PermissionError:
        raise RuntimeUnavailableError(f"{path}: permission denied ({what} socket)") from None
    if not stat.S_ISSOCK(mode):
        raise RuntimeUnavailableError(f"{path}: not a socket ({what})")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        try:
            sock.connect(path)
        except PermissionError:
            raise RuntimeUnavailableError(f"{path}: permission denied ({what} socket; try sudo)") from None
        except OSError as exc:
            raise RuntimeUnavailableError(f"{path}: {exc.strerror or exc}; is {what} running?") from None


@dataclass(frozen=True)
class ArchiveEntry:
    """One image to write: a single manifest (or an index, OCI layout only) and the names it gets."""

    manifest: Manifest
    names: Sequence[str]


def stream_size(entries: Sequence[ArchiveEntry]) -> int:
    """Blob and manifest bytes the stream carries (each blob once): the progress bar's total."""
    seen: dict[Digest, int] = {}
    for entry in entries:
        for node in entry.manifest.walk():
            seen[node.digest] = len(node.raw)
        for blob in entry.manifest.blobs():
            seen[blob.digest] = blob.size
    return sum(seen.values())


def partition(manifests: Sequence[Manifest], count: int) -> list[list[int]]:
    """Split images into at most ``count`` batches to load side by side, as indexes into ``manifests``.

    A runtime loads one archive on one core; two archives in parallel use two, which is what beats
    ``podman load``. Images sharing a blob stay in one batch so no layer is sent (and unpacked) twice;
    batches are balanced by bytes, biggest group first.
    """
    parent = list(range(len(manifests)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Digest, int] = {}
    for i, manifest in enumerate(manifests):
        for blob in manifest.blobs():
            j = owner.setdefault(blob.digest, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(manifests)):
        groups.setdefault(root(i), []).append(i)
    sizes = {key: sum(manifests[i].total_size for i in members) for key, members in groups.items()}
    batches: list[list[int]] = [[] for _ in range(max(1, min(count, len(groups))))]
    loads = [0] * len(batches)
    for key in sorted(groups, key=lambda k: -sizes[k]):
        lightest = loads.index(min(loads))
        batches[lightest].extend(groups[key])
        loads[lightest] += sizes[key]
    return [sorted(batch) for batch in batches if batch]


def load_batches(
    entries: Sequence[ArchiveEntry], concurrency: int, load: Callable[[list[ArchiveEntry]], None]
) -> dict[int, str]:
    """Run ``load`` on each batch of :func:`partition` in its own thread; returns entry index -> error for
    the batches that failed (a runtime takes or refuses an archive as a whole)."""
    batches = partition([e.manifest for e in entries], concurrency)
    errors: dict[int, str] = {}
    with ThreadPoolExecutor(max_workers=len(batches) or 1) as pool:
        futures = {pool.submit(load, [entries[i] for i in batch]): batch for batch in batches}
        for future, batch in futures.items():
            exc = future.exception()
            if isinstance(exc, RuntimeLoadError):
                errors.update((i, str(exc)) for i in batch)
            elif exc is not None:
                raise exc
    return errors


def missing_blobs(manifest: Manifest) -> list[str]:
    """Blobs the source does not carry (foreign layers): such an image cannot be loaded offline."""
    return [str(b.digest) for b in manifest.blobs() if not b.available]


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info.tobuf(tarfile.USTAR_FORMAT if len(name) < 100 else tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def _member_bytes(name: str, data: bytes, count: ByteCounter | None) -> Iterator[bytes]:
    yield _header(name, len(data)) + data + _padding(len(data))
    if count:
        count(len(data))


def _member_blob(name: str, blob: Blob, count: ByteCounter | None) -> Iterator[bytes]:
    """Header, then the blob in 1 MiB reads, hashed on the way: a short or changed source aborts the
    stream (the runtime then refuses the incomplete archive), so no corrupt layer is ever loaded."""
    yield _header(name, blob.size)
    left = blob.size
    sha = hashlib.sha256()
    with blob.open() as reader:
        while left:
            chunk = reader.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{blob.label or blob.digest}: ended {left} bytes early")
            left -= len(chunk)
            sha.update(chunk)
            if not left and sha.hexdigest() != blob.digest.hex:
                raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), f"sha256:{sha.hexdigest()}")
            yield chunk
            if count:
                count(len(chunk))
    yield _padding(blob.size)


def _blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def docker_archive_chunks(entries: Sequence[ArchiveEntry], count: ByteCounter | None = None) -> Iterator[bytes]:
    """A ``docker load`` tar: each blob once under ``blobs/sha256/``, then ``manifest.json``.

    Every entry must be a single-platform image manifest; the loader checks layers against the config's
    diff_ids itself.
    """
    listing: list[dict[str, object]] = []
    written: set[Digest] = set()
    for entry in entries:
        manifest = entry.manifest
        if manifest.is_index or manifest.config is None:
            raise ValueError(f"{manifest.digest}: a docker archive needs a single-platform image manifest")
        for blob in (manifest.config, *manifest.layers):
            if blob.digest not in written:
                written.add(blob.digest)
                yield from _member_blob(_blob_path(blob.digest), blob, count)
        listing.append(
            {
                "Config": _blob_path(manifest.config.digest),
                "RepoTags": list(entry.names) or None,
                "Layers": [_blob_path(layer.digest) for layer in manifest.layers],
            }
        )
    yield from _member_bytes("manifest.json", json.dumps(listing).encode(), None)
    yield b"\0" * (2 * BLOCK)


def _index_entry(manifest: Manifest, name: str) -> dict[str, object]:
    ref = parse_reference(name)
    annotations = {CONTAINERD_NAME: name}
    if ref.tag and not ref.is_digest:
        annotations[REF_NAME] = ref.tag  # what `ctr export` writes; containerd reads its own key first
    return {
        "mediaType": manifest.media_type or mt.OCI_MANIFEST,
        "digest": str(manifest.digest),
        "size": len(manifest.raw),
        "annotations": annotations,
    }


def oci_layout_chunks(entries: Sequence[ArchiveEntry], count: ByteCounter | None = None) -> Iterator[bytes]:
    """An OCI image layout tar: ``oci-layout``, every blob and manifest once (bytes verbatim), ``index.json``
    with one entry per name. An index travels whole, with all its children."""
    yield from _member_bytes("oci-layout", OCI_LAYOUT, None)
    written: set[Digest] = set()
    index: list[dict[str, object]] = []
    for entry in entries:
        for blob in entry.manifest.blobs():
            if blob.digest not in written:
                written.add(blob.digest)
                yield from _member_blob(_blob_path(blob.digest), blob, count)
        for node in entry.manifest.walk():
            if node.digest not in written:
                written.add(node.digest)
                yield from _member_bytes(_blob_path(node.digest), node.raw, count)
        index.extend(_index_entry(entry.manifest, name) for name in entry.names)
    body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": index}
    yield from _member_bytes("index.json", json.dumps(body).encode(), None)
    yield b"\0" * (2 * BLOCK)
