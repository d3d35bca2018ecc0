"""MariaDB scenarios for ``doctor``: one server per session (test_doctor_db.py), one database each.

- ``skoala``: the vendor's three tables exactly as its page lists them, with rows;
- ``skoala_missing``: the ``registry`` table is missing;
- ``skoala_changed``: ``api.detail`` is text, ``book.status`` defaults to 0, ``registry.is_hosted``
  allows NULL, ``registry.ext_id`` is gone and ``registry.note`` was added;
- ``skoala_empty``: a database with no tables (a first install).

The user ``skoala`` has every privilege on them, as in the field, so nothing but doctor itself keeps
the database unchanged; :func:`fingerprint` proves it did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tests.infra.mariadb import MariaDBProcess

USER = "skoala"
# '@', ':', '/' and '?' all occur: the Go DSN form must carry them unescaped.
PASSWORD = "p@ss:w/rd?#1"
DATABASES = ("skoala", "skoala_missing", "skoala_changed", "skoala_empty")

_TABLES = {
    "api": """CREATE TABLE api (
  id bigint unsigned NOT NULL AUTO_INCREMENT,
  is_hosted tinyint DEFAULT 0,
  registry varchar(50) NOT NULL,
  service_name varchar(200) NOT NULL,
  nacos_namespace varchar(200) NOT NULL,
  nacos_group_name varchar(200) NOT NULL,
  data_type varchar(100) NOT NULL,
  detail mediumtext NOT NULL,
  deleted_at timestamp NULL DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_api_registry (registry)
)""",
    "book": """CREATE TABLE book (
  id bigint unsigned NOT NULL AUTO_INCREMENT,
  uid varchar(32) DEFAULT NULL,
  name varchar(50) NOT NULL,
  author varchar(32) NOT NULL,
  status int DEFAULT 1,
  isPublished tinyint unsigned NOT NULL DEFAULT 1,
  publishedAt timestamp NULL DEFAULT NULL,
  deleted_at timestamp NULL DEFAULT NULL,
  createdAt timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updatedAt timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uk_book_uid (uid),
  UNIQUE KEY uk_book_name (name)
)""",
    "registry": """CREATE TABLE registry (
  id bigint unsigned NOT NULL AUTO_INCREMENT,
  uid varchar(32) DEFAULT NULL,
  workspace_id varchar(50) NOT NULL DEFAULT 'default',
  ext_id varchar(50) DEFAULT NULL,
  name varchar(50) NOT NULL,
  type varchar(50) NOT NULL,
  addresses varchar(1000) NOT NULL,
  namespaces varchar(2000) NOT NULL,
  is_hosted tinyint NOT NULL DEFAULT 0,
  deleted_at timestamp NULL DEFAULT NULL,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uk_registry_uid (uid),
  KEY idx_registry_name (name)
)""",
}
_ROWS = {
    "api": "INSERT INTO api (registry, service_name, nacos_namespace, nacos_group_name, data_type, detail) "
    "VALUES ('nacos-a', 'orders', 'public', 'DEFAULT_GROUP', 'json', '{}'), "
    "('nacos-a', 'billing', 'public', 'DEFAULT_GROUP', 'json', '{}')",
    "book": "INSERT INTO book (uid, name, author) VALUES ('b1', 'Skoala in practice', 'dao')",
    "registry": "INSERT INTO registry (uid, name, type, addresses, namespaces) "
    "VALUES ('r1', 'nacos-a', 'nacos', 'http://nacos:8848', 'public')",
}
_CHANGES = """
ALTER TABLE api MODIFY detail text NOT NULL;
ALTER TABLE book ALTER COLUMN status SET DEFAULT 0;
ALTER TABLE registry MODIFY is_hosted tinyint NULL DEFAULT 0;
ALTER TABLE registry DROP COLUMN ext_id;
ALTER TABLE registry ADD COLUMN note varchar(10) NULL
"""
# Server counters of every statement kind that writes data, schema or accounts.
_WRITE_COUNTERS = (
    "Com_insert", "Com_insert_select", "Com_update", "Com_update_multi", "Com_delete", "Com_delete_multi",
    "Com_replace", "Com_replace_select", "Com_load", "Com_truncate", "Com_create_db", "Com_alter_db",
    "Com_drop_db", "Com_create_table", "Com_alter_table", "Com_drop_table", "Com_rename_table",
    "Com_create_index", "Com_drop_index", "Com_create_view", "Com_drop_view", "Com_create_user",
    "Com_drop_user", "Com_grant", "Com_revoke", "Com_lock_tables",
)  # fmt: skip


@dataclass(frozen=True)
class Site:
    """The running server and the credentials hive would use."""

    server: MariaDBProcess
    user: str = USER
    password: str = PASSWORD

    @property
    def port(self) -> int:
        return self.server.port

    def dsn(self, database: str = "skoala", password: str | None = None, host: str = "127.0.0.1") -> str:
        """The DSN as it sits in hive.configMap.database[0].dsn."""
        secret = self.password if password is None else password
        return (
            f"{self.user}:{secret}@tcp({host}:{self.port})/{database}?charset=utf8&parseTime=true&loc=Local&timeout=10s"
        )


def create_scenarios(server: MariaDBProcess) -> Site:
    """One script over one connection (a new connection costs tens of milliseconds)."""
    script: list[str] = []
    for database in DATABASES:
        script += [f"CREATE DATABASE {database}", f"USE {database}"]
        tables = [] if database == "skoala_empty" else list(_TABLES)
        if database == "skoala_missing":
            tables.remove("registry")
        for table in tables:
            script += [_TABLES[table], _ROWS[table]]
    script += ["USE skoala_changed", _CHANGES]
    script.append(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
    script += [f"GRANT ALL PRIVILEGES ON {database}.* TO '{USER}'@'%'" for database in DATABASES]
    server.execute(";\n".join(script))
    return Site(server)


def fingerprint(server: MariaDBProcess) -> dict[str, Any]:
    """Rows, table checksums, DDL (columns, indexes, table times) and the write counters."""
    out: dict[str, Any] = {}
    with server.admin() as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, CREATE_TIME, UPDATE_TIME FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA LIKE 'skoala%' ORDER BY 1, 2"
        )
        tables = cursor.fetchall()
        out["tables"] = tables
        for schema, table, _, _ in tables:
            cursor.execute(f"SELECT COUNT(*) FROM `{schema}`.`{table}`")
            out[f"rows:{schema}.{table}"] = cursor.fetchone()[0]
            cursor.execute(f"CHECKSUM TABLE `{schema}`.`{table}`")
            out[f"checksum:{schema}.{table}"] = cursor.fetchone()[1]
        cursor.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, "
            "COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA LIKE 'skoala%' ORDER BY 1, 2, 4"
        )
        out["columns"] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
        cursor.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA LIKE 'skoala%' ORDER BY 1, 2, 3, 4"
        )
        out["indexes"] = cursor.fetchall()
        cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
        out["schemata"] = cursor.fetchall()
        cursor.execute("SELECT User, Host FROM mysql.user ORDER BY 1, 2")
        out["users"] = cursor.fetchall()
        names = ", ".join(f"'{name}'" for name in _WRITE_COUNTERS)
        cursor.execute(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
        out["write_counters"] = dict(cursor.fetchall())
    return out
