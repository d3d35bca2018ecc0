"""An OCI distribution registry as a destination: ping, blob HEAD/mount/upload, manifests, tags.

Every request goes through one :class:`~skoala_airgap.connection.http.HttpClient` (timeouts, retries,
TLS, auth). A blob up to :data:`MONOLITHIC_LIMIT` goes up in two requests (POST, then PUT with the
body), checked against its digest before a byte is sent; larger ones in ``Content-Range`` PATCHes of
:data:`CHUNK_SIZE` (:mod:`.chunked`), checked by the registry at the commit, each acknowledged chunk
recorded in an :class:`UploadSessions` journal so that a failed chunk, or a rerun after an interrupted
one, continues where the registry says it is (``GET <location>``). A blob whose bytes do not match its
digest is never committed and its session is cancelled.

Registry quirk (distribution 2.8, so registry:2 and Harbor): a PATCH cut off mid-body leaves the
session's size ahead of its signed ``_state`` offset, and the registry then cancels the session
("upload resumed at wrong offset"). Such a blob starts again in a new session; chunks acknowledged
before the cut are lost with it. Registries that report the true ``Range`` continue from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import requests

from skoala_airgap.connection.auth import Authenticator
from skoala_airgap.connection.credentials import Credentials
from skoala_airgap.connection.errors import AuthError, RegistryError
from skoala_airgap.connection.http import HttpClient, absolute
from skoala_airgap.destinations.chunked import UploadSessions, pull_push, upload_chunked, with_query
from skoala_airgap.destinations.upload import READ_SIZE, BlobBody, hash_blob
from skoala_airgap.errors import DigestMismatchError, TargetUnreachableError
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
# Measured in bench/push.py: below this one PUT with the body (two requests in all) beats chunks.
MONOLITHIC_LIMIT = 32 * 1024 * 1024
# Larger blobs go in chunks of this size. Smaller chunks lose less to a kill mid-chunk behind a
# store-and-forward proxy, but cost distribution 2.8 about 9 ms of CPU per PATCH: 8 MiB chunks made the
# 1 GB push 35 % slower than 64 MiB ones (docs/benchmarks.md, resume).
CHUNK_SIZE = 64 * 1024 * 1024
_OCTET = {"Content-Type": "application/octet-stream"}

Progress = Callable[[int], None]


def pull(repository: str) -> str:
    return f"repository:{repository}:pull"


class RegistryClient:
    """One registry host (``host[:port]``), shared by all worker threads."""

    converts_manifests = False  # registries store manifest bytes exactly as sent

    def __init__(self, http: HttpClient, credentials: Credentials | None = None) -> None:
        self.http = http
        self.host = http.host
        self.auth = Authenticator(http.host, credentials)

    @property
    def scheme(self) -> str:
        return self.http.scheme

    def _send(self, method: str, path_or_url: str, scope: str, **kwargs: Any) -> requests.Response:
        url = path_or_url if "://" in path_or_url else self.http.url(path_or_url)
        return self.http.send(method, url, authenticator=self.auth, scope=scope, **kwargs)

    # -- reads ------------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``; answers the auth challenge up front so workers start with a working scheme."""
        # First contact: a refused port is far more often a typo than a restart, so retry it only twice.
        self._send("GET", "/v2/", "", ok=(200,), what="checking the registry API (GET /v2/)", retries=2)

    def repository_exists(self, repository: str) -> bool:
        """False only when the registry says the repository is unknown (404): then no blob HEAD can
        skip anything there. A refusal (401/403) counts as "may exist"."""
        try:
            self._send("GET", f"/v2/{repository}/tags/list", pull(repository), ok=(200,))
        except RegistryError as exc:
            if exc.status == 404:
                return False
            if exc.status in (401, 403):
                return True
            raise
        return True

    def blob_exists(self, repository: str, digest: Digest) -> bool:
        """HEAD the blob; a 403 or other refusal counts as "not known to exist" (ggcr does the same)."""
        try:
            self._send("HEAD", f"/v2/{repository}/blobs/{digest}", pull_push(repository), ok=(200,))
        except RegistryError as exc:
            if exc.status in (401, 403, 404):
                return False
            raise
        return True

    def manifest_digest(self, repository: str, reference: str, *, for_push: bool = True) -> Digest | None:
        """The digest a tag points at, or None when it does not exist.

        ``for_push`` asks for the push scope right away, so one Bearer token serves the whole push;
        ``verify`` asks for pull only, which read-only robot accounts have.
        """
        try:
            response = self._send(
                "HEAD",
                f"/v2/{repository}/manifests/{reference}",
                pull_push(repository) if for_push else pull(repository),
                ok=(200,),
                headers={"Accept": MANIFEST_ACCEPT},
            )
        except AuthError:
            raise
        except RegistryError as exc:
            if exc.status in (403, 404):
                return None
            raise
        value = response.headers.get("Docker-Content-Digest", "")
        return Digest.parse(value) if Digest.is_valid(value) else None

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        response = self._send(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            pull(repository),
            ok=(200,),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return response.content, response.headers.get("Content-Type", "")

    def get_blob(self, repository: str, digest: Digest, limit: int = 64 * 1024 * 1024) -> bytes | None:
        """A small blob (a chart, a config) checked against its digest; None when the registry lacks it."""
        try:
            response = self._send("GET", f"/v2/{repository}/blobs/{digest}", pull(repository), ok=(200,), stream=True)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        with response:
            data = response.raw.read(limit + 1, decode_content=True)
        if len(data) > limit or Digest.of(data) != digest:
            raise RegistryError("GET", response.url, 200, hint=f"blob content does not match {digest}")
        return bytes(data)

    def tags(self, repository: str) -> list[str]:
        try:
            response = self._send("GET", f"/v2/{repository}/tags/list", pull(repository), ok=(200,))
        except RegistryError as exc:
            if exc.status == 404:
                return []
            raise
        try:
            return [str(t) for t in (response.json().get("tags") or [])]
        except (ValueError, AttributeError):
            return []

    # -- blob uploads -----------------------------------------------------------------------------

    def start_upload(self, repository: str, mount: tuple[Digest, str] | None = None) -> tuple[bool, str]:
        """POST an upload; with ``mount`` (digest, from-repository) try a cross-repository mount.

        Returns (mounted, upload location). A declined mount (202) still opens a usable session.
        """
        query, scope = "", pull_push(repository)
        if mount:
            query = "?" + urlencode({"mount": str(mount[0]), "from": mount[1]})
            scope = f"{scope} {pull(mount[1])}"
        response = self._send("POST", f"/v2/{repository}/blobs/uploads/{query}", scope, ok=(201, 202))
        if response.status_code == 201:
            return True, ""
        location = response.headers.get("Location", "")
        if not location:
            raise RegistryError("POST", response.url, response.status_code, hint="upload session without a Location")
        return False, absolute(response, location)

    def upload_blob(
        self,
        repository: str,
        blob: Blob,
        *,
        location: str | None = None,
        progress: Progress | None = None,
        sessions: UploadSessions | None = None,
        chunk_size: int = 0,
    ) -> None:
        """Upload ``blob``: monolithic when small, else resumable chunks (see the module docstring)."""
        chunk = chunk_size or CHUNK_SIZE
        if blob.size <= MONOLITHIC_LIMIT and not chunk_size:
            self._upload_monolithic(repository, blob, location, progress)
        else:
            upload_chunked(self, repository, blob, location, progress, sessions, chunk)

    def _upload_monolithic(self, repository: str, blob: Blob, location: str | None, progress: Progress | None) -> None:
        """POST, then one PUT with the body: the two requests a monolithic upload needs (curl's ceiling).
        The blob is checked before a byte is sent: one that fits one read is checked in memory, a larger
        one is hashed first in one pass over the page cache (cheaper than a third request per blob,
        measured in bench/push.py) and then streamed without hashing again. So a blob whose bytes do not
        match its digest never reaches the registry and its session is cancelled: distribution 2.8 cannot
        cancel a session whose bytes ran ahead of its signed ``_state`` (what a rejected PUT with a body
        leaves). The registry checks the digest again at the commit."""
        scope = pull_push(repository)
        if location is None:
            _, location = self.start_upload(repository)
        what = f"uploading {blob.digest.short} ({blob.size} bytes)"
        try:
            with blob.open() as source:
                body: bytes | BlobBody
                if blob.size <= READ_SIZE:
                    body = source.read(blob.size + 1)
                    actual = Digest.of(body)
                else:
                    actual = hash_blob(source, blob.size)
                    source.seek(0)
                    body = BlobBody(source, blob.size, progress)
                self._check_digest(actual, blob, location, scope)
                self._send(
                    "PUT",
                    with_query(location, {"digest": str(blob.digest)}),
                    scope,
                    ok=(201,),
                    replayable=False,
                    data=body,
                    headers=_OCTET,
                    what=what,
                )
                if progress and isinstance(body, bytes):  # a BlobBody reports as it is read
                    progress(len(body))
        except (RegistryError, TargetUnreachableError):
            self.cancel(location, scope)  # the session is of no further use; do not leave it open
            raise

    def _check_digest(self, actual: Digest, blob: Blob, location: str, scope: str) -> None:
        if actual != blob.digest:
            self.cancel(location, scope)
            raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), str(actual))

    def upload_offset(self, location: str, repository: str) -> int | None:
        """Bytes the registry holds for an upload session (``GET <location>``), or None if it is gone."""
        status = self.upload_status(location, repository)
        return None if status is None else status[0]

    def upload_status(self, location: str, repository: str) -> tuple[int, str] | None:
        """(bytes the registry holds, the Location to continue at) for an upload session, or None if the
        registry no longer has it. The answer's Location matters: it carries the registry's signed state
        for that offset (distribution 3 answers a status GET at any offset and expects the next PATCH at
        the new state); distribution 2.8 instead drops a session whose bytes ran ahead of its state."""
        try:
            response = self._send("GET", location, pull_push(repository), ok=(204,))
        except RegistryError as exc:
            if exc.status in (400, 404, 416):
                return None
            raise
        value = response.headers.get("Range", "")
        _, _, end = value.partition("-")
        # "0-0" is what distribution says for an empty session (it cannot say "no bytes" otherwise); a
        # 1-byte session never happens here (chunks are at least 256 KiB), so 0-0 means 0.
        offset = int(end) + 1 if end.isdigit() and end != "0" else 0
        return offset, absolute(response, response.headers.get("Location", location))

    def upload_gzip(
        self, repository: str, blob: Blob, *, level: int = 1, progress: Progress | None = None
    ) -> tuple[Digest, int]:
        """Compress an uncompressed layer on the fly (``--compress gzip``) and upload it in one pass.

        The compressed digest is only known at the end, which the two-step upload allows: the PATCH
        streams (chunked encoding) and the closing PUT names the digest. Returns (digest, size).
        """
        scope = pull_push(repository)
        _, location = self.start_upload(repository)
        source_sha, out_sha = hashlib.sha256(), hashlib.sha256()
        size = 0

        def chunks() -> Iterator[bytes]:
            nonlocal size
            # wbits=31: a gzip wrapper with mtime 0, so the same input always gives the same digest.
            compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
            with blob.open() as source:
                while chunk := source.read(READ_SIZE):
                    source_sha.update(chunk)
                    if progress:
                        progress(len(chunk))
                    if out := compressor.compress(chunk):
                        out_sha.update(out)
                        size += len(out)
                        yield out
            tail = compressor.flush()
            out_sha.update(tail)
            size += len(tail)
            yield tail

        response = self._send("PATCH", location, scope, ok=(202, 204), replayable=False, data=chunks(), headers=_OCTET)
        location = absolute(response, response.headers.get("Location", location))
        if source_sha.hexdigest() != blob.digest.hex:
            self.cancel(location, scope)
            actual = f"sha256:{source_sha.hexdigest()}"
            raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), actual)
        digest = Digest("sha256", out_sha.hexdigest())
        self._send("PUT", with_query(location, {"digest": str(digest)}), scope, ok=(201,), replayable=False)
        return digest, size

    def cancel(self, location: str, scope: str) -> None:
        """DELETE an upload session we abandon (best effort: registries purge stale ones themselves)."""
        with contextlib.suppress(RegistryError, TargetUnreachableError):
            self._send("DELETE", location, scope, ok=(202, 204, 404), replayable=False)

    # -- manifests --------------------------------------------------------------------------------

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        try:
            response = self._send(
                "PUT",
                f"/v2/{repository}/manifests/{reference}",
                pull_push(repository),
                ok=(201,),
                data=raw,
                headers={"Content-Type": media_type},
            )
        except RegistryError as exc:
            if exc.status == 412:
                hint = f"tag {reference} is immutable in this registry (Harbor tag immutability rule)"
                raise RegistryError("PUT", exc.url, 412, exc.codes, hint=hint) from exc
            raise
        value = response.headers.get("Docker-Content-Digest", "")
        return Digest.parse(value) if Digest.is_valid(value) else Digest.of(raw)
