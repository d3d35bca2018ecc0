"""The one progress model every long operation reports through: push, sync, load, verify, hashing.

Library code never prints. It tells a :class:`Progress` the byte total once it is known, each chunk of
bytes done (negative to take back bytes a failed attempt sent), each item as it finishes (an image
pushed, a chart published, an image verified) and notes (retries, the scheme chosen for a host). The
CLI renders it as a bar on a terminal and as plain periodic lines otherwise (``cli/progress.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ItemDone:
    """One finished item, as a progress line shows it."""

    status: str  # pushed, unchanged, failed, loaded, published, present, missing, ...
    name: str  # what it is (source image, chart)
    target: str = ""  # where it went
    digest: str = ""
    size: int = 0
    error: str = ""


class Progress(Protocol):
    """Receives progress from the library; implementations must be thread-safe."""

    def start(self, total: int, label: str, *, items: int = 0) -> None:
        """The byte total of the operation called ``label`` (``push 10.0.0.1:5000``) and how many items
        it will finish. A new label begins a new phase (``sha512`` then ``push ...``); the same label
        again adds to the current phase's totals."""

    def advance(self, count: int) -> None:
        """``count`` more bytes are done (negative: a failed attempt's bytes are taken back)."""

    def item(self, done: ItemDone) -> None:
        """An item finished."""

    def note(self, message: str) -> None:
        """Something the user should see while it happens (a retry, the scheme used)."""


class NullProgress:
    """Progress nobody watches; counts bytes so callers and tests can still ask."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.items: list[ItemDone] = []
        self.notes: list[str] = []
        self._lock = threading.Lock()

    def start(self, total: int, label: str, *, items: int = 0) -> None:
        self.total = total

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count

    def item(self, done: ItemDone) -> None:
        with self._lock:
            self.items.append(done)

    def note(self, message: str) -> None:
        with self._lock:
            self.notes.append(message)
