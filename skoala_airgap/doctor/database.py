"""Read-only checks of skoala's MySQL database: reachable, present, tables and columns as listed.

Doctor only reads: it opens a ``READ ONLY`` transaction, asks ``information_schema`` (never the
tables themselves) and rolls back. It connects without a default database, so a wrong password, an
unreachable server and a missing database each give their own single line. Every connection has a
connect and a read timeout, so a hung server costs seconds, not minutes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from skoala_airgap.doctor.dsn import MySQLDSN
from skoala_airgap.doctor.report import Check, version_key
from skoala_airgap.doctor.schema import EXPECTED_TABLES, Column, column_differences

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_READ_TIMEOUT", "check_database"]

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 10.0  # also bounds the handshake: PyMySQL reads it with this timeout
#: skoala creates its tables itself from this release on; before it the engineer runs the SQL.
AUTO_INIT_VERSION = (0, 17, 1)
_ACCESS_DENIED = 1045
_PORT_FORWARD = (
    "kubectl -n mcamel-system port-forward svc/mcamel-common-mysql-cluster-mysql-master 3306:3306, "
    "then pass --db-host 127.0.0.1"
)


class _Failure(Exception):
    """A connection problem, already phrased for the engineer (and free of the password)."""

    def __init__(self, message: str, advice: str) -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice


def _scrub(text: str, password: str) -> str:
    return text.replace(password, "******") if password else text


def _in_cluster(host: str) -> bool:
    return host.endswith((".svc", ".svc.cluster.local", ".cluster.local"))


def _connect_failure(exc: Exception, dsn: MySQLDSN, connect_timeout: float, read_timeout: float) -> _Failure:
    """One line per cause: refused, unknown host, timed out, wrong password, anything else."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    cause = getattr(exc, "original_exception", None)
    who = f"{dsn.user or '(no user)'}@{dsn.endpoint}"
    reach = _PORT_FORWARD if _in_cluster(dsn.host) else "check the host, the port and any firewall on the way"
    if code == _ACCESS_DENIED:
        advice = "check the user and password: SKOALA_DB_PASSWORD, --password-stdin or the DSN's password"
        if not dsn.password:
            advice = "no password was given: set SKOALA_DB_PASSWORD or use --password-stdin"
        return _Failure(f"access denied for {who}: wrong user or password", advice)
    if isinstance(cause, socket.gaierror):
        return _Failure(f"cannot connect to {dsn.endpoint}: host name {dsn.host} does not resolve here", reach)
    if isinstance(cause, ConnectionRefusedError):
        return _Failure(f"cannot connect to {dsn.endpoint}: connection refused (no server listens there)", reach)
    if isinstance(cause, FileNotFoundError):
        return _Failure(f"cannot connect to {dsn.endpoint}: no such socket", "check the socket path in the DSN")
    if isinstance(cause, TimeoutError):
        return _Failure(f"cannot connect to {dsn.endpoint}: no connection within {connect_timeout:g} s", reach)
    if "timed out" in str(exc):
        return _Failure(f"{dsn.endpoint} accepted the connection but sent no answer within {read_timeout:g} s", reach)
    detail = exc.args[1] if len(exc.args) > 1 else str(exc)
    return _Failure(f"cannot connect to {dsn.endpoint}: {_scrub(str(detail), dsn.password)}", reach)


@contextmanager
def _read_only_session(dsn: MySQLDSN, connect_timeout: float, read_timeout: float) -> Iterator[Any]:
    """A cursor inside ``START TRANSACTION READ ONLY``; always rolled back and closed."""
    import pymysql

    options: dict[str, Any] = {
        "user": dsn.user,
        "password": dsn.password,
        "connect_timeout": max(connect_timeout, 0.001),
        "read_timeout": read_timeout,
        "write_timeout": read_timeout,
        "charset": "utf8mb4",
        "autocommit": False,
    }
    if dsn.is_unix:
        options["unix_socket"] = dsn.address
    else:
        options.update(host=dsn.host, port=dsn.port)
    try:
        connection = pymysql.connect(**options)
    except pymysql.err.MySQLError as exc:
        raise _connect_failure(exc, dsn, connect_timeout, read_timeout) from None
    except RuntimeError as exc:  # PyMySQL without `cryptography` meeting caching_sha2_password
        raise _Failure(
            f"cannot log in to {dsn.endpoint}: {_scrub(str(exc), dsn.password)}",
            "install PyMySQL's rsa extra (pip install 'PyMySQL[rsa]') or give the user mysql_native_password",
        ) from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("START TRANSACTION READ ONLY")
            yield cursor
    finally:
        try:
            connection.rollback()
        finally:
            connection.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def _read_columns(cursor: Any, database: str) -> dict[str, list[Column]]:
    cursor.execute(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, COLUMN_DEFAULT, EXTRA "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
        (database,),
    )
    tables: dict[str, list[Column]] = {}
    for table, name, type_, nullable, key, default, extra in cursor.fetchall():
        column = Column(
            _text(name),
            _text(type_),
            _text(nullable) == "YES",
            _text(key or ""),
            None if default is None else _text(default),
            _text(extra or ""),
        )
        tables.setdefault(_text(table), []).append(column)
    return tables


def _table_checks(table: str, expected: Sequence[Column], actual: Sequence[Column]) -> list[Check]:
    """One line per missing, different or extra column; one ``ok`` line when the table matches."""
    found = {column.name.lower(): column for column in actual}
    checks: list[Check] = []
    name = f"database.table.{table}"
    for column in expected:
        have = found.pop(column.name.lower(), None)
        if have is None:
            checks.append(
                Check(
                    name,
                    "fail",
                    f"{table}.{column.name}: column is missing",
                    f"add it as the vendor lists it ({column.type}), or let skoala's migration run",
                )
            )
            continue
        diffs = column_differences(column, have)
        if diffs:
            advice = "alter the column to match the vendor's list before upgrading"
            checks.append(Check(name, "fail", f"{table}.{column.name}: " + "; ".join(diffs), advice))
    for extra in found.values():
        checks.append(
            Check(
                name,
                "warn",
                f"{table}.{extra.name}: column not in the vendor's list ({extra.type})",
                "harmless if a newer skoala added it; otherwise it was added by hand",
            )
        )
    if not checks:
        checks.append(Check(name, "ok", f"table {table}: {len(expected)} columns as the vendor lists them"))
    return checks


def _missing_advice(package_version: str | None) -> tuple[bool, str]:
    """(skoala creates its own tables, what to do about a missing one) for the package's version."""
    key = version_key(package_version) if package_version else None
    if key is None or key >= AUTO_INIT_VERSION:
        return True, (
            "skoala >= 0.17.1 creates its tables at start-up: the automatic initialisation failed, check "
            "`kubectl -n skoala-system logs deploy/hive`"
        )
    return False, f"skoala {package_version} does not create its tables: create them with the vendor's SQL"


def _schema_checks(tables: dict[str, list[Column]], package_version: str | None) -> list[Check]:
    auto, advice = _missing_advice(package_version)
    if auto and not any(table in tables for table in EXPECTED_TABLES):
        return [
            Check(
                "database.tables",
                "warn",
                "no skoala tables yet (" + ", ".join(EXPECTED_TABLES) + ")",
                "fine for a first install (skoala >= 0.17.1 creates them); on an upgrade the DSN names "
                "the wrong database",
            )
        ]
    checks: list[Check] = []
    for table, expected in EXPECTED_TABLES.items():
        if table in tables:
            checks.extend(_table_checks(table, expected, tables[table]))
        else:
            checks.append(Check(f"database.table.{table}", "fail", f"table {table} is missing", advice))
    return checks


def check_database(
    dsn: MySQLDSN,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    package_version: str | None = None,
) -> list[Check]:
    """Connect (read-only), then check the database and the vendor's three tables."""
    import pymysql

    database = dsn.database or "skoala"
    try:
        with _read_only_session(dsn, connect_timeout, read_timeout) as cursor:
            cursor.execute("SELECT VERSION()")
            server = _text(cursor.fetchone()[0])
            cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
            exists = cursor.fetchone() is not None
            tables = _read_columns(cursor, database) if exists else {}
    except _Failure as failure:
        return [Check("database.connect", "fail", failure.message, failure.advice)]
    except pymysql.err.MySQLError as exc:
        detail = _scrub(str(exc.args[1] if len(exc.args) > 1 else exc), dsn.password)
        advice = "run with skoala-airgap --debug"
        return [Check("database.connect", "fail", f"{dsn.endpoint}: query failed: {detail}", advice)]
    checks = [Check("database.connect", "ok", f"connected to {dsn.user}@{dsn.endpoint} (server {server}), read-only")]
    if not exists:
        message = f"database {database} does not exist on {dsn.endpoint} (or {dsn.user} may not see it)"
        advice = f"create it and grant {dsn.user} its privileges, or fix the database name in the DSN"
        return [*checks, Check("database.exists", "fail", message, advice)]
    checks.append(Check("database.exists", "ok", f"database {database} exists"))
    return checks + _schema_checks(tables, package_version)
