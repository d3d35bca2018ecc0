"""``load`` into a real podman Docker-API service and a real containerd, judged by podman and ctr themselves."""

from __future__ import annotations

import io
import json
import socket
import tarfile
from pathlib import Path
from typing import Any

import pytest

from fixtures.bundles import OfflinePackage, write_offline_package
from fixtures.images import IMAGES_TAR_FLAVOURS, Image, make_multiarch_image, write_images_tar, write_oci_layout
from skoala_airgap.destinations.runtime.stream import (
    CHUNK,
    ArchiveEntry,
    docker_archive_chunks,
    oci_layout_chunks,
    partition,
)
from skoala_airgap.relocation.plan import plan_source
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.open import open_source
from skoala_airgap.workflows.load import load_items
from tests.helpers import run_cli, sample_images
from tests.infra.containerd import ContainerdProcess
from tests.infra.podman import PodmanService, podman_cli
from tests.infra.registry import RegistryProcess

RELOCATE = ("--registry", "registry.example.com:5000", "--prefix-repository", "mirror")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("package"), layer_size=8192)


def _load(source: Path, *args: str) -> dict[str, Any]:
    result = run_cli("load", str(source), "--json", *args)
    assert result.code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert all(i["status"] == "loaded" for i in report["images"]), report
    return report


def _relocated_names(source: Path) -> dict[str, str]:
    """source name -> target name, as push-images would name it (the shared planner)."""
    rules = RewriteRules(registry=RELOCATE[1], prefix_repository=RELOCATE[3])
    plan = plan_source(open_source(source), rules)
    return {move.source.name: move.target.name for move in plan.moves()}


def _podman_image(svc: PodmanService, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(podman_cli(svc, "image", "inspect", name).stdout)[0]
    return found


def _ctr_digests(cd: ContainerdProcess, namespace: str = "k8s.io") -> dict[str, str]:
    lines = cd.ctr("images", "ls", namespace=namespace).stdout.splitlines()[1:]
    return {f[0]: f[2] for f in (line.split() for line in lines) if len(f) >= 3}


# -- the streams, without a runtime ---------------------------------------------------------------------


def test_plan_names_match_push_images(package: OfflinePackage) -> None:
    plan = plan_source(open_source(package.path), RewriteRules())
    items = load_items(plan)
    assert not plan.problems
    assert sorted(n for i in items for n in i.target_names) == sorted(package.image_refs)
    rules = RewriteRules(registry=RELOCATE[1], prefix_repository=RELOCATE[3])
    items = load_items(plan_source(open_source(package.path), rules))
    assert sorted(n for i in items for n in i.target_names) == sorted(_relocated_names(package.path).values())


def test_docker_hub_names_are_spelled_docker_io(tmp_path: Path) -> None:
    images = sample_images(tmp_path / "layers", count=1)
    hub = [Image(("nginx:1.25",), images[0].config, images[0].layers)]
    items = load_items(plan_source(open_source(write_images_tar(tmp_path / "i.tar", hub)), RewriteRules()))
    assert items[0].target_names == ["docker.io/library/nginx:1.25"]


def test_oci_stream_carries_our_manifest_bytes(tmp_path: Path, package: OfflinePackage) -> None:
    pairs = open_source(package.path).all_images()
    entries = [ArchiveEntry(image.manifest, image.names) for _, image in pairs]
    chunks = list(oci_layout_chunks(entries))
    assert max(len(c) for c in chunks) <= CHUNK + 512
    out = tmp_path / "layout.tar"
    out.write_bytes(b"".join(chunks))
    reread = {img.names[0]: str(img.digest) for img in open_source(out).images}
    assert reread == {image.names[0]: str(image.digest) for _, image in pairs}
    with tarfile.open(out) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    names = {m["annotations"]["io.containerd.image.name"] for m in index["manifests"]}
    assert names == set(package.image_refs)


def test_docker_stream_lists_each_blob_once(package: OfflinePackage) -> None:
    pairs = open_source(package.path).all_images()
    entries = [ArchiveEntry(image.manifest, image.names) for _, image in pairs]
    with tarfile.open(fileobj=io.BytesIO(b"".join(docker_archive_chunks(entries)))) as tar:
        members = tar.getnames()
        listing = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert len(members) == len(set(members))
    assert [e["RepoTags"] for e in listing] == [list(image.names) for _, image in pairs]
    assert all(path in members for e in listing for path in [e["Config"], *e["Layers"]])


def test_partition_keeps_shared_layers_together(tmp_path: Path) -> None:
    images = sample_images(tmp_path, count=3)  # three sharing a base layer, one with no layers
    manifests = [img.manifest for img in open_source(write_images_tar(tmp_path / "i.tar", images)).images]
    assert partition(manifests, 2) == [[0, 1, 2], [3]]
    assert partition(manifests, 1) == [[0, 1, 2, 3]]


# -- errors: one line naming the socket, exit 2 -----------------------------------------------------------


@pytest.mark.parametrize("runtime", ["podman", "containerd"])
def test_missing_socket_is_exit_2(tmp_path: Path, package: OfflinePackage, runtime: str) -> None:
    sock = tmp_path / "nothing.sock"
    flag = "--address" if runtime == "containerd" else "--host"
    value = str(sock) if runtime == "containerd" else f"unix://{sock}"
    result = run_cli("load", str(package.path), "--runtime", runtime, flag, value)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and str(sock) in result.stderr, result.stderr


def test_dead_socket_is_exit_2(tmp_path: Path, package: OfflinePackage) -> None:
    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # bound, never listening: connect() is refused
        result = run_cli("load", str(package.path), "--runtime", "docker", "--host", f"unix://{path}")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr, result.stderr


# -- podman's Docker API -----------------------------------------------------------------------------------


def test_package_into_podman_relocated(package: OfflinePackage, podman_service: PodmanService) -> None:
    host = ("--runtime", "podman", "--host", podman_service.base_url)
    report = _load(package.path, *host, *RELOCATE)
    expected = _relocated_names(package.path)
    assert {n for i in report["images"] for n in i["names"]} == set(expected.values())
    records = {r.ref: r for b in package.bundles for r in b.images}
    for source, target in expected.items():
        found = _podman_image(podman_service, target)
        assert {source, target} <= set(found["RepoTags"])
        assert found["RootFS"]["Layers"] == list(records[source].diff_ids)


def test_untag_source_in_podman(tmp_path: Path, podman_service: PodmanService) -> None:
    images = [Image(("docker.m.daocloud.io/untag/app:v1",), i.config, i.layers) for i in sample_images(tmp_path)[:1]]
    source = write_images_tar(tmp_path / "images.tar", images)
    host = ("--runtime", "podman", "--host", podman_service.base_url)
    _load(source, *host)  # the vendor's name exists first
    report = _load(source, *host, "--registry", "untag.example.com", "--untag-source")
    assert report["images"][0]["removed"] == ["docker.m.daocloud.io/untag/app:v1"]
    assert _podman_image(podman_service, "untag.example.com/untag/app:v1")["RepoTags"] == [
        "untag.example.com/untag/app:v1"
    ]
    assert podman_cli(podman_service, "image", "exists", "docker.m.daocloud.io/untag/app:v1", check=False).returncode


@pytest.mark.parametrize("flavour", IMAGES_TAR_FLAVOURS)
def test_every_flavour_into_podman(tmp_path: Path, podman_service: PodmanService, flavour: str) -> None:
    images = sample_images(tmp_path / "layers", count=2)
    source = write_images_tar(tmp_path / "images.tar", images, flavour)  # type: ignore[arg-type]
    registry = f"{flavour}.podman.example.com"
    report = _load(source, "--runtime", "podman", "--host", podman_service.base_url, "--registry", registry)
    assert len(report["images"]) == len(images)
    for image in images:
        target = registry + "/" + image.names[0].split("/", 1)[1]
        assert _podman_image(podman_service, target)["RootFS"]["Layers"] == [la.diff_id for la in image.layers]


# -- containerd ----------------------------------------------------------------------------------------------


def test_package_into_containerd_keeps_push_digests(
    package: OfflinePackage, containerd: ContainerdProcess, registry: RegistryProcess
) -> None:
    pushed = run_cli("push-images", str(package.path), "--json", "--plain-http", "--registry", registry.host)
    assert pushed.code == 0, pushed.stderr
    push_digests = {i["target"]: i["digest"] for i in json.loads(pushed.stdout)["images"]}
    runtime = ("--runtime", "containerd", "--address", containerd.address)
    report = _load(package.path, *runtime, "--registry", registry.host)
    digests = _ctr_digests(containerd)  # default namespace: k8s.io
    assert {n: digests[n] for n in push_digests} == push_digests
    assert {i["digest"] for i in report["images"]} == set(push_digests.values())
    for ref in package.image_refs:
        assert digests[ref] == package.expected_digests[ref]  # the source names are kept too
    content = containerd.ctr("content", "ls", "-q").stdout.split()
    assert package.layer_digests <= set(content)


@pytest.mark.parametrize("flavour", IMAGES_TAR_FLAVOURS)
def test_every_flavour_into_containerd(tmp_path: Path, containerd: ContainerdProcess, flavour: str) -> None:
    images = sample_images(tmp_path / "layers", count=2)
    source = write_images_tar(tmp_path / "images.tar", images, flavour)  # type: ignore[arg-type]
    ours = {img.names[0]: str(img.digest) for img in open_source(source).images}
    namespace = f"flavour-{flavour}"
    address = ("--address", containerd.address, "--namespace", namespace)
    report = _load(source, "--runtime", "containerd", *address, *RELOCATE, "--untag-source")
    expected = _relocated_names(source)
    digests = _ctr_digests(containerd, namespace)
    assert set(digests) == set(expected.values())  # --untag-source: only the relocated names
    assert {n: digests[t] for n, t in expected.items()} == ours
    assert {i["names"][0]: i["digest"] for i in report["images"]} == {expected[n]: d for n, d in ours.items()}
    content = set(containerd.ctr("content", "ls", "-q", namespace=namespace).stdout.split())
    for image in open_source(source).images:
        assert {str(layer.digest) for layer in image.manifest.layers} <= content


def test_multiarch_index(tmp_path: Path, podman_service: PodmanService, containerd: ContainerdProcess) -> None:
    multi = make_multiarch_image(tmp_path / "layers", ["docker.m.daocloud.io/multi/app:v1"])
    source = write_oci_layout(tmp_path / "multi.tar", [], multiarch=[multi], ref_name_style="full")
    _load(source, "--runtime", "containerd", "--address", containerd.address, "--namespace", "multi")
    assert _ctr_digests(containerd, "multi") == {multi.names[0]: multi.index_digest()}
    _load(source, "--runtime", "podman", "--host", podman_service.base_url)
    amd64 = next(v for v in multi.variants if v.architecture == "amd64")
    found = _podman_image(podman_service, multi.names[0])
    assert found["RootFS"]["Layers"] == [la.diff_id for la in amd64.layers]


def test_invalid_containerd_namespace_is_refused_up_front(
    package: OfflinePackage, containerd: ContainerdProcess
) -> None:
    """containerd would refuse the name for every image; say it once, exit 2, before streaming anything."""
    result = run_cli(
        "load", str(package.path), "--runtime", "containerd", "--address", containerd.address,
        "--namespace", "Not_Valid!", "--registry", "10.6.10.10",
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "--namespace Not_Valid!" in result.stderr, result.stderr
    assert "Not_Valid!" not in containerd.ctr("namespaces", "ls", "-q").stdout.split()
