"""How progress looks on stderr: a bar with bytes and ETA on a terminal, plain lines otherwise.

The library reports through :class:`~skoala_airgap.engine.progress.Progress`: a phase (``sha512``,
``push 10.6.10.10``, ``load podman``, ``verify ...``) starts with its byte total and item count known up
front, bytes advance, items finish, notes (retries, the scheme chosen) happen.

- On a terminal: a tqdm bar per phase (bytes, rate, ETA; counted items when a phase moves no bytes),
  with a line above it for each finished item and each note.
- Not on a terminal (CI logs, ssh without a pty): a status line when a phase starts (its totals), at
  most every :data:`INTERVAL` seconds while it runs (also when no byte moves, so a stalled run is never
  silent), and a last one when it ends (the bytes done of the total, and the time taken); every item
  and note as a line.
- ``--quiet``: only failed items and retries.

Items are counted so an interrupted run can say how far it got.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from skoala_airgap.cli.render import duration, human_bytes
from skoala_airgap.engine.progress import ItemDone

INTERVAL = 5.0
INTERVAL_ENV = "SKOALA_AIRGAP_PROGRESS_INTERVAL"
_FAILED = ("failed", "missing", "different", "unreachable", "differs")
_ALWAYS = ("retrying",)  # notes shown even with --quiet


def item_line(done: ItemDone) -> str:
    """``pushed    docker.m.daocloud.io/skoala/hive:v0.28.1 -> harbor/skoala/hive:v0.28.1 sha256:9fd8… 45.0 MiB``."""
    where = f" -> {done.target}" if done.target else ""
    digest = f" {done.digest[:19]}" if done.digest.startswith("sha256:") else ""
    size = f" {human_bytes(done.size)}" if done.size else ""
    error = f"  ({done.error})" if done.error else ""
    return f"{done.status:9} {done.name}{where}{digest}{size}{error}"


def _interval_from_environment(default: float) -> float:
    try:
        value = float(os.environ.get(INTERVAL_ENV, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class ConsoleProgress:
    """A :class:`~skoala_airgap.engine.progress.Progress` that writes to stderr; thread-safe."""

    def __init__(
        self,
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval if interval is not None else _interval_from_environment(INTERVAL)
        self.tty = _isatty(self.stream) and not quiet
        self.clock = clock
        # the current phase
        self.label = ""
        self.total = 0
        self.done = 0
        self.expected = 0  # items the phase will finish (0: not known)
        self.finished = 0
        # the whole run
        self.items: dict[str, int] = {}
        self._open = False
        self._bar: Any = None
        self._bar_counts_items = False
        self._lock = threading.RLock()
        self._started = self._last_line = clock()
        self._ticker: threading.Thread | None = None
        self._stop_ticker = threading.Event()

    # -- Progress ---------------------------------------------------------------------------------

    def start(self, total: int, label: str, *, items: int = 0) -> None:
        with self._lock:
            if self._open and label == self.label:
                self.total += total
                self.expected += items
                if self._bar is not None:
                    self._bar.total = self.expected if self._bar_counts_items else self.total
                    self._bar.refresh()
                return
            self._end_phase()
            self.label, self.total, self.done, self.expected, self.finished = label, total, 0, items, 0
            self._open = True
            self._started = self._last_line = self.clock()
            if self.quiet or not (total or items):
                return
            if self.tty:
                self._bar = self._new_bar()
            else:
                self._print(self.status_line())  # the totals, known up front
                self._start_ticker()

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            if self._bar is not None:
                if not self._bar_counts_items:
                    self._bar.update(count)
            else:
                self._maybe_status()

    def item(self, done: ItemDone) -> None:
        with self._lock:
            self.items[done.status] = self.items.get(done.status, 0) + 1
            self.finished += 1
            if self._bar is not None and self._bar_counts_items:
                self._bar.update(1)
            if self.quiet and done.status not in _FAILED:
                return
            self._write(item_line(done))

    def note(self, message: str) -> None:
        with self._lock:
            if self.quiet and not message.startswith(_ALWAYS):
                return
            self._write(f"skoala-airgap: {message}")

    def close(self) -> None:
        """End the current phase: close its bar, or print its last status line."""
        self._stop_ticker.set()
        with self._lock:
            self._end_phase()

    # -- lines ------------------------------------------------------------------------------------

    def status_line(self) -> str:
        """``push 10.6.10.10: 120.0 MiB of 640.0 MiB (18%), 3 of 20 done, 41.2 MiB/s, ETA 13 s``; when the
        phase is over, ``... (100%), 20 of 20 done in 15 s, 42.0 MiB/s``."""
        elapsed = max(self.clock() - self._started, 1e-6)
        parts: list[str] = []
        if self.total:
            share = min(100, int(100 * self.done / self.total))
            parts.append(f"{human_bytes(self.done)} of {human_bytes(self.total)} ({share}%)")
        if self.expected:
            parts.append(f"{self.finished} of {self.expected} done")
        elif self.finished:
            parts.append(f"{self.finished} done")
        line = f"{self.label}: " + ", ".join(parts)
        rate = self.done / elapsed
        if not self._open:
            line += f" in {duration(elapsed)}"
            if self.total:
                line += f", {human_bytes(int(rate))}/s"
        elif self.total and self.done > 0:
            line += f", {human_bytes(int(rate))}/s"
            if self.done < self.total:
                line += f", ETA {duration((self.total - self.done) / rate)}"
        return line

    def interrupted_summary(self) -> str:
        finished = ", ".join(f"{n} {status}" for status, n in sorted(self.items.items())) or "nothing finished"
        return f"{finished}; {human_bytes(self.done)} of {human_bytes(self.total)} done"

    # -- output -----------------------------------------------------------------------------------

    def _end_phase(self) -> None:
        if not self._open:
            return
        self._open = False
        if self._bar is not None:
            self._bar.close()  # leaves the final state on screen
            self._bar = None
        elif not self.quiet and not self.tty and (self.total or self.expected):
            self._print(self.status_line())

    def _new_bar(self) -> Any:
        from tqdm import tqdm  # imported lazily: only interactive runs pay for it

        self._bar_counts_items = not self.total
        width: dict[str, Any] = {"dynamic_ncols": True}
        if _columns(self.stream) == 0:  # a pty nobody sized (script, some ssh/serial set-ups): tqdm draws nothing
            width = {"ncols": 80, "nrows": 24}
        if self._bar_counts_items:
            return tqdm(total=self.expected, desc=self.label, unit="item", file=self.stream, **width)
        return tqdm(
            total=self.total, desc=self.label, unit="B", unit_scale=True, unit_divisor=1024, file=self.stream, **width
        )

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            self._print(line)

    def _print(self, line: str) -> None:
        self._last_line = self.clock()
        print(line, file=self.stream, flush=True)

    def _maybe_status(self) -> None:
        if self.quiet or self.tty or not self._open or self.clock() - self._last_line < self.interval:
            return
        self._print(self.status_line())

    def _start_ticker(self) -> None:
        """A line every interval even when no byte moves (a stalled upload, a long retry wait)."""
        if self._ticker is not None and self._ticker.is_alive() and not self._stop_ticker.is_set():
            return
        self._stop_ticker = stop = threading.Event()  # each ticker its own: a stopping one never revives
        self._ticker = threading.Thread(target=self._tick, args=(stop,), name="progress-lines", daemon=True)
        self._ticker.start()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(min(self.interval, 1.0)):
            with self._lock:
                self._maybe_status()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80
