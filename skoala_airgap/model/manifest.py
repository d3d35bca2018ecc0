"""Manifest serialisation that reproduces ``docker push`` bytes, so digests survive relocation.

charts-syncer (go-containerregistry) and the docker CLI both write an image manifest as JSON indented
by three spaces, keys in struct order, no trailing newline, HTML-unsafe characters escaped. The sha256
of exactly these bytes is the image digest; an image first pushed by docker keeps its digest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor

# encoding/json escapes these inside strings by default; Python's json does not.
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_indent_json(value: Any) -> bytes:
    """``json.MarshalIndent(value, "", "   ")`` as Go writes it."""
    text = json.dumps(value, indent=3, ensure_ascii=False)
    for char, escaped in _GO_ESCAPES.items():
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def image_manifest_bytes(media_type: str, config: Descriptor, layers: Sequence[Descriptor]) -> bytes:
    """An image manifest (Docker schema2 or OCI) in ggcr's field order."""
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    return go_indent_json(body)


def layer_media_type(manifest_type: str, compression: str) -> str:
    """The layer media type for a manifest family and a detected compression."""
    if manifest_type == mt.DOCKER_MANIFEST:
        return {"gzip": mt.DOCKER_LAYER_GZIP, "none": mt.DOCKER_LAYER}[compression]
    return {"gzip": mt.OCI_LAYER_GZIP, "zstd": mt.OCI_LAYER_ZSTD, "none": mt.OCI_LAYER}[compression]
