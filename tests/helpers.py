"""Small helpers shared by tests: run the CLI as a user would, build images with the fixture factory."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fixtures.images import Image, Layer, make_image, make_layer


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
    """Run ``python -m skoala_airgap`` in a subprocess: real exit codes, real stderr, no shared state."""
    proc = subprocess.run(
        [sys.executable, "-m", "skoala_airgap", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def write_yaml(path: Path, data: Any) -> Path:
    """A load-image.yaml (or any YAML) in the key order given."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def chart_values(tgz: bytes, name: str) -> dict[str, Any]:
    """values.yaml of chart ``name`` in a chart .tgz, as published."""
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile(f"{name}/values.yaml")
        assert member is not None
        return dict(yaml.safe_load(member.read()))


def sample_images(workdir: Path, *, layer_size: int = 4096, count: int = 3) -> list[Image]:
    """``count`` images sharing one base layer, plus a zero-layer image; deterministic."""
    base: Layer = make_layer(workdir, layer_size, seed="base")
    images = [
        make_image([f"docker.m.daocloud.io/skoala/app{i}:v0.{i}.0"], [base, make_layer(workdir, layer_size, seed=i)])
        for i in range(count)
    ]
    images.append(make_image(["docker.m.daocloud.io/skoala/empty:v1"], []))
    return images
