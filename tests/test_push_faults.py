"""Retries and fallbacks, against the real registry behind a fault-injecting proxy."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fixtures.images import write_images_tar
from tests.helpers import run_cli, sample_images
from tests.infra.faulty_proxy import Fault, faulty_proxy
from tests.infra.registry import RegistryProcess

CASES = [
    ("429-retry-after", Fault("PUT", "/blobs/uploads/", 429, times=2, headers={"Retry-After": "1"}), 0),
    ("503-on-tag-head", Fault("HEAD", "/manifests/", 503, times=3), 0),
    ("503-on-repository-check", Fault("GET", "/tags/list", 503, times=2), 0),
    ("500-on-manifest-put", Fault("PUT", "/manifests/", 500, times=1), 0),
    ("413-falls-back-to-chunks", Fault("PUT|PATCH", "/blobs/uploads/", 413, times=50, min_body=600_000), 0),
    ("persistent-500-fails", Fault("PUT", "/manifests/", 500, times=1000), 1),
]


@pytest.mark.parametrize(("name", "fault", "code"), CASES, ids=[c[0] for c in CASES])
def test_fault(tmp_path: Path, registry: RegistryProcess, name: str, fault: Fault, code: int) -> None:
    images = sample_images(tmp_path / "layers", count=1, layer_size=2_000_000)
    source = write_images_tar(tmp_path / "images.tar", images, "ggcr")
    with faulty_proxy(registry.host, [fault]) as proxy:
        start = time.monotonic()
        args = ["push-images", str(source), "--registry", proxy.host, "--plain-http", "--json"]
        args += ["--prefix-repository", f"faults-{name}"]
        result = run_cli(*args)
        elapsed = time.monotonic() - start
    assert result.code == code, result.stderr
    injected = [s for s in proxy.seen if s[2] == fault.status]
    assert injected, "the fault was never hit"
    if code == 0:
        report = json.loads(result.stdout)
        assert {i["status"] for i in report["images"]} == {"pushed"}
    if name == "429-retry-after":
        assert elapsed >= 1.0  # the Retry-After: 1 wait was honoured (both hits may wait in parallel)
    if name.startswith("413"):
        # Pieces halve until they pass the 600 kB limit: the 2 MB layers arrive in 512 KiB chunks.
        assert any(s[0] == "PATCH" and s[2] == 202 for s in proxy.seen), "no PATCH got through after the 413"
