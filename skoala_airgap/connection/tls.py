"""TLS trust and client certificates per host, the way docker and podman find them.

For ``host[:port]`` the roots in :data:`~skoala_airgap.connection.settings.DEFAULT_CERTS_D` are searched
for a ``host[:port]`` folder: every ``*.crt`` is a CA (docker's ``ca.crt`` included), and a ``*.cert``
with its ``*.key`` is a client certificate (docker's ``client.cert``/``client.key``). ``--cert-dir`` is
such a folder for every host (skopeo), ``--ca-file``/``--cert``/``--key`` name files directly. CAs add
to the system's roots, as docker does, so a public registry keeps working next to a private one.

Everything becomes one :class:`ssl.SSLContext` per host, because requests' ``verify=`` takes a single
bundle and is overridden by ``REQUESTS_CA_BUNDLE``; the adapter in :mod:`.http` hands it to urllib3.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.errors import InputError


@dataclass(frozen=True)
class TlsFiles:
    """The files that decide TLS for one host, and where each came from (for messages)."""

    cas: tuple[Path, ...] = ()
    client: tuple[Path, Path] | None = None

    def describe(self) -> str:
        parts = [f"CA {p}" for p in self.cas]
        if self.client:
            parts.append(f"client certificate {self.client[0]}")
        return ", ".join(parts) or "system CAs only"


def _folder_files(folder: Path) -> tuple[list[Path], tuple[Path, Path] | None]:
    if not folder.is_dir():
        return [], None
    cas = sorted(folder.glob("*.crt"))
    client = None
    for cert in sorted(folder.glob("*.cert")):
        key = cert.with_suffix(".key")
        if not key.is_file():
            raise InputError(f"{cert}: client certificate without its key {key.name}")
        client = client or (cert, key)
    return cas, client


def host_folders(host: str, settings: ConnectionSettings) -> list[Path]:
    """certs.d folders for ``host``; port 443 also matches the bare host name."""
    names = [host]
    if host.endswith(":443"):
        names.append(host.removesuffix(":443"))
    return [root / name for root in settings.certs_d for name in names]


def tls_files(host: str, settings: ConnectionSettings) -> TlsFiles:
    """CA files and client certificate for ``host``: explicit options first, then --cert-dir, then certs.d."""
    cas: list[Path] = [settings.ca_file] if settings.ca_file else []
    client: tuple[Path, Path] | None = None
    if settings.client_cert or settings.client_key:
        if not (settings.client_cert and settings.client_key):
            raise InputError("--cert and --key go together: give both files of the client certificate")
        client = (settings.client_cert, settings.client_key)
    folders = ([settings.cert_dir] if settings.cert_dir else []) + host_folders(host, settings)
    for folder in folders:
        found_cas, found_client = _folder_files(folder)
        cas += [ca for ca in found_cas if ca not in cas]
        client = client or found_client
    return TlsFiles(tuple(cas), client)


def ssl_context(host: str, settings: ConnectionSettings) -> ssl.SSLContext:
    """The context every HTTPS connection to ``host`` uses."""
    files = tls_files(host, settings)
    return _context(files, settings.insecure)


@lru_cache(maxsize=64)
def _context(files: TlsFiles, insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    for ca in files.cas:
        try:
            context.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"{ca}: not a readable PEM CA certificate ({_reason(exc)})") from exc
    if files.client:
        cert, key = files.client
        try:
            context.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"{cert}: cannot load the client certificate with {key} ({_reason(exc)})") from exc
    return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    return str(exc)
