"""The push engine: every unique blob of every image goes up at most once per repository, largest
first, under one concurrency limit for the whole run; a manifest goes up only after all its blobs.

Order of work:
  1. HEAD every target tag. A tag that already names our digest means the image is complete there
     (the registry checked its blobs when the manifest was stored), so it costs nothing more.
  2. One task per unique blob digest, largest first. For each repository that needs it: HEAD (skip if
     present), else mount from a repository that already has it in this registry, else stream it.
  3. Manifests of images whose blobs all arrived: children by digest, then the tag.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Protocol

from skoala_airgap.connection.errors import RegistryError
from skoala_airgap.connection.transport import backoff_delay, sleep
from skoala_airgap.errors import AirgapError, TargetUnreachableError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob, Compression, Manifest, SourceImage
from skoala_airgap.model.manifest import image_manifest_bytes

# Measured on the build machine (docs/benchmarks.md): 8 streams beat 4 and 6 against the local registry.
DEFAULT_CONCURRENCY = 8

_FIRST_CHUNK = 16 * 1024 * 1024
_MIN_CHUNK = 256 * 1024

ProgressFn = Callable[[str, int], None]  # (kind: "uploaded" | "skipped" | "mounted", bytes)


class PushTarget(Protocol):
    """What the engine needs from a destination: a registry client, or an OCI layout directory.

    Call order: manifest_digest (tags) -> blob_exists / start_upload / upload_blob -> put_manifest.
    """

    host: str
    converts_manifests: bool  # True: stored manifests may differ from the source (OCI layouts)

    def manifest_digest(self, repository: str, reference: str) -> Digest | None: ...

    def blob_exists(self, repository: str, digest: Digest) -> bool: ...

    def start_upload(self, repository: str, mount: tuple[Digest, str] | None = None) -> tuple[bool, str]: ...

    def upload_blob(
        self,
        repository: str,
        blob: Blob,
        *,
        location: str | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = 0,
    ) -> None: ...

    def upload_gzip(
        self, repository: str, blob: Blob, *, level: int = 1, progress: Callable[[int], None] | None = None
    ) -> tuple[Digest, int]: ...

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest: ...


@dataclass(frozen=True)
class PushItem:
    """One image to one target: ``repository`` on the client's host, tagged ``tag`` (None: by digest)."""

    image: SourceImage
    repository: str
    tag: str | None
    source_name: str
    group: str = ""  # e.g. the bundle it came from; sync publishes a chart only if its group succeeded

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
    blobs: dict[str, int] = field(default_factory=lambda: {"uploaded": 0, "skipped": 0, "mounted": 0})
    bytes: dict[str, int] = field(default_factory=lambda: {"uploaded": 0, "skipped": 0, "mounted": 0})

    @property
    def ok(self) -> bool:
        return self.status in ("pushed", "unchanged")


@dataclass(frozen=True)
class PushOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    overwrite: bool = True
    chunk_size: int = 0  # 0: one streamed PATCH per blob; chunked anyway after a 413
    retries: int = 3
    compress: bool = False  # gzip uncompressed layers of single-platform images while uploading


@dataclass
class _BlobTask:
    blob: Blob
    repositories: list[str]
    outcome: dict[str, str] = field(default_factory=dict)  # repository -> uploaded/skipped/mounted
    error: str | None = None
    compress: bool = False
    stored: Descriptor | None = None  # the gzip blob's descriptor once a compressed upload finished


class Pusher:
    """Runs one push of many images to one registry host."""

    def __init__(self, client: PushTarget, options: PushOptions, progress: ProgressFn | None = None) -> None:
        self.client = client
        self.options = options
        self.progress = progress or (lambda kind, count: None)
        self._lock = threading.Lock()

    def push(self, items: Sequence[PushItem]) -> list[ImageResult]:
        results = [ImageResult(item, f"{self.client.host}/{item.target}", str(item.image.digest)) for item in items]
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            self._check_tags(pool, results)
            pending = [r for r in results if r.status == "pending"]
            tasks = self._blob_tasks(pending)
            futures = [pool.submit(self._run_blob_task, task) for task in tasks.values()]
            _wait_all(futures)
            for result in pending:
                self._account_blobs(result, tasks)
            _wait_all([pool.submit(self._push_manifests, r, tasks) for r in pending if r.status == "pending"])
        return results

    # -- phase 1: tags ----------------------------------------------------------------------------

    def _check_tags(self, pool: ThreadPoolExecutor, results: list[ImageResult]) -> None:
        def check(result: ImageResult) -> None:
            item = result.item
            try:
                existing = self.client.manifest_digest(item.repository, item.tag or str(item.image.digest))
            except AirgapError as exc:
                result.status, result.error = "failed", str(exc)
                return
            if existing == item.image.digest:
                result.status = "unchanged"
                size = item.image.manifest.total_size
                result.bytes["skipped"] = size
                self.progress("skipped", size)
            elif existing is not None:
                result.previous_digest = str(existing)
                if not self.options.overwrite:
                    result.status = "failed"
                    result.error = f"{result.target} exists with digest {existing} (not overwritten: --no-overwrite)"

        _wait_all([pool.submit(check, r) for r in results])

    # -- phase 2: blobs ---------------------------------------------------------------------------

    def _blob_tasks(self, results: list[ImageResult]) -> dict[Digest, _BlobTask]:
        tasks: dict[Digest, _BlobTask] = {}
        for result in results:
            manifest = result.item.image.manifest
            for blob in manifest.blobs():
                compress = self.options.compress and _compressible(manifest, blob)
                task = tasks.setdefault(blob.digest, _BlobTask(blob, [], compress=compress))
                if result.item.repository not in task.repositories:
                    task.repositories.append(result.item.repository)
        return dict(sorted(tasks.items(), key=lambda kv: -kv[1].blob.size))

    def _run_blob_task(self, task: _BlobTask) -> None:
        if task.compress:
            self._run_compress_task(task)
            return
        blob = task.blob
        holder: str | None = None  # a repository of this registry known to have the blob
        for repository in task.repositories:
            try:
                if not blob.available or self.client.blob_exists(repository, blob.digest):
                    outcome = "skipped"
                elif holder is not None:
                    outcome = self._mount_or_upload(repository, blob, holder)
                else:
                    self._upload_with_retries(repository, blob)
                    outcome = "uploaded"
                task.outcome[repository] = outcome
                if outcome != "uploaded":
                    self.progress(outcome, blob.size)
            except AirgapError as exc:
                task.error = str(exc)
                return
            holder = holder or repository

    def _run_compress_task(self, task: _BlobTask) -> None:
        """Like a plain task, but the first upload gzips the layer and later repositories reuse the result."""
        holder: str | None = None
        for repository in task.repositories:
            try:
                stored = task.stored
                if stored is not None and self.client.blob_exists(repository, stored.digest):
                    outcome = "skipped"
                elif stored is not None and holder is not None and self._mount(repository, stored.digest, holder):
                    outcome = "mounted"
                else:
                    count = lambda n: self.progress("uploaded", n)  # noqa: E731
                    digest, size = self.client.upload_gzip(repository, task.blob, progress=count)
                    media_type = (
                        mt.DOCKER_LAYER_GZIP
                        if task.blob.descriptor.media_type.startswith("application/vnd.docker")
                        else mt.OCI_LAYER_GZIP
                    )
                    task.stored = Descriptor(media_type, size, digest)
                    outcome = "uploaded"
                task.outcome[repository] = outcome
            except AirgapError as exc:
                task.error = str(exc)
                return
            holder = holder or repository

    def _mount(self, repository: str, digest: Digest, holder: str) -> bool:
        try:
            mounted, _ = self.client.start_upload(repository, mount=(digest, holder))
        except RegistryError:
            return False
        return mounted

    def _mount_or_upload(self, repository: str, blob: Blob, holder: str) -> str:
        """Mount from ``holder``; a declined or failed mount falls back to an upload (ggcr #1404)."""
        try:
            mounted, location = self.client.start_upload(repository, mount=(blob.digest, holder))
        except RegistryError:
            mounted, location = False, None
        if mounted:
            return "mounted"
        self._upload_with_retries(repository, blob, location)
        return "uploaded"

    def _upload_with_retries(self, repository: str, blob: Blob, location: str | None = None) -> None:
        chunk_size = self.options.chunk_size
        attempt = 0
        while True:
            attempt += 1
            sent = 0

            def count(n: int) -> None:
                nonlocal sent
                sent += n
                self.progress("uploaded", n)

            try:
                self.client.upload_blob(repository, blob, location=location, progress=count, chunk_size=chunk_size)
                return
            except RegistryError as exc:
                self.progress("uploaded", -sent)
                retry_after = exc.retry_after
                if exc.status == 413 and (chunk_size == 0 or chunk_size > _MIN_CHUNK):
                    # A proxy in front limits request bodies (nginx defaults to 1 MiB): halve the pieces
                    # until they fit. 413 is not counted as an attempt while the pieces can shrink.
                    chunk_size = max(_MIN_CHUNK, min(_FIRST_CHUNK, (chunk_size or blob.size) // 2))
                    attempt -= 1
                elif not exc.temporary or attempt > self.options.retries:
                    raise
            except TargetUnreachableError:
                self.progress("uploaded", -sent)
                retry_after = None
                if attempt > self.options.retries:
                    raise
            location = None  # a failed session cannot be resumed reliably; start a new one
            sleep(backoff_delay(max(attempt, 1), 0.5, retry_after))

    def _account_blobs(self, result: ImageResult, tasks: dict[Digest, _BlobTask]) -> None:
        repository = result.item.repository
        for blob in result.item.image.manifest.blobs():
            task = tasks[blob.digest]
            outcome = task.outcome.get(repository)
            if outcome is None:
                result.status = "failed"
                result.error = result.error or f"blob {blob.digest}: {task.error or 'not uploaded'}"
                continue
            result.blobs[outcome] += 1
            result.bytes[outcome] += blob.size

    # -- phase 3: manifests -----------------------------------------------------------------------

    def _push_manifests(self, result: ImageResult, tasks: dict[Digest, _BlobTask]) -> None:
        item = result.item
        root = _with_compressed_layers(item.image.manifest, tasks)
        result.digest = str(root.digest)
        try:
            for node in root.walk():
                reference = item.tag if node is root and item.tag else str(node.digest)
                digest = self.client.put_manifest(item.repository, reference, node.raw, node.media_type)
                if digest != node.digest and not self.client.converts_manifests:
                    raise AirgapError(f"{result.target}: registry stored digest {digest}, expected {node.digest}")
                if node is root:
                    result.digest = str(digest)
        except AirgapError as exc:
            result.status, result.error = "failed", str(exc)
            return
        result.status = "pushed"


def _compressible(manifest: Manifest, blob: Blob) -> bool:
    """An uncompressed layer of a single-platform image (indexes keep their bytes untouched)."""
    return not manifest.is_index and blob in manifest.layers and blob.compression is Compression.NONE


def _with_compressed_layers(manifest: Manifest, tasks: dict[Digest, _BlobTask]) -> Manifest:
    """The manifest to push: rebuilt with the gzip descriptors of layers compressed during this run."""
    if manifest.is_index or manifest.config is None or not any(tasks[b.digest].stored for b in manifest.layers):
        return manifest
    layers = tuple(
        replace(blob, descriptor=stored) if (stored := tasks[blob.digest].stored) else blob for blob in manifest.layers
    )
    raw = image_manifest_bytes(manifest.media_type, manifest.config.descriptor, [b.descriptor for b in layers])
    return replace(manifest, raw=raw, layers=layers)


def _wait_all(futures: list[Future[None]]) -> None:
    """Wait, then surface unexpected exceptions (bugs), which must not be silently dropped."""
    wait(futures)
    for future in futures:
        future.result()
