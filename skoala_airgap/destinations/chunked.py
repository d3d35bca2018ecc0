"""Chunked, resumable blob uploads for :class:`~skoala_airgap.destinations.registry.RegistryClient`.

Blobs over the monolithic limit go up in ``Content-Range`` PATCHes; each acknowledged chunk is recorded
in an :class:`UploadSessions` journal, so a failed chunk, or a rerun after an interrupted one, continues
where the registry says the session is (``GET <location>``). Kept apart from the client because this is
the one part of the protocol with state across requests and runs.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol
from urllib.parse import urlencode

from skoala_airgap.connection.errors import RegistryError
from skoala_airgap.connection.http import absolute
from skoala_airgap.destinations.upload import DigestingBody, hash_prefix
from skoala_airgap.errors import DigestMismatchError, TargetUnreachableError
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob

if TYPE_CHECKING:
    from skoala_airgap.destinations.registry import Progress, RegistryClient

_OCTET = {"Content-Type": "application/octet-stream"}


def pull_push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def with_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to an upload Location that may already carry a query (registry ``_state``)."""
    return url + ("&" if "?" in url else "?") + urlencode(params)


class UploadSessions(Protocol):
    """Where open chunked uploads are remembered between requests and between runs."""

    def find(self, host: str, repository: str, digest: Digest) -> tuple[str, int] | None: ...

    def record(self, host: str, repository: str, digest: Digest, location: str, offset: int) -> None: ...

    def forget(self, host: str, repository: str, digest: Digest) -> None: ...


def upload_chunked(
    client: RegistryClient,
    repository: str,
    blob: Blob,
    location: str | None,
    progress: Progress | None,
    sessions: UploadSessions | None,
    chunk: int,
) -> None:
    scope = pull_push(repository)
    location, sha = _send_chunks(client, repository, blob, location, progress, sessions, chunk)
    if Digest("sha256", sha.hexdigest()) != blob.digest:
        client.cancel(location, scope)
        if sessions is not None:
            sessions.forget(client.host, repository, blob.digest)
        raise DigestMismatchError(blob.label or str(blob.digest), str(blob.digest), f"sha256:{sha.hexdigest()}")
    client._send("PUT", with_query(location, {"digest": str(blob.digest)}), scope, ok=(201,))
    if sessions is not None:
        sessions.forget(client.host, repository, blob.digest)


def _send_chunks(
    client: RegistryClient,
    repository: str,
    blob: Blob,
    location: str | None,
    progress: Progress | None,
    sessions: UploadSessions | None,
    chunk: int,
) -> tuple[str, Any]:
    """PATCH every chunk, recovering from failed ones; returns (location, running sha256).

    A stop request leaves the session open and recorded (a rerun resumes it); any other failure
    that ends the upload cancels the session.
    """
    scope = pull_push(repository)
    with blob.open() as source:
        location, offset = _resume_point(client, repository, blob, location, sessions)
        sha = hash_prefix(source, offset) if offset else hashlib.sha256()
        if offset and progress:
            progress(offset)  # those bytes are already in the registry; count them as done
        failures = 0
        while offset < blob.size:
            length = min(chunk, blob.size - offset)
            source.seek(offset)
            body = DigestingBody(source, length, progress, sha.copy())
            headers = {**_OCTET, "Content-Range": f"{offset}-{offset + length - 1}"}
            try:
                response = client._send(
                    "PATCH", location, scope, ok=(202,), replayable=False, data=body, headers=headers
                )
            except (RegistryError, TargetUnreachableError) as exc:
                if isinstance(exc, RegistryError) and not exc.temporary and exc.status not in (404, 416):
                    _abandon(client, repository, blob, location, sessions)
                    raise
                failures += 1
                if progress:
                    progress(-body.sent)
                if failures > client.http.settings.retry.retries:
                    _abandon(client, repository, blob, location, sessions)
                    raise
                client.http.notify(f"{blob.digest.short}: chunk at {offset} failed ({exc}); checking the session")
                acked = offset
                location, offset, sha = _recover(client, repository, blob, source, location, offset, sha, sessions)
                if progress and offset != acked:
                    progress(offset - acked)  # the registry holds more (kept a cut-off body) or less (dropped)
                continue
            failures = 0
            location = absolute(response, response.headers.get("Location", location))
            offset += length
            sha = body.sha
            if sessions is not None:
                sessions.record(client.host, repository, blob.digest, location, offset)
    return location, sha


def _abandon(
    client: RegistryClient, repository: str, blob: Blob, location: str, sessions: UploadSessions | None
) -> None:
    client.cancel(location, pull_push(repository))
    if sessions is not None:
        sessions.forget(client.host, repository, blob.digest)


def _resume_point(
    client: RegistryClient, repository: str, blob: Blob, location: str | None, sessions: UploadSessions | None
) -> tuple[str, int]:
    """A session recorded by an earlier attempt or run, if the registry still has it; else a new one."""
    found = sessions.find(client.host, repository, blob.digest) if sessions is not None else None
    if found is not None:
        status = client.upload_status(found[0], repository)
        if status is not None and 0 < status[0] <= blob.size:
            if location is not None:
                client.cancel(location, pull_push(repository))  # the session a declined mount opened
            client.http.notify(f"{blob.digest.short}: resuming an earlier upload at byte {status[0]}")
            return status[1], status[0]
        assert sessions is not None
        sessions.forget(client.host, repository, blob.digest)
    if location is None:
        _, location = client.start_upload(repository)
    return location, 0


def _recover(
    client: RegistryClient,
    repository: str,
    blob: Blob,
    source: BinaryIO,
    location: str,
    acked: int,
    sha: Any,
    sessions: UploadSessions | None,
) -> tuple[str, int, Any]:
    """After a failed chunk: continue where the registry says the session is, or start a new one."""
    status = client.upload_status(location, repository)
    if status is None or status[0] > blob.size:
        # The registry dropped the session: distribution 2.8 does after a PATCH cut off mid-body, whose
        # bytes ran ahead of the session's signed state. Everything sent in it has to go again.
        if status is not None:
            client.cancel(status[1], pull_push(repository))
        if sessions is not None:
            sessions.forget(client.host, repository, blob.digest)
        _, fresh = client.start_upload(repository)
        return fresh, 0, hashlib.sha256()
    offset, location = status
    if offset == acked:
        return location, acked, sha
    return location, offset, hash_prefix(source, offset)
