"""Every images.tar flavour maps onto the one image model with the right names, digests and blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fixtures.images import IMAGES_TAR_FLAVOURS, Image, make_multiarch_image, write_images_tar, write_oci_layout
from skoala_airgap.archive.entries import DirEntries
from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.image import Compression, SourceImage
from skoala_airgap.model.reference import same_image_name
from skoala_airgap.sources.images import read_images
from tests.helpers import sample_images


def _conformance(image: SourceImage) -> None:
    """validate.Image in spirit: every blob's bytes hash to its descriptor, manifest bytes to the digest."""
    assert image.digest.hex == hashlib.sha256(image.manifest.raw).hexdigest()
    for blob in image.manifest.blobs():
        with blob.open() as reader:
            data = reader.read()
        assert len(data) == blob.size, blob.label
        assert hashlib.sha256(data).hexdigest() == blob.digest.hex, blob.label


def _find(images: list[SourceImage], name: str) -> SourceImage:
    matches = [i for i in images if any(same_image_name(n, name) for n in i.names)]
    assert len(matches) == 1, (name, [i.names for i in images])
    return matches[0]


@pytest.mark.parametrize("flavour", IMAGES_TAR_FLAVOURS)
def test_flavour_reads_every_image(tmp_path: Path, flavour: str) -> None:
    images = sample_images(tmp_path / "layers")
    path = write_images_tar(tmp_path / "images.tar", images, flavour)  # type: ignore[arg-type]
    found = read_images(TarIndex.open(path))
    assert len(found) == len(images)
    for expected in images:
        image = _find(found, expected.names[0])
        _conformance(image)
        _check_layers(image, expected, flavour)


def _check_layers(image: SourceImage, expected: Image, flavour: str) -> None:
    layers = image.manifest.layers
    assert len(layers) == len(expected.layers)
    if flavour in ("ggcr", "oci"):
        assert [str(b.digest) for b in layers] == [la.gz_digest for la in expected.layers]
        assert all(b.compression is Compression.GZIP for b in layers)
    else:  # uncompressed flavours keep the bytes as they are: the digest is the diff_id
        assert [str(b.digest) for b in layers] == [la.diff_id for la in expected.layers]
        assert all(b.compression is Compression.NONE for b in layers)
    assert str(image.manifest.config.digest) == expected.config_digest  # type: ignore[union-attr]
    if flavour == "ggcr":
        # The Docker schema2 manifest rebuilt exactly as docker push / charts-syncer serialise it.
        assert image.manifest.raw == expected.docker_manifest_bytes()
        assert str(image.digest) == expected.docker_manifest_digest()
    elif flavour == "oci":
        assert str(image.digest) == expected.oci_manifest_digest(gzip_layers=True)
    elif flavour in ("oci-uncompressed", "docker25"):
        assert str(image.digest) == expected.oci_manifest_digest(gzip_layers=False)
    else:
        assert image.manifest.media_type == mt.DOCKER_MANIFEST
        assert all(b.descriptor.media_type == mt.DOCKER_LAYER for b in layers)


def test_legacy_symlinked_layers_resolve_to_the_shared_blob(tmp_path: Path) -> None:
    images = sample_images(tmp_path / "layers")
    path = write_images_tar(tmp_path / "images.tar", images, "docker-save-symlink")
    index = TarIndex.open(path)
    assert any(m.kind == "symlink" for m in index)
    for image in read_images(index):
        _conformance(image)


def test_oci_index_with_two_platforms(tmp_path: Path) -> None:
    multi = make_multiarch_image(tmp_path / "layers", ["docker.m.daocloud.io/skoala/hive:v1"])
    path = write_oci_layout(tmp_path / "oci.tar", [], multiarch=[multi], ref_name_style="full")
    (image,) = read_images(TarIndex.open(path))
    assert image.manifest.is_index
    assert str(image.digest) == multi.index_digest()
    assert sorted(str(c.platform) for c in image.manifest.children) == ["linux/amd64", "linux/arm64"]
    assert len(image.manifest.blobs()) == 4  # two configs, two layers
    _conformance(image)


def test_oci_layout_directory_and_bare_tag_names(tmp_path: Path) -> None:
    images = sample_images(tmp_path / "layers", count=1)
    root = write_oci_layout(tmp_path / "layout", images, as_tar=False, ref_name_style="tag", containerd_name=False)
    found = read_images(DirEntries(root))
    assert [i.tags for i in found] == [("v0.0.0",), ("v1",)]
    assert all(i.names == () for i in found)
    for image in found:
        _conformance(image)
