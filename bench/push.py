"""bench/push.py: push two package shapes to a fresh local registry with skoala-airgap, curl and skopeo,
all in one run, interleaved.

Run: ``.venv/bin/python -m bench.push [--runs 3] [--shapes large,skoala] [--scale 1.0] [--skopeo-runs N]``.

Shapes:

- ``large``: one bundle of 8 images (two shared 100 MiB base layers, one 100 MiB own layer each, random
  data): 18 unique blobs, 1.05 GB (``--layer-mib``);
- ``skoala``: a vendor offline package like ``skoala_v0.28.1_amd64.tar``: 2 bundles (skoala, skoala-init),
  20 images, 160 unique blobs (20 configs, 4 shared base layers of 40 MB, 16 layers of 30-45 MB,
  120 layers of 3-6 MB), 1.3 GB of random data. ``--scale`` shrinks every layer (the counts stay).

Per shape and run (registry wiped, fresh state directory, skopeo's blob-info cache removed):

(1) skoala-airgap push-images at ``--concurrency`` 4, 8 and 16 (the default is one of them);
(2) after the default-concurrency run: skoala-airgap into *new* repositories of the filled registry
    (``--prefix-repository copy``, same state directory): every blob should be mounted, none uploaded;
(3) then the first command again (warm re-run): one manifest HEAD per image, nothing else;
(4) curl: POST + monolithic PUT of every unique blob, 4 and 8 curl pipelines in parallel (the ceiling);
(5) ``skopeo copy docker-archive:images.tar:<name>`` image by image (first ``--skopeo-runs`` runs only).

Reported: medians, MB/s over the unique bytes, requests from the registry's access log, blob bytes
uploaded (our report and the log's upload PUT/PATCH count), peak RSS of the child (wait4 rusage),
the largest file seen in the child's TMPDIR and what is left there afterwards, and the ratios the
targets of issue 14 name.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import MB, Timed, median, run_child, skoala
from fixtures.bundles import bundle_file_name, write_bundle
from fixtures.charts import chart_metadata, hint_images, hints_bytes, skoala_chart, skoala_init_chart, write_chart_tgz
from fixtures.images import Image, Layer, make_image, make_layer, write_ggcr_tarball
from tests.infra.registry import RegistryProcess, skopeo_env, start_registry

CONCURRENCIES = (4, 8, 16)


@dataclass
class Shape:
    """One benchmark input: what push-images reads, what skopeo and curl read instead."""

    name: str
    source: Path  # bundle or offline package, read in place by skoala-airgap
    archives: list[tuple[Path, list[str]]]  # (images.tar, its image names): skopeo's input
    blobs: list[tuple[Path, str]]  # every unique blob as a file and its digest: curl's input
    images: int

    @property
    def unique_bytes(self) -> int:
        return sum(p.stat().st_size for p, _ in self.blobs)


# -- shapes --------------------------------------------------------------------------------------------


def build_bundle(work: Path, layer_mib: int) -> tuple[Path, Path, list[Image]]:
    """The large-layer shape: one bundle, 8 images, two shared bases and one own layer each."""
    size = layer_mib * 1024 * 1024
    layers = work / "layers"
    bases = [make_layer(layers, size, seed=f"base{i}", compresslevel=0) for i in range(2)]
    chart = skoala_chart()
    refs = hint_images(chart)  # every image the hints name must be in the bundle
    refs += [f"docker.m.daocloud.io/skoala/app{i}:v0.28.1" for i in range(len(refs), 8)]
    images = [
        make_image([ref], [bases[i % 2], make_layer(layers, size, seed=f"own{i}", compresslevel=0)])
        for i, ref in enumerate(refs)
    ]
    images_tar = write_ggcr_tarball(work / "images.tar", images)
    bundle = write_bundle(work / "skoala_0.28.1.bundle.tar", chart, hints_bytes(chart), images_tar)
    return bundle, images_tar, images


def large_shape(work: Path, layer_mib: int) -> Shape:
    bundle, images_tar, images = build_bundle(work, layer_mib)
    _drop_plain_tars(images)
    return Shape("large", bundle, [(images_tar, [i.names[0] for i in images])], unique_blobs(images, work), len(images))


def skoala_shape(work: Path, scale: float) -> Shape:
    """2 bundles, 20 images, 160 unique blobs, about 1.3 GB at scale 1 (see the module docstring)."""
    rng = random.Random("skoala-shape")
    layers = work / "layers"

    def layer(low_mb: float, high_mb: float, seed: str) -> Layer:
        size = max(4096, int(rng.uniform(low_mb, high_mb) * MB * scale))
        made = make_layer(layers, size, seed=seed, compresslevel=0)
        made.tar_path.unlink()  # only the blob (gzip level 0) is needed
        return made

    bases = [layer(40, 40, f"base{i}") for i in range(4)]
    charts = [skoala_chart(), skoala_init_chart()]
    all_images: list[Image] = []
    archives: list[tuple[Path, list[str]]] = []
    members: list[Path] = []
    for chart in charts:
        name, version = chart_metadata(chart)
        refs = hint_images(chart)
        refs += [f"docker.m.daocloud.io/skoala/{name}-extra{i}:v{version}" for i in range(10 - len(refs))]
        images = []
        for ref in refs:
            index = len(all_images) + len(images)
            own = [layer(30, 45, f"big{index}")] if index < 16 else []
            own += [layer(3, 6, f"small{index}.{j}") for j in range(6)]
            images.append(make_image([ref], [bases[index % 4], *own]))
        images_tar = write_ggcr_tarball(work / f"{name}-images.tar", images)
        archives.append((images_tar, refs))
        members.append(write_chart_tgz(work, chart))
        members.append(write_bundle(work / bundle_file_name(name, version), chart, hints_bytes(chart), images_tar))
        all_images += images
    package = work / "skoala_v0.28.1_amd64.tar"
    with tarfile.TarFile(package, "w", format=tarfile.PAX_FORMAT) as tar:
        for member in [m for m in members if m.suffix == ".tgz"] + [m for m in members if m.suffix == ".tar"]:
            tar.add(member, arcname=member.name, recursive=False)
    for member in members:
        member.unlink()
    blobs = unique_blobs(all_images, work)
    assert len(all_images) == 20 and len(blobs) == 160, (len(all_images), len(blobs))
    return Shape("skoala", package, archives, blobs, len(all_images))


def _drop_plain_tars(images: list[Image]) -> None:
    for image in images:
        for la in image.layers:
            la.tar_path.unlink(missing_ok=True)


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


# -- measurements ---------------------------------------------------------------------------------------


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


@dataclass
class Run:
    """One skoala-airgap run: time, peak RSS, what it reported, what the registry saw, what it left."""

    seconds: float
    rss_mb: float
    uploaded: int
    mounted: int
    requests: dict[str, int]
    upload_bodies: int  # PUT/PATCH requests on /blobs/uploads/ with a body (the access log)
    largest_tmp: int
    left_behind: list[str]
    cpu: float = 0.0  # user + system seconds of the skoala-airgap process
    registry_cpu: float = 0.0  # of the registry during the run

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


@dataclass
class Ours:
    """Runs skoala-airgap against one registry with one state directory and one TMPDIR."""

    reg: RegistryProcess
    work: Path
    state: Path = field(init=False)
    tmpdir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.tmpdir = self.work / "tmp"
        self.tmpdir.mkdir(exist_ok=True)
        self.fresh_state()

    def fresh_state(self) -> None:
        self.state = self.work / "state"
        shutil.rmtree(self.state, ignore_errors=True)

    def push(self, source: Path, concurrency: int | None = None, *extra: str) -> Run:
        env = dict(os.environ, TMPDIR=str(self.tmpdir), SKOALA_AIRGAP_STATE_DIR=str(self.state))
        # Byte-compiled modules, as an installed tool has them (this machine sets PYTHONDONTWRITEBYTECODE);
        # kept in the scratch folder, not in the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.work.parent / "pycache")
        report_path, receipt = self.work / "report.json", self.work / "receipt.json"
        args = skoala("push-images", str(source), "--registry", self.reg.host, "--plain-http", "--json", "-q")
        args += ["--receipt", str(receipt), *extra]
        if concurrency is not None:
            args += ["--concurrency", str(concurrency)]
        before = len(self.reg.access_log())
        registry_before = registry_cpu(self.reg)
        with TmpWatcher(self.tmpdir) as watcher, report_path.open("w") as out:
            timed, cpu = _run_to(args, env, out, cwd=self.work)
        registry_used = registry_cpu(self.reg) - registry_before
        log = self.reg.access_log()[before:]
        report = json.loads(report_path.read_text())
        images = report["images"]
        assert report["ok"], report
        requests: dict[str, int] = {}
        for entry in log:
            requests[entry.method] = requests.get(entry.method, 0) + 1
        bodies = sum(1 for e in log if e.method in ("PUT", "PATCH") and "/blobs/uploads/" in e.uri)
        left = [str(p.relative_to(self.tmpdir)) for p in self.tmpdir.rglob("*")]
        left += [p.name for p in self.state.glob(".*")]  # atomic-write temp files of the state
        return Run(
            timed.seconds,
            timed.peak_rss_mb,
            sum(i["bytes"]["uploaded"] for i in images),
            sum(i["bytes"]["mounted"] for i in images),
            requests,
            bodies,
            watcher.largest,
            left,
            cpu,
            registry_used,
        )


def registry_cpu(reg: RegistryProcess) -> float:
    """User + system seconds the registry process has used so far."""
    fields = Path(f"/proc/{reg.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_to(args: list[str], env: dict[str, str], out: object, cwd: Path) -> tuple[Timed, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.PIPE, cwd=cwd)  # type: ignore[arg-type]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)}: {stderr[-3000:]}")
    return Timed(elapsed, usage.ru_maxrss / 1024), usage.ru_utime + usage.ru_stime


def push_skopeo(shape: Shape, reg: RegistryProcess, work: Path) -> tuple[float, int]:
    shutil.rmtree(work / "skopeo", ignore_errors=True)  # blob-info cache and temp files live here
    env = skopeo_env(work / "skopeo")
    before = len(reg.access_log())
    total = 0.0
    for images_tar, names in shape.archives:
        for name in names:
            repo = name.split("/", 1)[1]
            args = ["skopeo", "--tmpdir", env["TMPDIR"], "copy", "--dest-tls-verify=false"]
            args += [f"docker-archive:{images_tar}:{name}", f"docker://{reg.host}/skopeo/{repo}"]
            total += run_child(args, env=env).seconds
    return total, len(reg.access_log()) - before


def curl_upload(reg: RegistryProcess, path: Path, digest: str, repo: str) -> None:
    location = subprocess.run(
        ["curl", "-sS", "-f", "-X", "POST", "-D", "-", "-o", "/dev/null", f"{reg.url}/v2/{repo}/blobs/uploads/"],
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


def push_curl(reg: RegistryProcess, shape: Shape, parallel: int) -> tuple[float, int, float, float]:
    """The unique blobs, largest first (as our engine orders them), ``parallel`` curl pipelines.

    Returns (seconds, requests, CPU seconds of the curl processes, CPU seconds of the registry)."""
    blobs = sorted(shape.blobs, key=lambda b: -b[0].stat().st_size)
    before, cpu_before, registry_before = len(reg.access_log()), children_cpu(), registry_cpu(reg)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(lambda b: curl_upload(reg, b[0], b[1], "curl/blobs"), blobs))
    elapsed = time.perf_counter() - start
    cpu, registry = children_cpu() - cpu_before, registry_cpu(reg) - registry_before
    return elapsed, len(reg.access_log()) - before, cpu, registry


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=dict)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (client, registry) seconds

    def add(
        self,
        key: str,
        seconds: float,
        run: Run | None = None,
        requests: int | None = None,
        cpu: tuple[float, float] | None = None,
    ) -> None:
        self.times.setdefault(key, []).append(seconds)
        if run is not None:
            self.runs.setdefault(key, []).append(run)
            self.requests[key] = run.total_requests
            cpu = (run.cpu, run.registry_cpu)
        if requests is not None:
            self.requests[key] = requests
        if cpu is not None:
            self.cpu.setdefault(key, []).append(cpu)

    def med(self, key: str) -> float:
        return median(self.times[key])


def bench_shape(shape: Shape, reg: RegistryProcess, work: Path, runs: int, skopeo_runs: int, default: int) -> Results:
    ours = Ours(reg, work)
    res = Results()
    for number in range(runs):
        order = CONCURRENCIES[number % len(CONCURRENCIES) :] + CONCURRENCIES[: number % len(CONCURRENCIES)]
        for concurrency in order:
            reg.reset()
            ours.fresh_state()
            cold = ours.push(shape.source, concurrency)
            res.add(f"c{concurrency}", cold.seconds, cold)
            if concurrency == default:
                res.add("cold", cold.seconds, cold)
                copy = ours.push(shape.source, None, "--prefix-repository", "copy")
                res.add("newrepo", copy.seconds, copy)
                warm = ours.push(shape.source)
                res.add("warm", warm.seconds, warm)
        for parallel in (4, 8):
            reg.reset()
            seconds, requests, cpu, registry = push_curl(reg, shape, parallel)
            res.add(f"curl{parallel}", seconds, requests=requests, cpu=(cpu, registry))
        if number < skopeo_runs:
            reg.reset()
            seconds, requests = push_skopeo(shape, reg, work)
            res.add("skopeo", seconds, requests=requests)
        print(f"  [{shape.name}] run {number + 1}/{runs} done", flush=True)
    return res


# -- report ---------------------------------------------------------------------------------------------


def report(shape: Shape, res: Results, default: int) -> None:
    unique = shape.unique_bytes
    print(
        f"\n== {shape.name}: {shape.source.name} {shape.source.stat().st_size:,} bytes; {shape.images} images; "
        f"{len(shape.blobs)} unique blobs, {unique:,} bytes; runs: {len(res.times['cold'])}"
    )
    rows: list[tuple[str, str]] = [
        ("cold", f"(1) skoala-airgap push-images, default concurrency {default}"),
        *[(f"c{c}", f"    --concurrency {c}") for c in CONCURRENCIES],
        ("newrepo", "(2) skoala-airgap into new repositories, same registry"),
        ("warm", "(3) skoala-airgap warm re-run"),
        ("curl4", "(4a) curl POST + PUT, 4 in parallel"),
        ("curl8", "(4b) curl POST + PUT, 8 in parallel"),
        ("skopeo", "(5) skopeo copy, image by image"),
    ]
    for key, label in rows:
        if key not in res.times:
            continue
        med = res.med(key)
        runs = ", ".join(f"{v:.2f}" for v in res.times[key])
        rate = f"{unique / med / MB:7.1f} MB/s" if key not in ("newrepo", "warm") else " " * 12
        cpu = res.cpu.get(key)
        cpus = f"cpu {median([c for c, _ in cpu]):5.2f} + reg {median([r for _, r in cpu]):5.2f} s" if cpu else " " * 22
        print(f"{label:58} {med:6.2f} s {rate} {res.requests.get(key, 0):4} req  {cpus}  (runs: {runs})")
    cold, newrepo, warm = res.runs["cold"], res.runs["newrepo"], res.runs["warm"]
    ceiling = min(res.med("curl4"), res.med("curl8"))
    best = min(CONCURRENCIES, key=lambda c: res.med(f"c{c}"))
    print(f"requests of (1) by method: {cold[-1].requests}; of (3): {warm[-1].requests}")
    print(f"ratio ours / better curl ceiling (throughput): {ceiling / res.med('cold'):.2f} (target >= 0.9)")
    if "skopeo" in res.times:
        print(f"ratio skopeo time / ours: {res.med('skopeo') / res.med('cold'):.1f}x")
    print(
        f"(2) new repositories: {max(r.uploaded for r in newrepo):,} blob bytes uploaded, "
        f"{max(r.upload_bodies for r in newrepo)} upload PUT/PATCH in the log, "
        f"{min(r.mounted for r in newrepo):,} bytes mounted (target: 0 uploaded)"
    )
    print(f"ratio (3) warm / (1) cold: {res.med('warm') / res.med('cold'):.3f} (target <= 0.05)")
    all_runs = [r for key in res.runs for r in res.runs[key]]
    print(f"peak RSS of any skoala-airgap run: {max(r.rss_mb for r in all_runs):.1f} MB (target <= 150)")
    left = sorted({name for r in all_runs for name in r.left_behind})
    print(f"largest file in TMPDIR during a run: {max(r.largest_tmp for r in all_runs)} bytes; left behind: {left}")
    print(
        f"fastest concurrency here: {best} (medians: "
        + ", ".join(f"{c}: {res.med(f'c{c}'):.2f} s" for c in CONCURRENCIES)
        + ")"
    )


def main() -> None:
    from skoala_airgap.engine.contract import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shapes", default="large,skoala", help="comma-separated: large, skoala")
    parser.add_argument("--layer-mib", type=int, default=100, help="layer size of the large shape")
    parser.add_argument("--scale", type=float, default=1.0, help="layer-size factor of the skoala shape")
    parser.add_argument("--skopeo-runs", type=int, default=None, help="skopeo in the first N runs [all]")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder [a new temporary one]")
    args = parser.parse_args()
    builders: dict[str, Callable[[Path], Shape]] = {
        "large": lambda w: large_shape(w, args.layer_mib),
        "skoala": lambda w: skoala_shape(w, args.scale),
    }
    skopeo_runs = args.runs if args.skopeo_runs is None else args.skopeo_runs
    with tempfile.TemporaryDirectory(prefix="bench-push-", dir=args.work) as tmp:
        work = Path(tmp)
        results: list[tuple[Shape, Results]] = []
        with start_registry(work / "reg") as reg:
            for name in args.shapes.split(","):
                started = time.perf_counter()
                (work / name).mkdir()
                shape = builders[name](work / name)
                print(f"[{name}] generated in {time.perf_counter() - started:.0f} s", flush=True)
                results.append(
                    (shape, bench_shape(shape, reg, work / name, args.runs, skopeo_runs, DEFAULT_CONCURRENCY))
                )
        for shape, res in results:
            report(shape, res, DEFAULT_CONCURRENCY)


if __name__ == "__main__":
    main()
