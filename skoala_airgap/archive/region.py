"""A byte range of a file on disk, and a seekable read-only reader over it.

Every blob the tool moves is one of these: a whole file in an OCI layout directory, or a member of a
tar nested to any depth inside an offline package. Readers use ``os.pread`` on their own descriptor, so
any number of threads can stream different regions of one package at once without sharing a file
position, and nothing is ever copied to disk.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class FileRegion:
    """``size`` bytes of ``path`` starting at ``offset``."""

    path: Path
    offset: int
    size: int

    @classmethod
    def whole(cls, path: Path) -> FileRegion:
        return cls(path, 0, path.stat().st_size)

    def sub(self, offset: int, size: int) -> FileRegion:
        """A region inside this one; ``offset`` is relative to this region's start."""
        return FileRegion(self.path, self.offset + offset, size)

    def open(self) -> RegionReader:
        return RegionReader(self)

    def read(self, limit: int) -> bytes:
        """Read the whole region into memory; refuses regions larger than ``limit`` (configs, manifests)."""
        if self.size > limit:
            raise ValueError(f"{self.size} bytes is more than the {limit}-byte limit for an in-memory read")
        with self.open() as reader:
            return reader.read()

    def peek(self, count: int) -> bytes:
        with self.open() as reader:
            return reader.read(min(count, self.size))


class RegionReader(io.RawIOBase):
    """Seekable, read-only view of a :class:`FileRegion` with its own file descriptor."""

    def __init__(self, region: FileRegion) -> None:
        super().__init__()
        self.region = region
        self._fd = os.open(region.path, os.O_RDONLY)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.region.size}[whence]
        new = base + offset
        if new < 0:
            raise ValueError("negative seek position")
        self._pos = new
        return new

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        remaining = self.region.size - self._pos
        if remaining <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        want = min(len(view), remaining)
        got = os.preadv(self._fd, [view[:want]], self.region.offset + self._pos)
        self._pos += got
        return got

    def read(self, size: int = -1) -> bytes:
        remaining = max(self.region.size - self._pos, 0)
        want = remaining if size is None or size < 0 else min(size, remaining)
        if want == 0:
            return b""
        data = os.pread(self._fd, want, self.region.offset + self._pos)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()
