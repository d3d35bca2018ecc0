"""Offline packages and bundles read in place: inspect, checksum, version warning, bad input, unpack."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from fixtures.bundles import write_offline_package
from skoala_airgap.sources.open import open_source
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=4096)


def test_inspect_json_describes_package(package) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("inspect", str(package.path), "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "package"
    assert {(b["chart"], b["version"]) for b in report["bundles"]} == {("skoala", "0.28.1"), ("skoala-init", "0.28.1")}
    assert {(c["name"], c["version"]) for c in report["charts"]} == {("skoala", "0.28.1"), ("skoala-init", "0.28.1")}
    expected = package.docker_manifest_digests
    seen = {name: img["digest"] for b in report["bundles"] for img in b["images"] for name in img["names"]}
    assert seen == expected
    for bundle in report["bundles"]:
        assert bundle["hints"]["missing_from_images"] == []
        assert bundle["hints"]["not_hinted"] == []
        assert all(t["error"] is None for t in bundle["hints"]["templates"])
        # Every image shares one base layer, so unique bytes are well below the total.
        assert bundle["unique_bytes"] < bundle["total_bytes"]
    assert report["checksum"]["status"] == "not-checked"


def test_nested_layer_reads_need_no_extraction(package, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    os.environ["TMPDIR"] = str(scratch)
    try:
        source = open_source(package.path)
        digests = set()
        for _, image in source.all_images():
            for blob in image.manifest.layers:
                assert blob.region is not None and blob.region.path == package.path
                with blob.open() as reader:
                    digests.add("sha256:" + hashlib.sha256(reader.read()).hexdigest())
    finally:
        del os.environ["TMPDIR"]
    assert digests == set(package.layer_digests)
    assert list(scratch.iterdir()) == []


def test_checksum_match_and_mismatch(tmp_path: Path) -> None:
    good = write_offline_package(tmp_path / "good", layer_size=1024)
    ok = run_cli("inspect", str(good.path), "--verify", "--json")
    assert ok.code == 0, ok.stderr
    assert json.loads(ok.stdout)["checksum"]["status"] == "match"
    bad = write_offline_package(tmp_path / "bad", layer_size=1024, corrupt_checksum=True)
    result = run_cli("inspect", str(bad.path), "--verify")
    assert result.code == 2
    assert "checksum does not match" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_mismatch_warns(tmp_path: Path) -> None:
    pkg = write_offline_package(tmp_path, layer_size=1024, init_version="0.28.2")
    result = run_cli("inspect", str(pkg.path))
    assert result.code == 0
    assert "chart versions differ" in result.stderr
    assert "skoala 0.28.1" in result.stderr and "skoala-init 0.28.2" in result.stderr


def _tar_with(path: Path, members: dict[str, bytes]) -> Path:
    import io

    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("members", "needle"),
    [
        ({"skoala_1.0.0.bundle.tar": b"not a tar" * 100}, "skoala_1.0.0.bundle.tar"),
        ({"skoala_1.0.0.bundle.tar": b""}, "skoala_1.0.0.bundle.tar"),
        ({"skoala-1.0.0.tgz": b"x"}, "skoala-1.0.0.tgz"),
    ],
)
def test_bad_nested_bundle_is_one_line_exit_2(tmp_path: Path, members: dict[str, bytes], needle: str) -> None:
    path = _tar_with(tmp_path / "pkg.tar", members)
    result = run_cli("inspect", str(path))
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(path) in lines[0], result.stderr


def test_bundle_without_images_tar_names_member(tmp_path: Path) -> None:
    from fixtures.bundles import write_bundle
    from fixtures.charts import hints_bytes, skoala_chart

    chart = skoala_chart()
    bundle = write_bundle(tmp_path / "skoala_0.28.1.bundle.tar", chart, hints_bytes(chart))
    result = run_cli("inspect", str(bundle), "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["bundles"][0]["has_images"] is False
    assert report["totals"]["images"] == 0


def test_truncated_package_exit_2(package, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cut = tmp_path / "cut.tar"
    cut.write_bytes(package.path.read_bytes()[: package.path.stat().st_size // 2])
    result = run_cli("inspect", str(cut))
    assert result.code == 2
    assert "truncated" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    path = tmp_path / "junk.tar"
    path.write_bytes(b"junk" * 300)
    assert "Traceback" in run_cli("--debug", "inspect", str(path)).stderr


def test_inspect_directory_of_bundles_skips_strays(package, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("unpack", str(package.path), "-o", str(tmp_path / "out"), "-q")
    assert result.code == 0, result.stderr
    (tmp_path / "out" / "images.tar").write_bytes(b"")  # the stray archive that makes charts-syncer panic
    report = run_cli("inspect", str(tmp_path / "out"), "--json")
    assert report.code == 0, report.stderr
    assert "images.tar: skipped" in report.stderr
    assert len(json.loads(report.stdout)["bundles"]) == 2


def test_unpack_writes_identical_files_and_refuses_overwrite(package, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert run_cli("unpack", str(package.path), "-o", str(out), "-q").code == 0
    with tarfile.open(package.path) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member)
            assert extracted is not None
            assert (out / member.name).read_bytes() == extracted.read()
    again = run_cli("unpack", str(package.path), "-o", str(out), "-q")
    assert again.code == 2 and "already exists" in again.stderr
