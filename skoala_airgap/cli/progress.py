"""How progress looks on stderr: a bar with bytes and ETA on a terminal, plain lines otherwise.

On a terminal: a tqdm bar, with a line above it for each finished item and each note (retries, the
scheme used). Not on a terminal (CI logs, ssh without a pty): every item and note as a line, plus a
status line at most every :data:`INTERVAL` seconds, so a long run is never silent. ``--quiet`` keeps
only failures and retries. Items are counted so an interrupted run can say how far it got.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from skoala_airgap.cli.render import human_bytes
from skoala_airgap.engine.progress import ItemDone

INTERVAL = 5.0
_FAILED = ("failed", "missing", "different", "unreachable", "differs")


def item_line(done: ItemDone) -> str:
    where = f" -> {done.target}" if done.target else ""
    digest = f" {done.digest[:19]}" if done.digest.startswith("sha256:") else ""
    size = f" {human_bytes(done.size)}" if done.size else ""
    error = f"  ({done.error})" if done.error else ""
    return f"{done.status:9} {done.name}{where}{digest}{size}{error}"


class ConsoleProgress:
    """A :class:`~skoala_airgap.engine.progress.Progress` that writes to stderr; thread-safe."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None, interval: float = INTERVAL) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.tty = self.stream.isatty() and not quiet
        self.total = 0
        self.done = 0
        self.items: dict[str, int] = {}
        self.label = ""
        self._bar: Any = None
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_line = 0.0

    # -- Progress ---------------------------------------------------------------------------------

    def start(self, total: int, label: str) -> None:
        with self._lock:
            self.total += total
            self.label = label
            if self.tty and self._bar is None:
                from tqdm import tqdm  # imported lazily: only interactive runs pay for it

                self._bar = tqdm(
                    total=self.total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, file=self.stream
                )
            elif self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            if self._bar is not None:
                self._bar.update(count)
            else:
                self._maybe_status()

    def item(self, done: ItemDone) -> None:
        with self._lock:
            self.items[done.status] = self.items.get(done.status, 0) + 1
            if self.quiet and done.status not in _FAILED:
                return
            self._write(item_line(done))

    def note(self, message: str) -> None:
        with self._lock:
            if self.quiet and not message.startswith("retrying"):
                return
            self._write(f"skoala-airgap: {message}")

    # -- output -----------------------------------------------------------------------------------

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def _maybe_status(self) -> None:
        now = time.monotonic()
        if self.quiet or now - self._last_line < self.interval or not self.total:
            return
        self._last_line = now
        print(self.status_line(), file=self.stream, flush=True)

    def status_line(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self.done / elapsed
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        finished = sum(self.items.values())
        return (
            f"{self.label}: {human_bytes(self.done)} of {human_bytes(self.total)}{share}, "
            f"{finished} items done, {human_bytes(int(rate))}/s"
        )

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def interrupted_summary(self) -> str:
        finished = ", ".join(f"{n} {status}" for status, n in sorted(self.items.items())) or "nothing finished"
        return f"{finished}; {human_bytes(self.done)} of {human_bytes(self.total)} done"
