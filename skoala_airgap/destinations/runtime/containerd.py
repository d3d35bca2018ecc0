"""Import images into containerd with ``ctr images import -``, keeping the registry's manifest digest.

``ctr import`` of a docker-archive writes a manifest of its own, so a ``name@sha256:...`` reference
taken from the registry would not match on the node. Instead ctr reads an OCI layout on stdin that
carries our manifest bytes verbatim and names every reference in ``index.json``; each name is then
checked with ``ctr images ls``. The namespace defaults to ``k8s.io``, the one the kubelet (CRI) reads:
ctr's own default, ``default``, is invisible to Kubernetes.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from typing import IO

from skoala_airgap.destinations.runtime.stream import (
    ArchiveEntry,
    LoadItem,
    LoadResult,
    RuntimeLoadError,
    load_batches,
    missing_blobs,
    oci_layout_chunks,
    probe_unix_socket,
    stream_size,
)
from skoala_airgap.engine.progress import NullProgress, Progress
from skoala_airgap.errors import RuntimeUnavailableError

DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_NAMESPACE = "k8s.io"
DEFAULT_CONCURRENCY = 2
_SOCKET_ERRORS = ("permission denied", "connection refused", "no such file or directory")


class Ctr:
    """``ctr --address A --namespace N ...``: the one client every node with containerd has."""

    def __init__(self, address: str, namespace: str, binary: str = "ctr") -> None:
        path = shutil.which(binary)
        if path is None:
            raise RuntimeUnavailableError(f"{address}: cannot use containerd, `{binary}` is not on PATH")
        self.address, self.namespace, self.binary = address, namespace, path

    def argv(self, *args: str) -> list[str]:
        return [self.binary, "--address", self.address, "--namespace", self.namespace, *args]

    def run(self, *args: str) -> str:
        res = subprocess.run(self.argv(*args), capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeLoadError(self._error(res.stderr, args))
        return res.stdout

    def _error(self, stderr: str, args: Sequence[str]) -> str:
        """The last stderr line; socket trouble becomes the exit-2 error naming the socket."""
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"ctr {' '.join(args[:2])} failed"
        if any(e in last.lower() for e in _SOCKET_ERRORS) and self.address in last:
            raise RuntimeUnavailableError(f"{self.address}: {last}")
        return last

    def images(self) -> dict[str, str]:
        """name -> target digest, from ``ctr images ls``."""
        out: dict[str, str] = {}
        for line in self.run("images", "ls").splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3:
                out[fields[0]] = fields[2]
        return out

    def import_stream(self, chunks: Iterable[bytes], *, unpack: bool = True) -> None:
        """Feed the tar to ``ctr images import -`` as it is generated; stdout/stderr drain in threads so
        neither side blocks on a full pipe."""
        args = ["images", "import", *([] if unpack else ["--no-unpack"]), "-"]
        proc = subprocess.Popen(self.argv(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin and proc.stdout and proc.stderr
        captured: dict[str, bytes] = {}
        drains = [
            threading.Thread(target=_drain, args=(stream, captured, key), daemon=True)
            for key, stream in (("out", proc.stdout), ("err", proc.stderr))
        ]
        for thread in drains:
            thread.start()
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ctr gave up; its stderr says why
        except BaseException:
            proc.kill()
            raise
        finally:
            code = proc.wait()
            for thread in drains:
                thread.join()
        if code != 0:
            raise RuntimeLoadError(self._error(captured.get("err", b"").decode("utf-8", "replace"), args))

    def remove(self, names: Sequence[str]) -> None:
        if names:
            self.run("images", "rm", *names)


def _drain(stream: IO[bytes], into: dict[str, bytes], key: str) -> None:
    into[key] = stream.read()
    stream.close()


def _check(item: LoadItem, images: dict[str, str]) -> str:
    """Why the import did not give every target name our digest ('' when it did)."""
    for name in item.target_names:
        got = images.get(name)
        if got is None:
            return f"{name}: not in containerd after the import"
        if got != item.digest:
            return f"{name}: containerd has {got}, expected {item.digest}"
    return ""


def load_into_containerd(
    items: Sequence[LoadItem],
    address: str = DEFAULT_ADDRESS,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    untag_source: bool = False,
    unpack: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> list[LoadResult]:
    """Import ``items`` with ``concurrency`` parallel ``ctr images import`` runs (images sharing layers go
    through the same one), then verify that every name points at our digest.

    ``progress`` gets the byte total before streaming, then each chunk.
    """
    ctr = Ctr(address, namespace)
    probe_unix_socket(address, "containerd")
    results: dict[int, LoadResult] = {}
    ready: list[int] = []
    for n, item in enumerate(items):
        if missing := missing_blobs(item.image.manifest):
            results[n] = LoadResult(item, "failed", error=f"blob {missing[0]} is not in the source")
        else:
            ready.append(n)
    entries = [ArchiveEntry(items[n].image.manifest, items[n].archive_names(untag_source=untag_source)) for n in ready]
    sink = progress or NullProgress()
    sink.start(stream_size(entries), f"load containerd {address}", items=len(items))

    def load(batch: list[ArchiveEntry]) -> None:
        ctr.import_stream(oci_layout_chunks(batch, sink.advance), unpack=unpack)

    errors = load_batches(entries, concurrency, load)
    results.update((ready[k], LoadResult(items[ready[k]], "failed", error=error)) for k, error in errors.items())
    ready = [n for k, n in enumerate(ready) if k not in errors]
    images = ctr.images() if ready else {}
    stale: list[str] = []
    for n in ready:
        item = items[n]
        problem = _check(item, images)
        if problem:
            results[n] = LoadResult(item, "failed", [t for t in item.target_names if t in images], error=problem)
            continue
        removed = [s for s in item.stale_names() if images.get(s) == item.digest] if untag_source else []
        stale += removed
        results[n] = LoadResult(item, "loaded", list(item.target_names), item.digest, removed)
    try:
        ctr.remove(stale)
    except RuntimeLoadError as exc:
        for n in ready:
            if results[n].removed:
                results[n] = LoadResult(items[n], "failed", results[n].names, items[n].digest, error=str(exc))
    return [results[n] for n in range(len(items))]
