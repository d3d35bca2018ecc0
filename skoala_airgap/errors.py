"""Exception tree and exit codes.

Exit codes (documented in README and docs/user-guide.md):
  0  everything done
  1  partial failure (some image or chart failed; the report lists what) or target unreachable
  2  bad input or configuration (archive, config file, options, runtime socket)
  130 interrupted (Ctrl-C)

Only ``skoala_airgap.cli.main`` turns these into a one-line message and an exit code.
"""

from __future__ import annotations


class AirgapError(Exception):
    """Base of every error the tool reports on one line."""

    exit_code = 1


class InputError(AirgapError):
    """The input is at fault: a package, bundle, archive member, config file or option."""

    exit_code = 2


class ArchiveError(InputError):
    """A tar archive (or a member nested in one) cannot be read as required.

    The message always names the outer file and, where known, the member path inside it.
    """

    def __init__(self, path: str, member: str | None, reason: str) -> None:
        self.path = path
        self.member = member
        self.reason = reason
        where = f"{path}: {member}" if member else path
        super().__init__(f"{where}: {reason}")


class ConfigError(InputError):
    """A load-image.yaml (or other config) problem; ``line`` is 1-based when known."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class TargetUnreachableError(AirgapError):
    """A registry, chart repository or runtime could not be reached at all."""

    exit_code = 1


class RuntimeUnavailableError(InputError):
    """A container runtime socket is missing or not permitted (exit 2, names the socket)."""


class PartialFailure(AirgapError):
    """Some items failed; the others were done. Carries the report for rendering."""

    exit_code = 1
