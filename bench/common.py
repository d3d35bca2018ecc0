"""Shared bench helpers: timing, medians, process I/O and memory readings, report lines."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
MB = 1_000_000


@dataclass(frozen=True)
class Timed:
    seconds: float
    peak_rss_mb: float


def timed(func: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def run_child(args: Sequence[str], *, env: dict[str, str] | None = None, check: bool = True) -> Timed:
    """Run a command, returning wall time and its peak RSS (from wait4's rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = _wait4(proc)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if check and status != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({status}): {stderr[-2000:]}")
    return Timed(elapsed, usage.ru_maxrss / 1024)


def _wait4(proc: subprocess.Popen[bytes]) -> tuple[int, int, resource.struct_rusage]:
    import os

    pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return pid, proc.returncode, usage


def skoala(*args: str) -> list[str]:
    return [sys.executable, "-m", "skoala_airgap", *args]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
