"""A registry that accepts the connection and never answers (issue 10, defect 1), and one that never
accepts it: bounded waits, retries said on stderr, exit 1 naming the host and what the tool was doing.

Before the fix such a registry cost 300 s of silence and exit 2. Here every wait is bounded by
``--read-timeout`` / ``--connect-timeout`` and ``--retries``, so each test ends in a few seconds.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from fixtures.bundles import OfflinePackage, write_offline_package
from fixtures.images import write_images_tar
from tests.helpers import CliResult, run_cli, sample_images
from tests.infra.faulty_proxy import Fault, faulty_proxy
from tests.infra.registry import RegistryProcess

BOUND = 20.0  # seconds; the expected run is about 1 s timeout + backoff + 1 s timeout


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("hung-pkg"), layer_size=2048)


@contextmanager
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback socket that accepts every connection and never reads or answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        server.close()


@contextmanager
def full_backlog() -> Iterator[str]:
    """A listening socket whose accept queue is full and never drained: the kernel drops new SYNs, so a
    connect hangs until the client's connect timeout (a firewall that drops packets looks the same)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    host = f"127.0.0.1:{server.getsockname()[1]}"
    fillers = []
    for _ in range(3):  # fill the queue (its length is backlog + 1 on Linux)
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    time.sleep(0.2)
    try:
        yield host
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def _error_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("skoala-airgap: error: ")]


def _retry_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("skoala-airgap: retrying ")]


def _timed(*args: str) -> tuple[CliResult, float]:
    start = time.monotonic()
    result = run_cli(*args, timeout=BOUND + 30)
    return result, time.monotonic() - start


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_registry_that_never_answers(package: OfflinePackage, quiet: bool) -> None:
    with silent_server() as (host, accepted):
        args = ["push-images", str(package.path), "--registry", host, "--plain-http"]
        args += ["--read-timeout", "1", "--retries", "1", *(["-q"] if quiet else [])]
        result, elapsed = _timed(*args)
        connections = len(accepted)
    assert result.code == 1, result.stderr
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    assert "Traceback" not in result.stderr
    errors = _error_lines(result)
    assert len(errors) == 1, result.stderr
    assert host in errors[0] and "unreachable" in errors[0], errors[0]
    assert "no answer within 1 s" in errors[0] and "checking the registry API" in errors[0], errors[0]
    retries = _retry_lines(result)
    assert len(retries) == 1, result.stderr
    assert "GET /v2/" in retries[0] and f"on {host}" in retries[0] and "(1/1)" in retries[0], retries[0]
    assert connections == 2, "one attempt and one retry, each on a fresh connection"


def test_registry_that_never_accepts(package: OfflinePackage) -> None:
    with full_backlog() as host:
        args = ["push-images", str(package.path), "--registry", host, "--plain-http"]
        result, elapsed = _timed(*args, "--connect-timeout", "1", "--retries", "1")
    assert result.code == 1, result.stderr
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    errors = _error_lines(result)
    assert len(errors) == 1 and host in errors[0], result.stderr
    assert "no connection within 1 s" in errors[0], errors[0]
    assert len(_retry_lines(result)) == 1, result.stderr


def test_chart_repository_that_never_answers(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess
) -> None:
    """The chart repository is checked before any image moves: a hung one stops the run with nothing written."""
    with silent_server() as (host, _):
        config = tmp_path / "load-image.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "source": {"intermediateBundlesPath": str(package.path)},
                    "target": {
                        "containerRegistry": registry.host,
                        "containerPrefixRepository": "hung/chart-repo",
                        "repo": {"kind": "CHARTMUSEUM", "url": f"http://{host}"},
                    },
                }
            )
        )
        args = ["sync", "--config", str(config), "--plain-http", "--read-timeout", "1", "--retries", "0", "-q"]
        result, elapsed = _timed(*args)
    assert result.code == 1, result.stderr
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    errors = _error_lines(result)
    assert len(errors) == 1 and host in errors[0] and "no answer within 1 s" in errors[0], result.stderr
    assert not (registry.data_dir / "docker/registry/v2/repositories/hung/chart-repo").exists()


def test_stalled_upload_is_retried_like_a_reset(tmp_path: Path, registry: RegistryProcess) -> None:
    """The registry takes the upload's body and goes silent: after --read-timeout the blob goes up again."""
    images = sample_images(tmp_path / "layers", count=1)
    source = write_images_tar(tmp_path / "images.tar", images, "ggcr")
    stall = Fault("PUT|PATCH", "/blobs/uploads/", 0, times=1, stall=True, min_body=1)
    with faulty_proxy(registry.host, [stall]) as proxy:
        args = ["push-images", str(source), "--registry", proxy.host, "--plain-http", "--json", "-q"]
        args += ["--prefix-repository", "hung/stalled-upload", "--read-timeout", "1"]
        result, elapsed = _timed(*args)
        stalled = [s for s in proxy.seen if s[2] == 0]
    assert result.code == 0, result.stderr
    assert stalled, "the stall was never hit"
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    assert any("retrying upload of" in line for line in _retry_lines(result)), result.stderr
    assert {i["status"] for i in json.loads(result.stdout)["images"]} == {"pushed"}


def test_upload_that_always_stalls_gives_up_after_the_retry_budget(tmp_path: Path, registry: RegistryProcess) -> None:
    """--retries bounds re-uploads of a blob too: one retry each, then exit 1 naming host and upload."""
    images = sample_images(tmp_path / "layers", count=1)
    source = write_images_tar(tmp_path / "images.tar", images, "ggcr")
    stall = Fault("PUT|PATCH", "/blobs/uploads/", 0, times=1000, stall=True, min_body=1)
    with faulty_proxy(registry.host, [stall]) as proxy:
        args = ["push-images", str(source), "--registry", proxy.host, "--plain-http", "-q"]
        args += ["--prefix-repository", "hung/always-stalls", "--read-timeout", "1", "--retries", "1"]
        result, elapsed = _timed(*args)
    assert result.code == 1, result.stderr
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    errors = _error_lines(result)
    assert len(errors) == 1, result.stderr
    assert proxy.host in errors[0] and "no answer within 1 s" in errors[0] and "uploading" in errors[0], errors[0]
    uploads = [line for line in _retry_lines(result) if "retrying upload of" in line]
    assert uploads and all(line.endswith("(1/1)") for line in uploads), result.stderr
