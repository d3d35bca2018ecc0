"""Go MySQL DSNs read as go-sql-driver/mysql reads them, with the password never shown."""

from __future__ import annotations

import pytest

from skoala_airgap.doctor.dsn import DEFAULT_DSN, go_duration, parse_dsn
from skoala_airgap.errors import InputError

VENDOR = (
    "skoala:PASSWORD@tcp(mcamel-common-mysql-cluster-mysql-master.mcamel-system.svc.cluster.local:3306)/skoala"
    "?charset=utf8&parseTime=true&loc=Local&timeout=10s"
)


def test_vendor_form() -> None:
    dsn = parse_dsn(VENDOR)
    assert (dsn.user, dsn.password, dsn.net, dsn.database) == ("skoala", "PASSWORD", "tcp", "skoala")
    assert dsn.host == "mcamel-common-mysql-cluster-mysql-master.mcamel-system.svc.cluster.local"
    assert dsn.port == 3306
    assert dsn.params == (("charset", "utf8"), ("parseTime", "true"), ("loc", "Local"), ("timeout", "10s"))
    assert dsn.timeout("timeout", "x") == 10.0
    assert dsn.redacted() == VENDOR.replace("PASSWORD", "******")


@pytest.mark.parametrize(
    ("text", "user", "password"),
    [
        ("skoala:p@ss@tcp(h:1)/db", "skoala", "p@ss"),  # '@' in the password: the last '@' ends it
        ("skoala:a:b@c@tcp(h:1)/db", "skoala", "a:b@c"),  # the first ':' starts it
        ("skoala:pa/ss@tcp(h:1)/db", "skoala", "pa/ss"),  # '/' too: the last '/' starts the database
        ("skoala:p?q(r)@tcp(h:1)/db", "skoala", "p?q(r)"),
        ("skoala@tcp(h:1)/db", "skoala", ""),
        ("skoala:@tcp(h:1)/db", "skoala", ""),
        (":only-password@tcp(h:1)/db", "", "only-password"),
    ],
)
def test_user_and_password(text: str, user: str, password: str) -> None:
    dsn = parse_dsn(text)
    assert (dsn.user, dsn.password, dsn.address, dsn.database) == (user, password, "h:1", "db")
    assert password == "" or password not in repr(dsn) + str(dsn) + dsn.redacted()


@pytest.mark.parametrize(
    ("text", "net", "address", "host", "port"),
    [
        ("u:p@tcp(db.example:3307)/skoala", "tcp", "db.example:3307", "db.example", 3307),
        ("u:p@tcp(db.example)/skoala", "tcp", "db.example:3306", "db.example", 3306),  # the driver adds :3306
        ("u:p@tcp([::1]:3307)/skoala", "tcp", "[::1]:3307", "::1", 3307),
        ("u:p@tcp(::1)/skoala", "tcp", "[::1]:3306", "::1", 3306),
        ("u:p@/skoala", "tcp", "127.0.0.1:3306", "127.0.0.1", 3306),  # no network: tcp to localhost
        ("/skoala", "tcp", "127.0.0.1:3306", "127.0.0.1", 3306),
        ("u:p@tcp/skoala", "tcp", "127.0.0.1:3306", "127.0.0.1", 3306),
        ("u:p@unix(/var/run/mysqld/mysqld.sock)/skoala", "unix", "/var/run/mysqld/mysqld.sock", "localhost", 3306),
        ("u:p@unix/skoala", "unix", "/tmp/mysql.sock", "localhost", 3306),
    ],
)
def test_network_and_address(text: str, net: str, address: str, host: str, port: int) -> None:
    dsn = parse_dsn(text)
    assert (dsn.net, dsn.address, dsn.host, dsn.port) == (net, address, host, port)


def test_parameters_and_database_name() -> None:
    dsn = parse_dsn("u:p@tcp(h)/my%20db?loc=Asia%2FShanghai&flag&x=a+b&timeout=1m30s&x=last&readTimeout=500ms")
    assert dsn.database == "my db"
    assert dsn.param("loc") == "Asia/Shanghai"
    assert dsn.param("flag") is None  # the driver ignores a parameter without '='
    assert dsn.param("x") == "last"
    assert dsn.timeout("timeout", "x") == 90.0
    assert dsn.timeout("readTimeout", "x") == 0.5
    assert parse_dsn("u:p@tcp(h)/").database == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("skoala:secret@tcp(h:3306)", "missing the slash"),
        ("skoala:secret@tcp(h:3306/skoala", "not terminated"),
        ("skoala:secret@tcp(h:3306)/skoala?loc=Asia/Shanghai", "escape '/'"),  # the driver's "forgot to escape"
        ("skoala:secret@udp(h:3306)/skoala", "tcp(HOST:PORT) or unix(PATH)"),
        ("skoala:secret@tcp(h:port)/skoala", "port 'port' is not a number"),
        ("skoala:secret@tcp(h:70000)/skoala", "is not a number from 1 to 65535"),
        ("skoala:secret@tcp([::1/skoala)/x", "IPv6"),
    ],
)
def test_bad_dsn_names_the_source_not_the_password(text: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        parse_dsn(text, "bak.yaml:12: hive.configMap.database[0].dsn")
    message = str(info.value)
    assert message.startswith("bak.yaml:12: hive.configMap.database[0].dsn: invalid DSN")
    assert reason in message
    assert "secret" not in message


def test_bad_duration() -> None:
    dsn = parse_dsn("u:p@tcp(h)/db?timeout=10")
    with pytest.raises(InputError, match="timeout='10' is not a Go duration"):
        dsn.timeout("timeout", "--dsn")
    assert [go_duration(t) for t in ("0", "1h", "1.5s", "2m3s", "10", "s", "")] == [
        0.0,
        3600.0,
        1.5,
        123.0,
        None,
        None,
        None,
    ]


def test_overrides_for_port_forward() -> None:
    dsn = parse_dsn(VENDOR).overridden(host="127.0.0.1")
    assert (dsn.address, dsn.user, dsn.password, dsn.database) == ("127.0.0.1:3306", "skoala", "PASSWORD", "skoala")
    assert parse_dsn(VENDOR).overridden(port=13306).address.endswith(".svc.cluster.local:13306")
    unix = parse_dsn("u:p@unix(/s)/db").overridden(host="db", port=3307, user="root", database="x", password="n")
    assert (unix.net, unix.address, unix.user, unix.database, unix.password) == ("tcp", "db:3307", "root", "x", "n")
    assert parse_dsn("u:p@tcp(h)/db").overridden(host="::1").address == "[::1]:3306"
    assert DEFAULT_DSN.redacted() == (
        "skoala@tcp(mcamel-common-mysql-cluster-mysql-master.mcamel-system.svc.cluster.local:3306)/skoala"
    )
