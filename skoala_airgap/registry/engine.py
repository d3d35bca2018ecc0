"""Library entry point for a push run: build the client from plain settings, run the pusher."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from skoala_airgap.plan import PushPlan
from skoala_airgap.registry.client import RegistryClient
from skoala_airgap.registry.credentials import resolve_credentials
from skoala_airgap.registry.push import DEFAULT_CONCURRENCY, ImageResult, Pusher, PushOptions
from skoala_airgap.registry.transport import TransportOptions


@dataclass(frozen=True)
class PushRequest:
    plan: PushPlan
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
    progress: bool = False


def connect(host: str, request: PushRequest) -> RegistryClient:
    transport = TransportOptions(
        plain_http=request.plain_http,
        insecure=request.insecure,
        ca_file=request.ca_file,
        client_cert=request.client_cert,
        client_key=request.client_key,
    )
    credentials = resolve_credentials(host, username=request.username, password=request.password, environ=os.environ)
    concurrency = request.concurrency or DEFAULT_CONCURRENCY
    client = RegistryClient(host, credentials=credentials, options=transport, pool_size=concurrency + 2)
    client.ping()
    return client


def run_push(request: PushRequest) -> list[ImageResult]:
    from skoala_airgap.cli.render import byte_progress  # progress is optional; keep tqdm out of the core

    plan = request.plan
    client = connect(plan.host, request)
    total = sum(item.image.manifest.total_size for item in plan.items)
    options = PushOptions(
        concurrency=request.concurrency or DEFAULT_CONCURRENCY,
        overwrite=request.overwrite,
        chunk_size=request.chunk_size,
    )
    with byte_progress(total, f"push {plan.host}", enabled=request.progress) as bar:
        pusher = Pusher(client, options, (lambda kind, n: bar.update(n)) if bar else None)
        return pusher.push(plan.items)
