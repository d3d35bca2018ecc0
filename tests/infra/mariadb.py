"""A private MariaDB server (Debian ``mariadb-server``) for the ``doctor`` tests.

The database checks must meet a real server: its information_schema spellings, its error codes for a
wrong password or a missing database, its handshake. Each session gets its own data directory and a
free loopback port; no system service, no /etc/mysql, nothing outside the scratch dir.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pymysql

from tests.infra import clean_env, free_port, require_binary, spawn, terminate

__all__ = ["MariaDBProcess", "MariaDBStartError", "start_mariadb"]

READY_TIMEOUT = 30.0
_APT = "mariadb-server"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes


class MariaDBStartError(RuntimeError):
    def __init__(self, message: str, *, address_in_use: bool = False) -> None:
        super().__init__(message)
        self.address_in_use = address_in_use


class MariaDBProcess:
    """A running ``mariadbd``: root over its unix socket, tests' users over 127.0.0.1:PORT."""

    def __init__(self, workdir: Path, datadir: Path, socket_path: Path, port: int) -> None:
        self.workdir = workdir
        self.datadir = datadir
        self.socket_path = socket_path
        self.port = port
        self.log_path = workdir / "mariadbd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def admin(self, database: str | None = None) -> Any:
        """A root connection over the unix socket (autocommit), for fixtures and assertions."""
        return pymysql.connect(
            unix_socket=str(self.socket_path),
            user="root",
            database=database,
            autocommit=True,
            connect_timeout=5,
            read_timeout=30,
        )

    def execute(self, statements: str, database: str | None = None) -> None:
        """Run ``;``-separated statements as root (no ``;`` inside literals in fixture SQL)."""
        with self.admin(database) as conn, conn.cursor() as cursor:
            for statement in (s.strip() for s in statements.split(";")):
                if statement:
                    cursor.execute(statement)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def _start(self, timeout: float = READY_TIMEOUT) -> None:
        """Spawn mariadbd and poll its socket until root can log in, within ``timeout`` s."""
        binary = require_binary("mariadbd", _APT)
        args = [
            binary,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.socket_path}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--user=root",
            "--skip-name-resolve",
            f"--pid-file={self.workdir / 'mariadbd.pid'}",
            f"--log-error={self.log_path}",
            f"--tmpdir={self.workdir / 'tmp'}",
            "--innodb-buffer-pool-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-flush-method=nosync",
            "--innodb-doublewrite=0",
            "--character-set-server=utf8mb4",
        ]
        self._proc = spawn(args, log_path=self.workdir / "mariadbd.out", env=clean_env())
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                tail = self._log_tail()
                raise MariaDBStartError(
                    f"mariadbd exited with {self._proc.returncode}:\n{tail}",
                    address_in_use="already in use" in tail,
                )
            if self.socket_path.exists():
                try:
                    self.admin().close()
                    return
                except pymysql.err.OperationalError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise MariaDBStartError(f"mariadbd not ready after {timeout} s:\n{self._log_tail()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM (mariadbd shuts down cleanly on it), SIGKILL after 30 s. Idempotent."""
        if self._proc is not None:
            terminate(self._proc, timeout=30)
        if not self.socket_path.is_relative_to(self.workdir):  # the short-path fallback below
            shutil.rmtree(self.socket_path.parent, ignore_errors=True)

    def __enter__(self) -> MariaDBProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<MariaDBProcess 127.0.0.1:{self.port} {state}>"


def _install_db(datadir: Path, log: Path) -> None:
    binary = require_binary("mariadb-install-db", _APT)
    with open(log, "ab") as out:
        result = subprocess.run(
            [
                binary,
                "--no-defaults",
                f"--datadir={datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            timeout=120,
            check=False,
        )
    if result.returncode != 0:
        raise MariaDBStartError(f"mariadb-install-db failed ({result.returncode}); see {log}")


def start_mariadb(workdir: Path, attempts: int = 3) -> MariaDBProcess:
    """Initialise a data dir under ``workdir`` and start a server on a free loopback port."""
    workdir = Path(workdir)
    datadir = workdir / "data"
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    _install_db(datadir, workdir / "install.log")
    last: MariaDBStartError | None = None
    for _ in range(attempts):
        socket_path = workdir / "mariadbd.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:  # deep pytest tmp dirs: keep the socket short
            socket_path = Path(tempfile.mkdtemp(prefix="mdb-")) / "sock"
        server = MariaDBProcess(workdir, datadir, socket_path, free_port())
        try:
            server._start()
            return server
        except MariaDBStartError as err:
            server.stop()
            last = err
            if not err.address_in_use:
                raise
    assert last is not None
    raise last
