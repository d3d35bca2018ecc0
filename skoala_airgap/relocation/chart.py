"""Relocate one chart: which images move where, and the values.yaml edits that follow.

The steps are charts-syncer's (spec §2.3-§2.8): render each hint against the chart values, relocate
the reference with the shared rules, derive the values edits, re-render the hint with the edits merged
in to get the rewritten reference, and push an image only when that reference changed. The push target
keeps the original tag (§2.8). The rewritten chart keeps every untouched byte of values.yaml.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.charts.hints import ImageTemplate, render
from skoala_airgap.charts.package import strip_dependency_refs
from skoala_airgap.charts.values_context import KeyPath, with_rewrites
from skoala_airgap.charts.values_edit import apply_rewrites
from skoala_airgap.errors import InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.relocation.hints import HintedChart
from skoala_airgap.relocation.rules import Relocation, RewriteRules, needs_push, push_target, relocate, rewrite_actions
from skoala_airgap.sources.lookup import find_image

#: The key the vendor's charts (and Bitnami's) read before each image's own registry value.
GLOBAL_REGISTRY: KeyPath = ("global", "imageRegistry")


@dataclass(frozen=True)
class HintMove:
    """One hint's image: where it was, where the chart will point, and where it is pushed."""

    number: int
    template: ImageTemplate
    original: Reference
    relocation: Relocation
    pinned: str | None  # the digest written into the repository value (hint without tag or digest)
    rewritten: Reference  # what the relocated chart renders
    image: SourceImage | None  # None when images are skipped
    target: Reference | None  # None when nothing needs pushing

    @property
    def destination(self) -> Reference | None:
        """Where the image goes under the rules, images skipped or not (None: its name does not change)."""
        if not needs_push(self.original, self.rewritten):
            return None
        return parse_reference(push_target(self.rewritten, self.original))

    @property
    def repository_value(self) -> str:
        """REPO as the chart's repository value gets it (with the digest pin where there is one)."""
        return self.relocation.pinned_repository(self.pinned) if self.pinned else self.relocation.repository


@dataclass
class ChartPlan:
    """The image moves and values edits of one chart under one set of rules."""

    hinted: HintedChart
    rules: RewriteRules
    skip_images: bool
    moves: list[HintMove] = field(default_factory=list)
    actions: list[tuple[KeyPath, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.hinted.name

    @property
    def version(self) -> str:
        return self.hinted.version

    @property
    def label(self) -> str:
        return self.hinted.label


def _path_for(template: ImageTemplate, role: str) -> KeyPath:
    path = {
        "combined": template.registry_and_repository,
        "registry": template.registry,
        "repository": template.repository,
    }[role]
    assert path is not None
    return path


def plan_chart(hinted: HintedChart, rules: RewriteRules, *, skip_images: bool) -> ChartPlan:
    """Work out the image moves and values edits for one chart (reads hints, values and images.tar).

    Every problem is an :class:`InputError` naming the file and member: a bad hint, a hinted image that
    images.tar does not hold, a rule that builds an invalid name.
    """
    hints = hinted.references()
    if hints and not skip_images and hinted.bundle is not None and not hinted.has_images:
        raise InputError(
            f"{hinted.label}: images.tar: not in bundle (saved with skipImages? "
            "sync --skip-images publishes the chart without them)"
        )
    images = [] if skip_images else hinted.images
    plan = ChartPlan(hinted, rules, skip_images)
    registries: set[str] = set()
    for hint in hints:
        template, original = hint.template, hint.reference
        assert original is not None
        where = f"{hinted.hints_label}: item {hint.number}"
        image = None if skip_images else find_image(images, original)
        unpinned = template.tag is None and template.digest is None
        if not skip_images and image is None:
            raise InputError(f"{hinted.label}: images.tar: {original.name} not found (named by hint {hint.number})")
        if unpinned and image is None:
            pin_from = find_image(hinted.images, original) if hinted.has_images else None
            if pin_from is None:
                raise InputError(
                    f"{where}: a hint without tag or digest needs the image in images.tar to pin its digest"
                )
            digest: str | None = str(pin_from.digest)
        else:
            digest = str(image.digest) if image else None
        try:
            rel = relocate(original, rules, digest)
            _ = rel.target
        except ValueError as exc:
            raise InputError(f"{where}: {original.name}: {exc}") from exc
        actions = [
            (_path_for(template, role), value)
            for role, value in rewrite_actions(
                rel,
                combined=template.registry_and_repository is not None,
                has_registry=template.registry is not None,
                has_repository=template.repository is not None,
                pinned_digest=digest if unpinned else None,
            )
        ]
        if template.registry is not None:
            registries.add(rel.registry)
        try:
            rewritten = parse_reference(render(template, with_rewrites(hinted.context, actions)))
        except ValueError as exc:
            raise InputError(f"{where}: relocated: {exc}") from exc
        pinned = digest if unpinned else None
        move = HintMove(hint.number, template, original, rel, pinned, rewritten, image, None)
        plan.moves.append(dataclasses.replace(move, target=move.destination if image else None))
        plan.actions.extend(actions)
    plan.actions.extend(global_registry_action(hinted.context, registries))
    return plan


def global_registry_action(context: dict[str, object], registries: set[str]) -> list[tuple[KeyPath, str]]:
    """Point ``global.imageRegistry`` at the new registry when the chart has one (beyond charts-syncer).

    Charts like the vendor's render ``global.imageRegistry | default .image.registry``, so relocating the
    per-image registries alone leaves every image on the origin. When all hinted registry values moved
    to one registry, the global key follows; with several (appendOriginRegistry over mixed origins) it
    is left alone, because no single value is right.
    """
    glob = context.get("global")
    current = glob.get("imageRegistry") if isinstance(glob, dict) else None
    if not isinstance(current, str) or not current or len(registries) != 1:
        return []
    (registry,) = registries
    return [] if registry == current else [(GLOBAL_REGISTRY, registry)]


def relocated_chart(plan: ChartPlan) -> ChartFiles:
    """The chart with values.yaml edited, dependency repositories blanked and Chart.lock dropped."""
    chart = plan.hinted.chart
    files = dict(chart.files)
    label = chart.label
    if plan.actions:
        values = files.get("values.yaml", b"").decode("utf-8")
        files["values.yaml"] = apply_rewrites(values, plan.actions, source=f"{label}/values.yaml").encode("utf-8")
    return ChartFiles(strip_dependency_refs(files, label), label)
