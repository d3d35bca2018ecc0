"""Output helpers shared by commands: JSON reports, human tables, progress bars, warnings."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
