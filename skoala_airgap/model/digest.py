"""Content digests (``sha256:<hex>``) and the streaming hasher used while reading blobs."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_DIGEST_RE = re.compile(r"^(sha256):([0-9a-f]{64})$")


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A sha256 content address. Only sha256 is accepted: it is all that registries and bundles use."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _DIGEST_RE.match(text)
        if not match:
            raise ValueError(f"not a sha256 digest: {text!r}")
        return cls(match.group(1), match.group(2))

    @classmethod
    def of(cls, data: bytes) -> Digest:
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return bool(_DIGEST_RE.match(text))

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        return self.hex[:12]
