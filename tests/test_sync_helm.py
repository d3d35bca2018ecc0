"""Relocated charts under a real helm: they lint, and ``helm template`` renders only images under the
target registry — for the synthetic skoala charts and for the real bitnami wordpress chart."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
import yaml

from fixtures.bundles import write_bundle, write_offline_package
from fixtures.images import make_image, make_layer, write_ggcr_tarball
from tests.helm import run_helm
from tests.helpers import run_cli

SHARED_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
SITE = "harbor.site.example"
_IMAGE_LINE = re.compile(r"^\s*image:\s*[\"']?([^\"'\s]+)", re.MULTILINE)


def _sync_local(tmp_path: Path, source: Path, *extra: str) -> Path:
    charts = tmp_path / "charts"
    config = tmp_path / "load-image.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"intermediateBundlesPath": str(source)},
                "target": {"containerRegistry": SITE, "repo": {"kind": "LOCAL", "path": str(charts)}},
            }
        )
    )
    # Images go to an OCI layout: the chart side is what this test is about.
    result = run_cli("sync", "--config", str(config), "--oci-layout", str(tmp_path / "images"), "-q", *extra)
    assert result.code == 0, result.stderr
    return charts


def _rendered_images(tmp_path: Path, tgz: Path, *values: str) -> list[str]:
    home = tmp_path / "helm-home"
    run_helm(home, "lint", str(tgz))
    args = ["template", "release", str(tgz), "--kube-version", "1.29.0"]
    for value in values:
        args += ["--set", value]
    out = run_helm(home, *args).stdout
    return _IMAGE_LINE.findall(out)


def test_synthetic_charts_render_site_images_only(tmp_path: Path) -> None:
    package = write_offline_package(tmp_path / "pkg", layer_size=1024)
    charts = _sync_local(tmp_path, package.path)
    for name in ("skoala", "skoala-init"):
        images = _rendered_images(tmp_path, charts / f"{name}-0.28.1.tgz")
        assert images, f"{name} rendered no image"
        assert all(image.startswith(f"{SITE}/") for image in images), images


@pytest.mark.skipif(not SHARED_REAL.is_dir(), reason="../shared/fixtures/real is not available")
def test_wordpress_chart_renders_site_images_only(tmp_path: Path) -> None:
    from skoala_airgap.charts.archive import read_chart_tgz
    from skoala_airgap.charts.hints import parse_hints, render
    from skoala_airgap.charts.values_context import build_values_context

    chart = read_chart_tgz((SHARED_REAL / "wordpress-11.0.4.tgz").read_bytes(), "wordpress-11.0.4.tgz")
    hints = (SHARED_REAL / "wordpress-11.0.4.images.yaml").read_bytes()
    context = build_values_context(chart.files)
    refs = sorted({render(t, context) for t in parse_hints(hints, "hints")})
    layer = make_layer(tmp_path / "layers", 512, seed="wp")
    images_tar = write_ggcr_tarball(tmp_path / "images.tar", [make_image([ref], [layer]) for ref in refs])
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    write_bundle(bundles / "wordpress_11.0.4.bundle.tar", chart.files, hints, images_tar)
    charts = _sync_local(tmp_path, bundles)
    tgz = charts / "wordpress-11.0.4.tgz"
    with tarfile.open(tgz) as tar:
        assert "wordpress/Chart.lock" not in tar.getnames()
    # Default values, then with every optional component that has an image switched on.
    for values in [(), ("metrics.enabled=true", "volumePermissions.enabled=true", "memcached.enabled=true")]:
        images = _rendered_images(tmp_path, tgz, *values)
        assert images
        assert all(image.startswith(f"{SITE}/") for image in images), images
