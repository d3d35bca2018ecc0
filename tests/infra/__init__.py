"""Real servers for tests: a docker-registry, podman's Docker-API service and containerd.

Everything here starts genuine binaries (never mocks) under a caller-supplied scratch dir, so
tests exercise the same wire protocol the tool meets in the field. Shared process helpers live
in this module; see ``registry``, ``podman`` and ``containerd`` for the servers themselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

__all__ = [
    "PROXY_ENV_VARS",
    "HostLitterGuard",
    "InfraMissingError",
    "clean_env",
    "free_port",
    "mounts_under",
    "require_binary",
    "spawn",
    "terminate",
    "unmount_under",
]

#: Proxy variables that would route 127.0.0.1 traffic (or a podman push) through a proxy.
PROXY_ENV_VARS: tuple[str, ...] = tuple(
    name for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY") for name in (base, base.lower())
)


class InfraMissingError(RuntimeError):
    """A binary the test infrastructure needs is not installed (tests must fail, not skip)."""


def require_binary(name: str, apt_package: str) -> str:
    """Return the path of ``name`` or raise with the apt command that installs it."""
    path = shutil.which(name)
    if path is None:
        raise InfraMissingError(
            f"`{name}` not found on PATH; the test suite needs real servers. "
            f"Install it with: apt-get install -y {apt_package}"
        )
    return path


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Copy of os.environ without proxy variables, plus ``extra``.

    Session-scoped servers start before per-test env fixtures run, so they strip proxies themselves.
    """
    env = {k: v for k, v in os.environ.items() if k not in PROXY_ENV_VARS}
    if extra:
        env.update(extra)
    return env


def free_port() -> int:
    """Ask the kernel for a currently free 127.0.0.1 TCP port (callers retry on the rare race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_PR_SET_PDEATHSIG = 1
_MNT_DETACH = 2


def _die_with_parent() -> None:
    """Child-side hook: get SIGTERM if pytest dies hard, so no server outlives the test run."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def spawn(
    args: Sequence[str],
    *,
    log_path: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server directly (no shell, so the PID is the server's), appending output to ``log_path``.

    A new session keeps Ctrl-C from killing servers before fixture finalizers run; PDEATHSIG covers
    the case where pytest itself is killed.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )


def terminate(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int | None:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns the exit code; safe to call twice."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


def _unescape_mountinfo(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path`` (deepest first), read from /proc/self/mountinfo."""
    root = os.path.realpath(path)
    found: list[str] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split(" ")
        if len(fields) < 5:
            continue
        mnt = _unescape_mountinfo(fields[4])
        if mnt == root or mnt.startswith(root + os.sep):
            found.append(mnt)
    # Deepest first; duplicates (stacked mounts) are kept so each layer gets unmounted.
    return [Path(m) for m in sorted(found, key=lambda m: m.count(os.sep), reverse=True)]


def unmount_under(path: Path) -> list[Path]:
    """Lazily unmount everything below ``path`` (podman's overlay leaves mounts that block rmtree).

    Uses umount2(MNT_DETACH) directly: the ``umount`` CLI would also write /run/mount/utab.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    done: list[Path] = []
    for _ in range(5):  # stacked mounts need several passes
        mounts = mounts_under(path)
        if not mounts:
            break
        for mnt in mounts:
            if libc.umount2(os.fsencode(mnt), _MNT_DETACH) == 0:
                done.append(mnt)
    return done


class HostLitterGuard:
    """Undo host paths that upstream tools create even with every knob pointed at the scratch dir.

    Example: podman 4.3 (as root) always opens its blob-info cache in /var/lib/containers/cache.
    Only paths that did not exist when the guard was made are removed, never pre-existing state.
    """

    def __init__(self, paths: Iterable[Path]) -> None:
        self._created: list[Path] = []
        for path in paths:
            top: Path | None = None
            p = Path(path)
            while not p.exists() and p != p.parent:
                top, p = p, p.parent
            if top is not None:
                self._created.append(top)

    def cleanup(self) -> None:
        for path in self._created:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[str]:
    """Run ``server`` in a daemon thread for the block; yields its ``127.0.0.1:PORT``."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"  # type: ignore[index]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
