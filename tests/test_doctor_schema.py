"""MySQL 8 and MariaDB spell one column differently; doctor compares them as equal, on purpose."""

from __future__ import annotations

import pytest

from skoala_airgap.doctor.schema import (
    EXPECTED_TABLES,
    Column,
    column_differences,
    normal_default,
    normal_extra,
    normal_type,
)


@pytest.mark.parametrize(
    ("mysql8", "mariadb"),
    [
        ("bigint unsigned", "bigint(20) unsigned"),
        ("int", "int(11)"),
        ("tinyint", "tinyint(4)"),
        ("tinyint unsigned", "tinyint(3) unsigned"),
        ("int", "INTEGER(11)"),
        ("varchar(50)", "VARCHAR(50)"),
        ("mediumtext", "mediumtext"),
    ],
)
def test_types(mysql8: str, mariadb: str) -> None:
    assert normal_type(mysql8) == normal_type(mariadb)


def test_types_that_differ_stay_different() -> None:
    assert normal_type("varchar(50)") != normal_type("varchar(100)")
    assert normal_type("mediumtext") != normal_type("text")
    assert normal_type("int unsigned") != normal_type("int(11)")
    assert normal_type("bigint") != normal_type("int")


@pytest.mark.parametrize(
    ("mysql8", "mariadb"),
    [
        (None, "NULL"),  # MariaDB writes the text NULL where MySQL 8 has no default
        ("CURRENT_TIMESTAMP", "current_timestamp()"),
        ("CURRENT_TIMESTAMP", "now()"),
        ("CURRENT_TIMESTAMP(3)", "current_timestamp(3)"),
        ("default", "'default'"),  # MariaDB quotes string defaults
        ("it's", "'it''s'"),
        ("0", "0"),
    ],
)
def test_defaults(mysql8: str | None, mariadb: str) -> None:
    assert normal_default(mysql8) == normal_default(mariadb)


def test_defaults_that_differ_stay_different() -> None:
    assert normal_default("0") != normal_default("1")
    assert normal_default("'NULL'") == "NULL"  # a quoted string NULL is a string, not "no default"
    assert normal_default("CURRENT_TIMESTAMP") != normal_default("CURRENT_TIMESTAMP(3)")
    assert normal_default("'Default'") != normal_default("default")


@pytest.mark.parametrize(
    ("mysql8", "mariadb"),
    [
        ("DEFAULT_GENERATED on update CURRENT_TIMESTAMP", "on update current_timestamp()"),
        ("DEFAULT_GENERATED", ""),
        ("auto_increment", "auto_increment"),
    ],
)
def test_extra(mysql8: str, mariadb: str) -> None:
    assert normal_extra(mysql8) == normal_extra(mariadb)


def test_vendor_list_against_mysql8_desc_output() -> None:
    """The vendor page's MySQL 8 ``desc registry`` rows match its list, DEFAULT_GENERATED and all."""
    desc = [
        ("id", "bigint unsigned", "NO", "PRI", None, "auto_increment"),
        ("uid", "varchar(32)", "YES", "UNI", None, ""),
        ("workspace_id", "varchar(50)", "NO", "", "default", ""),
        ("ext_id", "varchar(50)", "YES", "", None, ""),
        ("name", "varchar(50)", "NO", "MUL", None, ""),
        ("type", "varchar(50)", "NO", "", None, ""),
        ("addresses", "varchar(1000)", "NO", "", None, ""),
        ("namespaces", "varchar(2000)", "NO", "", None, ""),
        ("is_hosted", "tinyint", "NO", "", "0", ""),
        ("deleted_at", "timestamp", "YES", "", None, ""),
        ("created_at", "timestamp", "NO", "", "CURRENT_TIMESTAMP", "DEFAULT_GENERATED"),
        ("updated_at", "timestamp", "NO", "", "CURRENT_TIMESTAMP", "DEFAULT_GENERATED on update CURRENT_TIMESTAMP"),
    ]
    expected = EXPECTED_TABLES["registry"]
    assert [c.name for c in expected] == [row[0] for row in desc]
    for want, (name, type_, null, key, default, extra) in zip(expected, desc, strict=True):
        assert column_differences(want, Column(name, type_, null == "YES", key, default, extra)) == []


def test_differences_name_each_field() -> None:
    want = EXPECTED_TABLES["book"][4]  # status int YES default 1
    have = Column("status", "bigint(20)", False, "MUL", "0", "")
    assert column_differences(want, have) == [
        "type bigint(20) (expected int)",
        "null NO (expected YES)",
        "key MUL (expected none)",
        "default 0 (expected 1)",
    ]
    assert [len(EXPECTED_TABLES[t]) for t in ("api", "book", "registry")] == [11, 10, 12]
