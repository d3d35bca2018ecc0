"""bench/sync.py: overhead of ``sync`` over ``push-images`` for the same >= 1 GiB bundle.

Run: ``.venv/bin/python -m bench.sync [--runs 3] [--layer-mib 100]``. Both push the same images to a
fresh local registry (wiped before every run); sync also evaluates hints, rewrites values.yaml,
packages the chart and publishes it to a LOCAL chart folder. Target: overhead at most 5%.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.common import median, run_child, skoala
from fixtures.bundles import write_bundle
from fixtures.charts import hint_images, hints_bytes, skoala_chart
from fixtures.images import make_image, make_layer, write_ggcr_tarball
from tests.infra.registry import start_registry


def build_hinted_bundle(work: Path, layer_mib: int) -> Path:
    """A bundle whose images are exactly the ones its hints name, so sync moves every image."""
    chart = skoala_chart()
    size = layer_mib * 1024 * 1024
    base = make_layer(work / "layers", size, seed="base", compresslevel=0)
    refs = hint_images(chart)
    images = [
        make_image([ref], [base, make_layer(work / "layers", size, seed=f"own{i}", compresslevel=0)])
        for i, ref in enumerate(refs)
    ]
    images_tar = write_ggcr_tarball(work / "images.tar", images)
    return write_bundle(work / "bundles" / "skoala_0.28.1.bundle.tar", chart, hints_bytes(chart), images_tar)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layer-mib", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        (work / "bundles").mkdir()
        bundle = build_hinted_bundle(work, args.layer_mib)
        charts = work / "charts"
        push_times: list[float] = []
        sync_times: list[float] = []
        with start_registry(work / "reg") as reg:
            config = work / "load-image.yaml"
            config.write_text(
                f"source:\n  intermediateBundlesPath: {bundle.parent}\n"
                f"target:\n  containerRegistry: {reg.host}\n  repo:\n    kind: LOCAL\n    path: {charts}\n"
            )
            for _ in range(args.runs):
                reg.reset()
                push_times.append(
                    run_child(skoala("push-images", str(bundle), "--registry", reg.host, "--plain-http", "-q")).seconds
                )
                reg.reset()
                shutil.rmtree(charts, ignore_errors=True)
                sync_times.append(run_child(skoala("sync", "--config", str(config), "--plain-http", "-q")).seconds)
        size = bundle.stat().st_size
    push, sync = median(push_times), median(sync_times)
    print(f"bundle: {size:,} bytes; runs: {args.runs}")
    print(f"push-images: median {push:.2f} s (runs: {', '.join(f'{t:.2f}' for t in push_times)})")
    print(f"sync:        median {sync:.2f} s (runs: {', '.join(f'{t:.2f}' for t in sync_times)})")
    print(f"sync overhead over push-images: {100 * (sync - push) / push:+.1f}% (target <= 5%)")


if __name__ == "__main__":
    main()
