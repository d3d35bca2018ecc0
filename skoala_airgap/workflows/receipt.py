"""The site receipt: what a push, sync or load actually placed, so later commands point at it.

A small JSON file records, per destination (a registry host, an OCI layout, a runtime socket), the rules
used, each source image -> target -> digest, and each chart -> where it was published. ``values`` and
``helm-command`` read it to write overrides that name exactly those images, and say which receipt they
used. Later runs to the same destination replace that destination's entry; others are kept.

Default place: next to the config (``load-image.yaml`` -> ``load-image.receipt.json``) when a config
was used, else ``<package name>.receipt.json`` in the current directory; ``--receipt PATH`` overrides.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skoala_airgap.errors import InputError
from skoala_airgap.relocation.rules import RewriteRules

SCHEMA = 1
_RULE_KEYS = {
    "registry": "containerRegistry",
    "prefix_registry": "containerPrefixRegistry",
    "repository": "containerRepository",
    "prefix_repository": "containerPrefixRepository",
    "append_origin_registry": "appendOriginRegistry",
}


def rules_to_json(rules: RewriteRules) -> dict[str, Any]:
    return {key: getattr(rules, name) for name, key in _RULE_KEYS.items() if getattr(rules, name)}


def rules_from_json(data: dict[str, Any]) -> RewriteRules:
    return RewriteRules.from_config(data)


def describe_rules(rules: RewriteRules) -> str:
    """``containerPrefixRegistry=h`` style, the words of load-image.yaml."""
    return ", ".join(f"{k}={v}" for k, v in rules_to_json(rules).items()) or "no rewrite rule"


@dataclass
class Placement:
    """What one command placed at one destination."""

    destination: str  # "registry HOST", "oci-layout DIR", "containerd SOCKET (k8s.io)", "podman SOCKET"
    kind: str  # registry, oci-layout, docker, podman, containerd
    command: str
    rules: RewriteRules
    images: list[dict[str, str]] = field(default_factory=list)  # source, target, digest, chart
    charts: list[dict[str, str]] = field(default_factory=list)  # name, version, destination, location, digest
    when: str = ""

    @property
    def host(self) -> str:
        return self.destination.split(" ", 1)[1] if self.kind == "registry" else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "kind": self.kind,
            "command": self.command,
            "when": self.when or _now(),
            "rules": rules_to_json(self.rules),
            "images": self.images,
            "charts": self.charts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Placement:
        return cls(
            destination=str(data["destination"]),
            kind=str(data["kind"]),
            command=str(data.get("command", "")),
            rules=rules_from_json(dict(data.get("rules") or {})),
            images=[dict(i) for i in data.get("images") or []],
            charts=[dict(c) for c in data.get("charts") or []],
            when=str(data.get("when", "")),
        )

    def targets(self) -> dict[str, str]:
        """target reference -> digest of every image placed."""
        return {i["target"]: i["digest"] for i in self.images}


@dataclass
class Receipt:
    path: Path
    source: dict[str, Any] = field(default_factory=dict)
    placements: list[Placement] = field(default_factory=list)

    def registry(self, host: str = "") -> Placement | None:
        """The registry placement for ``host``, or the only one when ``host`` is empty."""
        registries = [p for p in self.placements if p.kind in ("registry", "oci-layout")]
        if host:
            return next((p for p in registries if p.host == host), None)
        if len(registries) > 1:
            hosts = ", ".join(p.destination for p in registries)
            raise InputError(f"{self.path}: the receipt names several registries ({hosts}); pass --registry")
        return registries[0] if registries else None


def default_path(*, explicit: Path | None, config: Path | None, source: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    if config is not None:
        return config.with_name(f"{config.stem}.receipt.json")
    if source is not None:
        name = source.name.removesuffix(".tar") if source.is_file() else source.name
        return Path.cwd() / f"{name}.receipt.json"
    return None


def load(path: Path) -> Receipt:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such receipt") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable receipt ({exc})") from exc
    if not isinstance(data, dict) or data.get("receipt") != SCHEMA:
        raise InputError(f"{path}: not a skoala-airgap receipt (schema {SCHEMA})")
    try:
        placements = [Placement.from_json(p) for p in data.get("placements") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: damaged receipt ({exc})") from exc
    return Receipt(path, dict(data.get("source") or {}), placements)


def record(path: Path, source: dict[str, Any], placement: Placement) -> Path:
    """Add or replace ``placement`` (by destination) in the receipt at ``path``, atomically."""
    existing = load(path) if path.is_file() else Receipt(path)
    kept = [p for p in existing.placements if p.destination != placement.destination]
    if existing.source and existing.source.get("name") != source.get("name"):
        kept = []  # a receipt for another package: start over rather than mix two packages
    body = {"receipt": SCHEMA, "source": source, "placements": [p.to_json() for p in [*kept, placement]]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(body, out, indent=2)
            out.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise InputError(f"{path}: cannot write the receipt: {exc.strerror or exc}") from exc
    return path


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
