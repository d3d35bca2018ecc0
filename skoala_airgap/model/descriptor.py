"""OCI content descriptors: what a manifest says about each blob it references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skoala_airgap.model.digest import Digest


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform must be os/arch[/variant], got {text!r}")
        return cls(*parts)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Platform:
        return cls(str(data.get("os", "")), str(data.get("architecture", "")), str(data.get("variant", "")))

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    size: int
    digest: Digest
    annotations: tuple[tuple[str, str], ...] = field(default=())
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        platform = data.get("platform")
        return cls(
            media_type=str(data.get("mediaType", "")),
            size=int(data["size"]),
            digest=Digest.parse(str(data["digest"])),
            annotations=tuple(sorted((data.get("annotations") or {}).items())),
            platform=Platform.from_json(platform) if isinstance(platform, dict) else None,
            urls=tuple(data.get("urls") or ()),
        )

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)

    def to_json(self) -> dict[str, Any]:
        """Descriptor as ggcr serialises it: mediaType, size, digest, then optional fields."""
        out: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": str(self.digest)}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            plat = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                plat["variant"] = self.platform.variant
            out["platform"] = plat
        return out
