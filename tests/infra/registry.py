"""A real CNCF distribution registry (Debian ``docker-registry`` 2.8) for tests.

Tests push real bytes to it and then check what it stored and which requests it saw (from its
access log), which a mock could not prove. ``skopeo`` helpers are here too: it is the reference
client used to cross-check our pushes.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import trustme

from tests.infra import clean_env, free_port, require_binary, spawn, terminate

__all__ = [
    "AccessLogEntry",
    "RegistryProcess",
    "RegistryStartError",
    "TLSFiles",
    "make_tls",
    "run_skopeo",
    "skopeo_env",
    "start_registry",
]

READY_TIMEOUT = 10.0
_LOG_SYNC_MARK = "infra-log-sync="

# One line per request from the registry's access log (gorilla "combined" format on stdout):
#   127.0.0.1 - testuser [28/Nov/2026:02:18:29 +0000] "POST /v2/a/b/blobs/uploads/ HTTP/1.1" 202 0 "" "curl/7.88.1"
_ACCESS_RE = re.compile(
    r'^(?P<remote>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]*)\] "(?P<method>[A-Z]+) (?P<uri>\S+)[^"]*" '
    r"(?P<status>\d{3}) (?P<size>\S+)",
    re.MULTILINE,
)
# Fallback when the access log is disabled via extra_config: logrus "response completed" lines.
_LOGRUS_RE = re.compile(
    r'^time="[^"]*" level=\w+ msg="response completed[^"]*".*?'
    r"http\.request\.method=(?P<method>[A-Z]+) .*?"
    r'http\.request\.uri=(?:"(?P<quri>(?:[^"\\]|\\.)*)"|(?P<uri>\S+)).*?'
    r"http\.response\.status=(?P<status>\d{3})",
    re.MULTILINE,
)


@dataclass
class TLSFiles:
    """PEM files for a TLS registry: a private CA and a server cert for 127.0.0.1 / localhost."""

    ca_pem: Path
    cert_pem: Path
    key_pem: Path

    def ca_cert_dir(self) -> Path:
        """A directory holding only ``ca.crt``, the layout skopeo/podman ``--cert-dir`` expect."""
        d = self.ca_pem.parent / "ca-cert-dir"
        d.mkdir(exist_ok=True)
        target = d / "ca.crt"
        if not target.exists():
            shutil.copyfile(self.ca_pem, target)
        return d


def make_tls(dirpath: Path) -> TLSFiles:
    """Issue a fresh trustme CA + server cert (SAN 127.0.0.1 and localhost; Go ignores the CN)."""
    dirpath = Path(dirpath)
    dirpath.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = TLSFiles(dirpath / "ca.pem", dirpath / "cert.pem", dirpath / "key.pem")
    ca.cert_pem.write_to_path(str(files.ca_pem))
    server.private_key_pem.write_to_path(str(files.key_pem))
    for i, pem in enumerate(server.cert_chain_pems):
        pem.write_to_path(str(files.cert_pem), append=i > 0)
    return files


@dataclass(frozen=True)
class AccessLogEntry:
    """One request as the registry logged it."""

    method: str
    uri: str
    status: int
    user: str | None = None


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into a copy of ``base``; dicts merge recursively, a ``None`` value deletes the key."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class RegistryProcess:
    """A running ``docker-registry serve``; stop it with ``stop()`` or use it as a context manager."""

    def __init__(
        self,
        *,
        workdir: Path,
        port: int,
        config_path: Path,
        data_dir: Path,
        log_path: Path,
        tls: TLSFiles | None,
        credentials: tuple[str, str] | None,
    ) -> None:
        self.workdir = workdir
        self.port = port
        self.config_path = config_path
        self.data_dir = data_dir
        self.log_path = log_path
        self.tls = tls
        self.username: str | None = credentials[0] if credentials else None
        self.password: str | None = credentials[1] if credentials else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # request counting starts here (moved by reset())

    # -- addresses -----------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of image references."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def auth(self) -> tuple[str, str] | None:
        """``(username, password)`` for requests' ``auth=``, or None without htpasswd."""
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    @property
    def verify(self) -> str | bool:
        """Value for requests' ``verify=``: the CA file for TLS registries."""
        return str(self.tls.ca_pem) if self.tls else True

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def session(self, *, authenticated: bool = True) -> requests.Session:
        """A requests session that trusts this registry's CA.

        ``trust_env`` is off: the machine's REQUESTS_CA_BUNDLE would otherwise override ``verify``,
        and proxies or ~/.netrc must not leak in.
        """
        s = requests.Session()
        s.trust_env = False
        s.verify = self.verify
        if authenticated and self.auth:
            s.auth = self.auth
        return s

    # -- lifecycle -----------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self, timeout: float = READY_TIMEOUT) -> None:
        """Spawn and wait for ``/v2/``; raises with the log tail if the process dies or hangs.

        Ready means *this* process logged that it bound the port and then answered over HTTP;
        an HTTP answer alone could come from another server that already holds the port.
        """
        binary = require_binary("docker-registry", "docker-registry")
        spawn_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._proc = spawn(
            [binary, "serve", str(self.config_path)],
            cwd=self.workdir,
            log_path=self.log_path,
            env=clean_env(),
        )
        listening = f"listening on {self.host}"
        deadline = time.monotonic() + timeout
        with self.session(authenticated=False) as s:
            while True:
                if self._proc.poll() is not None:
                    raise RegistryStartError(
                        f"docker-registry exited with {self._proc.returncode}:\n{self._log_tail()}",
                        address_in_use="address already in use" in self._log_from(spawn_offset),
                    )
                if listening in self._log_from(spawn_offset):
                    try:
                        # Any answer below 500 means the HTTP stack is up (401 for auth variants).
                        # The marker query keeps readiness probes out of request_count().
                        probe = f"{self.url}/v2/?{_LOG_SYNC_MARK}ready"
                        if s.get(probe, timeout=1).status_code < 500:
                            return
                    except requests.RequestException:
                        pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RegistryStartError(
                        f"docker-registry not ready on {self.url} after {timeout} s:\n{self._log_tail()}"
                    )
                time.sleep(0.01)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL). Idempotent."""
        if self._proc is not None:
            terminate(self._proc)

    def reset(self) -> None:
        """Stop, wipe all stored blobs/manifests and restart on the same port (benchmarks, isolation).

        Request counts restart from zero; the log file keeps the earlier lines for debugging.
        """
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._start()

    def __enter__(self) -> RegistryProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<RegistryProcess {self.url} pid={self.pid} {state}>"

    # -- logs ----------------------------------------------------------------------------------
    def log_text(self) -> str:
        """Everything the registry wrote (app log and access log, all restarts)."""
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _sync_log(self, timeout: float = 2.0) -> None:
        """Make sure lines for requests already answered are on disk.

        The access log line is written just after the response is sent, so a test that counts
        right after its last request could miss it. We send a marker request and wait for it.
        """
        if not self.is_running():
            return
        mark = f"{_LOG_SYNC_MARK}{uuid.uuid4().hex}"
        with self.session(authenticated=False) as s:
            try:
                s.get(f"{self.url}/v2/?{mark}", timeout=2)
            except requests.RequestException:
                return
        deadline = time.monotonic() + timeout
        while mark not in self._log_since_reset() and time.monotonic() < deadline:
            time.sleep(0.005)

    def _log_from(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _log_since_reset(self) -> str:
        return self._log_from(self._log_offset)

    def access_log(self) -> list[AccessLogEntry]:
        """Requests seen since start (or the last ``reset()``), oldest first; infra markers excluded."""
        self._sync_log()
        text = self._log_since_reset()
        entries = [
            AccessLogEntry(
                method=m["method"],
                uri=m["uri"],
                status=int(m["status"]),
                user=None if m["user"] == "-" else m["user"],
            )
            for m in _ACCESS_RE.finditer(text)
        ]
        if not entries:  # access log disabled through extra_config: use the app's own lines
            entries = [
                AccessLogEntry(
                    method=m["method"],
                    uri=m["uri"] or json.loads(f'"{m["quri"]}"'),
                    status=int(m["status"]),
                )
                for m in _LOGRUS_RE.finditer(text)
            ]
        return [e for e in entries if _LOG_SYNC_MARK not in e.uri]

    def request_count(self, method: str, path_substring: str = "") -> int:
        """Count requests with ``method`` ("*" for any) whose URI (path + query) contains ``path_substring``.

        Example: ``request_count("PUT", "/blobs/uploads/")`` counts completed blob uploads.
        """
        want = method.upper()
        return sum(1 for e in self.access_log() if (want == "*" or e.method == want) and path_substring in e.uri)


class RegistryStartError(RuntimeError):
    """The registry did not come up (config error, port clash, timeout)."""

    def __init__(self, message: str, *, address_in_use: bool = False) -> None:
        super().__init__(message)
        self.address_in_use = address_in_use


def _write_htpasswd(path: Path, user: str, password: str) -> None:
    """bcrypt entry via ``htpasswd -Bbn``: distribution only accepts bcrypt hashes."""
    binary = require_binary("htpasswd", "apache2-utils")
    res = subprocess.run([binary, "-Bbn", user, password], capture_output=True, text=True, check=True, env=clean_env())
    path.write_text(res.stdout.strip() + "\n")


def _base_config(*, port: int, data_dir: Path, htpasswd_file: Path | None, tls: TLSFiles | None) -> dict[str, Any]:
    """Config from the machine notes, minus the inmemory blob-descriptor cache (it breaks reset())."""
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": "not-a-secret-test-only",
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "health": {"storagedriver": {"enabled": False}},
    }
    if htpasswd_file is not None:
        config["auth"] = {"htpasswd": {"realm": "basic-realm", "path": str(htpasswd_file)}}
    if tls is not None:
        config["http"]["tls"] = {"certificate": str(tls.cert_pem), "key": str(tls.key_pem)}
    return config


def start_registry(
    workdir: Path,
    *,
    htpasswd: tuple[str, str] | None = None,
    tls: TLSFiles | None = None,
    extra_config: dict[str, Any] | None = None,
    port: int | None = None,
) -> RegistryProcess:
    """Start a registry on 127.0.0.1 with its data, config and log under ``workdir``; wait until ready.

    ``extra_config`` is deep-merged into the generated config (``None`` values delete keys), e.g.
    ``{"auth": {"token": {...}}}``. With ``port=None`` a free port is picked (retried on a clash).
    """
    require_binary("docker-registry", "docker-registry")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    htpasswd_file: Path | None = None
    if htpasswd is not None:
        htpasswd_file = workdir / "htpasswd"
        _write_htpasswd(htpasswd_file, *htpasswd)

    attempts = 1 if port is not None else 5
    last_error: RegistryStartError | None = None
    for _ in range(attempts):
        chosen = port if port is not None else free_port()
        config = _base_config(port=chosen, data_dir=data_dir, htpasswd_file=htpasswd_file, tls=tls)
        if extra_config:
            config = _deep_merge(config, extra_config)
        config_path = workdir / "config.yml"
        # JSON is valid YAML and needs no YAML library here.
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        reg = RegistryProcess(
            workdir=workdir,
            port=chosen,
            config_path=config_path,
            data_dir=data_dir,
            log_path=workdir / "registry.log",
            tls=tls,
            credentials=htpasswd,
        )
        reg._log_offset = reg.log_path.stat().st_size if reg.log_path.exists() else 0
        try:
            reg._start()
        except RegistryStartError as err:
            reg.stop()
            last_error = err
            if err.address_in_use and port is None:
                continue
            raise
        return reg
    assert last_error is not None
    raise last_error


# -- skopeo ------------------------------------------------------------------------------------
def skopeo_env(workdir: Path) -> dict[str, str]:
    """Environment that keeps skopeo's writes under ``workdir``.

    As root, containers/image puts its blob-info cache in /var/lib/containers/cache; declaring a
    non-root "rootless" uid moves it (and auth lookups) under XDG dirs we control.
    """
    workdir = Path(workdir)
    dirs = {
        "HOME": workdir / "home",
        "XDG_DATA_HOME": workdir / "xdg-data",
        "XDG_CONFIG_HOME": workdir / "xdg-config",
        "XDG_RUNTIME_DIR": workdir / "xdg-run",
        "TMPDIR": workdir / "tmp",
        "DOCKER_CONFIG": workdir / "docker-config",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = clean_env({k: str(v) for k, v in dirs.items()})
    env["_CONTAINERS_ROOTLESS_UID"] = "65534"
    env.pop("REGISTRY_AUTH_FILE", None)
    return env


def run_skopeo(workdir: Path, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``skopeo --tmpdir ... ARGS`` with ``skopeo_env``; on failure the error includes stderr."""
    binary = require_binary("skopeo", "skopeo")
    env = skopeo_env(workdir)
    res = subprocess.run(
        [binary, "--tmpdir", env["TMPDIR"], *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )
    if check and res.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
    return res
