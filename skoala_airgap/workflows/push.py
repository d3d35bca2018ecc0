"""Library entry points for a push run: connect to a registry from plain settings, push items."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from skoala_airgap.connection.credentials import Credentials, resolve_credentials
from skoala_airgap.connection.transport import TransportOptions
from skoala_airgap.destinations.layout import LayoutClient
from skoala_airgap.destinations.registry import RegistryClient
from skoala_airgap.engine.push import (
    DEFAULT_CONCURRENCY,
    ImageResult,
    ProgressFn,
    Pusher,
    PushItem,
    PushOptions,
    PushTarget,
)
from skoala_airgap.errors import TargetUnreachableError


@dataclass(frozen=True)
class PushRequest:
    """Everything a push needs besides the items: who to talk to and how."""

    host: str
    items: Sequence[PushItem]
    username: str = ""
    password: str = ""
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    insecure: bool = False
    plain_http: bool = False
    concurrency: int | None = None
    chunk_size: int = 0
    overwrite: bool = True
    oci_layout: Path | None = None  # write into this OCI layout directory instead of a registry
    compress: bool = False

    @property
    def transport(self) -> TransportOptions:
        return TransportOptions(
            plain_http=self.plain_http,
            insecure=self.insecure,
            ca_file=self.ca_file,
            client_cert=self.client_cert,
            client_key=self.client_key,
        )


def connect(
    host: str, transport: TransportOptions, credentials: Credentials | None, *, concurrency: int
) -> RegistryClient:
    """A pinged client. With ``insecure`` (charts-syncer's --insecure), fall back to plain HTTP when
    the registry does not speak TLS at all."""
    client = RegistryClient(host, credentials=credentials, options=transport, pool_size=concurrency + 2)
    try:
        client.ping()
    except TargetUnreachableError:
        if not transport.insecure or transport.plain_http:
            raise
        client = RegistryClient(
            host, credentials=credentials, options=replace(transport, plain_http=True), pool_size=concurrency + 2
        )
        client.ping()
    return client


def open_target(
    host: str,
    *,
    oci_layout: Path | None,
    transport: TransportOptions,
    credentials: Credentials | None,
    concurrency: int,
) -> PushTarget:
    """The destination for ``host``: an OCI layout directory when given, else the pinged registry."""
    if oci_layout is not None:
        layout = LayoutClient(oci_layout, host)
        layout.ping()
        return layout
    return connect(host, transport, credentials, concurrency=concurrency)


def run_push(request: PushRequest, progress: ProgressFn | None = None) -> list[ImageResult]:
    concurrency = request.concurrency or DEFAULT_CONCURRENCY
    credentials = None
    if request.oci_layout is None:
        credentials = resolve_credentials(
            request.host, username=request.username, password=request.password, environ=os.environ
        )
    client = open_target(
        request.host,
        oci_layout=request.oci_layout,
        transport=request.transport,
        credentials=credentials,
        concurrency=concurrency,
    )
    options = PushOptions(
        concurrency=concurrency, overwrite=request.overwrite, chunk_size=request.chunk_size, compress=request.compress
    )
    return Pusher(client, options, progress).push(request.items)
