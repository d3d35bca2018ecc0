"""What every doctor check returns: a status, one line of message and one line of advice.

The statuses mean what an engineer needs before ``helm upgrade``: ``ok`` (nothing to do), ``warn``
(look at it, the upgrade may still work) and ``fail`` (fix it first). The exit code follows: 1 when
any check failed, else 0; bad input never gets this far (it is an :class:`InputError`, exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "Check", "Report", "Status", "bare_version", "version_key"]

Status = Literal["ok", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")


@dataclass(frozen=True)
class Check:
    """One finding. ``file``/``line`` point at the input at fault, when there is one."""

    name: str
    status: Status
    message: str
    advice: str = ""
    file: str | None = None
    line: int | None = None

    @property
    def where(self) -> str:
        """``file:line: `` (or ``file: ``) for messages; empty when the check has no input file."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}: " if self.line else f"{self.file}: "

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "advice": self.advice,
        }
        if self.file is not None:
            out["file"] = self.file
            out["line"] = self.line
        return out


@dataclass
class Report:
    """All checks of one run, in the order they ran."""

    checks: list[Check] = field(default_factory=list)

    def extend(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for check in self.checks:
            counts[check.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_json() for c in self.checks], "summary": self.summary()}


_VERSION_PREFIX = re.compile(r"^[vV](?=\d)")


def bare_version(text: str) -> str:
    """``v0.28.1`` -> ``0.28.1``: the installer writes chart versions with and without the ``v``."""
    return _VERSION_PREFIX.sub("", text.strip())


def version_key(text: str) -> tuple[int, ...] | None:
    """Numeric release part of a version (``0.17.1-rc2`` -> (0, 17, 1)); None when it has none."""
    match = re.match(r"^(\d+(?:\.\d+)*)", bare_version(text))
    return tuple(int(part) for part in match.group(1).split(".")) if match else None
