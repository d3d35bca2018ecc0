"""Checks of the fixture factory itself: the writers must produce the exact forms the spec describes,
independently of skoala_airgap, and skopeo (a reference reader) must accept them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from fixtures import generate
from fixtures.bundles import make_sample_package, sha512_file, write_bundle, write_offline_package
from fixtures.charts import (
    chart_metadata,
    hint_images,
    hints_bytes,
    skoala_chart,
    skoala_init_chart,
    write_chart_tgz,
)
from fixtures.images import (
    IMAGES_TAR_FLAVOURS,
    Image,
    ImagesTarFlavour,
    Layer,
    MultiArchImage,
    expected_digest,
    familiar_name,
    make_image,
    make_layer,
    make_multiarch_image,
    normalize_name,
    write_docker25_save,
    write_docker_save_legacy,
    write_ggcr_tarball,
    write_images_tar,
    write_oci_layout,
)

BLOCK = 512
HIVE = "docker.m.daocloud.io/skoala/hive:v0.28.1"
UI = "docker.m.daocloud.io/skoala/skoala-ui:v0.28.1"


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------


def _raw_headers(data: bytes) -> tuple[list[bytes], int]:
    """Header blocks of a tar and the offset of its end-of-archive marker, parsed by hand."""
    headers: list[bytes] = []
    offset = 0
    while data[offset : offset + BLOCK] != b"\0" * BLOCK:
        block = data[offset : offset + BLOCK]
        size = int(block[124:136].rstrip(b"\0 ") or b"0", 8)
        headers.append(block)
        offset += BLOCK + -(-size // BLOCK) * BLOCK
    return headers, offset


def _name(header: bytes) -> str:
    prefix = header[345:500].rstrip(b"\0").decode()
    name = header[0:100].rstrip(b"\0").decode()
    return f"{prefix}/{name}" if prefix else name


def _assert_go_tar_layout(data: bytes) -> list[bytes]:
    """Two zero blocks right after the last member, nothing more: no 10 KiB record padding."""
    headers, end = _raw_headers(data)
    assert len(data) == end + 2 * BLOCK
    assert data[end:] == b"\0" * (2 * BLOCK)
    assert len(data) % BLOCK == 0
    return headers


def _members(path: Path | bytes) -> dict[str, bytes]:
    fileobj = io.BytesIO(path) if isinstance(path, bytes) else None
    with tarfile.open(None if fileobj else path, fileobj=fileobj) as tar:
        return {m.name: (tar.extractfile(m) or io.BytesIO()).read() for m in tar if m.isfile()}


def _skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        pytest.fail("skopeo is not on PATH; install it (Debian/Ubuntu: `apt-get install skopeo`) to run this check")
    return found


def _skopeo_inspect(ref: str, tmp: Path) -> dict[str, Any]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.run([_skopeo(), "inspect", ref], capture_output=True, text=True, check=False, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixture-work")


@pytest.fixture(scope="module")
def base(work: Path) -> Layer:
    return make_layer(work / "layers", 3000, seed="base", files=2)


@pytest.fixture(scope="module")
def hive(work: Path, base: Layer) -> Image:
    return make_image([HIVE], [base, make_layer(work / "layers", 2000, seed="hive")])


@pytest.fixture(scope="module")
def ui(work: Path, base: Layer) -> Image:
    return make_image([UI], [base, make_layer(work / "layers", 1500, seed="ui", compressible=True)])


# ---------------------------------------------------------------------------------------------------------
# layers and images
# ---------------------------------------------------------------------------------------------------------


def test_layer_digests_match_files_and_are_deterministic(work: Path, base: Layer) -> None:
    raw = base.tar_path.read_bytes()
    assert base.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert base.tar_size == len(raw)
    assert base.gz_digest == "sha256:" + hashlib.sha256(base.gz_path.read_bytes()).hexdigest()
    assert gzip.decompress(base.gz_path.read_bytes()) == raw
    assert make_layer(work / "layers", 3000, seed="base", files=2) == base
    with tarfile.open(base.tar_path) as tar:
        files = [m for m in tar if m.isfile()]
        assert sum(m.size for m in files) == 3000
        assert all(m.pax_headers for m in tar)


def test_compressible_layer_compresses_and_level0_is_valid_gzip(tmp_path: Path) -> None:
    text = make_layer(tmp_path, 200_000, seed=1, compressible=True)
    rand = make_layer(tmp_path, 200_000, seed=1, compresslevel=0)
    assert text.gz_size < 0.5 * text.tar_size
    assert rand.gz_size > rand.tar_size
    assert gzip.decompress(rand.gz_path.read_bytes()) == rand.tar_path.read_bytes()


def test_docker_manifest_serialisation_is_docker_push_form() -> None:
    layer = Layer(Path("l.tar"), "sha256:" + "a" * 64, 10, Path("l.tgz"), "sha256:" + "b" * 64, 5)
    image = Image(("x/y:1",), b"{}", (layer,))
    expected = (
        "{\n"
        '   "schemaVersion": 2,\n'
        '   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",\n'
        '   "config": {\n'
        '      "mediaType": "application/vnd.docker.container.image.v1+json",\n'
        '      "size": 2,\n'
        f'      "digest": "sha256:{hashlib.sha256(b"{}").hexdigest()}"\n'
        "   },\n"
        '   "layers": [\n'
        "      {\n"
        '         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",\n'
        '         "size": 5,\n'
        f'         "digest": "sha256:{"b" * 64}"\n'
        "      }\n"
        "   ]\n"
        "}"
    ).encode()
    assert image.docker_manifest_bytes() == expected
    assert image.docker_manifest_digest() == "sha256:" + hashlib.sha256(expected).hexdigest()
    assert b'"layers": []' in Image(("x/y:1",), b"{}", ()).docker_manifest_bytes()


def test_config_is_realistic(hive: Image) -> None:
    config = json.loads(hive.config)
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    assert config["rootfs"] == {"type": "layers", "diff_ids": [la.diff_id for la in hive.layers]}
    assert len([h for h in config["history"] if not h.get("empty_layer")]) == len(hive.layers)


def test_name_spellings() -> None:
    assert normalize_name("nginx:1.25") == "docker.io/library/nginx:1.25"
    assert normalize_name("bitnami/redis") == "docker.io/bitnami/redis:latest"
    assert familiar_name("docker.io/library/nginx:1.25") == "nginx:1.25"
    assert familiar_name("localhost:5000/a/b:1") == "localhost:5000/a/b:1"
    assert familiar_name(HIVE) == HIVE


# ---------------------------------------------------------------------------------------------------------
# images.tar flavours
# ---------------------------------------------------------------------------------------------------------


def test_ggcr_tarball_form(tmp_path: Path, work: Path, hive: Image, ui: Image, base: Layer) -> None:
    tiny = make_image(["harbor.example.com/tiny:tiniest"], [])
    two_names = Image((HIVE, "docker.m.daocloud.io/skoala/hive:latest"), hive.config, hive.layers)
    path = write_ggcr_tarball(tmp_path / "images.tar", [ui, two_names, tiny])
    headers = _assert_go_tar_layout(path.read_bytes())
    names = [_name(h) for h in headers]
    assert names[-1] == "manifest.json"
    assert names.count(f"sha256:{hive.config_hex}") == 2
    assert names.count(f"{base.gz_hex}.tar.gz") == 1
    assert names[:3] == [f"sha256:{ui.config_hex}", f"{base.gz_hex}.tar.gz", f"{ui.layers[1].gz_hex}.tar.gz"]
    for header in headers:
        assert header[100:108] == b"0000644\0" and header[136:148] == b"00000000000\0"
        assert header[156:157] == b"0" and header[257:265] == b"ustar\x0000"
    raw = _members(path)["manifest.json"]
    manifest = json.loads(raw)
    assert raw == json.dumps(manifest, separators=(",", ":")).encode()
    assert [e["RepoTags"] for e in manifest] == [
        ["docker.m.daocloud.io/skoala/hive:latest"],
        [HIVE],
        [UI],
        ["harbor.example.com/tiny:tiniest"],
    ]
    assert manifest[1] == {
        "Config": f"sha256:{hive.config_hex}",
        "RepoTags": [HIVE],
        "Layers": [f"{la.gz_hex}.tar.gz" for la in hive.layers],
    }
    assert manifest[3]["Layers"] == []


def test_docker_save_legacy_form(tmp_path: Path, hive: Image, ui: Image) -> None:
    multi = Image(("nginx:1.25", "docker.io/library/nginx:latest"), hive.config, hive.layers)
    untagged = make_image([], [hive.layers[0], ui.layers[1]])
    members = _members(write_docker_save_legacy(tmp_path / "d.tar", [multi, untagged]))
    manifest = json.loads(members["manifest.json"])
    assert manifest[0]["RepoTags"] == ["nginx:1.25", "nginx:latest"]
    assert manifest[0]["Config"] == f"{hive.config_hex}.json"
    assert manifest[1]["RepoTags"] is None
    for entry in manifest:
        for name in entry["Layers"]:
            v1id, _, leaf = name.partition("/")
            assert leaf == "layer.tar" and len(v1id) == 64
            assert f"{v1id}/json" in members and members[f"{v1id}/VERSION"] == b"1.0"
    assert manifest[1]["Layers"][0] == manifest[0]["Layers"][0]  # shared base layer, same v1 id
    assert members[manifest[0]["Layers"][1]] == hive.layers[1].tar_path.read_bytes()
    repos = json.loads(members["repositories"])
    assert repos["nginx"]["1.25"] == manifest[0]["Layers"][-1].split("/")[0]


def test_docker_save_symlink_layers(tmp_path: Path, hive: Image) -> None:
    path = write_docker_save_legacy(tmp_path / "s.tar", [hive], symlink_layers=True)
    with tarfile.open(path) as tar:
        manifest = json.loads((tar.extractfile("manifest.json") or io.BytesIO()).read())
        for name, layer in zip(manifest[0]["Layers"], hive.layers, strict=True):
            link = tar.getmember(name)
            assert link.issym() and link.linkname == f"../{layer.diff_id_hex}.tar"
            physical = tar.extractfile(f"{layer.diff_id_hex}.tar") or io.BytesIO()
            assert hashlib.sha256(physical.read()).hexdigest() == layer.diff_id_hex


def test_docker_save_symlink_physical_manifest_paths(tmp_path: Path, hive: Image) -> None:
    path = write_docker_save_legacy(tmp_path / "p.tar", [hive], True, manifest_layer_paths="physical")
    members = _members(path)
    (entry,) = json.loads(members["manifest.json"])
    assert entry["Layers"] == [f"{la.diff_id_hex}.tar" for la in hive.layers]
    assert all(name in members for name in entry["Layers"])
    assert len(_skopeo_inspect(f"docker-archive:{path}", tmp_path)["Layers"]) == 2


def test_docker25_save_form(tmp_path: Path, hive: Image) -> None:
    members = _members(write_docker25_save(tmp_path / "d25.tar", [hive]))
    assert json.loads(members["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(members["manifest.json"])
    assert entry["Config"] == f"blobs/sha256/{hive.config_hex}"
    assert entry["Layers"] == [f"blobs/sha256/{la.diff_id_hex}" for la in hive.layers]
    assert {s["mediaType"] for s in entry["LayerSources"].values()} == {"application/vnd.oci.image.layer.v1.tar"}
    (desc,) = json.loads(members["index.json"])["manifests"]
    assert desc["annotations"] == {"io.containerd.image.name": HIVE, "org.opencontainers.image.ref.name": "v0.28.1"}
    manifest = members[f"blobs/sha256/{desc['digest'].removeprefix('sha256:')}"]
    assert manifest == hive.oci_manifest_bytes(gzip_layers=False)
    assert "repositories" in members


def test_oci_layout_with_two_platform_index(tmp_path: Path, work: Path) -> None:
    multi = make_multiarch_image(work / "layers", ["docker.m.daocloud.io/skoala/multi:v1"], layer_size=500)
    members = _members(write_oci_layout(tmp_path / "o.tar", [], multiarch=[multi], ref_name_style="full"))
    (entry,) = json.loads(members["index.json"])["manifests"]
    assert entry["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "docker.m.daocloud.io/skoala/multi:v1"
    index = json.loads(members[f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"])
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    configs = []
    for desc in index["manifests"]:
        manifest = json.loads(members[f"blobs/sha256/{desc['digest'].removeprefix('sha256:')}"])
        assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        configs.append(json.loads(members[f"blobs/sha256/{manifest['config']['digest'][7:]}"]))
    assert [c["architecture"] for c in configs] == ["amd64", "arm64"]


def test_oci_layout_directory_and_uncompressed(tmp_path: Path, hive: Image) -> None:
    root = write_oci_layout(tmp_path / "layout", [hive], as_tar=False, gzip_layers=False, containerd_name=False)
    (entry,) = json.loads((root / "index.json").read_text())["manifests"]
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "v0.28.1"}
    manifest = json.loads((root / "blobs/sha256" / entry["digest"][7:]).read_text())
    assert manifest["layers"][1]["digest"] == hive.layers[1].diff_id
    assert (root / "blobs/sha256" / hive.layers[1].diff_id_hex).read_bytes() == hive.layers[1].tar_path.read_bytes()


def test_skopeo_reads_every_flavour(tmp_path: Path, work: Path, hive: Image, ui: Image) -> None:
    legacy = write_docker_save_legacy(tmp_path / "legacy.tar", [hive])
    out = _skopeo_inspect(f"docker-archive:{legacy}", tmp_path)
    assert (out["Architecture"], len(out["Layers"])) == ("amd64", 2)
    both = write_docker_save_legacy(tmp_path / "sym.tar", [hive, ui], symlink_layers=True)
    assert len(_skopeo_inspect(f"docker-archive:{both}:{UI}", tmp_path)["Layers"]) == 2
    d25 = write_docker25_save(tmp_path / "d25.tar", [hive])
    assert len(_skopeo_inspect(f"docker-archive:{d25}", tmp_path)["Layers"]) == 2
    ggcr = write_ggcr_tarball(tmp_path / "ggcr.tar", [hive])
    assert len(_skopeo_inspect(f"docker-archive:{ggcr}", tmp_path)["Layers"]) == 2
    oci = write_oci_layout(tmp_path / "oci.tar", [hive])
    assert _skopeo_inspect(f"oci-archive:{oci}", tmp_path)["Digest"] == hive.oci_manifest_digest()
    multi: MultiArchImage = make_multiarch_image(work / "layers", ["example.com/multi:v1"], layer_size=300)
    index = write_oci_layout(tmp_path / "multi.tar", [], multiarch=[multi])
    assert _skopeo_inspect(f"oci-archive:{index}", tmp_path)["Digest"] == multi.index_digest()


# ---------------------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------------------


def test_charts_and_hints() -> None:
    skoala = skoala_chart("0.28.1")
    assert chart_metadata(skoala) == ("skoala", "0.28.1")
    assert hint_images(skoala) == [
        HIVE,
        "docker.m.daocloud.io/skoala/sesame:v0.28.1",
        UI,
        "docker.m.daocloud.io/skoala/contour:v1.27.1",
    ]
    assert b"{{ .contour.image.registry }}" in hints_bytes(skoala)
    assert "charts/contour/values.yaml" in skoala
    init = skoala_init_chart("0.28.2")
    assert hint_images(init)[0] == "docker.m.daocloud.io/skoala/nacos-operator:v0.28.2"
    assert len(set(hint_images(init))) == 4


def test_chart_tgz(tmp_path: Path) -> None:
    path = write_chart_tgz(tmp_path, skoala_chart())
    assert path.name == "skoala-0.28.1.tgz"
    names = list(_members(path))
    assert names[0] == "skoala/Chart.yaml"
    assert all(n.startswith("skoala/") for n in names)
    assert "skoala/charts/contour/Chart.yaml" in names


# ---------------------------------------------------------------------------------------------------------
# bundles and packages
# ---------------------------------------------------------------------------------------------------------


def test_bundle_byte_level_form(tmp_path: Path, hive: Image) -> None:
    images_tar = write_ggcr_tarball(tmp_path / "images.tar", [hive])
    files = {"values.yaml": b"a: 1\n", "Chart.yaml": b"name: c\nversion: 1.0.0\n", "charts/sub/Chart.yaml": b"x"}
    files["charts/sub.txt"] = b"walk order puts this after charts/sub/"
    path = write_bundle(tmp_path, files, b"- '{{ .a }}'\n", images_tar)
    assert path.name == "c_1.0.0.bundle.tar"
    data = path.read_bytes()
    headers = _assert_go_tar_layout(data)
    assert len(data) % 10240 != 0
    assert [_name(h) for h in headers] == [
        "hints.yaml",
        "original-chart/Chart.yaml",
        "original-chart/charts/sub/Chart.yaml",
        "original-chart/charts/sub.txt",
        "original-chart/values.yaml",
        "images.tar",
    ]
    for header in headers:
        assert header[100:108] == b"0000644\0"
        assert header[108:116] == header[116:124] == b"0000000\0"
        assert header[136:148] == b"00000000000\0"
        assert header[156:157] == b"0"
        assert header[257:265] == b"ustar\x0000"
        assert header[265:329] == b"\0" * 64
    assert _members(path)["images.tar"] == images_tar.read_bytes()


def test_bundle_long_name_uses_pax_and_no_images(tmp_path: Path) -> None:
    long_rel = "templates/" + "x" * 120 + ".yaml"
    files = {"Chart.yaml": b"name: c\nversion: 1.0.0\n", long_rel: b"kind: ConfigMap\n"}
    data = write_bundle(tmp_path / "c_1.0.0.bundle.tar", files, b"").read_bytes()
    headers = _assert_go_tar_layout(data)
    pax = headers[2]
    assert pax[156:157] == b"x" and b"PaxHeaders.0" in pax[:100]
    assert list(_members(data)) == ["hints.yaml", "original-chart/Chart.yaml", f"original-chart/{long_rel}"]


@pytest.mark.parametrize("flavour", IMAGES_TAR_FLAVOURS)
def test_skopeo_finds_each_image_by_name_in_every_flavour(
    tmp_path: Path, hive: Image, ui: Image, flavour: ImagesTarFlavour
) -> None:
    path = write_images_tar(tmp_path / "i.tar", [hive, ui], flavour)
    transport = "oci-archive" if flavour.startswith("oci") else "docker-archive"
    for image in (hive, ui):
        out = _skopeo_inspect(f"{transport}:{path}:{image.names[0]}", tmp_path)
        assert len(out["Layers"]) == 2
        if transport == "oci-archive":
            assert out["Digest"] == expected_digest(image, flavour)


def test_offline_package(tmp_path: Path) -> None:
    pkg = write_offline_package(tmp_path, init_version="0.28.2", layer_size=1024, corrupt_checksum=True)
    assert pkg.path.name == "skoala_v0.28.1_amd64.tar"
    with tarfile.open(pkg.path) as tar:
        assert tar.getnames() == [
            "skoala-0.28.1.tgz",
            "skoala-init-0.28.2.tgz",
            "skoala_0.28.1.bundle.tar",
            "skoala-init_0.28.2.bundle.tar",
        ]
        assert list(pkg.members) == tar.getnames()
        bundle = (tar.extractfile("skoala_0.28.1.bundle.tar") or io.BytesIO()).read()
    manifest = json.loads(_members(_members(bundle)["images.tar"])["manifest.json"])
    assert sorted(t for e in manifest for t in e["RepoTags"]) == sorted(pkg.bundles[0].hints)
    line = pkg.checksum_path.read_text()
    assert line.endswith(f"  {pkg.path.name}\n") and len(line.split()[0]) == 128
    assert line.split()[0] != sha512_file(pkg.path)
    assert pkg.expected_digests[HIVE] == pkg.docker_manifest_digests[HIVE]
    assert not any(p.name.startswith(".fixture") for p in tmp_path.iterdir())


def test_sample_package_is_fast_and_checksum_valid(tmp_path: Path) -> None:
    start = time.monotonic()
    pkg = make_sample_package(tmp_path)
    assert time.monotonic() - start < 1.0
    assert pkg.checksum_path.read_text() == f"{sha512_file(pkg.path)}  {pkg.path.name}\n"
    assert pkg.init_version == pkg.version == "0.28.1"
    assert len(pkg.image_refs) == 8 and all(pkg.expected_digests.values())


def test_generate_cli_prints_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["package", str(tmp_path), "--version", "0.29.0", "--layer-size", "100"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == tmp_path / "skoala_v0.29.0_amd64.tar" and printed.is_file()
