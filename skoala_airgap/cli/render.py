"""Output helpers shared by commands: JSON reports, human tables, progress bars, warnings."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


def emit_json(report: Any) -> None:
    click.echo(json.dumps(report, indent=2, sort_keys=False))


def warn(message: str) -> None:
    click.echo(f"skoala-airgap: warning: {message}", err=True)


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


@contextmanager
def byte_progress(total: int, desc: str, *, enabled: bool) -> Iterator[Any]:
    """A tqdm bar of bytes on stderr; a no-op object when disabled or stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm  # imported lazily: only interactive runs pay for it

    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr) as bar:
        yield bar


def finish(report: dict[str, Any], *, as_json: bool, report_file: Path | None, human: Callable[[], None]) -> None:
    """Print the report: JSON on stdout with ``--json``, else the human form; ``--report`` also writes
    the JSON to a file (the human form still goes to the terminal)."""
    if report_file is not None:
        try:
            report_file.write_text(json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            warn(f"{report_file}: cannot write the report: {exc.strerror or exc}")
    if as_json:
        emit_json(report)
    else:
        human()


def duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def moved_bytes(moved: dict[str, int]) -> str:
    """``1.2 GiB uploaded, 300.0 MiB mounted, 45.0 MiB already there`` (zero parts left out, but uploaded)."""
    parts = [f"{human_bytes(moved.get('uploaded', 0))} uploaded"]
    for key, label in (("mounted", "mounted"), ("skipped", "already there")):
        if moved.get(key):
            parts.append(f"{human_bytes(moved[key])} {label}")
    return ", ".join(parts)


def summary_line(what: str, counts: dict[str, int], moved: dict[str, int], elapsed: float) -> str:
    """``20 images: 18 pushed, 2 unchanged; 1.2 GiB uploaded, 45.0 MiB already there in 14 s`` style."""
    parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    total = sum(counts.values())
    return f"{total} {what}: {parts or 'none'}; {moved_bytes(moved)} in {duration(elapsed)}"
