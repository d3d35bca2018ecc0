"""The skoala tables as the vendor lists them, and one spelling for MySQL 8 and MariaDB answers.

The vendor's page shows MySQL 8 ``desc`` output. The same DDL reads differently on other servers, so
before comparing, both sides are normalised (decided here, documented in docs/doctor.md):

- integer display widths are ignored: ``int(11)``, ``bigint(20) unsigned``, ``tinyint(4)`` (MariaDB,
  MySQL 5.7) equal ``int``, ``bigint unsigned``, ``tinyint`` (MySQL 8); ``integer`` is ``int``;
- ``current_timestamp()`` (MariaDB), ``CURRENT_TIMESTAMP`` and ``now()`` are one default; a precision
  such as ``current_timestamp(3)`` is kept;
- MariaDB quotes string defaults (``'default'``) and writes the text ``NULL`` for "no default":
  unquoted, and ``NULL`` is no default, as in MySQL 8;
- MySQL 8's ``DEFAULT_GENERATED`` marker in Extra is dropped (the vendor's list leaves it out);
- case and repeated spaces never matter; column names match case-insensitively, as MySQL does.

Character sets, collations, column order, index names and extra indexes are not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "EXPECTED_TABLES",
    "Column",
    "column_differences",
    "normal_default",
    "normal_extra",
    "normal_type",
]


@dataclass(frozen=True)
class Column:
    """One row of ``desc TABLE`` (information_schema.COLUMNS), as the server or the vendor spells it."""

    name: str
    type: str
    nullable: bool
    key: str = ""
    default: str | None = None
    extra: str = ""


def _col(name: str, type_: str, null: str, key: str = "", default: str | None = None, extra: str = "") -> Column:
    return Column(name, type_, null == "YES", key, default, extra)


_NOW = "CURRENT_TIMESTAMP"
_ON_UPDATE = "on update CURRENT_TIMESTAMP"

#: The vendor's install page, table by table (name, type, null, key, default, extra).
EXPECTED_TABLES: dict[str, tuple[Column, ...]] = {
    "api": (
        _col("id", "bigint unsigned", "NO", "PRI", extra="auto_increment"),
        _col("is_hosted", "tinyint", "YES", default="0"),
        _col("registry", "varchar(50)", "NO", "MUL"),
        _col("service_name", "varchar(200)", "NO"),
        _col("nacos_namespace", "varchar(200)", "NO"),
        _col("nacos_group_name", "varchar(200)", "NO"),
        _col("data_type", "varchar(100)", "NO"),
        _col("detail", "mediumtext", "NO"),
        _col("deleted_at", "timestamp", "YES"),
        _col("created_at", "timestamp", "NO", default=_NOW),
        _col("updated_at", "timestamp", "NO", default=_NOW, extra=_ON_UPDATE),
    ),
    "book": (
        _col("id", "bigint unsigned", "NO", "PRI", extra="auto_increment"),
        _col("uid", "varchar(32)", "YES", "UNI"),
        _col("name", "varchar(50)", "NO", "UNI"),
        _col("author", "varchar(32)", "NO"),
        _col("status", "int", "YES", default="1"),
        _col("isPublished", "tinyint unsigned", "NO", default="1"),
        _col("publishedAt", "timestamp", "YES"),
        _col("deleted_at", "timestamp", "YES"),
        _col("createdAt", "timestamp", "NO", default=_NOW),
        _col("updatedAt", "timestamp", "NO", default=_NOW, extra=_ON_UPDATE),
    ),
    "registry": (
        _col("id", "bigint unsigned", "NO", "PRI", extra="auto_increment"),
        _col("uid", "varchar(32)", "YES", "UNI"),
        _col("workspace_id", "varchar(50)", "NO", default="default"),
        _col("ext_id", "varchar(50)", "YES"),
        _col("name", "varchar(50)", "NO", "MUL"),
        _col("type", "varchar(50)", "NO"),
        _col("addresses", "varchar(1000)", "NO"),
        _col("namespaces", "varchar(2000)", "NO"),
        _col("is_hosted", "tinyint", "NO", default="0"),
        _col("deleted_at", "timestamp", "YES"),
        _col("created_at", "timestamp", "NO", default=_NOW),
        _col("updated_at", "timestamp", "NO", default=_NOW, extra=_ON_UPDATE),
    ),
}

_SPACES = re.compile(r"\s+")
_INT_WIDTH = re.compile(r"\b(tinyint|smallint|mediumint|int|integer|bigint)\s*\(\s*\d+\s*\)")
_NOW_CALL = re.compile(r"\b(?:current_timestamp|now|localtimestamp|localtime)\s*(\(\s*(\d*)\s*\))?")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower())


def _now(text: str) -> str:
    """Every spelling of "the current time" as ``current_timestamp`` (keeping a precision)."""
    return _NOW_CALL.sub(lambda m: f"current_timestamp({m.group(2)})" if m.group(2) else "current_timestamp", text)


def normal_type(column_type: str) -> str:
    """``bigint(20) unsigned`` -> ``bigint unsigned``; ``INTEGER(11)`` -> ``int``."""
    text = _INT_WIDTH.sub(r"\1", _squash(column_type))
    return re.sub(r"\binteger\b", "int", text)


def normal_default(default: str | None) -> str | None:
    """None for no default (MariaDB's text ``NULL`` too); strings unquoted; now() as current_timestamp."""
    if default is None:
        return None
    text = default.strip()
    if text.upper() == "NULL":
        return None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'").replace("\\'", "'")
    return _now(text.lower()) if _NOW_CALL.fullmatch(text.lower()) else text


def normal_extra(extra: str) -> str:
    """``DEFAULT_GENERATED on update CURRENT_TIMESTAMP`` and ``on update current_timestamp()`` are equal."""
    text = _squash(extra).replace("default_generated", "")
    return _squash(_now(text))


def _shown(value: str | None) -> str:
    return "none" if value is None or value == "" else value


def column_differences(expected: Column, actual: Column) -> list[str]:
    """Human phrases for each field that differs after normalisation (empty when they match)."""
    diffs: list[str] = []
    if normal_type(actual.type) != normal_type(expected.type):
        diffs.append(f"type {actual.type} (expected {expected.type})")
    if actual.nullable != expected.nullable:
        diffs.append(f"null {'YES' if actual.nullable else 'NO'} (expected {'YES' if expected.nullable else 'NO'})")
    if actual.key.strip().upper() != expected.key.upper():
        diffs.append(f"key {_shown(actual.key)} (expected {_shown(expected.key)})")
    if normal_default(actual.default) != normal_default(expected.default):
        diffs.append(f"default {_shown(actual.default)} (expected {_shown(expected.default)})")
    if normal_extra(actual.extra) != normal_extra(expected.extra):
        diffs.append(f"extra {_shown(actual.extra)} (expected {_shown(expected.extra)})")
    return diffs
