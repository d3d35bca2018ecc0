"""Load images into docker or podman through the Docker Engine API (podman's compat service speaks it too).

One ``POST /images/load`` carries every image as a docker-archive generated on the fly (chunked upload,
nothing on disk). The archive already lists each image's final names, so a normal load needs no retag;
afterwards every name is checked by inspecting it, missing ones are tagged (the engine picks its own
image ID, so we tag by the ID it reports), and ``--untag-source`` removes the vendor's names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

from skoala_airgap.destinations.runtime.stream import (
    ArchiveEntry,
    LoadItem,
    LoadResult,
    RuntimeLoadError,
    docker_archive_chunks,
    load_batches,
    missing_blobs,
    probe_unix_socket,
    stream_size,
)
from skoala_airgap.engine.progress import NullProgress, Progress
from skoala_airgap.errors import RuntimeUnavailableError
from skoala_airgap.model.image import Manifest
from skoala_airgap.model.reference import parse_reference

API_VERSION = "1.41"  # podman 4 speaks 1.41; dockerd 20.10+ accepts it
DEFAULT_CONCURRENCY = 2  # two parallel loads beat `podman load` on 2 cores; more adds lock contention
LOAD_TIMEOUT = 24 * 3600  # the engine answers only after it has unpacked everything


def _socket_path(host: str) -> str | None:
    """The unix socket of a ``unix://`` host (None for tcp:// or ssh://, which the SDK checks itself)."""
    return urlparse(host).path if host.startswith("unix://") else None


def normalise_host(host: str) -> str:
    """Accept a bare socket path as ``unix://`` (``docker -H`` does too)."""
    return f"unix://{host}" if host.startswith("/") else host


def _connect(host: str) -> Any:
    """An APIClient that has answered ``/_ping``; any failure is one line naming the socket (exit 2)."""
    import docker  # imported lazily: only this command needs the SDK

    path = _socket_path(host)
    if path is not None:
        probe_unix_socket(path, "docker/podman API")
    try:
        client = docker.APIClient(base_url=host, version=API_VERSION, timeout=LOAD_TIMEOUT)
        client.ping()
    except Exception as exc:  # the SDK raises requests, urllib3 and its own errors alike
        raise RuntimeUnavailableError(f"{host}: cannot reach the docker/podman API ({_reason(exc)})") from exc
    return client


def _reason(exc: BaseException) -> str:
    """The innermost message, without the SDK's nested reprs."""
    for _ in range(20):  # bounded: a chain is never this deep, but never loop on a cycle
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    if isinstance(exc, PermissionError):
        return "permission denied"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _pick_platform(manifest: Manifest, os_name: str, arch: str) -> Manifest | None:
    """The child of an index the engine can run (docker-archive holds one platform per image)."""
    if not manifest.is_index:
        return manifest
    for child in manifest.children:
        if child.platform and child.platform.os == os_name and child.platform.architecture == arch:
            return child
    return None


def _same(a: str, b: str) -> bool:
    try:
        return parse_reference(a).name == parse_reference(b).name
    except ValueError:
        return a == b


def _diff_ids(manifest: Manifest) -> list[str]:
    assert manifest.config is not None
    with manifest.config.open() as reader:
        config = json.loads(reader.read())
    return [str(d) for d in config.get("rootfs", {}).get("diff_ids") or []]


def _load(client: Any, entries: Sequence[ArchiveEntry], count: Callable[[int], None]) -> None:
    """Upload the archive; the engine reports failures either as an HTTP error or in the JSON stream."""
    import docker

    try:
        for message in client.load_image(docker_archive_chunks(entries, count)):
            if isinstance(message, dict) and message.get("error"):
                raise RuntimeLoadError(str(message["error"]))
    except docker.errors.APIError as exc:
        raise RuntimeLoadError(str(exc.explanation or exc)) from exc


def _without_digest_names(item: LoadItem) -> LoadItem | None:
    """The item without ``repo@sha256:`` names, which an engine cannot attach; None if nothing is left."""
    targets = [n for n in item.target_names if "@" not in n]
    if not targets:
        return None
    return replace(item, source_names=[n for n in item.source_names if "@" not in n], target_names=targets)


def _finish(client: Any, item: LoadItem, manifest: Manifest, untag_source: bool) -> LoadResult:
    """Check the loaded image, tag any target name it lacks, drop stale source names."""
    import docker

    first = item.archive_names(untag_source=untag_source)[0]
    info = client.inspect_image(first)
    image_id = str(info["Id"])
    if info.get("RootFS", {}).get("Layers", []) != _diff_ids(manifest):
        return LoadResult(item, "failed", image_id=image_id, error="layers differ from the image config")
    have = [str(t) for t in info.get("RepoTags") or []]
    for name in item.target_names:
        if not any(_same(name, t) for t in have):
            repository, _, tag = name.rpartition(":")
            client.tag(image_id, repository, tag)
    removed = []
    if untag_source:
        for name in item.stale_names():
            try:
                if client.inspect_image(name)["Id"] == image_id:
                    client.remove_image(name, noprune=True)
                    removed.append(name)
            except docker.errors.NotFound:
                continue
    names = [str(t) for t in client.inspect_image(image_id).get("RepoTags") or []]
    missing = [n for n in item.target_names if not any(_same(n, t) for t in names)]
    if missing:
        return LoadResult(item, "failed", names, image_id, removed, f"names missing: {', '.join(missing)}")
    return LoadResult(item, "loaded", item.target_names, image_id, removed)


def load_into_engine(
    items: Sequence[LoadItem],
    host: str,
    *,
    untag_source: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> list[LoadResult]:
    """Load ``items`` into the engine at ``host`` (``unix://``, ``tcp://`` or ``ssh://``).

    Images go up as ``concurrency`` archives at once (images sharing layers in the same one).

    ``progress`` gets the byte total before the upload begins, then each chunk.
    Images whose names are digests only, or without the engine's platform, fail individually.
    """
    host = normalise_host(host)
    client = _connect(host)
    version = client.version()
    os_name, arch = str(version.get("Os", "linux")), str(version.get("Arch", "amd64"))
    results: dict[int, LoadResult] = {}
    ready: list[tuple[int, LoadItem, Manifest]] = []
    for n, item in enumerate(items):
        manifest = _pick_platform(item.image.manifest, os_name, arch)
        tagged = _without_digest_names(item)
        if manifest is None:
            results[n] = LoadResult(item, "failed", error=f"no {os_name}/{arch} image in the index")
        elif tagged is None:
            results[n] = LoadResult(item, "failed", error="docker/podman cannot name an image by digest only")
        elif missing := missing_blobs(manifest):
            results[n] = LoadResult(item, "failed", error=f"blob {missing[0]} is not in the source")
        else:
            ready.append((n, tagged, manifest))
    entries = [ArchiveEntry(m, i.archive_names(untag_source=untag_source)) for _, i, m in ready]
    sink = progress or NullProgress()
    sink.start(stream_size(entries), f"load {host}", items=len(items))
    errors = load_batches(entries, concurrency, lambda batch: _load(_connect(host), batch, sink.advance))
    for k, (n, _, _) in enumerate(ready):
        if k in errors:
            results[n] = LoadResult(items[n], "failed", error=errors[k])
    for n, tagged, manifest in (r for k, r in enumerate(ready) if k not in errors):
        try:
            results[n] = replace(_finish(client, tagged, manifest, untag_source), item=items[n])
        except Exception as exc:  # one bad image must not hide the others' results
            results[n] = LoadResult(items[n], "failed", error=_reason(exc))
    return [results[n] for n in range(len(items))]
