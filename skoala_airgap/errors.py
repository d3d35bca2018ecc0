"""Exception tree and exit codes, and the one place that maps an exception to an exit code.

Exit codes (documented in README and docs/user-guide.md):
  0   everything done
  1   a target-side failure: some image or chart could not be placed, or a target could not be reached
  2   bad input: archive, chart, hints, config, options or credentials, even when found mid-run
  130 interrupted (SIGINT)
  143 terminated (SIGTERM)

Only ``skoala_airgap.cli.main`` turns these into a one-line message and an exit code; ``--debug`` adds
the traceback but never changes the code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_TARGET = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class AirgapError(Exception):
    """Base of every error the tool reports on one line."""

    exit_code = EXIT_TARGET


class InputError(AirgapError):
    """The input is at fault: a package, bundle, archive member, chart, config file or option."""

    exit_code = EXIT_INPUT


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


class DigestMismatchError(InputError):
    """Bytes read from the source do not hash to the digest the manifest (or member name) promises.

    That is the input's fault (a corrupted package), so it is exit 2 even when found mid-upload.
    """

    def __init__(self, label: str, expected: str, actual: str | None) -> None:
        """``actual=None``: the registry refused the bytes at the commit and does not say what they hash to."""
        self.label = label
        if actual is None:
            super().__init__(f"{label}: content does not match expected {expected} (the registry refused it)")
        else:
            super().__init__(f"{label}: content digest {actual} does not match expected {expected}")


class TargetUnreachableError(AirgapError):
    """A registry, chart repository or runtime could not be reached (after the retry budget).

    ``timed_out`` says the host accepted the connection but did not answer in time (a hung server).
    """

    exit_code = EXIT_TARGET

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class RuntimeUnavailableError(InputError):
    """A container runtime socket is missing or not permitted (exit 2, names the socket)."""


class Interrupted(AirgapError):
    """The run was stopped by SIGINT or SIGTERM; raised where a wait or a worker notices it."""

    exit_code = EXIT_INTERRUPTED


class PartialFailure(AirgapError):
    """Some items failed; the others were done. ``exit_code`` is 2 when an input problem caused any of it."""

    def __init__(self, message: str, *, input_fault: bool = False) -> None:
        super().__init__(message)
        self.exit_code = EXIT_INPUT if input_fault else EXIT_TARGET


def exit_code_for(exc: BaseException) -> int:
    """The exit code for any exception that ends a command (the one mapping of the project)."""
    if isinstance(exc, AirgapError):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, OSError):
        return EXIT_INPUT  # a local file we were asked to read or write
    return EXIT_TARGET
