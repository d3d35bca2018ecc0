"""bench/resume.py: how many bytes go twice after a SIGKILL mid-push, and under 5 % injected resets
(issue 10's resume targets), against the real registry behind tests/infra/throttle_proxy.py.

Run: ``.venv/bin/python -m bench.resume [--layer-mib 160] [--rate 80] [--seeds 3]``.

(1) SIGKILL: one image of 4 random layers of ``--layer-mib`` MiB, pushed through the proxy at ``--rate``
    MB/s, killed when 35 %, 55 % and 75 % of its bytes have passed; then the same command again at full
    speed through the same proxy (the journal names its host). In-flight bytes are those the killed run
    sent for blobs it did not finish; re-sent = what the rerun sent beyond the bytes never sent before.
    With the default chunk size and with ``--chunk-size 16 MiB``.
(2) Resets: the push benchmark's large shape (8 images, 18 blobs, 1.05 GB) through the proxy, each PUT or
    PATCH with a body reset at a random point of it with probability 5 %; re-sent = upload body bytes
    beyond the unique bytes, over the unique bytes. ``--seeds`` runs (a run injects only a
    few resets, so the mean over runs is the figure).

Both for the two ways a path treats a cut-off request (see the proxy): ``buffer`` (store-and-forward,
nginx's default: the registry never sees it) and ``stream`` (cut-through: distribution 2.8 sees it and
drops the session).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import MB, median
from bench.push import large_shape
from fixtures.images import Image, make_image, make_layer, write_ggcr_tarball
from tests.infra.registry import RegistryProcess, start_registry
from tests.infra.throttle_proxy import KillResume, finished_digests, settle, throttle_proxy, upload_body_bytes

KILL_AT = (0.35, 0.55, 0.75)
MODES = ("buffer", "stream")


def push_args(source: Path, host: str, work: Path, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "skoala_airgap", "push-images", str(source), "--registry", host]
    return [*args, "--plain-http", "-q", "--receipt", str(work / "receipt.json"), *extra]


@dataclass
class Case:
    reg: RegistryProcess
    work: Path

    def env(self) -> dict[str, str]:
        return dict(os.environ, SKOALA_AIRGAP_STATE_DIR=str(self.work / "state"))

    def fresh(self) -> None:
        self.reg.reset()
        shutil.rmtree(self.work / "state", ignore_errors=True)


def kill_case(
    case: Case, source: Path, image: Image, mode: str, at: float, rate: float, extra: list[str]
) -> KillResume:
    case.fresh()
    sizes = {image.config_digest: len(image.config), **{la.gz_digest: la.gz_size for la in image.layers}}
    unique = sum(sizes.values())
    with throttle_proxy(case.reg.host, mode=mode, rate=rate) as proxy:
        args = push_args(source, proxy.host, case.work, *extra)
        proc = subprocess.Popen(args, env=case.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not proxy.wait_until(lambda: proxy.received >= at * unique, 300) or proc.poll() is not None:
            raise RuntimeError("the push ended before it could be killed")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        settle(proxy)
        first = list(proxy.seen)
        proxy.rate = None
        rerun = subprocess.run(args, env=case.env(), capture_output=True, text=True)
        if rerun.returncode != 0:
            raise RuntimeError(rerun.stderr)
        return KillResume(
            unique,
            upload_body_bytes(first),
            sum(sizes.get(d, 0) for d in finished_digests(first)),
            upload_body_bytes(proxy.seen[len(first) :]),
        )


def reset_case(case: Case, source: Path, unique: int, mode: str, seed: int) -> tuple[float, float, int]:
    """(re-sent / unique, seconds, resets injected)."""
    case.fresh()
    with throttle_proxy(case.reg.host, mode=mode, reset_rate=0.05, seed=seed) as proxy:
        started = time.perf_counter()
        run = subprocess.run(push_args(source, proxy.host, case.work), env=case.env(), capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if run.returncode != 0:
            raise RuntimeError(run.stderr)
        sent = upload_body_bytes(proxy.seen)
        resets = sum(1 for s in proxy.seen if s.status == 0 and s.method in ("PUT", "PATCH"))
    return (sent - unique) / unique, elapsed, resets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer-mib", type=int, default=160, help="layer size of the SIGKILL image")
    parser.add_argument("--rate", type=float, default=80.0, help="MB/s through the proxy until the kill")
    parser.add_argument("--seeds", type=int, default=8, help="runs of the reset case per mode")
    parser.add_argument("--large-layer-mib", type=int, default=100, help="layer size of the reset case's shape")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
        work = Path(tmp)
        layers = [make_layer(work / "layers", args.layer_mib << 20, seed=f"kill{i}", compresslevel=0) for i in range(4)]
        for la in layers:
            la.tar_path.unlink()
        image = make_image(["docker.m.daocloud.io/skoala/resume:v1"], layers)
        source = write_ggcr_tarball(work / "images.tar", [image])
        (work / "large").mkdir()
        shape = large_shape(work / "large", args.large_layer_mib)
        with start_registry(work / "reg") as reg:
            case = Case(reg, work)
            print(f"(1) SIGKILL: 4 layers of {args.layer_mib} MiB, {args.rate:g} MB/s through the proxy until the kill")
            for chunk_label, extra in (
                ("default (64 MiB)", []),
                ("--chunk-size 16 MiB", ["--chunk-size", str(16 << 20)]),
            ):
                for mode in MODES:
                    results = [kill_case(case, source, image, mode, at, args.rate * MB, extra) for at in KILL_AT]
                    cells = "  ".join(
                        f"at {at:.0%}: {r.resent / MB:6.1f} of {r.in_flight / MB:6.1f} MB = {r.fraction:6.1%}"
                        for at, r in zip(KILL_AT, results, strict=True)
                    )
                    total = sum(r.resent for r in results) / sum(r.in_flight for r in results)
                    print(f"  chunks {chunk_label:20} {mode:6}  {cells}   all: {total:.1%}", flush=True)
            print(f"(2) 5 % resets of PUT/PATCH bodies: {len(shape.blobs)} blobs, {shape.unique_bytes:,} bytes")
            for mode in MODES:
                runs = [reset_case(case, shape.source, shape.unique_bytes, mode, seed) for seed in range(args.seeds)]
                fractions = ", ".join(f"{f:.1%} ({n} resets, {t:.1f} s)" for f, t, n in runs)
                mean = sum(f for f, _, _ in runs) / len(runs)
                print(f"  {mode:6} re-sent / unique: mean {mean:.1%}, median {median([f for f, _, _ in runs]):.1%}")
                print(f"         runs: {fractions}", flush=True)


if __name__ == "__main__":
    main()
