"""bench/inspect.py: how much of a >= 2 GiB offline package ``inspect`` reads, and how long it takes.

Run: ``.venv/bin/python -m bench.inspect [--size-gib 2]``. Bytes read come from /proc/self/io
(``rchar``: every byte returned by read/pread, cached or not), measured around an in-process inspect.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fixtures.bundles import write_offline_package
from skoala_airgap.sources.open import open_source
from skoala_airgap.workflows.inspect import inspect_source


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-gib", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        # 2 bundles x (1 shared base + 4 own layers) = 10 layer blobs carry nearly all the bytes.
        layer_size = int(args.size_gib * 1024**3 / 10) + 1
        start = time.perf_counter()
        package = write_offline_package(Path(tmp), layer_size=layer_size, compresslevel=0)
        generated = time.perf_counter() - start
        size = package.path.stat().st_size
        before = _rchar()
        start = time.perf_counter()
        report = inspect_source(open_source(package.path))
        elapsed = time.perf_counter() - start
        read = _rchar() - before
    print(f"package: {size:,} bytes ({size / 1024**3:.2f} GiB), generated in {generated:.1f} s")
    print(f"inspect: {report['totals']['images']} images in {elapsed * 1000:.0f} ms")
    print(f"bytes read: {read:,} = {100 * read / size:.4f}% of the package (target < 1%)")


if __name__ == "__main__":
    main()
