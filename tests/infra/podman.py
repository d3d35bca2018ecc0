"""Podman's Docker-compatible API service, the real backend for "load into docker" tests.

There is no dockerd on the build machines; ``podman system service`` speaks Docker API 1.41 on a
unix socket. All state (storage, run dir, events, temp files) lives under the caller's workdir and
is configured via CONTAINERS_* env files, so nothing in /etc or /run is touched. Two upstream leaks
remain: the blob-info cache in /var/lib/containers/cache (removed on ``stop()`` if we created it)
and a transient ``/var/tmp/ociNNN`` dir while loading an oci-archive (podman deletes it itself).
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.infra import HostLitterGuard, clean_env, require_binary, spawn, terminate, unmount_under

__all__ = [
    "PodmanService",
    "UnixHTTPConnection",
    "podman_cli",
    "start_podman_service",
]

READY_TIMEOUT = 20.0
#: Plain-HTTP registries. c/image, unlike dockerd, does not treat 127.0.0.0/8 as insecure, so the
#: service needs registries.conf entries. podman 4.3 lets "127.0.0.1" match "127.0.0.1:PORT" (a prefix
#: rule upstream says not to rely on); pass exact ``registry.host`` values to be future-proof.
DEFAULT_INSECURE_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")
#: Written by podman as root whatever the config says (c/image blob-info cache); removed on stop().
HOST_LITTER: tuple[Path, ...] = (Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb"),)


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client`` over a unix socket: no extra dependency just to talk to the API socket."""

    def __init__(self, socket_path: str | Path, timeout: float = 60.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = str(socket_path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


@dataclass
class ApiResponse:
    """A finished Engine-API call."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class PodmanService:
    """A running ``podman system service``; ``env`` reproduces its configuration for CLI calls."""

    workdir: Path
    socket_path: Path
    env: dict[str, str]
    storage_driver: str
    log_path: Path
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _guard: HostLitterGuard | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """``unix:///...`` for docker SDK / docker CLI ``-H``."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def api(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> ApiResponse:
        """One raw Engine-API request, e.g. ``api("GET", "/v1.41/images/json")``."""
        conn = UnixHTTPConnection(self.socket_path, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return ApiResponse(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()

    def ping(self) -> bool:
        try:
            return self.api("GET", "/_ping", timeout=2).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM the service, then undo overlay mounts so pytest can delete the tmp dir. Idempotent."""
        if self._proc is not None:
            terminate(self._proc, timeout=15)
        unmount_under(self.workdir)
        if self._guard is not None:
            self._guard.cleanup()

    def __enter__(self) -> PodmanService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _toml_str(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _write_configs(workdir: Path, driver: str, insecure_hosts: Iterable[str]) -> dict[str, str]:
    """Write containers.conf / storage.conf / registries.conf and return the env that selects them."""
    tmp = workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    containers_conf = workdir / "containers.conf"
    containers_conf.write_text(
        "[containers]\n"
        # podman's default ulimits exceed this host's hard limits, which breaks `run`
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        'netns = "none"\n'
        "[network]\n"
        'network_backend = "cni"\n'
        f"network_config_dir = {_toml_str(workdir / 'networks')}\n"
        "[engine]\n"
        'runtime = "runc"\n'  # crun 1.8 fails on the cgroup v1 hybrid layout
        'cgroup_manager = "cgroupfs"\n'  # no systemd
        'events_logger = "file"\n'
        f"events_logfile_path = {_toml_str(workdir / 'events.log')}\n"
        f"tmp_dir = {_toml_str(workdir / 'libpod-tmp')}\n"
        f"image_copy_tmp_dir = {_toml_str(tmp)}\n"
        f"static_dir = {_toml_str(workdir / f'root-{driver}' / 'libpod')}\n"
        f"volume_path = {_toml_str(workdir / f'root-{driver}' / 'volumes')}\n"
    )
    storage_conf = workdir / "storage.conf"
    storage_conf.write_text(
        "[storage]\n"
        f'driver = "{driver}"\n'
        f"graphroot = {_toml_str(workdir / f'root-{driver}')}\n"
        f"runroot = {_toml_str(workdir / f'run-{driver}')}\n"
    )
    registries_conf = workdir / "registries.conf"
    lines = ["unqualified-search-registries = []", ""]
    for host in dict.fromkeys(insecure_hosts):
        lines += ["[[registry]]", f"location = {_toml_str(host)}", "insecure = true", ""]
    registries_conf.write_text("\n".join(lines))
    return {
        "CONTAINERS_CONF": str(containers_conf),
        "CONTAINERS_STORAGE_CONF": str(storage_conf),
        "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
        "REGISTRY_AUTH_FILE": str(workdir / "auth.json"),
        "DOCKER_CONFIG": str(workdir / "docker-config"),
        "TMPDIR": str(tmp),
        "XDG_RUNTIME_DIR": str(workdir / "xdg-run"),
        "HOME": str(workdir / "home"),
    }


def _insecure_locations(hosts: Iterable[str]) -> list[str]:
    """Normalise caller-supplied ``host[:port]`` values (drop blanks and any scheme)."""
    out = []
    for h in hosts:
        h = h.strip().removeprefix("http://").removeprefix("https://").rstrip("/")
        if h:
            out.append(h)
    return out


def podman_cli(
    service: PodmanService, *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the podman CLI against the same storage/config as ``service`` (independent verification).

    Example: ``json.loads(podman_cli(svc, "images", "--format", "json").stdout)``.
    """
    binary = require_binary("podman", "podman")
    res = subprocess.run([binary, *args], capture_output=True, text=True, env=service.env, check=False, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
    return res


def _probe_driver(workdir: Path, env: dict[str, str]) -> bool:
    """True if storage initialises with this config (overlay can fail on odd filesystems)."""
    binary = require_binary("podman", "podman")
    res = subprocess.run(
        [binary, "info", "--format", "{{.Store.GraphDriverName}}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    return res.returncode == 0


def start_podman_service(
    workdir: Path,
    *,
    insecure_registries: Iterable[str] = (),
    driver: str | None = None,
) -> PodmanService:
    """Start ``podman system service --time=0`` on ``workdir/podman.sock`` and wait for ``/_ping``.

    ``insecure_registries``: ``host:port`` values (e.g. ``registry.host``) to allow plain HTTP for;
    podman needs an exact entry per port. ``driver``: force "overlay" or "vfs" (default: overlay,
    falling back to vfs if overlay does not initialise).
    """
    binary = require_binary("podman", "podman")
    require_binary("runc", "runc")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for sub in ("home", "docker-config", "xdg-run"):
        (workdir / sub).mkdir(exist_ok=True, mode=0o700)
    guard = HostLitterGuard(HOST_LITTER)
    hosts = [*DEFAULT_INSECURE_HOSTS, *_insecure_locations(insecure_registries)]

    candidates = [driver] if driver else ["overlay", "vfs"]
    chosen: str | None = None
    conf_env: dict[str, str] = {}
    for cand in candidates:
        conf_env = _write_configs(workdir, cand, hosts)
        if _probe_driver(workdir, clean_env(conf_env)):
            chosen = cand
            break
        unmount_under(workdir)
    if chosen is None:
        raise RuntimeError(f"podman storage did not initialise with drivers {candidates} under {workdir}")

    env = clean_env(conf_env)
    socket_path = workdir / "podman.sock"
    svc = PodmanService(
        workdir=workdir,
        socket_path=socket_path,
        env=env,
        storage_driver=chosen,
        log_path=workdir / "service.log",
        _guard=guard,
    )
    svc._proc = spawn(
        [binary, "system", "service", "--time=0", f"unix://{socket_path}"],
        cwd=workdir,
        log_path=svc.log_path,
        env=env,
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while not svc.ping():
        if svc._proc.poll() is not None or time.monotonic() > deadline:
            svc.stop()
            tail = "\n".join(svc.log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"podman service not ready on {socket_path}:\n{tail}")
        time.sleep(0.02)
    return svc


def remove_workdir(workdir: Path) -> None:
    """Unmount and delete a stopped service's workdir (for callers that need the space back early)."""
    unmount_under(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
