"""A private containerd (no CRI) for "import into containerd" tests.

It runs with its own root/state/opt dirs and sockets under the caller's workdir, so it never
touches a system containerd or /var/lib/containerd. ``ctr`` is the reference client to check what
our code imported.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.infra import clean_env, require_binary, spawn, terminate, unmount_under

__all__ = ["ContainerdProcess", "start_containerd"]

READY_TIMEOUT = 20.0

_DISABLED_PLUGINS = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.aufs",
]


@dataclass
class ContainerdProcess:
    """A running private containerd; use ``ctr()`` for every client call."""

    workdir: Path
    socket_path: Path
    config_path: Path
    log_path: Path
    env: dict[str, str]
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """The gRPC socket path, as ``ctr --address`` and containerd clients expect it."""
        return str(self.socket_path)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def ctr(
        self,
        *args: str,
        namespace: str = "k8s.io",
        check: bool = True,
        timeout: float = 300,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``ctr --address SOCK --namespace NS ARGS`` (text output; raises with stderr on failure)."""
        binary = require_binary("ctr", "containerd")
        res = subprocess.run(
            [binary, "--address", self.address, "--namespace", namespace, *args],
            capture_output=True,
            env=self.env,
            check=False,
            timeout=timeout,
            input=input,
        )
        out = subprocess.CompletedProcess(
            res.args,
            res.returncode,
            res.stdout.decode("utf-8", "replace"),
            res.stderr.decode("utf-8", "replace"),
        )
        if check and out.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
        return out

    def image_names(self, namespace: str = "k8s.io") -> list[str]:
        """Image references in ``namespace`` (``ctr images ls -q``)."""
        return self.ctr("images", "ls", "-q", namespace=namespace).stdout.split()

    def stop(self) -> None:
        """SIGTERM containerd, then drop snapshotter mounts left under the workdir. Idempotent."""
        if self._proc is not None:
            terminate(self._proc, timeout=15)
        unmount_under(self.workdir)

    def __enter__(self) -> ContainerdProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _q(value: Path | str) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _write_config(workdir: Path) -> tuple[Path, Path]:
    """The notes' private config: every path under ``workdir`` (opt too, else /opt/containerd appears)."""
    sock = workdir / "containerd.sock"
    config = workdir / "config.toml"
    config.write_text(
        "version = 2\n"
        f"root = {_q(workdir / 'root')}\n"
        f"state = {_q(workdir / 'state')}\n"
        f"disabled_plugins = {json.dumps(_DISABLED_PLUGINS)}\n"
        "[grpc]\n"
        f"  address = {_q(sock)}\n"
        "[ttrpc]\n"
        f"  address = {_q(str(sock) + '.ttrpc')}\n"
        "[debug]\n"
        f"  address = {_q(workdir / 'debug.sock')}\n"
        '  level = "info"\n'
        "[metrics]\n"
        '  address = ""\n'
        "[plugins]\n"
        '  [plugins."io.containerd.internal.v1.opt"]\n'
        f"    path = {_q(workdir / 'opt')}\n"
    )
    return config, sock


def start_containerd(workdir: Path) -> ContainerdProcess:
    """Start ``containerd --config`` with a private config under ``workdir``; wait for ``ctr version``."""
    binary = require_binary("containerd", "containerd")
    require_binary("ctr", "containerd")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    config, sock = _write_config(workdir)
    env = clean_env({"TMPDIR": str(tmp)})
    proc = ContainerdProcess(
        workdir=workdir,
        socket_path=sock,
        config_path=config,
        log_path=workdir / "containerd.log",
        env=env,
    )
    proc._proc = spawn([binary, "--config", str(config)], cwd=workdir, log_path=proc.log_path, env=env)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc._proc.poll() is not None:
            proc.stop()
            raise RuntimeError(f"containerd exited early:\n{_tail(proc.log_path)}")
        if sock.exists() and proc.ctr("version", check=False, timeout=5).returncode == 0:
            return proc
        if time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"containerd not ready on {sock} after {READY_TIMEOUT} s:\n{_tail(proc.log_path)}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
