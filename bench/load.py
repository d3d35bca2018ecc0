"""bench/load.py: load a bundle (8 images, shared base layers, incompressible) into podman and containerd
with skoala-airgap, against the manual way: extract images.tar, then ``podman load -i`` / ``ctr import``.

Run: ``.venv/bin/python -m bench.load [--runs 3] [--layer-mib 64] [--concurrency 2]``.

Both runtimes are private instances started here (tests/infra): a ``podman system service`` (Docker API,
overlay storage) and a containerd without CRI. For each runtime and each run, in alternating order:

(1) baseline: ``tar -xf bundle images.tar`` (counted) then ``podman load -i images.tar`` or
    ``ctr -n k8s.io images import images.tar``;
(2) ``skoala-airgap load bundle --runtime podman|containerd`` (streamed, nothing extracted).

Every run starts from an empty image store (podman ``rmi -a``; containerd ``images rm --sync`` into a fresh
namespace, after which its content store is checked empty), then ``sync``. Figures are medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import bench.push
from bench.common import MB, median, run_child, skoala
from fixtures.images import Image
from tests.infra.containerd import ContainerdProcess, start_containerd
from tests.infra.podman import PodmanService, podman_cli, start_podman_service


def build_bundle(work: Path, layer_mib: int) -> tuple[Path, list[Image]]:
    """The push benchmark's bundle, without its loose layer files (the baselines extract their own)."""
    bundle, images_tar, images = bench.push.build_bundle(work, layer_mib)
    images_tar.unlink()
    shutil.rmtree(work / "layers")
    return bundle, images


def payload_bytes(images: list[Image]) -> int:
    blobs = {la.gz_digest: la.gz_size for image in images for la in image.layers}
    return sum(blobs.values()) + sum(len(image.config) for image in images)


class Podman:
    def __init__(self, svc: PodmanService, bundle: Path, scratch: Path, concurrency: int) -> None:
        self.svc, self.bundle, self.scratch, self.concurrency = svc, bundle, scratch, concurrency

    def reset(self) -> None:
        podman_cli(self.svc, "rmi", "-a", "-f")

    def baseline(self) -> float:
        extract = run_child(["tar", "-xf", str(self.bundle), "-C", str(self.scratch), "images.tar"])
        tar = self.scratch / "images.tar"
        load = run_child(["podman", "load", "-q", "-i", str(tar)], env=self.svc.env)
        tar.unlink()
        return extract.seconds + load.seconds

    def ours(self) -> float:
        where = ("--host", self.svc.base_url, "--concurrency", str(self.concurrency), "-q")
        return run_child(skoala("load", str(self.bundle), "--runtime", "podman", *where)).seconds

    def check(self, images: list[Image]) -> None:
        names = set(podman_cli(self.svc, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())
        assert {n for image in images for n in image.names} <= names, names


class Containerd:
    def __init__(self, cd: ContainerdProcess, bundle: Path, scratch: Path, concurrency: int) -> None:
        self.cd, self.bundle, self.scratch, self.concurrency, self.round = cd, bundle, scratch, concurrency, 0
        self.namespace = "k8s.io"

    def reset(self) -> None:
        names = self.cd.image_names(self.namespace)
        if names:
            self.cd.ctr("images", "rm", "--sync", *names, namespace=self.namespace)
        left = self.cd.ctr("content", "ls", "-q", namespace=self.namespace).stdout.split()
        assert not left, f"containerd kept {len(left)} blobs after the reset"
        self.round += 1
        self.namespace = f"bench{self.round}"

    def baseline(self) -> float:
        extract = run_child(["tar", "-xf", str(self.bundle), "-C", str(self.scratch), "images.tar"])
        tar = self.scratch / "images.tar"
        ctr = ["ctr", "--address", self.cd.address, "-n", self.namespace, "images", "import", str(tar)]
        load = run_child(ctr, env=self.cd.env)
        tar.unlink()
        return extract.seconds + load.seconds

    def ours(self) -> float:
        where = ["--address", self.cd.address, "--namespace", self.namespace]
        where += ["--concurrency", str(self.concurrency), "-q"]
        return run_child(skoala("load", str(self.bundle), "--runtime", "containerd", *where)).seconds

    def check(self, images: list[Image]) -> None:
        names = set(self.cd.image_names(self.namespace))
        assert {n for image in images for n in image.names} <= names, names


def measure(runtime: Podman | Containerd, runs: int, images: list[Image]) -> tuple[list[float], list[float]]:
    base: list[float] = []
    ours: list[float] = []
    for n in range(runs):
        order: list[tuple[list[float], Callable[[], float]]] = [(base, runtime.baseline), (ours, runtime.ours)]
        for into, func in order if n % 2 == 0 else reversed(order):
            runtime.reset()
            os.sync()  # start each run with no writeback of the previous one pending
            into.append(func())
            runtime.check(images)
    runtime.reset()
    return base, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layer-mib", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=2, help="skoala-airgap load --concurrency")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch dir (default: a new temp dir)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-load-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bundle, images = build_bundle(work / "src", args.layer_mib)
        size = payload_bytes(images)
        print(f"bundle: {bundle.stat().st_size / MB:.0f} MB, {len(images)} images, {size / MB:.0f} MB of blobs")
        rows = []
        scratch = work / "extract"
        scratch.mkdir()
        with start_podman_service(work / "podman") as svc:
            podman = Podman(svc, bundle, scratch, args.concurrency)
            rows.append(("podman", "podman load -i", *measure(podman, args.runs, images)))
        with start_containerd(work / "containerd") as cd:
            runtime = Containerd(cd, bundle, scratch, args.concurrency)
            rows.append(("containerd", "ctr images import", *measure(runtime, args.runs, images)))
        print(f"\nmedian of {args.runs} runs, --concurrency {args.concurrency}; baseline includes `tar -xf`\n")
        print("| runtime | baseline | baseline s | skoala-airgap s | skoala-airgap MB/s | speed-up |")
        print("|---|---|---|---|---|---|")
        for name, label, base, ours in rows:
            b, o = median(base), median(ours)
            print(f"| {name} | extract + `{label}` | {b:.2f} | {o:.2f} | {size / MB / o:.0f} | {b / o:.2f}x |")
        for name, _, base, ours in rows:
            print(f"{name}: baseline {[round(x, 2) for x in base]}, skoala-airgap {[round(x, 2) for x in ours]}")
    finally:
        if args.workdir is None:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
