"""Index a tar archive once (headers only) and serve its members as file regions.

The index is built with :mod:`tarfile`, which already handles ustar, PAX and GNU long names; we only
walk its headers (it seeks over member data), so indexing a 1.5 GB package reads a few kilobytes.
Members of nested tars are indexed the same way from the outer file's region, to any depth.

Safety rules, checked while indexing: no absolute paths, no ``..`` components, no links that leave the
archive root, no conflicting duplicate names, no member data past the end of the file, and the input
must be a tar at all.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from skoala_airgap.archive.region import FileRegion
from skoala_airgap.errors import ArchiveError

# Members read into memory (configs, manifests, hints, chart files) must stay below this.
SMALL_MEMBER_LIMIT = 64 * 1024 * 1024
_COMPARE_CHUNK = 1024 * 1024
_MAX_LINK_HOPS = 16


@dataclass(frozen=True, slots=True)
class Member:
    """One archive entry. ``region`` is where a regular file's bytes are; links carry ``linkname``."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink"
    region: FileRegion
    linkname: str = ""


def _clean_name(raw: str) -> str | None:
    """Normalise a member name; None when it is unsafe (absolute, or with a '..' component)."""
    if raw.startswith("/"):
        return None
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _kind(info: tarfile.TarInfo) -> str | None:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return None


class TarIndex:
    """The members of one tar, in archive order, keyed by normalised name.

    ``label`` names the archive in error messages: the outer file's path, then ``!member`` for each
    level of nesting, e.g. ``skoala_v0.28.1_amd64.tar!skoala_0.28.1.bundle.tar!images.tar``.
    """

    def __init__(self, region: FileRegion, label: str | None = None) -> None:
        self.region = region
        self.label = label or str(region.path)
        self._members: dict[str, Member] = {}
        self._index()

    @classmethod
    def open(cls, path: Path) -> TarIndex:
        try:
            region = FileRegion.whole(path)
        except OSError as exc:
            raise ArchiveError(str(path), None, exc.strerror or str(exc)) from exc
        if path.is_dir():
            raise ArchiveError(str(path), None, "is a directory, expected a tar archive")
        return cls(region, str(path))

    # -- building ---------------------------------------------------------------------------------

    def _fail(self, member: str | None, reason: str) -> ArchiveError:
        return ArchiveError(self.label, member, reason)

    def _index(self) -> None:
        head = self.region.peek(512)
        if head[:2] == b"\x1f\x8b":
            raise self._fail(None, "is gzip-compressed; expected a plain (uncompressed) tar archive")
        if len(head) < 512:
            raise self._fail(None, "not a tar archive (shorter than one tar header)")
        end = 0
        with self.region.open() as reader:
            try:
                with tarfile.open(fileobj=reader, mode="r:") as tar:
                    for info in tar:
                        end = self._add(info)
            except tarfile.TarError as exc:
                raise self._fail(None, f"not a valid tar archive ({exc})") from exc
        # tarfile stops quietly at a short or garbled header; demand the zero-block trailer instead.
        trailer = self.region.sub(end, self.region.size - end).peek(512)
        if len(trailer) < 512 or trailer.count(0) != 512:
            raise self._fail(None, "truncated or corrupt archive: no end-of-archive marker")

    def _add(self, info: tarfile.TarInfo) -> int:
        name = _clean_name(info.name)
        if name is None:
            raise self._fail(info.name, "unsafe member path (absolute or containing '..')")
        kind = _kind(info)
        if info.issparse() or kind is None:
            raise self._fail(info.name, f"unsupported tar entry type {info.type!r}")
        data_end = info.offset_data + (info.size if kind == "file" else 0)
        if data_end > self.region.size:
            raise self._fail(name, "truncated archive: member data runs past the end of the file")
        member = Member(
            name=name,
            kind=kind,
            region=self.region.sub(info.offset_data, info.size if kind == "file" else 0),
            linkname=info.linkname,
        )
        if kind in ("symlink", "hardlink"):
            self._check_link_inside(member)
        previous = self._members.get(name)
        if previous is None:
            self._members[name] = member
        elif not self._same_content(previous, member):
            raise self._fail(name, "duplicate member name with different content")
        padded = info.size + (-info.size % 512) if kind == "file" else 0
        return info.offset_data + padded

    def _check_link_inside(self, member: Member) -> None:
        target = member.linkname
        if target.startswith("/"):
            raise self._fail(member.name, f"link to absolute path {target!r} leaves the archive")
        if member.kind == "symlink":
            target = posixpath.join(posixpath.dirname(member.name), target)
        if posixpath.normpath(target).startswith("../") or posixpath.normpath(target) == "..":
            raise self._fail(member.name, f"link target {member.linkname!r} leaves the archive")

    def _same_content(self, first: Member, second: Member) -> bool:
        """ggcr writes a shared config twice under one name; identical duplicates are harmless."""
        if first.kind != second.kind or first.linkname != second.linkname:
            return False
        if first.region.size != second.region.size:
            return False
        with first.region.open() as a, second.region.open() as b:
            while True:
                chunk_a, chunk_b = a.read(_COMPARE_CHUNK), b.read(_COMPARE_CHUNK)
                if chunk_a != chunk_b:
                    return False
                if not chunk_a:
                    return True

    # -- lookups ----------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._members)

    def __contains__(self, name: str) -> bool:
        return self.resolve_name(name) in self._members

    def __iter__(self) -> Iterator[Member]:
        return iter(self._members.values())

    def get(self, name: str) -> Member | None:
        """The member (links followed) or None."""
        try:
            return self.member(name)
        except ArchiveError:
            return None

    @staticmethod
    def resolve_name(name: str) -> str:
        return _clean_name(name) or name

    def member(self, name: str) -> Member:
        """The regular-file member at ``name``, following symlinks and hardlinks inside the archive."""
        wanted = self.resolve_name(name)
        for _ in range(_MAX_LINK_HOPS):
            member = self._members.get(wanted)
            if member is None:
                raise self._fail(name, "no such member")
            if member.kind == "file":
                return member
            if member.kind == "dir":
                raise self._fail(name, "is a directory, expected a file")
            base = posixpath.dirname(member.name) if member.kind == "symlink" else ""
            wanted = posixpath.normpath(posixpath.join(base, member.linkname))
        raise self._fail(name, "too many levels of links")

    def region_of(self, name: str) -> FileRegion:
        return self.member(name).region

    def read(self, name: str, limit: int = SMALL_MEMBER_LIMIT) -> bytes:
        """A small member's bytes (config, manifest, hints, chart file)."""
        member = self.member(name)
        if member.region.size > limit:
            raise self._fail(name, f"member is {member.region.size} bytes, more than the {limit}-byte limit")
        return member.region.read(limit)

    def nested(self, name: str) -> TarIndex:
        """Index the tar stored in member ``name`` in place."""
        member = self.member(name)
        return TarIndex(member.region, f"{self.label}!{member.name}")

    def member_label(self, name: str) -> str:
        return f"{self.label}!{name}"
