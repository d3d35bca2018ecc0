"""Recognise an images source (images.tar of any flavour, OCI layout dir or tar) and read its images."""

from __future__ import annotations

from skoala_airgap.archive.entries import Entries
from skoala_airgap.errors import ArchiveError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.sources.docker_archive import read_docker_archive
from skoala_airgap.sources.oci_layout import read_oci_layout


def is_images_archive(entries: Entries) -> bool:
    return ("oci-layout" in entries and "index.json" in entries) or "manifest.json" in entries


def read_images(entries: Entries) -> list[SourceImage]:
    """OCI layout first (it also covers Docker 25+ saves), then ``manifest.json`` archives."""
    if "oci-layout" in entries and "index.json" in entries:
        return read_oci_layout(entries)
    if "manifest.json" in entries:
        return read_docker_archive(entries)
    if "oci-layout" in entries:
        raise ArchiveError(entries.label, "index.json", "OCI layout without index.json")
    raise ArchiveError(entries.label, None, "not an images archive: no manifest.json and no OCI layout")
