"""Turn source images plus rewrite rules into push items for one target registry host.

Each name an image carries becomes one push item (shared blobs are deduplicated by the engine).
Names are relocated with :func:`skoala_airgap.relocation.rules.relocate`, the same function the chart rewrite
uses, so the pushed name and the name in values.yaml agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from skoala_airgap.engine.push import PushItem
from skoala_airgap.errors import InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.relocation.rules import RewriteRules, relocate
from skoala_airgap.sources.bundle import Bundle


@dataclass
class PushPlan:
    host: str
    items: list[PushItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # images that cannot be placed (no usable name)


def target_for(reference: Reference, rules: RewriteRules, image: SourceImage) -> tuple[str, str, str | None]:
    """(host, repository path, tag) for one source name under ``rules``."""
    rel = relocate(reference, rules, str(image.digest))
    target = rel.target
    return target.registry, target.repository, target.tag if not reference.is_digest else None


def plan_pushes(pairs: Iterable[tuple[Bundle | None, SourceImage]], rules: RewriteRules) -> PushPlan:
    """Every (bundle, image) pair placed on one host; raises when the rules do not name a registry."""
    if not (rules.registry or rules.prefix_registry):
        raise InputError("a target registry is needed: --registry or --prefix-registry")
    problems: list[str] = []
    items: list[PushItem] = []
    hosts: set[str] = set()
    for bundle, image in pairs:
        group = bundle.label if bundle else ""
        if not image.names:
            problems.append(f"{image.origin}: image {image.digest} has no name; cannot choose a target")
            continue
        for name in image.names:
            try:
                reference = parse_reference(name)
                host, repository, tag = target_for(reference, rules, image)
            except ValueError as exc:
                problems.append(f"{image.origin}: {name}: {exc}")
                continue
            hosts.add(host)
            items.append(PushItem(image, repository, tag, name, group))
    if len(hosts) > 1:
        raise InputError(f"the rules send images to several registries ({', '.join(sorted(hosts))})")
    host = hosts.pop() if hosts else (rules.prefix_registry or rules.registry).split("/", 1)[0]
    return PushPlan(host, items, problems)
