"""SIGINT and SIGTERM during a push (issue 10, defect 12): the run stops within 2 s with exit 130 / 143
and one line on stderr, the upload journal stays readable, and a rerun finishes the job.

The push is held mid-upload by a proxy that takes one chunk's body and never answers, so the signal
always lands while a request is in flight (the worst case: a thread blocked in a socket read).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.images import write_images_tar
from tests.helpers import run_cli, sample_images
from tests.infra.faulty_proxy import Fault, faulty_proxy
from tests.infra.registry import RegistryProcess

STOP_BOUND = 2.0  # seconds from the signal to the exit


def _as_from_a_terminal() -> None:
    """The child's SIGINT as a foreground command gets it: a runner started in the background (``nohup``,
    ``cmd &`` without job control) ignores SIGINT, children inherit that, and Python then keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _journal_entries(state: Path) -> list[list[object]]:
    """Every open session in the journal; the file must parse whatever moment the run was stopped at."""
    path = state / "uploads.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    entries = [entry for sessions in data.values() for entry in sessions.values()]
    for entry in entries:
        assert isinstance(entry, list) and len(entry) == 2, entry
        assert isinstance(entry[0], str) and isinstance(entry[1], int) and entry[1] >= 0, entry
    return entries


@pytest.mark.parametrize(
    ("sig", "code", "name"),
    [(signal.SIGINT, 130, "interrupted (SIGINT)"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
    ids=["SIGINT", "SIGTERM"],
)
def test_signal_stops_a_push_and_a_rerun_finishes(
    tmp_path: Path, registry: RegistryProcess, sig: signal.Signals, code: int, name: str
) -> None:
    images = sample_images(tmp_path / "layers", count=1, layer_size=3_000_000)
    source = write_images_tar(tmp_path / "images.tar", images, "ggcr")
    state = tmp_path / "state"
    repository = f"signals/{sig.name.lower()}"
    # The second chunk PATCH of the run is read and never answered.
    stall = Fault("PATCH", "/blobs/uploads/", 0, times=1, stall=True, skip=1)
    with faulty_proxy(registry.host, [stall]) as proxy:
        args = ["push-images", str(source), "--registry", proxy.host, "--plain-http", "-q"]
        args += ["--prefix-repository", repository, "--chunk-size", str(1 << 20), "--state-dir", str(state)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "skoala_airgap", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_as_from_a_terminal,
        )
        try:
            deadline = time.monotonic() + 30
            while not any(s[2] == 0 for s in proxy.seen):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the push never reached the stalled chunk"
                time.sleep(0.05)
            time.sleep(0.2)  # let the other uploads get going too
            sent = time.monotonic()
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=30)
            elapsed = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == code, stderr
        assert elapsed < STOP_BOUND, f"took {elapsed:.2f} s to stop"
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"skoala-airgap: {name}"), stderr
        assert "Traceback" not in stderr
        _journal_entries(state)  # readable, well-formed

        rerun = run_cli(*args, "--json")
    assert rerun.code == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert {i["status"] for i in report["images"]} == {"pushed"}
    assert _journal_entries(state) == [], "the rerun left sessions open in the journal"
    tag = images[0].names[0].rsplit(":", 1)[1]
    target = f"{repository}/{images[0].names[0].split('/', 1)[1].rsplit(':', 1)[0]}"
    response = registry.session().head(
        f"{registry.url}/v2/{target}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    assert response.status_code == 200, target
