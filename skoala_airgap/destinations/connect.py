"""Open a registry: choose the scheme as go-containerregistry (so charts-syncer) does, authenticate, ping.

HTTPS is tried first. Plain HTTP is the fallback for loopback and private (RFC 1918) addresses and for
any host when ``--insecure`` is set; ``--plain-http`` goes straight to HTTP. The scheme in use is said
once per host, so an engineer sees when traffic is not encrypted.
"""

from __future__ import annotations

import ipaddress
import threading

from skoala_airgap.connection.credentials import resolve_credentials
from skoala_airgap.connection.errors import RegistryError, TlsError
from skoala_airgap.connection.http import HttpClient, Notify
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.registry import RegistryClient
from skoala_airgap.errors import AirgapError, InputError, TargetUnreachableError

_SAID: set[str] = set()  # scheme lines already said in this process: once per host, however often it is opened
_SAID_LOCK = threading.Lock()


def _once(say: Notify, message: str) -> None:
    with _SAID_LOCK:
        if message in _SAID:
            return
        _SAID.add(message)
    say(message)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_local_or_private(host: str) -> bool:
    """localhost, loopback addresses and RFC 1918 private IPv4 addresses (ggcr ``Registry.Scheme``)."""
    name = _hostname(host)
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    rfc1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
    return address.version == 4 and any(address in ipaddress.ip_network(net) for net in rfc1918)


def schemes_for(host: str, settings: ConnectionSettings) -> list[str]:
    if settings.plain_http:
        return ["http"]
    if settings.insecure or is_local_or_private(host):
        return ["https", "http"]
    return ["https"]


def check_host(host: str, option: str = "registry") -> str:
    """Refuse a registry given as a URL (``http://host``): it would be read as a host named ``http``."""
    if "://" in host or host.startswith("/") or not host or any(c.isspace() for c in host):
        raise InputError(
            f'{option} "{host}": give a bare host[:port] (no scheme); use --plain-http for an HTTP-only registry'
        )
    if "@" in host.split("/", 1)[0]:
        raise InputError(f"{option}: user info in a registry name is not allowed; use --username and --password-stdin")
    return host


def open_registry(
    host: str, settings: ConnectionSettings, *, pool_size: int = 8, notify: Notify | None = None
) -> RegistryClient:
    """A pinged client for ``host`` on the first scheme that answers."""
    check_host(host)
    say = notify or (lambda _message: None)
    credentials = resolve_credentials(host, settings)
    schemes = schemes_for(host, settings)
    first_error: AirgapError | None = None
    for scheme in schemes:
        http = HttpClient(host, settings, scheme=scheme, pool_size=pool_size, notify=say, announce=False)
        client = RegistryClient(http, credentials)
        try:
            client.ping()
        except (TlsError, TargetUnreachableError, RegistryError) as exc:
            if isinstance(exc, RegistryError) and exc.status in (401, 403):
                raise
            if isinstance(exc, TargetUnreachableError) and exc.timed_out:
                raise  # a hung server: another scheme would hang the same way
            first_error = first_error or exc
            client.http.close()
            continue
        if scheme == "https":
            unverified = " without certificate verification (--insecure)" if settings.insecure else ""
            _once(say, f"{host}: using HTTPS{unverified}")
        elif first_error is not None:
            _once(say, f"{host}: using plain HTTP (HTTPS failed: {_cause(first_error)})")
        else:
            _once(say, f"{host}: using plain HTTP (--plain-http)")
        return client
    assert first_error is not None
    raise first_error


def _cause(error: AirgapError) -> str:
    text = str(error)
    return text.split(": ", 1)[1] if text.startswith(("TLS: ",)) else text
