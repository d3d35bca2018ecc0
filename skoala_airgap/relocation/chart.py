"""Relocate one bundle's chart: which images move where, and the values.yaml edits that follow.

The steps are charts-syncer's (spec §2.3-§2.8): render each hint against the chart values, relocate
the reference with the shared rules, derive the values edits, re-render the hint with the edits merged
in to get the rewritten reference, and push an image only when that reference changed. The push target
keeps the original tag (§2.8). The rewritten chart keeps every untouched byte of values.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.charts.hints import ImageTemplate, parse_hints, render
from skoala_airgap.charts.values_context import KeyPath, build_values_context, with_rewrites
from skoala_airgap.charts.values_edit import apply_rewrites, set_dependency_repositories_empty
from skoala_airgap.errors import InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.relocation.rules import RewriteRules, needs_push, push_target, relocate, rewrite_actions
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.lookup import find_image


@dataclass(frozen=True)
class ImageMove:
    """One hint's image: where it was, where the chart will point, and where it is pushed."""

    template: ImageTemplate
    original: Reference
    rewritten: Reference
    image: SourceImage | None  # None when images are skipped
    target: Reference | None  # None when nothing needs pushing


@dataclass
class ChartRelocation:
    bundle: Bundle
    moves: list[ImageMove] = field(default_factory=list)
    actions: list[tuple[KeyPath, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.bundle.chart.name

    @property
    def version(self) -> str:
        return self.bundle.chart.version


def _path_for(template: ImageTemplate, role: str) -> KeyPath:
    path = {
        "combined": template.registry_and_repository,
        "registry": template.registry,
        "repository": template.repository,
    }[role]
    assert path is not None
    return path


def plan_chart(bundle: Bundle, rules: RewriteRules, *, skip_images: bool) -> ChartRelocation:
    """Work out the image moves and values edits for ``bundle`` (reads hints, values and images.tar)."""
    where = bundle.index.member_label("hints.yaml")
    templates = parse_hints(bundle.hints, where)
    context = build_values_context(bundle.chart.files, source=bundle.chart.label)
    if templates and not skip_images and not bundle.has_images:
        raise InputError(f"{bundle.label}: images.tar: not in bundle (saved with skipImages? use --skip-images)")
    images = [] if skip_images else bundle.images
    plan = ChartRelocation(bundle)
    registries: set[str] = set()
    for number, template in enumerate(templates, start=1):
        try:
            original = parse_reference(render(template, context))
        except ValueError as exc:
            raise InputError(f"{where}: item {number}: {exc}") from exc
        image = None if skip_images else find_image(images, original)
        if not skip_images and image is None:
            raise InputError(f"{bundle.label}: images.tar: tag {original.name} not found (hint {number})")
        unpinned = template.tag is None and template.digest is None
        if unpinned and image is None:
            raise InputError(f"{where}: item {number}: a hint without tag or digest needs the image to pin its digest")
        digest = str(image.digest) if image else None
        rel = relocate(original, rules, digest)
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
        rewritten = parse_reference(render(template, with_rewrites(context, actions)))
        target = (
            parse_reference(push_target(rewritten, original)) if image and needs_push(original, rewritten) else None
        )
        plan.moves.append(ImageMove(template, original, rewritten, image, target))
        plan.actions.extend(actions)
    plan.actions.extend(_global_registry_action(context, registries))
    return plan


def _global_registry_action(context: dict[str, object], registries: set[str]) -> list[tuple[KeyPath, str]]:
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
    return [] if registry == current else [(("global", "imageRegistry"), registry)]


def relocated_chart(plan: ChartRelocation) -> ChartFiles:
    """The chart with values.yaml edited, dependency repositories blanked and Chart.lock dropped."""
    chart = plan.bundle.chart
    files = dict(chart.files)
    label = chart.label
    if plan.actions:
        values = files.get("values.yaml", b"").decode("utf-8")
        files["values.yaml"] = apply_rewrites(values, plan.actions, source=f"{label}/values.yaml").encode("utf-8")
    for path in [p for p in files if p == "Chart.yaml" or (p.startswith("charts/") and p.endswith("/Chart.yaml"))]:
        text = files[path].decode("utf-8")
        files[path] = set_dependency_repositories_empty(text, source=f"{label}/{path}").encode("utf-8")
    for path in [p for p in files if p == "Chart.lock" or (p.startswith("charts/") and p.endswith("/Chart.lock"))]:
        del files[path]
    return ChartFiles(files, label)
