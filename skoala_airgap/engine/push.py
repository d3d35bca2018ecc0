"""The copy engine: every unique blob of every image goes up at most once per repository, largest
first, under one concurrency limit for the whole run; a manifest goes up only after all its blobs.

Order of work:
  1. HEAD every target tag. A tag that already names our digest means the image is complete there
     (the registry checked its blobs when the manifest was stored), so it costs nothing more.
  2. For each repository still to fill, ask once whether it exists: in a new repository no blob can be
     there, so no blob HEAD is sent.
  3. One task per unique blob digest, largest first. For each repository that needs it: HEAD (skip if
     present, existing repositories only), else mount from a repository known to hold it (this run,
     or an earlier run through :class:`~skoala_airgap.engine.state.BlobLocations`), else upload.
  4. Manifests of images whose blobs all arrived: children by digest, then the tag.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from skoala_airgap import interrupt
from skoala_airgap.connection.errors import AuthError, RegistryError
from skoala_airgap.connection.http import backoff_delay
from skoala_airgap.engine.contract import ImageResult, PushItem, PushOptions, PushTarget
from skoala_airgap.engine.progress import ItemDone, NullProgress, Progress
from skoala_airgap.engine.state import BlobLocations, UploadJournal
from skoala_airgap.errors import AirgapError, DigestMismatchError, InputError, Interrupted, TargetUnreachableError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob, Compression, Manifest
from skoala_airgap.model.manifest import image_manifest_bytes

# These end the whole run: a stop request, refused credentials, bad TLS trust, bad input.
_FATAL = (Interrupted, AuthError, InputError)
_FIRST_CHUNK = 16 * 1024 * 1024
_MIN_CHUNK = 256 * 1024


@dataclass
class _BlobTask:
    blob: Blob
    repositories: list[str]
    outcome: dict[str, str] = field(default_factory=dict)  # repository -> uploaded/skipped/mounted
    error: str | None = None
    input_fault: bool = False
    compress: bool = False
    stored: Descriptor | None = None  # the gzip blob's descriptor once a compressed upload finished


class _Throttle:
    """The number of uploads in flight; halved when the registry answers 429 (it asked us to slow down)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._active = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            while self._active >= self.limit:
                self._cond.wait(0.5)
                interrupt.check()
            self._active += 1

    def __exit__(self, *_: object) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def slow_down(self) -> int:
        with self._cond:
            self.limit = max(1, self.limit // 2)
            return self.limit


class Pusher:
    """Runs one push of many images to one destination host."""

    def __init__(
        self,
        client: PushTarget,
        options: PushOptions,
        progress: Progress | None = None,
        *,
        journal: UploadJournal | None = None,
        locations: BlobLocations | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.progress: Progress = progress or NullProgress()
        self.journal = journal
        self.locations = locations or BlobLocations(None)
        self.throttle = _Throttle(options.concurrency)
        self._new_repositories: set[str] = set()
        self._lock = threading.Lock()

    def push(self, items: Sequence[PushItem]) -> list[ImageResult]:
        results = [ImageResult(item, f"{self.client.host}/{item.target}", str(item.image.digest)) for item in items]
        self.progress.start(_work_size(results), f"push {self.client.host}", items=len(results))
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.concurrency))
        try:
            self._check_tags(pool, results)
            pending = [r for r in results if r.status == "pending"]
            self.progress.advance(_work_size(results) - _work_size(pending))
            self._find_new_repositories(pool, pending)
            tasks = self._blob_tasks(pending)
            _wait_all([pool.submit(self._run_blob_task, task) for task in tasks.values()])
            for result in pending:
                self._account_blobs(result, tasks)
            _wait_all([pool.submit(self._push_manifests, r, tasks) for r in pending if r.status == "pending"])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # do not wait: the caller is stopping
            raise
        finally:
            self.locations.flush()
        pool.shutdown(wait=True)
        return results

    # -- phase 1: tags ----------------------------------------------------------------------------

    def _check_tags(self, pool: ThreadPoolExecutor, results: list[ImageResult]) -> None:
        def check(result: ImageResult) -> None:
            item = result.item
            try:
                existing = self.client.manifest_digest(item.repository, item.tag or str(item.image.digest))
            except _FATAL:
                raise
            except AirgapError as exc:
                self._fail(result, str(exc))
                return
            if existing == item.image.digest:
                result.status = "unchanged"
                size = item.image.manifest.total_size
                result.bytes["skipped"] = size
                self._done(result)
            elif existing is not None:
                result.previous_digest = str(existing)
                if not self.options.overwrite:
                    self._fail(
                        result, f"{result.target} exists with digest {existing} (not overwritten: --no-overwrite)"
                    )

        _wait_all([pool.submit(check, r) for r in results])

    def _find_new_repositories(self, pool: ThreadPoolExecutor, pending: list[ImageResult]) -> None:
        """Repositories where no tag of ours exists yet and the registry does not know the name."""
        untagged = {r.item.repository for r in pending if r.previous_digest is None}
        untagged -= {r.item.repository for r in pending if r.previous_digest is not None}

        def probe(repository: str) -> None:
            if not self.client.repository_exists(repository):
                with self._lock:
                    self._new_repositories.add(repository)

        _wait_all([pool.submit(probe, repository) for repository in sorted(untagged)])

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
        holders: list[str] = []  # repositories of this registry known to hold the blob now
        for repository in task.repositories:
            try:
                outcome = self._place(task, repository, holders)
            except DigestMismatchError as exc:
                task.error, task.input_fault = str(exc), True
                return
            except _FATAL:
                raise
            except AirgapError as exc:
                task.error = str(exc)
                return
            task.outcome[repository] = outcome
            holders.append(repository)
            self.locations.add(self.client.host, task.stored.digest if task.stored else task.blob.digest, repository)

    def _place(self, task: _BlobTask, repository: str, holders: list[str]) -> str:
        """Put the task's blob into ``repository``: skipped, mounted or uploaded."""
        blob, host = task.blob, self.client.host
        digest = task.stored.digest if task.stored else blob.digest
        size = task.stored.size if task.stored else blob.size
        if not blob.available:
            self.progress.advance(size)
            return "skipped"  # a foreign layer: the manifest points elsewhere for it
        new = repository in self._new_repositories
        if not new and (task.stored or not task.compress) and self.client.blob_exists(repository, digest):
            self.progress.advance(size)
            return "skipped"
        location: str | None = None
        if not task.compress or task.stored:
            candidates = holders + [r for r in self.locations.holders(host, digest) if r not in holders]
            for holder in [c for c in candidates if c != repository][:2]:
                mounted, location = self._try_mount(repository, digest, holder)
                if mounted:
                    self.progress.advance(size)
                    return "mounted"
                if holder not in holders:
                    self.locations.drop(host, digest, holder)
                if location:
                    break
        if task.compress and not task.stored:
            self._upload_compressed(task, repository)
        else:
            self._upload_with_retries(repository, blob, location)
        return "uploaded"

    def _try_mount(self, repository: str, digest: Digest, holder: str) -> tuple[bool, str | None]:
        """A declined or failed mount is not an error: it falls back to an upload (ggcr #1404)."""
        try:
            with self.throttle:
                return self.client.start_upload(repository, mount=(digest, holder))
        except RegistryError:
            return False, None

    def _upload_compressed(self, task: _BlobTask, repository: str) -> None:
        with self.throttle:
            digest, size = self.client.upload_gzip(repository, task.blob, progress=self.progress.advance)
        media_type = (
            mt.DOCKER_LAYER_GZIP
            if task.blob.descriptor.media_type.startswith("application/vnd.docker")
            else mt.OCI_LAYER_GZIP
        )
        task.stored = Descriptor(media_type, size, digest)

    def _upload_with_retries(self, repository: str, blob: Blob, location: str | None = None) -> None:
        chunk_size = self.options.chunk_size
        attempt = 0
        while True:
            attempt += 1
            sent = 0

            def count(n: int) -> None:
                nonlocal sent
                sent += n
                self.progress.advance(n)

            try:
                with self.throttle:
                    self.client.upload_blob(
                        repository,
                        blob,
                        location=location,
                        progress=count,
                        sessions=self.journal,
                        chunk_size=chunk_size,
                    )
                return
            except RegistryError as exc:
                self.progress.advance(-sent)
                retry_after = exc.retry_after
                if exc.status == 413 and (chunk_size == 0 or chunk_size > _MIN_CHUNK):
                    # A proxy in front limits request bodies (nginx defaults to 1 MiB): halve the pieces
                    # until they fit. 413 is not counted as an attempt while the pieces can shrink.
                    chunk_size = max(_MIN_CHUNK, min(_FIRST_CHUNK, (chunk_size or blob.size) // 2))
                    self.progress.note(
                        f"{blob.digest.short}: request too large (413); uploading in {chunk_size}-byte chunks"
                    )
                    attempt -= 1
                elif not exc.temporary or attempt > self.options.retries:
                    raise
                elif exc.status == 429:
                    self.progress.note(
                        f"registry asked to slow down (429): {self.throttle.slow_down()} uploads at a time"
                    )
            except TargetUnreachableError as exc:
                self.progress.advance(-sent)
                retry_after = None
                if attempt > self.options.retries:
                    raise
                self.progress.note(f"{blob.digest.short}: {exc}")
            location = None  # the failed session is not reused; a recorded chunked one resumes
            delay = backoff_delay(attempt, 0.5, retry_after)
            self.progress.note(
                f"retrying upload of {blob.digest.short} in {delay:.1f} s ({attempt}/{self.options.retries})"
            )
            interrupt.sleep(delay)

    def _account_blobs(self, result: ImageResult, tasks: dict[Digest, _BlobTask]) -> None:
        repository = result.item.repository
        for blob in result.item.image.manifest.blobs():
            task = tasks[blob.digest]
            outcome = task.outcome.get(repository)
            if outcome is None:
                result.input_fault = result.input_fault or task.input_fault
                self._fail(result, result.error or f"blob {blob.digest}: {task.error or 'not uploaded'}")
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
                self.progress.advance(len(node.raw))
        except _FATAL:
            raise
        except AirgapError as exc:
            self._fail(result, str(exc))
            return
        result.status = "pushed"
        self._done(result)

    def _fail(self, result: ImageResult, error: str) -> None:
        already = result.status == "failed"
        result.status, result.error = "failed", error
        if not already:
            self._done(result)

    def _done(self, result: ImageResult) -> None:
        size = sum(result.bytes.values()) or result.item.image.manifest.total_size
        self.progress.item(
            ItemDone(result.status, result.item.source_name, result.target, result.digest, size, result.error or "")
        )


def _work_size(results: Sequence[ImageResult]) -> int:
    """Bytes a push of ``results`` handles: each (repository, blob) pair once, plus every manifest."""
    pairs: dict[tuple[str, Digest], int] = {}
    manifests = 0
    for result in results:
        manifest = result.item.image.manifest
        for blob in manifest.blobs():
            pairs[(result.item.repository, blob.digest)] = blob.size
        manifests += sum(len(node.raw) for node in manifest.walk())
    return sum(pairs.values()) + manifests


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
    """Wait, then surface exceptions: a stop request or a bug must not be silently dropped."""
    wait(futures)
    for future in futures:
        future.result()
