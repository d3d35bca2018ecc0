"""bench/push.py: push a >= 1 GiB bundle (8 images, shared base layers, incompressible) to a fresh
local registry with skoala-airgap, skopeo and raw curl, all in one run.

Run: ``.venv/bin/python -m bench.push [--runs 3] [--layer-mib 100]``.

(1) skoala-airgap push-images on the bundle (read in place);
(2) ``skopeo copy docker-archive:images.tar:<name>`` image by image (images.tar extracted beforehand,
    extraction not counted; registry wiped and skopeo's blob-info cache removed before each run);
(3) curl POST + monolithic PUT of the same unique blobs, one at a time and 4 in parallel (the ceiling);
(4) skoala-airgap again onto the filled registry.
Each figure is the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import MB, Timed, median, run_child, skoala
from fixtures.bundles import write_bundle
from fixtures.charts import hints_bytes, skoala_chart
from fixtures.images import Image, make_image, make_layer, write_ggcr_tarball
from tests.infra.registry import RegistryProcess, skopeo_env, start_registry


def build_bundle(work: Path, layer_mib: int) -> tuple[Path, Path, list[Image]]:
    size = layer_mib * 1024 * 1024
    layers = work / "layers"
    bases = [make_layer(layers, size, seed=f"base{i}", compresslevel=0) for i in range(2)]
    images = [
        make_image(
            [f"docker.m.daocloud.io/skoala/app{i}:v0.28.1"],
            [bases[i % 2], make_layer(layers, size, seed=f"own{i}", compresslevel=0)],
        )
        for i in range(8)
    ]
    images_tar = write_ggcr_tarball(work / "images.tar", images)
    chart = skoala_chart()
    bundle = write_bundle(work / "skoala_0.28.1.bundle.tar", chart, hints_bytes(chart), images_tar)
    return bundle, images_tar, images


def unique_blobs(images: list[Image], work: Path) -> list[tuple[Path, str]]:
    blobs: dict[str, Path] = {}
    for image in images:
        config = work / "configs" / image.config_hex
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_bytes(image.config)
        blobs[image.config_digest] = config
        for layer in image.layers:
            blobs[layer.gz_digest] = layer.gz_path
    return [(path, digest) for digest, path in blobs.items()]


class TmpWatcher:
    """Samples TMPDIR while a run goes on and records the largest file seen there."""

    def __init__(self, root: Path) -> None:
        self.root, self.largest, self._stop = root, 0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            for path in self.root.rglob("*"):
                try:
                    self.largest = max(self.largest, path.stat().st_size if path.is_file() else 0)
                except OSError:
                    continue

    def __enter__(self) -> TmpWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def push_skoala(bundle: Path, reg: RegistryProcess, tmpdir: Path) -> tuple[Timed, dict[str, int], int]:
    import os

    env = dict(os.environ, TMPDIR=str(tmpdir))
    report_path = tmpdir.parent / "report.json"
    with TmpWatcher(tmpdir) as watcher:
        args = skoala("push-images", str(bundle), "--registry", reg.host, "--plain-http", "--json")
        with report_path.open("w") as out:
            timed = _run_to(args, env, out)
    report = json.loads(report_path.read_text())
    totals = {k: sum(i["bytes"][k] for i in report["images"]) for k in ("uploaded", "skipped", "mounted")}
    return timed, totals, watcher.largest


def _run_to(args: list[str], env: dict[str, str], out: object) -> Timed:
    import os
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.PIPE)  # type: ignore[arg-type]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "push failed")
    return Timed(elapsed, usage.ru_maxrss / 1024)


def push_skopeo(images_tar: Path, images: list[Image], reg: RegistryProcess, work: Path) -> float:
    env = skopeo_env(work / "skopeo")
    shutil.rmtree(work / "skopeo" / "xdg-data", ignore_errors=True)  # blob-info cache lives here
    env = skopeo_env(work / "skopeo")
    total = 0.0
    for image in images:
        name = image.names[0]
        repo = name.split("/", 1)[1]
        args = ["skopeo", "--tmpdir", env["TMPDIR"], "copy", "--dest-tls-verify=false"]
        args += [f"docker-archive:{images_tar}:{name}", f"docker://{reg.host}/skopeo/{repo}"]
        total += run_child(args, env=env).seconds
    return total


def curl_upload(reg: RegistryProcess, path: Path, digest: str, repo: str) -> None:
    location = subprocess.run(
        ["curl", "-sS", "-X", "POST", "-D", "-", "-o", "/dev/null", f"{reg.url}/v2/{repo}/blobs/uploads/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loc = next(line.split(":", 1)[1].strip() for line in location.splitlines() if line.lower().startswith("location:"))
    url = loc if loc.startswith("http") else reg.url + loc
    url += ("&" if "?" in url else "?") + f"digest={digest}"
    subprocess.run(
        ["curl", "-sS", "-f", "-T", str(path), "-H", "Content-Type: application/octet-stream", url],
        capture_output=True,
        check=True,
    )


def push_curl(reg: RegistryProcess, blobs: list[tuple[Path, str]], parallel: int) -> float:
    import time

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(lambda b: curl_upload(reg, b[0], b[1], "curl/blobs"), blobs))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layer-mib", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        work = Path(tmp)
        bundle, images_tar, images = build_bundle(work, args.layer_mib)
        blobs = unique_blobs(images, work)
        unique = sum(p.stat().st_size for p, _ in blobs)
        tmpdir = work / "tmp"
        tmpdir.mkdir()
        results: dict[str, list[float]] = {k: [] for k in ("skoala", "skopeo", "curl1", "curl4", "again")}
        rss: list[float] = []
        largest_tmp = 0
        again_uploaded = 0
        with start_registry(work / "reg") as reg:
            for _ in range(args.runs):
                reg.reset()
                timed, _, largest = push_skoala(bundle, reg, tmpdir)
                results["skoala"].append(timed.seconds)
                rss.append(timed.peak_rss_mb)
                largest_tmp = max(largest_tmp, largest)
                again, totals, _ = push_skoala(bundle, reg, tmpdir)
                results["again"].append(again.seconds)
                again_uploaded = max(again_uploaded, totals["uploaded"])
                reg.reset()
                results["skopeo"].append(push_skopeo(images_tar, images, reg, work))
                for parallel, key in ((1, "curl1"), (4, "curl4")):
                    reg.reset()
                    results[key].append(push_curl(reg, blobs, parallel))
        med = {k: median(v) for k, v in results.items()}
        ceiling = min(med["curl1"], med["curl4"])
        print(
            f"bundle: {bundle.stat().st_size:,} bytes; unique blobs: {len(blobs)}, {unique:,} bytes; runs: {args.runs}"
        )
        for key, label in (
            ("skoala", "(1) skoala-airgap push-images"),
            ("skopeo", "(2) skopeo copy, image by image"),
            ("curl1", "(3a) curl, one blob at a time"),
            ("curl4", "(3b) curl, 4 blobs in parallel"),
            ("again", "(4) skoala-airgap onto the filled registry"),
        ):
            runs = ", ".join(f"{v:.2f}" for v in results[key])
            print(f"{label:45} median {med[key]:6.2f} s  {unique / med[key] / MB:7.1f} MB/s  (runs: {runs})")
        print(f"ratio (2)/(1) skopeo time / skoala time: {med['skopeo'] / med['skoala']:.2f}x (target >= 2)")
        print(f"ratio (1) throughput / ceiling (3): {ceiling / med['skoala']:.2f} (target >= 0.85)")
        print(f"ratio (4)/(1): {med['again'] / med['skoala']:.3f} (target <= 0.10)")
        print(f"bytes uploaded in (4): {again_uploaded}")
        print(f"peak RSS of (1): {max(rss):.1f} MB (target <= 150); largest temp file: {largest_tmp} bytes (<= 16 MB)")


if __name__ == "__main__":
    main()
