"""`skoala-airgap values`: the override merges onto the backup byte-preservingly and, rendered by a real
`helm template` on the original or the relocated chart, leaves no image outside the site registry."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
import yaml

from fixtures.bundles import write_bundle, write_offline_package
from fixtures.charts import build_chart, skoala_chart
from skoala_airgap.charts.archive import read_chart_tgz
from skoala_airgap.errors import InputError
from skoala_airgap.relocation.chart import plan_chart, relocated_chart
from skoala_airgap.relocation.hints import HintedChart
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.open import open_source
from skoala_airgap.workflows.values import build_site_values, image_destinations, site_prefix
from tests.helm import run_helm
from tests.helpers import run_cli

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WORDPRESS_TGZ = SHARED / "fixtures" / "real" / "wordpress-11.0.4.tgz"
WORDPRESS_HINTS = SHARED / "fixtures" / "real" / "wordpress-11.0.4.images.yaml"
needs_wordpress = pytest.mark.skipif(
    not (WORDPRESS_TGZ.is_file() and WORDPRESS_HINTS.is_file()), reason="shared/fixtures/real not available"
)
SITE = "10.6.10.10"
_IMAGE_LINE = re.compile(r"^\s*(?:-\s+)?image:\s*[\"']?([^\"'\s]+)", re.MULTILINE)

BACKUP = """\
# Values of the running release, saved with: helm get values skoala -n skoala-system -o yaml
global:
  # the old mirror
  imageRegistry: 10.0.0.1  # replaced
  imagePullSecrets: []
hive:
  replicas: 3   # scaled up by the site team

  image:
    pullPolicy: Always
ui:
  service:
    port: 8088
zeta: last   # a key the chart does not know
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=2048).path)


def _bundles(package: Path) -> dict[str, Bundle]:
    return {b.chart.name: b for b in open_source(package).bundles}


def _write_chart(directory: Path, files: Mapping[str, bytes]) -> Path:
    for rel, data in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


def _helm_images(home: Path, chart_dir: Path, *values: Path) -> list[str]:
    args = [arg for path in values for arg in ("-f", str(path))]
    rendered = run_helm(
        home, "template", "rel", str(chart_dir), "-n", "skoala-system", "--kube-version", "1.29.0", *args
    ).stdout
    images = _IMAGE_LINE.findall(rendered)
    assert images, rendered[:2000]
    return images


def _assert_site_only(images: Iterable[str], prefix: str) -> None:
    outside = [image for image in images if not image.startswith(prefix + "/")]
    assert not outside, f"images outside {prefix}: {outside}"


def _changes(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


# --------------------------------------------------------------------------------------------------------
# Merging onto the backup


def test_merge_keeps_unrelated_keys_order_and_comments(package: Path) -> None:
    result = build_site_values(
        [HintedChart.from_bundle(_bundles(package)["skoala"])], registry=SITE, backup=BACKUP, backup_label="bak.yaml"
    )
    removed, added = _changes(BACKUP, result.text)
    assert removed == ["  imageRegistry: 10.0.0.1  # replaced\n"]
    assert "  imageRegistry: 10.6.10.10  # replaced\n" in added
    # every original line survives, in order
    kept = [line for line in BACKUP.splitlines(keepends=True) if line not in removed]
    lines = iter(result.text.splitlines(keepends=True))
    assert all(any(line == other for other in lines) for line in kept)
    # only image keys are added
    assert all(
        re.match(r"\s*(registry|repository|image|sesame|contour):", line)
        for line in added
        if line not in ("  imageRegistry: 10.6.10.10  # replaced\n",)
    ), added
    values = yaml.safe_load(result.text)
    assert values["hive"] == {
        "replicas": 3,
        "image": {"pullPolicy": "Always", "registry": SITE, "repository": "skoala/hive"},
    }
    assert values["zeta"] == "last" and values["ui"]["service"]["port"] == 8088
    assert list(values) == ["global", "hive", "ui", "zeta", "sesame", "contour"]


@pytest.mark.parametrize("backup", ["null\n", "{}\n", "", "# nothing set\nnull\n"])
def test_empty_backup_becomes_a_plain_override(package: Path, backup: str) -> None:
    result = build_site_values([HintedChart.from_bundle(_bundles(package)["skoala"])], registry=SITE, backup=backup)
    values = yaml.safe_load(result.text)
    assert values["global"] == {"imageRegistry": SITE}
    assert "{" not in result.text  # block style, not a flow mapping grown from "{}"


def test_without_hints_only_the_global_key() -> None:
    result = build_site_values([], registry=SITE)
    assert yaml.safe_load(result.text) == {"global": {"imageRegistry": SITE}}
    assert result.text.startswith("# Site values override")


def test_table_and_backup_tag_warning(package: Path) -> None:
    backup = "hive:\n  image:\n    tag: v0.27.0\n"
    result = build_site_values([HintedChart.from_bundle(_bundles(package)["skoala"])], registry=SITE, backup=backup)
    rows = {image.original: image for image in result.images}
    hive = rows["docker.m.daocloud.io/skoala/hive:v0.28.1"]
    assert hive.resolved == f"{SITE}/skoala/hive:v0.27.0" and hive.under_site_registry
    assert dict(hive.values) == {("hive", "image", "registry"): SITE, ("hive", "image", "repository"): "skoala/hive"}
    assert any("hive.image.tag" in w and "v0.27.0" in w for w in result.warnings)
    assert len(result.images) == 4


@pytest.mark.parametrize("registry", ["harbor", "https://h.example.com", "h.example.com/", " h.example.com", ""])
def test_registry_must_be_a_host(registry: str) -> None:
    with pytest.raises(InputError, match="registry"):
        site_prefix(registry)


def test_global_hint_conflict_and_follow() -> None:
    """A hint that reads global.imageRegistry follows the global key; only its repository is written."""
    files = build_chart("app", "1.0.0", "app", (), None)
    files["values.yaml"] = b"global:\n  imageRegistry: docker.io\nimage:\n  repository: bitnami/nginx\n  tag: '1.25'\n"
    chart = HintedChart.from_files(
        read_chart_tgz(_tgz(files), "app"), b'- "{{ .global.imageRegistry }}/{{ .image.repository }}:{{ .image.tag }}"'
    )
    result = build_site_values([chart], registry=SITE)
    (image,) = result.images
    assert image.follows_global and image.resolved == f"{SITE}/bitnami/nginx:1.25"
    assert dict(image.values) == {("image", "repository"): "bitnami/nginx"}
    prefixed = build_site_values([chart], registry=SITE, rules=RewriteRules(prefix_registry=SITE))
    assert prefixed.images[0].resolved == f"{SITE}/index.docker.io/bitnami/nginx:1.25"
    append = build_site_values(
        [chart], registry=SITE, rules=RewriteRules(prefix_registry=SITE, append_origin_registry=True)
    )
    assert any("global.imageRegistry" in w for w in append.warnings)


def _tgz(files: Mapping[str, bytes]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for rel, data in files.items():
            info = tarfile.TarInfo(f"app/{rel}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------
# Real helm template: original chart and relocated chart, synthetic charts


RULES = {
    "registry": RewriteRules(registry=SITE),
    "prefix-registry": RewriteRules(prefix_registry=SITE),
    "registry+repository": RewriteRules(registry=SITE, repository="release.daocloud.io/skoala"),
}


@pytest.mark.parametrize("rules_name", list(RULES))
@pytest.mark.parametrize("chart_name", ["skoala", "skoala-init"])
def test_synthetic_charts_render_to_site_registry(
    package: Path, tmp_path: Path, rules_name: str, chart_name: str
) -> None:
    rules = RULES[rules_name]
    bundle = _bundles(package)[chart_name]
    backup = tmp_path / "bak.yaml"
    backup.write_text(BACKUP)
    result = build_site_values([HintedChart.from_bundle(bundle)], registry=SITE, rules=rules, backup=BACKUP)
    override = tmp_path / "override.yaml"
    override.write_text(result.text)
    assert all(image.under_site_registry for image in result.images), result.images
    # where sync pushed each image is exactly what the override makes the chart ask for
    pushed = {d.source: d.destination for d in image_destinations([bundle], rules)}
    assert {i.original: i.resolved for i in result.images} == pushed

    original = _write_chart(tmp_path / "original", bundle.chart.files)
    relocated = _write_chart(
        tmp_path / "relocated",
        relocated_chart(plan_chart(HintedChart.from_bundle(bundle), rules, skip_images=True)).files,
    )
    for chart_dir in (original, relocated):
        images = _helm_images(tmp_path / "helm", chart_dir, backup, override)
        _assert_site_only(images, SITE)
        assert sorted(set(images)) == sorted(set(pushed.values()))


def test_global_alone_misses_images(package: Path, tmp_path: Path) -> None:
    """Why per-image values are needed: a chart whose template ignores global.imageRegistry."""
    files = dict(skoala_chart())
    files["templates/deployment.yaml"] = files["templates/deployment.yaml"].replace(
        b"{{ .Values.global.imageRegistry | default .Values.hive.image.registry }}",
        b"{{ .Values.hive.image.registry }}",
    )
    chart_dir = _write_chart(tmp_path / "chart", files)
    only_global = tmp_path / "global.yaml"
    only_global.write_text(f"global:\n  imageRegistry: {SITE}\n")
    images = _helm_images(tmp_path / "helm", chart_dir, only_global)
    assert any(image.startswith("docker.m.daocloud.io/skoala/hive:") for image in images)
    bundle = tmp_path / "skoala.bundle.tar"
    write_bundle(bundle, files, files[".relok8s-images.yaml"])
    override = tmp_path / "override.yaml"
    override.write_text(build_site_values([HintedChart.from_bundle(Bundle.open(bundle))], registry=SITE).text)
    _assert_site_only(_helm_images(tmp_path / "helm", chart_dir, override), SITE)


# --------------------------------------------------------------------------------------------------------
# The real bitnami wordpress chart

WORDPRESS_ALL_IMAGES = """\
metrics:
  enabled: true
volumePermissions:
  enabled: true
memcached:
  enabled: true
  metrics:
    enabled: true
mariadb:
  metrics:
    enabled: true
  volumePermissions:
    enabled: true
"""


@needs_wordpress
@pytest.mark.parametrize("rules_name", ["registry", "prefix-registry"])
def test_wordpress_renders_to_site_registry(tmp_path: Path, rules_name: str) -> None:
    rules = RULES[rules_name]
    chart = read_chart_tgz(WORDPRESS_TGZ.read_bytes(), WORDPRESS_TGZ.name)
    bundle_path = write_bundle(tmp_path / "wordpress_11.0.4.bundle.tar", chart.files, WORDPRESS_HINTS.read_bytes())
    bundle = Bundle.open(bundle_path)
    enable = tmp_path / "enable.yaml"
    enable.write_text(WORDPRESS_ALL_IMAGES)
    result = build_site_values(
        [HintedChart.from_bundle(bundle)], registry=SITE, rules=rules, backup=WORDPRESS_ALL_IMAGES
    )
    assert len(result.images) == 8 and all(i.under_site_registry for i in result.images)
    override = tmp_path / "override.yaml"
    override.write_text(result.text)
    original = _write_chart(tmp_path / "original", chart.files)
    relocated = _write_chart(
        tmp_path / "relocated",
        relocated_chart(plan_chart(HintedChart.from_bundle(bundle), rules, skip_images=True)).files,
    )
    expected = {i.resolved for i in result.images}
    for chart_dir in (original, relocated):
        images = _helm_images(tmp_path / "helm", chart_dir, enable, override)
        _assert_site_only(images, SITE)
        assert set(images) <= expected
        assert len(set(images)) >= 6  # wordpress, mariadb, memcached, their exporters and the shell


# --------------------------------------------------------------------------------------------------------
# CLI


def test_cli_values_writes_override_and_table(package: Path, tmp_path: Path) -> None:
    backup = tmp_path / "bak.yaml"
    backup.write_text(BACKUP)
    out = tmp_path / "override.yaml"
    result = run_cli(
        "values", "--registry", SITE, "--package", str(package), "--chart", "skoala", "-f", str(backup), "-o", str(out)
    )
    assert result.code == 0, result.stderr
    assert "RESOLVES TO" in result.stdout and f"{SITE}/skoala/hive:v0.28.1" in result.stdout
    assert yaml.safe_load(out.read_text())["global"]["imageRegistry"] == SITE
    assert backup.read_text() == BACKUP  # the backup itself is never touched

    to_stdout = run_cli("values", "--registry", SITE, "--package", str(package))
    assert to_stdout.code == 0, to_stdout.stderr
    both = yaml.safe_load(to_stdout.stdout)
    assert {"hive", "nacosOperator", "contour", "seata"} <= set(both)  # both charts in one override
    assert "RESOLVES TO" in to_stdout.stderr

    bad = run_cli("values", "--registry", "harbor", "--package", str(package))
    assert bad.code == 2 and "not a registry host" in bad.stderr
    same = run_cli("values", "--registry", SITE, "-f", str(backup), "-o", str(backup))
    assert same.code == 2 and backup.read_text() == BACKUP
    missing = run_cli("values", "--package", str(package), "--chart", "nope", "--registry", SITE)
    assert missing.code == 2 and "nope" in missing.stderr


def test_cli_values_from_config(package: Path, tmp_path: Path) -> None:
    config = tmp_path / "load-image.yaml"
    config.write_text(
        f"source:\n  intermediateBundlesPath: {package}\ntarget:\n  containerRegistry: {SITE}\n"
        "  containerRepository: release.daocloud.io/skoala\n  repo:\n    kind: LOCAL\n    path: ./charts\n"
        "charts:\n  - name: skoala-init\n"
    )
    result = run_cli("values", "--config", str(config), "-o", str(tmp_path / "o.yaml"), "--json")
    assert result.code == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert {image["chart"] for image in report["images"]} == {"skoala-init"}
    assert all(image["resolved"].startswith(f"{SITE}/release.daocloud.io/skoala/") for image in report["images"])
