"""The in-place tar reader: member regions, nesting, long names, and every rejection rule."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from skoala_airgap.archive.tar_index import TarIndex
from skoala_airgap.errors import ArchiveError


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> Path:
    with tarfile.open(path, "w", format=fmt) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_members_are_regions_of_the_outer_file(tmp_path: Path) -> None:
    path = _tar(tmp_path / "a.tar", [("one.txt", b"hello"), ("dir/two.bin", bytes(range(256)) * 40)])
    index = TarIndex.open(path)
    assert index.names() == ["one.txt", "dir/two.bin"]
    region = index.region_of("dir/two.bin")
    with path.open("rb") as raw:
        raw.seek(region.offset)
        assert raw.read(region.size) == bytes(range(256)) * 40
    assert index.read("one.txt") == b"hello"


def test_pax_and_gnu_long_names(tmp_path: Path) -> None:
    long_name = "original-chart/" + "/".join(["deeply-nested-directory"] * 8) + "/values.yaml"
    assert len(long_name) > 100
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        path = _tar(tmp_path / f"long-{fmt}.tar", [(long_name, b"key: value\n")], fmt)
        assert TarIndex.open(path).read(long_name) == b"key: value\n"


def test_nested_tar_is_read_in_place(tmp_path: Path) -> None:
    layer = b"layer-bytes" * 1000
    inner = _tar(tmp_path / "inner.tar", [("blob", layer)])
    middle = _tar(tmp_path / "middle.tar", [("images.tar", inner.read_bytes())])
    outer = _tar(tmp_path / "outer.tar", [("x.bundle.tar", middle.read_bytes())])
    nested = TarIndex.open(outer).nested("x.bundle.tar").nested("images.tar")
    region = nested.region_of("blob")
    assert region.path == outer  # every level is a slice of the outermost file, no copy
    with region.open() as reader:
        assert hashlib.sha256(reader.read()).digest() == hashlib.sha256(layer).digest()
    assert nested.label == f"{outer}!x.bundle.tar!images.tar"


def test_symlinks_inside_the_archive_are_followed(tmp_path: Path) -> None:
    path = _tar(tmp_path / "s.tar", [("abc.tar", b"data"), _link("id/layer.tar", "../abc.tar")])
    assert TarIndex.open(path).read("id/layer.tar") == b"data"


def test_hardlinks_are_followed(tmp_path: Path) -> None:
    path = _tar(tmp_path / "h.tar", [("a", b"data"), _link("b", "a", tarfile.LNKTYPE)])
    assert TarIndex.open(path).read("b") == b"data"


def test_identical_duplicates_are_accepted(tmp_path: Path) -> None:
    path = _tar(tmp_path / "d.tar", [("sha256:abc", b"{}"), ("sha256:abc", b"{}")])
    assert TarIndex.open(path).read("sha256:abc") == b"{}"


@pytest.mark.parametrize(
    ("members", "member", "reason"),
    [
        ([("/etc/passwd", b"x")], "/etc/passwd", "unsafe member path"),
        ([("a/../../escape", b"x")], "a/../../escape", "unsafe member path"),
        ([_link("evil", "../../etc/passwd")], "evil", "leaves the archive"),
        ([_link("evil", "/etc/passwd")], "evil", "leaves the archive"),
        ([("same", b"one"), ("same", b"two")], "same", "duplicate member name with different content"),
    ],
)
def test_unsafe_archives_are_rejected(tmp_path: Path, members: list, member: str, reason: str) -> None:
    path = _tar(tmp_path / "bad.tar", members)
    with pytest.raises(ArchiveError) as info:
        TarIndex.open(path)
    assert info.value.member == member
    assert reason in str(info.value)
    assert str(path) in str(info.value)


def test_truncated_member_data_is_rejected(tmp_path: Path) -> None:
    path = _tar(tmp_path / "t.tar", [("big", b"x" * 100_000)])
    data = path.read_bytes()
    path.write_bytes(data[:50_000])
    with pytest.raises(ArchiveError, match="truncated"):
        TarIndex.open(path)


def test_missing_end_marker_is_rejected(tmp_path: Path) -> None:
    path = _tar(tmp_path / "t.tar", [("a", b"x" * 512)])
    path.write_bytes(path.read_bytes()[: 512 + 512])  # header + data, no zero blocks
    with pytest.raises(ArchiveError, match="end-of-archive"):
        TarIndex.open(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not a tar archive at all" * 40, "not a valid tar archive"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 600, "gzip-compressed"),
        (b"short", "shorter than one tar header"),
    ],
)
def test_non_tar_input_is_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "nope.tar"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match=reason):
        TarIndex.open(path)


def test_missing_member_names_archive_and_member(tmp_path: Path) -> None:
    index = TarIndex.open(_tar(tmp_path / "m.tar", [("a", b"x")]))
    with pytest.raises(ArchiveError) as info:
        index.read("images.tar")
    assert str(info.value) == f"{tmp_path / 'm.tar'}: images.tar: no such member"
