"""package_chart: Helm-shaped, reproducible archives that real helm clients lint and render."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
import yaml

from fixtures.charts import skoala_chart, skoala_init_chart
from skoala_airgap.charts.archive import ChartFiles, read_chart_tgz
from skoala_airgap.charts.package import chart_filename, package_chart
from skoala_airgap.errors import InputError
from tests.doubles import make_chart_tgz
from tests.helm import helm_python, run_helm


def _members(tgz: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        return tar.getmembers()


def _chart(files: dict[str, bytes], label: str = "chart") -> ChartFiles:
    return ChartFiles(files, label)


def test_reproducible_whatever_the_input_order() -> None:
    files = skoala_chart()
    first = package_chart(_chart(files))
    shuffled = dict(reversed(list(files.items())))
    assert package_chart(_chart(shuffled)) == first
    assert first[:2] == b"\x1f\x8b" and first[4:8] == b"\0\0\0\0"  # gzip, header mtime 0


def test_layout_order_modes_and_times() -> None:
    files = skoala_chart()
    files["values.schema.json"] = b"{}"
    files["charts/aaa-1.0.0.tgz"] = make_chart_tgz("aaa", "1.0.0")
    members = _members(package_chart(_chart(files)))
    names = [m.name for m in members]
    assert names[:3] == ["skoala/Chart.yaml", "skoala/values.yaml", "skoala/values.schema.json"]
    assert names == [
        "skoala/Chart.yaml",
        "skoala/values.yaml",
        "skoala/values.schema.json",
        "skoala/templates/_helpers.tpl",
        "skoala/templates/deployment.yaml",
        "skoala/.helmignore",
        "skoala/.relok8s-images.yaml",
        "skoala/README.md",
        "skoala/charts/aaa-1.0.0.tgz",
        "skoala/charts/contour/Chart.yaml",
        "skoala/charts/contour/values.yaml",
        "skoala/charts/contour/templates/_helpers.tpl",
        "skoala/charts/contour/templates/deployment.yaml",
    ]
    assert all(m.isreg() and m.mode == 0o644 and m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members)
    assert chart_filename("skoala", "0.28.1") == "skoala-0.28.1.tgz"


def test_dependency_repositories_blanked_and_locks_dropped_only_there() -> None:
    files = skoala_init_chart()
    files["Chart.yaml"] = b"# keep me\n" + files["Chart.yaml"]
    files["Chart.lock"] = b"dependencies: []\ndigest: sha256:0\n"
    sub = "charts/seata/"
    files[sub + "Chart.yaml"] += b"dependencies:\n  - name: x\n    version: 1.0.0\n    repository: https://x.example\n"
    files[sub + "Chart.lock"] = b"dependencies: []\n"
    nested = make_chart_tgz(
        "nested", "2.0.0", extra_chart_yaml={"dependencies": [{"name": "y", "repository": "https://y.example"}]}
    )
    files["charts/nested-2.0.0.tgz"] = nested
    out = read_chart_tgz(package_chart(_chart(files)), "out").files
    assert "Chart.lock" not in out and sub + "Chart.lock" not in out
    root = out["Chart.yaml"].decode()
    assert root.startswith("# keep me\n")  # the rest of Chart.yaml keeps its bytes
    assert root == files["Chart.yaml"].decode().replace("https://release.daocloud.io/chartrepo/skoala", '""')
    assert yaml.safe_load(out[sub + "Chart.yaml"])["dependencies"][0]["repository"] == ""
    assert out["charts/nested-2.0.0.tgz"] == nested  # packed subcharts are kept as they are
    assert out["values.yaml"] == files["values.yaml"]


def test_values_replaced_and_metadata_kept() -> None:
    files = skoala_chart("1.2.3-rc.1+build.7")
    tgz = package_chart(_chart(files), values_yaml=b"replicas: 3\n")
    out = read_chart_tgz(tgz, "out")
    assert out.files["values.yaml"] == b"replicas: 3\n"
    assert (out.name, out.version) == ("skoala", "1.2.3-rc.1+build.7")


def test_v1_chart_keeps_requirements() -> None:
    tgz = make_chart_tgz(
        "old",
        "0.1.0",
        api_version="v1",
        extra_files={"requirements.yaml": b"dependencies:\n- name: a\n  repository: https://a\n"},
    )
    out = read_chart_tgz(package_chart(read_chart_tgz(tgz, "old")), "out").files
    assert out["requirements.yaml"].endswith(b"repository: https://a\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Chart.yaml": b"apiVersion: v2\nname: x\nversion: one\n"}, "not a valid SemVer"),
        ({"Chart.yaml": b"apiVersion: v3\nname: x\nversion: 1.0.0\n"}, "apiVersion"),
        ({"Chart.yaml": b"apiVersion: v2\nname: x\nversion: 1.0\n"}, "not a valid SemVer"),
        ({"../evil": b"x"}, "unsafe path"),
    ],
)
def test_invalid_charts_are_refused(change: dict[str, bytes], message: str) -> None:
    files = {"Chart.yaml": b"apiVersion: v2\nname: x\nversion: 1.0.0\n", "values.yaml": b""}
    files.update(change)
    with pytest.raises(InputError, match=message):
        package_chart(_chart(files))


def test_helm_lints_and_renders_the_package(tmp_path: Path) -> None:
    """helm 3.6.2 (binary) and Helm 4 (library) both lint it and render the rewritten values."""
    files = skoala_init_chart()
    values = files["values.yaml"].replace(b"docker.m.daocloud.io", b"registry.airgap.local:5000")
    tgz = package_chart(_chart(files), values_yaml=values)
    path = tmp_path / chart_filename("skoala-init", "0.28.1")
    path.write_bytes(tgz)

    lint = run_helm(tmp_path / "h3", "lint", str(path))
    assert "0 chart(s) failed" in lint.stdout
    rendered = run_helm(tmp_path / "h3", "template", "rel", str(path), "--kube-version", "1.29.0").stdout
    assert "registry.airgap.local:5000/" in rendered and "docker.m.daocloud.io" not in rendered

    h = helm_python()
    report = h.lint(str(path))
    assert report["errors"] == [], report
    chart = h.Chart.load_archive(tgz)
    try:
        manifests = chart.render(name="rel", namespace="ns")
    finally:
        chart.close()
    text = "".join(manifests.values())
    assert "registry.airgap.local:5000/" in text and "docker.m.daocloud.io" not in text


def test_gzip_stream_is_plain() -> None:
    tgz = package_chart(_chart(skoala_chart()))
    with gzip.GzipFile(fileobj=io.BytesIO(tgz)) as gz:
        assert gz.read()[257:262] == b"ustar"
