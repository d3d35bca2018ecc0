"""Progress as a user sees it (issue 12): one model for push, sync, load, verify and --verify hashing.

Not on a terminal (CI logs, ssh without a pty) every run logs one line per image as it completes, a status
line when a phase starts (its byte total, known up front), at most every few seconds while it runs, and a
last one whose bytes done equal the total. On a terminal a bar with bytes and ETA is drawn. Retries show,
even with -q. The runs are real subprocesses against the real registry and containerd; stderr is captured.

The sync test runs at a modest size in the suite (~20 MB); ``test_sync_of_500_mb_reaches_the_total``
(marker ``big``, about 15 s, most of it writing the package) repeats it with a 560 MB package. Scale
either with ``layer_size``: a package holds 9 layers of ``layer_size`` bytes (``compresslevel=0`` writes
valid gzip at disk speed). Deselect the big one locally with ``-m "not big"``.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from fixtures.bundles import OfflinePackage, write_offline_package
from skoala_airgap.cli.progress import ConsoleProgress
from skoala_airgap.cli.render import human_bytes
from skoala_airgap.engine.progress import ItemDone
from skoala_airgap.sources.open import open_source
from tests.helpers import CliResult, run_cli
from tests.infra.containerd import ContainerdProcess
from tests.infra.faulty_proxy import Fault, faulty_proxy
from tests.infra.registry import RegistryProcess, start_registry


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("ux-progress"), layer_size=1_000_000, seed=12)


def push_total(path: Path) -> int:
    """The bytes a push of every image of ``path`` handles, each image in its own repository: every blob
    of each image once, plus its manifests. The progress model's total must be exactly this."""
    total = 0
    for _, image in open_source(path).all_images():
        manifest = image.manifest
        total += sum(blob.size for blob in {b.digest: b for b in manifest.blobs()}.values())
        total += sum(len(node.raw) for node in manifest.walk())
    return total


def _status_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]


def _assert_reaches_total(stderr: str, label: str, total: int, items: int) -> None:
    """First status line: 0 of the total (known up front); last: the total of the total, every item done."""
    lines = _status_lines(stderr, label)
    assert len(lines) >= 2, stderr
    assert lines[0].startswith(f"{label}: 0 B of {human_bytes(total)} (0%), 0 of {items} done"), lines[0]
    final = f"{label}: {human_bytes(total)} of {human_bytes(total)} (100%), {items} of {items} done in "
    assert lines[-1].startswith(final), (lines[-1], final)
    assert re.search(r" in \d+(\.\d)? s, [\d.]+ [KMG]?i?B/s$", lines[-1]), lines[-1]


def _assert_one_line_per_image(stderr: str, package: OfflinePackage, status: str) -> None:
    lines = stderr.splitlines()
    for ref in package.image_refs:
        mine = [line for line in lines if line.startswith(f"{status:9} {ref} -> ")]
        assert len(mine) == 1, (ref, stderr)
        assert re.search(r" sha256:[0-9a-f]{12}", mine[0]), mine[0]


# -- not on a terminal ---------------------------------------------------------------------------------------


def test_push_logs_each_image_and_reaches_the_total(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess
) -> None:
    report = tmp_path / "report.json"
    args = ["push-images", str(package.path), "--registry", registry.host, "--plain-http"]
    result = run_cli(*args, "--prefix-repository", "ux-push", "--report", str(report))
    assert result.code == 0, result.stderr
    _assert_one_line_per_image(result.stderr, package, "pushed")
    total = push_total(package.path)
    label = f"push {registry.host}"
    _assert_reaches_total(result.stderr, label, total, len(package.image_refs))
    # the total is announced before the first image completes
    lines = result.stderr.splitlines()
    first_item = next(i for i, line in enumerate(lines) if line.startswith("pushed "))
    assert lines.index(_status_lines(result.stderr, label)[0]) < first_item
    # ... and it is what the report accounts for: every blob uploaded, mounted or found, plus manifests
    data = json.loads(report.read_text())
    moved = data["summary"]["bytes"]
    manifests = sum(len(n.raw) for _, i in open_source(package.path).all_images() for n in i.manifest.walk())
    assert moved["uploaded"] + moved["mounted"] + moved["skipped"] + manifests == total
    # the summary line: counts, bytes and elapsed time
    summary = result.stdout.strip().splitlines()[-2]
    assert re.fullmatch(
        rf"8 images: 8 pushed; {re.escape(human_bytes(moved['uploaded']))} uploaded.* in [\d.]+ s", summary
    )


def _sync_run(workdir: Path, package: Path, registry: RegistryProcess, repository: str) -> CliResult:
    config = workdir / "load-image.yaml"
    target = {
        "containerPrefixRegistry": registry.host,
        "containerPrefixRepository": repository,
        "repo": {"kind": "LOCAL", "path": str(workdir / "charts")},
    }
    config.write_text(json.dumps({"source": {"intermediateBundlesPath": str(package)}, "target": target}))
    return run_cli("sync", "--config", str(config), "--plain-http")


def _check_sync_progress(result: CliResult, package: OfflinePackage, registry: RegistryProcess) -> None:
    assert result.code == 0, result.stderr
    _assert_one_line_per_image(result.stderr, package, "pushed")
    _assert_reaches_total(result.stderr, f"push {registry.host}", push_total(package.path), 8)
    for bundle in package.bundles:
        assert f"published chart {bundle.chart_name} {bundle.chart_version} -> " in result.stderr
    publish = [line for line in result.stderr.splitlines() if line.startswith("publish LOCAL directory")]
    assert publish[0].endswith(": 0 of 2 done") and re.search(r": 2 of 2 done in [\d.]+ s$", publish[-1]), publish
    # images first: the image phase is over before the first chart is published
    lines = result.stderr.splitlines()
    last_push = max(i for i, line in enumerate(lines) if line.startswith("pushed "))
    assert last_push < next(i for i, line in enumerate(lines) if line.startswith("published "))
    summary = next(line for line in result.stdout.splitlines() if line.startswith("2 charts: "))
    assert re.fullmatch(r"2 charts: 2 published; 8 images \(8 pushed\), .+ uploaded.* in [\d.]+ s", summary), summary


def test_sync_logs_each_image_and_chart_and_reaches_the_total(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess
) -> None:
    _check_sync_progress(_sync_run(tmp_path, package.path, registry, "ux-sync"), package, registry)


@pytest.mark.big
def test_sync_of_500_mb_reaches_the_total(tmp_path: Path) -> None:
    """The issue's case: a 500 MB sync's byte progress reaches the total (about 15 s on 2 cores)."""
    try:
        big = write_offline_package(tmp_path / "pkg", layer_size=56_000_000, compresslevel=0, seed=500)
        assert big.path.stat().st_size > 500_000_000
        with start_registry(tmp_path / "registry") as registry:
            result = _sync_run(tmp_path, big.path, registry, "ux-big")
            _check_sync_progress(result, big, registry)
    finally:  # half a gigabyte twice over: do not leave it in pytest's kept temp folders
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_verify_hashing_then_push_are_two_phases(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess
) -> None:
    size = package.path.stat().st_size
    inspected = run_cli("inspect", str(package.path), "--verify")
    assert inspected.code == 0, inspected.stderr
    hashing = _status_lines(inspected.stderr, "sha512")
    assert hashing[0] == f"sha512: 0 B of {human_bytes(size)} (0%)"
    assert hashing[-1].startswith(f"sha512: {human_bytes(size)} of {human_bytes(size)} (100%) in ")
    args = ["push-images", str(package.path), "--registry", registry.host, "--plain-http", "--verify"]
    pushed = run_cli(*args, "--prefix-repository", "ux-verify-push")
    assert pushed.code == 0, pushed.stderr
    lines = pushed.stderr.splitlines()
    hashed = next(i for i, line in enumerate(lines) if line.startswith(f"sha512: {human_bytes(size)} of"))
    started = next(i for i, line in enumerate(lines) if line.startswith(f"push {registry.host}: 0 B of"))
    assert hashed < started  # the checksum phase ends (at its own total) before the push phase starts
    _assert_reaches_total(pushed.stderr, f"push {registry.host}", push_total(package.path), 8)


def test_verify_logs_each_image(package: OfflinePackage, registry: RegistryProcess) -> None:
    rules = ["--registry", registry.host, "--prefix-repository", "ux-verify"]
    assert run_cli("push-images", str(package.path), *rules, "--plain-http", "-q").code == 0
    result = run_cli("verify", str(package.path), *rules, "--plain-http")
    assert result.code == 0, result.stderr
    _assert_one_line_per_image(result.stderr, package, "present")
    label = f"verify {registry.host}"
    lines = _status_lines(result.stderr, label)
    assert lines[0] == f"{label}: 0 of 8 done" and re.fullmatch(rf"{label}: 8 of 8 done in [\d.]+ s", lines[-1])
    assert re.search(r"^8 checked: 8 present in [\d.]+ s", result.stdout, re.MULTILINE), result.stdout


def test_load_logs_each_image_and_reaches_the_total(package: OfflinePackage, containerd: ContainerdProcess) -> None:
    args = ["load", str(package.path), "--runtime", "containerd", "--address", containerd.address]
    result = run_cli(*args, "--namespace", "ux-progress", "--prefix-registry", "ux.example.com")
    assert result.code == 0, result.stderr
    label = f"load containerd {containerd.address}"
    lines = _status_lines(result.stderr, label)
    total = re.match(rf"{re.escape(label)}: 0 B of (\S+ \S+) \(0%\), 0 of 8 done$", lines[0])
    assert total, lines
    assert lines[-1].startswith(f"{label}: {total.group(1)} of {total.group(1)} (100%), 8 of 8 done in "), lines
    for ref in package.image_refs:
        assert sum(line.startswith(f"loaded    {ref} -> ux.example.com/") for line in result.stderr.splitlines()) == 1
    assert re.search(r"^8 of 8 images loaded into containerd .* in [\d.]+ s$", result.stdout, re.MULTILINE)


def test_retries_are_shown_even_when_quiet(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    with faulty_proxy(registry.host, [Fault("PUT", "/blobs/uploads/", 503, times=1)]) as proxy:
        args = ["push-images", str(package.path), "--registry", proxy.host, "--plain-http", "-q"]
        result = run_cli(*args, "--prefix-repository", "ux-retry")
    assert result.code == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("skoala-airgap: retrying ") for line in lines), result.stderr
    assert re.search(r"retrying upload of [0-9a-f]{12} in [\d.]+ s \(1/\d\)", lines[0]), lines


# -- on a terminal --------------------------------------------------------------------------------------------


def _run_on_tty(args: list[str], *, columns: int) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal of ``columns`` (0: a pty nobody sized); stdout piped."""
    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "skoala_airgap", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.stdout is not None
    stdout = proc.stdout.read().decode()
    return proc.wait(timeout=60), stdout, b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("columns", [120, 0], ids=["sized", "unsized-pty"])
def test_terminal_shows_a_bar_with_bytes(package: OfflinePackage, registry: RegistryProcess, columns: int) -> None:
    args = ["push-images", str(package.path), "--registry", registry.host, "--plain-http"]
    code, stdout, tty = _run_on_tty([*args, "--prefix-repository", f"ux-tty-{columns}"], columns=columns)
    assert code == 0, tty
    total = human_bytes(push_total(package.path)).replace(" ", "").replace("iB", "")  # tqdm: 7.7M
    assert f"\rpush {registry.host}: " in tty and "100%|" in tty and "B/s]" in tty, tty
    assert f"{total}/{total}" in tty, (total, tty)
    assert tty.count("\rpushed    ") + tty.count("\npushed    ") == 8  # item lines above the bar
    assert "(0%), 0 of" not in tty  # no plain status lines on a terminal
    assert "8 images: 8 pushed" in stdout
    code, _, quiet = _run_on_tty([*args, "--prefix-repository", f"ux-tty-q{columns}", "-q"], columns=columns)
    assert code == 0 and "%|" not in quiet and "pushed" not in quiet, quiet


# -- the model itself ------------------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_most_every_interval_with_eta() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = ConsoleProgress(stream=out, interval=5.0, clock=clock)
    progress.start(1000 * 1024, "push h", items=2)
    assert out.getvalue() == "push h: 0 B of 1000.0 KiB (0%), 0 of 2 done\n"
    clock.now += 1
    progress.advance(100 * 1024)  # within the interval: quiet
    assert out.getvalue().count("\n") == 1
    clock.now += 4
    progress.advance(150 * 1024)
    assert out.getvalue().splitlines()[-1] == "push h: 250.0 KiB of 1000.0 KiB (25%), 0 of 2 done, 50.0 KiB/s, ETA 15 s"
    progress.item(ItemDone("pushed", "a:v1", "h/a:v1", "sha256:" + "ab" * 32, 500 * 1024))
    assert out.getvalue().splitlines()[-1] == f"pushed    a:v1 -> h/a:v1 sha256:{'ab' * 6} 500.0 KiB"
    progress.note("retrying upload of sha256:abc in 1.0 s (1/5)")
    progress.advance(750 * 1024)
    progress.item(ItemDone("pushed", "b:v1", "h/b:v1"))
    clock.now += 5
    progress.close()
    assert (
        out.getvalue().splitlines()[-1] == "push h: 1000.0 KiB of 1000.0 KiB (100%), 2 of 2 done in 10 s, 100.0 KiB/s"
    )
    assert "skoala-airgap: retrying upload of sha256:abc in 1.0 s (1/5)" in out.getvalue()


def test_a_new_label_is_a_new_phase_and_quiet_keeps_failures_and_retries() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = ConsoleProgress(stream=out, clock=clock)
    progress.start(10, "sha512")
    clock.now += 1
    progress.advance(10)
    progress.start(20, "push h", items=1)  # ends the hashing phase at its own total
    progress.start(5, "push h", items=1)  # the same label adds to the phase
    clock.now += 2.5
    progress.advance(25)
    progress.close()
    assert out.getvalue().splitlines() == [
        "sha512: 0 B of 10 B (0%)",
        "sha512: 10 B of 10 B (100%) in 1.0 s, 10 B/s",
        "push h: 0 B of 20 B (0%), 0 of 1 done",
        "push h: 25 B of 25 B (100%), 0 of 2 done in 2.5 s, 10 B/s",
    ]
    quiet = io.StringIO()
    progress = ConsoleProgress(stream=quiet, quiet=True, clock=clock)
    progress.start(10, "push h", items=2)
    progress.item(ItemDone("pushed", "a:v1"))
    progress.item(ItemDone("failed", "b:v1", error="HTTP 500"))
    progress.note("h: using plain HTTP (--plain-http)")
    progress.note("retrying HEAD /v2/: HTTP 503 in 0.5 s (1/5)")
    progress.close()
    assert quiet.getvalue().splitlines() == [
        "failed    b:v1  (HTTP 500)",
        "skoala-airgap: retrying HEAD /v2/: HTTP 503 in 0.5 s (1/5)",
    ]


def test_a_stalled_phase_still_logs_a_line_every_interval() -> None:
    """No byte moves (a hung upload, a long Retry-After): the line keeps coming, so a CI log is never silent."""
    out = io.StringIO()
    progress = ConsoleProgress(stream=out, interval=0.1)
    progress.start(100, "push h", items=1)
    time.sleep(0.55)
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "push h: 0 B of 100 B (0%), 0 of 1 done"
    assert sum(line == "push h: 0 B of 100 B (0%), 0 of 1 done" for line in lines) >= 3, lines
    assert lines[-1].startswith("push h: 0 B of 100 B (0%), 0 of 1 done in ")
