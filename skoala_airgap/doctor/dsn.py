"""Go MySQL driver DSNs (``user:pass@tcp(host:3306)/db?k=v``), parsed exactly as the driver does.

skoala's hive connects with go-sql-driver/mysql, and the engineer copies the DSN from the release
values, so doctor must read it the same way: the password runs from the first ``:`` to the *last*
``@`` (so it may hold ``@``, ``:`` and ``/``), the database name follows the *last* ``/``, parameter
values are URL-escaped, a missing port means 3306. The password never appears in ``repr``,
``str``, :meth:`MySQLDSN.redacted` or an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, unquote_plus

from skoala_airgap.doctor.project import InputError

__all__ = ["DEFAULT_DSN", "DEFAULT_PORT", "MySQLDSN", "go_duration", "parse_dsn"]

DEFAULT_PORT = 3306
_NETWORKS = ("tcp", "tcp4", "tcp6", "unix")
_DEFAULT_ADDR = {"tcp": f"127.0.0.1:{DEFAULT_PORT}", "unix": "/tmp/mysql.sock"}
_MASK = "******"


@dataclass(frozen=True)
class MySQLDSN:
    """A parsed DSN. ``address`` is ``host:port`` for tcp and a socket path for unix."""

    user: str = ""
    password: str = field(default="", repr=False)
    net: str = "tcp"
    address: str = _DEFAULT_ADDR["tcp"]
    database: str = ""
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.redacted()

    @property
    def is_unix(self) -> bool:
        return self.net == "unix"

    @property
    def host(self) -> str:
        return "localhost" if self.is_unix else _split_host_port(self.address)[0]

    @property
    def port(self) -> int:
        return DEFAULT_PORT if self.is_unix else _split_host_port(self.address)[1]

    @property
    def endpoint(self) -> str:
        """Where it connects, for messages: ``host:port`` or ``unix socket PATH``."""
        return f"unix socket {self.address}" if self.is_unix else self.address

    def param(self, name: str) -> str | None:
        """The last value given for ``name`` (the driver lets later parameters win)."""
        found = [value for key, value in self.params if key == name]
        return found[-1] if found else None

    def redacted(self) -> str:
        """The DSN in Go form with the password masked: safe to print."""
        auth = ""
        if self.user or self.password:
            auth = self.user + (f":{_MASK}" if self.password else "") + "@"
        query = "&".join(f"{key}={value}" for key, value in self.params)
        return f"{auth}{self.net}({self.address})/{self.database}" + (f"?{query}" if query else "")

    def overridden(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        user: str | None = None,
        database: str | None = None,
        password: str | None = None,
    ) -> MySQLDSN:
        """This DSN with options applied (``--db-host 127.0.0.1`` after ``kubectl port-forward``).

        A host turns a unix-socket DSN into tcp; a port alone keeps the host.
        """
        dsn = self
        if host is not None or port is not None:
            keep_host = "127.0.0.1" if dsn.is_unix else dsn.host
            keep_port = DEFAULT_PORT if dsn.is_unix else dsn.port
            address = _join_host_port(host if host is not None else keep_host, port or keep_port)
            dsn = replace(dsn, net="tcp", address=address)
        if user is not None:
            dsn = replace(dsn, user=user)
        if database is not None:
            dsn = replace(dsn, database=database)
        if password is not None:
            dsn = replace(dsn, password=password)
        return dsn

    def timeout(self, name: str, where: str) -> float | None:
        """A duration parameter (``timeout``, ``readTimeout``) in seconds, None when absent."""
        text = self.param(name)
        if text is None:
            return None
        seconds = go_duration(text)
        if seconds is None:
            raise InputError(f"{where}: DSN parameter {name}={text!r} is not a Go duration such as 10s")
        return seconds


#: The vendor's default: common-mysql in mcamel-system, database and user ``skoala``.
DEFAULT_DSN = MySQLDSN(
    user="skoala",
    address=f"mcamel-common-mysql-cluster-mysql-master.mcamel-system.svc.cluster.local:{DEFAULT_PORT}",
    database="skoala",
)


def parse_dsn(dsn: str, where: str = "DSN") -> MySQLDSN:
    """Parse like go-sql-driver/mysql ``ParseDSN``; ``where`` names the source in errors (never the text)."""
    slash = dsn.rfind("/")
    if slash < 0:
        raise InputError(f"{where}: invalid DSN: missing the slash before the database name")
    user = password = ""
    net = address = ""
    left = dsn[:slash]
    if left:
        at = left.rfind("@")
        if at >= 0:
            user, _, password = left[:at].partition(":")
        rest = left[at + 1 :]
        paren = rest.find("(")
        if paren >= 0:
            if not rest.endswith(")"):
                reason = "escape '/' in parameter values as %2F" if ")" in rest[paren:] else "missing ')'"
                raise InputError(f"{where}: invalid DSN: network address not terminated ({reason})")
            net, address = rest[:paren], rest[paren + 1 : -1]
        else:
            net = rest
    name, _, query = dsn[slash + 1 :].partition("?")
    params = tuple(_parse_params(query, where)) if query else ()
    net = net or "tcp"
    if net not in _NETWORKS:
        hint = " (escape '/' in parameter values as %2F)" if "?" in net or "/" in net else ""
        raise InputError(f"{where}: invalid DSN: the network must be tcp(HOST:PORT) or unix(PATH){hint}")
    if not address:
        address = _DEFAULT_ADDR.get(net, _DEFAULT_ADDR["tcp"])
    elif net != "unix":
        host, port = _split_host_port(address, where, default_port=True)
        address = _join_host_port(host, port)
    return MySQLDSN(user, password, net, address, unquote(name), params)


def _parse_params(query: str, where: str) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for item in query.split("&"):
        key, found, value = item.partition("=")
        if not found:
            continue  # the driver ignores a parameter without '='
        params.append((key, unquote_plus(value)))
    return params


def _split_host_port(address: str, where: str = "DSN", *, default_port: bool = False) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or (``default_port``) a bare host or IPv6 address."""
    if address.startswith("["):
        close = address.find("]")
        if close < 0:
            raise InputError(f"{where}: invalid DSN: unterminated IPv6 address")
        host, rest = address[1:close], address[close + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    elif address.count(":") == 1:
        host, port_text = address.split(":")
    else:  # a name, an IPv4 address or a bare IPv6 address: no port
        host, port_text = address, ""
    if port_text is None or (not port_text and not default_port):
        raise InputError(f"{where}: invalid DSN: bad address {address!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"{where}: invalid DSN: port {port_text!r} is not a number from 1 to 65535")
    return host, int(port_text)


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> float | None:
    """Go ``time.ParseDuration`` (``10s``, ``1m30s``, ``500ms``, ``0``) in seconds; None when invalid."""
    body = text.lstrip("+")
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total if body else None
