"""Request bodies for blob uploads: stream a blob once, hashing every byte on the way out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from skoala_airgap.model.digest import Digest

# urllib3 asks for 16 KiB at a time; handing it 1 MiB per read cuts the Python overhead per byte
# enough to reach the registry's own ceiling (test-infrastructure notes: 224-239 MB/s vs ~150).
READ_SIZE = 1024 * 1024


class DigestingBody:
    """A file-like request body of known length that hashes what it sends.

    ``read`` deliberately returns up to :data:`READ_SIZE` bytes whatever size is asked for.
    """

    def __init__(
        self, source: BinaryIO, length: int, progress: Callable[[int], None] | None = None, offset: int = 0
    ) -> None:
        self._source = source
        self._remaining = length
        self._length = length
        self._progress = progress
        self._sha = hashlib.sha256()
        if offset:
            source.seek(offset)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        chunk = self._source.read(min(READ_SIZE, self._remaining))
        if not chunk:
            raise OSError(f"source ended {self._remaining} bytes early")
        self._remaining -= len(chunk)
        self._sha.update(chunk)
        if self._progress:
            self._progress(len(chunk))
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read():
            yield chunk

    def update_hash_from(self, other: DigestingBody) -> None:
        """Continue the running hash of a previous chunk (chunked uploads hash across requests)."""
        self._sha = other._sha.copy()

    @property
    def digest(self) -> Digest:
        return Digest("sha256", self._sha.hexdigest())
