"""The one relocation plan: every image move and every chart's values edits, from one source and one
set of rules. ``push-images``, ``sync``, ``load``, ``values``, ``helm-command`` and ``verify`` all build
it here, so the name an image is pushed under, the name a runtime gets, the value a relocated chart
holds and the value the site override writes cannot drift apart.

Images named by a chart's hints go where the relocated chart will pull them from (the re-rendered
hint, spec §2.8); images no hint names, and images outside bundles, go where the rules send their name.
Building the plan reads hints, values and image manifests only, and finds every input problem before
anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from skoala_airgap.errors import InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.relocation.chart import ChartPlan, plan_chart
from skoala_airgap.relocation.hints import HintedChart
from skoala_airgap.relocation.rules import RewriteRules, relocate
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.open import Source

ChartFilter = Callable[[str, str], bool]  # (name, version) -> selected
SkipImages = Callable[[str], bool]  # chart name -> its images are skipped


@dataclass(frozen=True)
class ImageMove:
    """One name of one image: where it is now and where it goes (``target == source``: it keeps its name)."""

    image: SourceImage
    source: Reference
    target: Reference
    chart: str = ""  # "name version" of the chart it belongs to; "" outside bundles
    hinted: bool = False  # named by the chart's hints: what sync moves and the chart pulls

    @property
    def changed(self) -> bool:
        return self.target.name != self.source.name

    @property
    def digest(self) -> str:
        return str(self.image.digest)


@dataclass
class RelocationPlan:
    source: Source
    rules: RewriteRules
    charts: list[ChartPlan] = field(default_factory=list)
    images: list[ImageMove] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # images that cannot be placed (no usable name)
    not_selected: list[str] = field(default_factory=list)  # charts left out, with the reason

    def moves(self, *, hinted_only: bool = False, changed_only: bool = False) -> list[ImageMove]:
        return [m for m in self.images if (m.hinted or not hinted_only) and (m.changed or not changed_only)]

    def host(self, moves: list[ImageMove] | None = None) -> str:
        """The one registry every move goes to; an :class:`InputError` when the rules name none or several."""
        hosts = {m.target.registry for m in (self.images if moves is None else moves)}
        rule_host = (self.rules.prefix_registry or self.rules.registry).split("/", 1)[0]
        if not (self.rules.registry or self.rules.prefix_registry):
            raise InputError("a target registry is needed: --registry or --prefix-registry (or a --config with one)")
        if len(hosts) > 1:
            raise InputError(f"the rules send images to several registries ({', '.join(sorted(hosts))})")
        return hosts.pop() if hosts else rule_host

    def chart(self, name: str) -> ChartPlan | None:
        return next((c for c in self.charts if c.name == name), None)


def _chart_key(plan: ChartPlan) -> str:
    return f"{plan.name} {plan.version}"


def _name_moves(
    image: SourceImage, rules: RewriteRules, chart: str, skip: set[str]
) -> tuple[list[ImageMove], list[str]]:
    """Moves for each name of ``image`` by the rules alone (names in ``skip`` are a hint's already)."""
    moves: list[ImageMove] = []
    problems: list[str] = []
    if not image.names:
        return [], [f"{image.origin}: image {image.digest} has no name; cannot choose a target"]
    for name in image.names:
        try:
            source = parse_reference(name)
            if source.name in skip:
                continue
            target = source if rules.is_empty else relocate(source, rules, str(image.digest)).target
        except ValueError as exc:
            problems.append(f"{image.origin}: {name}: {exc}")
            continue
        moves.append(ImageMove(image, source, target, chart))
    return moves, problems


def plan_source(
    source: Source,
    rules: RewriteRules,
    *,
    select: ChartFilter | None = None,
    skip_images: SkipImages | None = None,
) -> RelocationPlan:
    """The plan for everything ``source`` holds; ``select`` picks charts, ``skip_images`` skips their images."""
    plan = RelocationPlan(source, rules)
    for bundle in source.bundles:
        name, version = bundle.chart.name, bundle.chart.version
        if select is not None and not select(name, version):
            plan.not_selected.append(f"{bundle.label}: {name} {version} not selected by charts/skipCharts")
            continue
        _plan_bundle(plan, bundle, skip=bool(skip_images and skip_images(name)))
    for image in source.images:
        moves, problems = _name_moves(image, rules, "", set())
        _add(plan, moves)
        plan.problems += problems
    return plan


def _plan_bundle(plan: RelocationPlan, bundle: Bundle, *, skip: bool) -> None:
    chart_plan = plan_chart(HintedChart.from_bundle(bundle), plan.rules, skip_images=skip)
    plan.charts.append(chart_plan)
    if skip:
        return
    key = _chart_key(chart_plan)
    hinted = []
    for move in chart_plan.moves:
        if move.image is not None:
            hinted.append(ImageMove(move.image, move.original, move.target or move.original, key, hinted=True))
    _add(plan, hinted)
    covered = {m.source.name for m in hinted}
    for image in bundle.images:
        moves, problems = _name_moves(image, plan.rules, key, covered)
        _add(plan, moves)
        plan.problems += problems


def _add(plan: RelocationPlan, moves: list[ImageMove]) -> None:
    """Add moves, one per target name; two different images wanting one target name is a problem."""
    taken = {m.target.name: m for m in plan.images}
    for move in moves:
        other = taken.get(move.target.name)
        if other is None:
            plan.images.append(move)
            taken[move.target.name] = move
        elif other.image.digest != move.image.digest:
            plan.problems.append(
                f"{move.image.origin}: {move.source.name} and {other.source.name} ({other.image.origin}) are different "
                f"images but both would be {move.target.name}; only the first is placed"
            )
