"""A small OCI distribution client: ping, blob HEAD/mount/upload, manifest HEAD/PUT, tag listing.

Every request goes through :meth:`RegistryClient._send`, which adds auth, answers one 401 challenge,
and retries temporary failures (connection errors, 429 with Retry-After, 5xx) with backoff. Uploads are
restarted from the beginning by the caller, since a streamed body cannot be replayed.
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin

import requests

from skoala_airgap.connection.auth import Authenticator
from skoala_airgap.connection.credentials import Credentials
from skoala_airgap.connection.errors import AuthError, DigestMismatchError, RegistryError, parse_error_codes
from skoala_airgap.connection.transport import TransportOptions, backoff_delay, new_session, sleep
from skoala_airgap.destinations.upload import READ_SIZE, DigestingBody
from skoala_airgap.errors import TargetUnreachableError
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
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def pull_push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def pull(repository: str) -> str:
    return f"repository:{repository}:pull"


class RegistryClient:
    """One registry host (``host[:port]``), shared by all worker threads."""

    converts_manifests = False  # registries store manifest bytes exactly as sent

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        options: TransportOptions | None = None,
        pool_size: int = 8,
    ) -> None:
        self.host = host
        self.options = options or TransportOptions()
        self.base = f"{self.options.scheme}://{host}"
        self.session = new_session(pool_size)
        self.auth = Authenticator(host, credentials)

    # -- plumbing ---------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return urljoin(self.base + "/", path.lstrip("/"))

    def _send(
        self,
        method: str,
        url: str,
        scope: str,
        *,
        ok: tuple[int, ...],
        replayable: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with auth and retries; return the response when its status is in ``ok``."""
        attempt = 0
        answered = False
        while True:
            attempt += 1
            headers = dict(kwargs.pop("headers", None) or {})
            headers.update(self.auth.header(scope))
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    verify=self.options.verify,
                    cert=self.options.cert,
                    timeout=self.options.timeout,
                    **kwargs,
                )
            except requests.exceptions.SSLError as exc:
                raise TargetUnreachableError(
                    f"{self.host}: TLS failed ({_short(exc)}); see --ca-file/--insecure"
                ) from exc
            except requests.exceptions.ConnectionError as exc:
                if replayable and attempt <= self.options.retries:
                    sleep(backoff_delay(attempt, self.options.backoff))
                    kwargs["headers"] = headers
                    continue
                raise TargetUnreachableError(f"{self.host}: cannot connect ({_short(exc)})") from exc
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            if response.status_code in ok:
                return response
            if response.status_code == 401 and replayable:
                if answered:
                    hint = "access denied" + (
                        f" for credentials from {c.source}" if (c := self.auth.credentials) else ""
                    )
                    raise AuthError(method, url, 401, parse_error_codes(response.content), hint=hint)
                answered = True
                self.auth.answer(self.session, response, scope, self.options.verify)
                continue
            if response.status_code in _RETRY_STATUSES and replayable and attempt <= self.options.retries:
                sleep(backoff_delay(attempt, self.options.backoff, response.headers.get("Retry-After")))
                continue
            error = RegistryError(method, url, response.status_code, parse_error_codes(response.content))
            error.retry_after = response.headers.get("Retry-After")
            raise error

    # -- API --------------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``; answers the auth challenge up front so workers start with a working scheme."""
        self._send("GET", self.url("/v2/"), "", ok=(200,))

    def blob_exists(self, repository: str, digest: Digest) -> bool:
        """HEAD the blob; a 403 or other refusal counts as "not known to exist" (ggcr does the same)."""
        try:
            self._send("HEAD", self.url(f"/v2/{repository}/blobs/{digest}"), pull_push(repository), ok=(200,))
        except RegistryError as exc:
            if exc.status in (401, 403, 404):
                return False
            raise
        return True

    def start_upload(self, repository: str, mount: tuple[Digest, str] | None = None) -> tuple[bool, str]:
        """POST an upload; with ``mount`` (digest, from-repository) try a cross-repository mount.

        Returns (mounted, upload location). A declined mount (202) still opens a usable session.
        """
        query = ""
        scope = pull_push(repository)
        if mount:
            query = "?" + urlencode({"mount": str(mount[0]), "from": mount[1]})
            scope = f"{scope} {pull(mount[1])}"
        response = self._send("POST", self.url(f"/v2/{repository}/blobs/uploads/{query}"), scope, ok=(201, 202))
        if response.status_code == 201:
            return True, ""
        location = response.headers.get("Location", "")
        if not location:
            raise RegistryError("POST", response.url, response.status_code, hint="upload session without a Location")
        return False, urljoin(response.url, location)

    def upload_blob(
        self,
        repository: str,
        blob: Blob,
        *,
        location: str | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = 0,
    ) -> None:
        """Stream ``blob`` in one PATCH (or ``chunk_size`` pieces), hashing it; PUT only if it matches."""
        scope = pull_push(repository)
        if location is None:
            _, location = self.start_upload(repository)
        headers = {"Content-Type": "application/octet-stream"}
        with blob.open() as source:
            if chunk_size and blob.size > chunk_size:
                body, location = self._patch_chunks(location, scope, source, blob.size, chunk_size, progress)
            else:
                body = DigestingBody(source, blob.size, progress)
                response = self._send(
                    "PATCH", location, scope, ok=(202, 204), replayable=False, data=body, headers=headers
                )
                location = urljoin(response.url, response.headers.get("Location", location))
        if body.digest != blob.digest:
            self._cancel(location, scope)
            raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), str(body.digest))
        self._send("PUT", _with_query(location, {"digest": str(blob.digest)}), scope, ok=(201,), replayable=False)

    def upload_gzip(
        self, repository: str, blob: Blob, *, level: int = 1, progress: Callable[[int], None] | None = None
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

        headers = {"Content-Type": "application/octet-stream"}
        response = self._send("PATCH", location, scope, ok=(202, 204), replayable=False, data=chunks(), headers=headers)
        location = urljoin(response.url, response.headers.get("Location", location))
        if source_sha.hexdigest() != blob.digest.hex:
            self._cancel(location, scope)
            raise DigestMismatchError(
                blob.label or str(blob.digest), str(blob.digest), f"sha256:{source_sha.hexdigest()}"
            )
        digest = Digest("sha256", out_sha.hexdigest())
        self._send("PUT", _with_query(location, {"digest": str(digest)}), scope, ok=(201,), replayable=False)
        return digest, size

    def _patch_chunks(
        self,
        location: str,
        scope: str,
        source: Any,
        size: int,
        chunk_size: int,
        progress: Callable[[int], None] | None,
    ) -> tuple[DigestingBody, str]:
        previous: DigestingBody | None = None
        start = 0
        while start < size:
            length = min(chunk_size, size - start)
            body = DigestingBody(source, length, progress)
            if previous:
                body.update_hash_from(previous)
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{start + length - 1}",
            }
            response = self._send("PATCH", location, scope, ok=(202,), replayable=False, data=body, headers=headers)
            location = urljoin(response.url, response.headers.get("Location", location))
            previous, start = body, start + length
        assert previous is not None
        return previous, location

    def _cancel(self, location: str, scope: str) -> None:
        # Best effort: the registry purges abandoned uploads itself.
        with contextlib.suppress(RegistryError, TargetUnreachableError):
            self._send("DELETE", location, scope, ok=(202, 204, 404), replayable=False)

    def manifest_digest(self, repository: str, reference: str) -> Digest | None:
        """The digest a tag points at, or None when it does not exist."""
        try:
            response = self._send(
                "HEAD",
                self.url(f"/v2/{repository}/manifests/{reference}"),
                pull_push(repository),
                ok=(200,),
                headers={"Accept": MANIFEST_ACCEPT},
            )
        except RegistryError as exc:
            if exc.status in (403, 404):
                return None
            raise
        value = response.headers.get("Docker-Content-Digest", "")
        return Digest.parse(value) if Digest.is_valid(value) else None

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        try:
            response = self._send(
                "PUT",
                self.url(f"/v2/{repository}/manifests/{reference}"),
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

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        response = self._send(
            "GET",
            self.url(f"/v2/{repository}/manifests/{reference}"),
            pull(repository),
            ok=(200,),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return response.content, response.headers.get("Content-Type", "")

    def tags(self, repository: str) -> list[str]:
        try:
            response = self._send("GET", self.url(f"/v2/{repository}/tags/list"), pull(repository), ok=(200,))
        except RegistryError as exc:
            if exc.status == 404:
                return []
            raise
        return [str(t) for t in (response.json().get("tags") or [])]


def _with_query(url: str, params: Mapping[str, str]) -> str:
    """Append parameters to an upload Location that may already carry a query (registry ``_state``)."""
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
