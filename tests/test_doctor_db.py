"""doctor against a real MariaDB: the vendor's schema, a missing table, changed columns, every way a
connection fails (one line each), and proof that nothing in the database changed."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.bundles import write_offline_package
from skoala_airgap.doctor import Check, DoctorInputs, run_doctor
from skoala_airgap.doctor.database import check_database
from skoala_airgap.doctor.dsn import parse_dsn
from tests.doctor_fixtures import PASSWORD, Site, create_scenarios, fingerprint
from tests.helpers import run_cli
from tests.infra.mariadb import MariaDBProcess, start_mariadb

IN_CLUSTER = "mcamel-common-mysql-cluster-mysql-master.mcamel-system.svc.cluster.local"


def _db(site: Site, database: str) -> list[Check]:
    return run_doctor(DoctorInputs(dsn=site.dsn(database), connect_timeout=5, read_timeout=5)).checks


def _lines(checks: list[Check]) -> list[tuple[str, str, str]]:
    return [(c.status, c.name, c.message) for c in checks]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SKOALA_DB_PASSWORD"}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBProcess]:
    """A private MariaDB for the session (tests/infra/mariadb.py): about one second to start."""
    with start_mariadb(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


@pytest.fixture(scope="session")
def site(mariadb: MariaDBProcess) -> Site:
    """``mariadb`` with the scenario databases and the ``skoala`` user (tests/doctor_fixtures.py)."""
    return create_scenarios(mariadb)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=1024).path)


@pytest.fixture
def hung_server() -> Iterator[int]:
    """A port whose listener never accepts: the TCP handshake succeeds, MySQL's never starts."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield listener.getsockname()[1]


def test_complete_schema(site: Site) -> None:
    checks = _db(site, "skoala")
    assert [(c.status, c.name) for c in checks] == [
        ("ok", "database.connect"),
        ("ok", "database.exists"),
        ("ok", "database.table.api"),
        ("ok", "database.table.book"),
        ("ok", "database.table.registry"),
    ]
    assert (
        checks[0].message
        == f"connected to skoala@127.0.0.1:{site.port} (server {checks[0].message.split('server ')[1]}"
    )
    assert "MariaDB" in checks[0].message and checks[0].message.endswith("), read-only")
    assert checks[2].message == "table api: 11 columns as the vendor lists them"


def test_missing_table(site: Site) -> None:
    checks = _db(site, "skoala_missing")
    assert _lines(checks)[2:] == [
        ("ok", "database.table.api", "table api: 11 columns as the vendor lists them"),
        ("ok", "database.table.book", "table book: 10 columns as the vendor lists them"),
        ("fail", "database.table.registry", "table registry is missing"),
    ]
    assert "automatic initialisation failed" in checks[-1].advice
    old = check_database(parse_dsn(site.dsn("skoala_missing")), package_version="0.16.3")
    assert old[-1].advice == "skoala 0.16.3 does not create its tables: create them with the vendor's SQL"


def test_changed_columns_one_line_each(site: Site) -> None:
    checks = _db(site, "skoala_changed")
    assert _lines(checks)[2:] == [
        ("fail", "database.table.api", "api.detail: type text (expected mediumtext)"),
        ("fail", "database.table.book", "book.status: default 0 (expected 1)"),
        ("fail", "database.table.registry", "registry.ext_id: column is missing"),
        ("fail", "database.table.registry", "registry.is_hosted: null YES (expected NO)"),
        ("warn", "database.table.registry", "registry.note: column not in the vendor's list (varchar(10))"),
    ]
    assert all(c.advice for c in checks[2:])


def test_empty_database_is_a_first_install(site: Site) -> None:
    checks = _db(site, "skoala_empty")
    assert _lines(checks)[2:] == [("warn", "database.tables", "no skoala tables yet (api, book, registry)")]
    old = check_database(parse_dsn(site.dsn("skoala_empty")), package_version="v0.12.2")
    assert [(c.status, c.message) for c in old[2:]] == [
        ("fail", f"table {t} is missing") for t in ("api", "book", "registry")
    ]


def test_missing_database(site: Site) -> None:
    checks = _db(site, "skoala_nope")
    assert _lines(checks) == [
        _lines(checks)[0],
        (
            "fail",
            "database.exists",
            f"database skoala_nope does not exist on 127.0.0.1:{site.port} (or skoala may not see it)",
        ),
    ]


def test_wrong_password(site: Site) -> None:
    checks = run_doctor(DoctorInputs(dsn=site.dsn(password="not-it"), connect_timeout=5)).checks
    assert _lines(checks) == [
        ("fail", "database.connect", f"access denied for skoala@127.0.0.1:{site.port}: wrong user or password")
    ]
    none = run_doctor(DoctorInputs(dsn=site.dsn(password=""), connect_timeout=5)).checks
    assert none[0].advice == "no password was given: set SKOALA_DB_PASSWORD or use --password-stdin"


def test_unreachable_hosts(site: Site) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    refused = run_doctor(DoctorInputs(db_host="127.0.0.1", db_port=closed, password=PASSWORD)).checks
    assert _lines(refused) == [
        (
            "fail",
            "database.connect",
            f"cannot connect to 127.0.0.1:{closed}: connection refused (no server listens there)",
        )
    ]
    # The vendor's default host only resolves inside the cluster: the advice is the port-forward.
    default = run_doctor(DoctorInputs(password=PASSWORD, connect_timeout=2)).checks
    assert len(default) == 1 and default[0].status == "fail"
    assert default[0].message == f"cannot connect to {IN_CLUSTER}:3306: host name {IN_CLUSTER} does not resolve here"
    assert default[0].advice.startswith(
        "kubectl -n mcamel-system port-forward svc/mcamel-common-mysql-cluster-mysql-master"
    )


def test_hung_server_times_out(hung_server: int) -> None:
    started = time.monotonic()
    checks = run_doctor(
        DoctorInputs(db_host="127.0.0.1", db_port=hung_server, connect_timeout=0.5, read_timeout=0.5)
    ).checks
    assert time.monotonic() - started < 5
    assert _lines(checks) == [
        ("fail", "database.connect", f"127.0.0.1:{hung_server} accepted the connection but sent no answer within 0.5 s")
    ]


def test_unix_socket(site: Site) -> None:
    dsn = f"skoala:{PASSWORD}@unix({site.server.socket_path})/skoala?parseTime=true"
    checks = run_doctor(DoctorInputs(dsn=dsn, connect_timeout=5)).checks
    assert [c.status for c in checks] == ["ok"] * 5
    assert checks[0].message.startswith(f"connected to skoala@unix socket {site.server.socket_path} ")


def test_cli_upgrade_check_through_port_forward(site: Site, package: Path, tmp_path: Path) -> None:
    """The engineer's run: backup DSN with the in-cluster host, --db-host 127.0.0.1 as after port-forward."""
    backup = tmp_path / "skoala-bak.yaml"
    in_cluster = site.dsn(host=IN_CLUSTER).replace(f":{site.port})", ":3306)")
    backup.write_text(
        "global:\n  imageRegistry: 10.16.23.145\n"
        f"hive:\n  configMap:\n    database:\n    - driver: mysql\n      dsn: '{in_cluster}'\n"
    )
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("kind: DCEManifest\ncomponents:\n  skoala:\n    enable: true\n    helmVersion: v0.28.1\n")
    args = ["doctor", str(package), "--manifest", str(manifest), "-f", str(backup), "--db-host", "127.0.0.1"]
    result = run_cli(*args, "--db-port", str(site.port), "--json", env=_env())
    assert result.code == 0, result.stderr + result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["summary"] == {"ok": 11, "warn": 0, "fail": 0}
    assert [c["name"] for c in report["checks"]][:6] == [
        "package.versions",
        "package.checksum",
        "manifest.skoala.enable",
        "manifest.skoala.helmVersion",
        "backup.dsn",
        "backup.registry",
    ]
    assert set(report["checks"][0]) >= {"name", "status", "message", "advice"}
    assert PASSWORD not in result.stdout + result.stderr and "p@ss" not in result.stdout


def test_cli_failures_and_password_sources(site: Site) -> None:
    base = ["doctor", "--db-host", "127.0.0.1", "--db-port", str(site.port), "--connect-timeout", "5"]
    changed = run_cli(*base, "--db-name", "skoala_changed", "--password-stdin", stdin=PASSWORD + "\n", env=_env())
    assert changed.code == 1, changed.stderr
    lines = changed.stdout.splitlines()
    assert "fail  api.detail: type text (expected mediumtext)" in lines
    assert lines[-1] == "doctor: 2 ok, 1 warn, 4 fail"
    assert changed.stderr == "skoala-airgap: error: doctor: 4 of 7 checks failed; fix them before helm upgrade\n"
    denied = run_cli(*base, env=_env(SKOALA_DB_PASSWORD="wrong"))
    assert denied.code == 1
    assert denied.stdout.splitlines() == [
        f"fail  access denied for skoala@127.0.0.1:{site.port}: wrong user or password",
        "      -> check the user and password: SKOALA_DB_PASSWORD, --password-stdin or the DSN's password",
        "doctor: 0 ok, 0 warn, 1 fail",
    ]
    missing = run_cli(*base, "--db-name", "nope", env=_env(SKOALA_DB_PASSWORD=PASSWORD))
    assert missing.code == 1 and missing.stdout.splitlines()[1].startswith("fail  database nope does not exist")
    good = run_cli("doctor", "--dsn", site.dsn(password=""), env=_env(SKOALA_DB_PASSWORD=PASSWORD))
    assert good.code == 0 and good.stdout.splitlines()[-1] == "doctor: 5 ok, 0 warn, 0 fail"
    for result in (changed, denied, missing, good):
        assert PASSWORD not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_nothing_is_written(site: Site) -> None:
    """Rows, checksums, DDL, accounts and the server's write-statement counters are all unchanged."""
    before = fingerprint(site.server)
    for database in ("skoala", "skoala_missing", "skoala_changed", "skoala_empty", "skoala_nope"):
        _db(site, database)
    result = run_cli("doctor", "--dsn", site.dsn("skoala_changed"), "--json", env=_env())
    assert result.code == 1 and json.loads(result.stdout)["ok"] is False
    after = fingerprint(site.server)
    assert after == before
    assert before["rows:skoala.api"] == 2 and before["write_counters"]  # the fingerprint sees real data
