"""The state a config read shares across its steps: the problems found, line numbers, warnings.

Decoding (:mod:`.decode`), defaults and environment (:mod:`.environment`) and semantic validation
(:mod:`.validate`) are mix-ins over this state, so one pass reports every problem with its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from skoala_airgap.config.model import line_of
from skoala_airgap.errors import ConfigError


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class ReaderState:
    """One pass over a config file that collects every problem instead of stopping at the first."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.lines: dict[str, int] = {}
        self.broken: set[str] = set()  # keys whose value had the wrong shape (already reported)

    def error(self, reason: str, key: str | None = None, *, line: int | None = None) -> None:
        if line is None and key is not None:
            line = line_of(self.lines, key)
        self.errors.append(ConfigError(str(self.path), reason, line))

    def sorted_errors(self) -> list[ConfigError]:
        return sorted(self.errors, key=lambda e: (e.line is None, e.line or 0))
