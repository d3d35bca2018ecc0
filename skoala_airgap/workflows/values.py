"""The site values override for ``helm upgrade``: ``global.imageRegistry`` plus explicit per-image values.

The vendor's upgrade procedure backs up a release's values and sets ``global.imageRegistry`` to the site
registry. That only moves the images whose templates read the global key; init containers, subcharts and
charts that prefer a per-image ``registry`` keep pulling from the internet. So besides the global key we
write, for every hinted image whose registry fragment is not ``global.imageRegistry`` itself, its registry
and repository values (or its combined value) exactly as the relocation rules compute them — the same
values ``sync`` writes into a relocated chart — and we write them even where the rules leave a fragment
unchanged, so that a stale value in the backup cannot win. Tags and digests are never written.

Edits go through :func:`apply_rewrites`, so the backup keeps every other byte: keys, order, comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.charts.hints import ImageTemplate, dotted, render
from skoala_airgap.charts.values_context import KeyPath, go_merge, load_values
from skoala_airgap.charts.values_edit import apply_rewrites
from skoala_airgap.errors import InputError
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.relocation.chart import GLOBAL_REGISTRY, HintMove, plan_chart
from skoala_airgap.relocation.hints import HintedChart
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.bundle import Bundle

__all__ = [
    "GLOBAL_REGISTRY",
    "HintedChart",
    "ImageDestination",
    "ImageResolution",
    "SiteValues",
    "build_site_values",
    "check_site_registry",
    "image_destinations",
    "site_prefix",
]

_HEADER = (
    "# Site values override written by `skoala-airgap values`.\n"
    "# global.imageRegistry plus explicit per-image registry/repository values, so that every image\n"
    "# of the chart is pulled from the site registry. Pass it to helm upgrade after the backup:\n"
    "#   helm upgrade ... -f bak.yaml -f override.yaml\n"
)
_HELM_TABLE_HEADER = re.compile(r"\AUSER-SUPPLIED VALUES:[ \t]*\r?\n")
_EMPTY_DOCUMENT = re.compile(r"\A(?:(?:[ \t]*(?:#[^\n]*)?\r?\n)*)[ \t]*(?:\{\}|null|~)?[ \t]*(?:#[^\n]*)?\s*\Z")


@dataclass(frozen=True)
class ImageResolution:
    """One hinted image: where the chart's defaults point, and where it points with the override."""

    chart: str
    template: str
    original: str
    resolved: str
    values: tuple[tuple[KeyPath, str], ...]
    follows_global: bool
    under_site_registry: bool
    placed: bool | None = None  # by the receipt's run; None when no receipt was given

    def to_json(self) -> dict[str, Any]:
        return {
            "chart": self.chart,
            "template": self.template,
            "original": self.original,
            "resolved": self.resolved,
            "values": {dotted(path)[1:]: value for path, value in self.values},
            "followsGlobal": self.follows_global,
            "underSiteRegistry": self.under_site_registry,
            "placed": self.placed,
        }


@dataclass(frozen=True)
class SiteValues:
    """The override text and the per-image resolution table behind it."""

    text: str
    registry: str
    images: tuple[ImageResolution, ...]
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "images": [image.to_json() for image in self.images],
            "warnings": list(self.warnings),
        }


def site_prefix(registry: str) -> str:
    """The normalised ``host[/path]`` every site image must start with; refuses what is no registry host.

    ``registry`` is read as an image name would be (docs/relocation.md §1): its first segment must contain
    a ``.`` or a ``:`` (``localhost:5000``), otherwise it would mean Docker Hub.
    """
    value = registry.strip()
    if not value or "://" in value or value != registry or value.endswith("/"):
        raise InputError(f'--registry "{registry}" must be a bare host[:port][/path], without scheme or spaces')
    first = value.split("/", 1)[0]
    if "." not in first and ":" not in first:
        raise InputError(
            f'--registry "{registry}": "{first}" is not a registry host (it needs a "." or a ":port", '
            'e.g. "localhost:5000"); otherwise it would mean Docker Hub'
        )
    try:
        probe = parse_reference(f"{value}/probe:x")
    except ValueError as exc:
        raise InputError(f'--registry "{registry}" is not a valid registry: {exc}') from exc
    return probe.context.removesuffix("/probe")


def check_site_registry(reference: Reference, prefix: str) -> bool:
    """True when ``reference`` is pulled from the site registry ``prefix`` (see :func:`site_prefix`)."""
    return reference.context.startswith(prefix + "/")


def _fragment(path: KeyPath, context: Mapping[str, Any]) -> str:
    """The text a single placeholder renders to, as Helm-side values would print it."""
    return render(ImageTemplate.parse("{{ " + dotted(path) + " }}"), context)


def _lookup(values: Mapping[str, Any], path: KeyPath) -> Any:
    item: Any = values
    for key in path:
        if not isinstance(item, Mapping) or key not in item:
            return None
        item = item[key]
    return item


def _clean_backup(backup: str, label: str, warnings: list[str]) -> str:
    """The backup as the base text: `helm get values` without ``-o yaml`` and empty documents handled."""
    if _HELM_TABLE_HEADER.match(backup):
        warnings.append(
            f'{label}: starts with "USER-SUPPLIED VALUES:" (helm get values without -o yaml); '
            "that line is kept, Helm reads it as an unused key"
        )
    if _EMPTY_DOCUMENT.match(backup):
        # `helm get values -o yaml` prints "null" (or "{}") for a release without user values
        comments = [line for line in backup.splitlines(keepends=True) if line.lstrip().startswith("#")]
        return "".join(comments)
    load_values(backup.encode("utf-8"), label)  # a broken backup is an InputError naming the file
    return backup


def _override_values(
    move: HintMove, context: Mapping[str, Any], registry: str, chart: str
) -> tuple[list[tuple[KeyPath, str]], bool, str | None]:
    """(explicit values, follows global, conflict warning) for one hint of the plan."""
    template, rel, original = move.template, move.relocation, move.original
    repository = move.repository_value
    repository_changed = repository != original.repository
    values: list[tuple[KeyPath, str]] = []
    if template.registry_and_repository is not None:
        path = template.registry_and_repository
        changed = rel.registry_changed or repository_changed
        values.append((path, f"{rel.registry}/{repository}" if changed else _fragment(path, context)))
        return values, False, None
    assert template.registry is not None and template.repository is not None
    reg_value = rel.registry if rel.registry_changed else _fragment(template.registry, context)
    follows, conflict = False, None
    if template.registry == GLOBAL_REGISTRY:
        follows = True
        if reg_value != registry:
            conflict = (
                f"{chart}: {original.name}: the rules put it under registry {reg_value}, but its "
                f"hint reads global.imageRegistry, which is {registry}"
            )
    else:
        values.append((template.registry, reg_value))
    values.append((template.repository, repository if repository_changed else _fragment(template.repository, context)))
    return values, follows, conflict


def is_placed(resolved: Reference, placed: Mapping[str, str]) -> bool:
    """Whether a receipt placed ``resolved``: the same name, or (for a digest pin) the same repository
    and digest under the tag the push kept."""
    names = {}
    for target, digest in placed.items():
        try:
            names[parse_reference(target).name] = (parse_reference(target).context, digest)
        except ValueError:
            continue
    if resolved.name in names:
        return True
    return resolved.is_digest and any(c == resolved.context and d == resolved.digest for c, d in names.values())


def _uses_global_registry(chart: ChartFiles) -> bool:
    return any(
        path.endswith((".yaml", ".tpl", ".yml")) and "/templates/" in f"/{path}" and b"global.imageRegistry" in data
        for path, data in chart.files.items()
    )


def build_site_values(
    charts: Sequence[HintedChart],
    *,
    registry: str,
    rules: RewriteRules | None = None,
    backup: str = "",
    backup_label: str = "bak.yaml",
    placed: Mapping[str, str] | None = None,
) -> SiteValues:
    """The override for ``charts`` (usually one release's chart), merged onto ``backup`` when given.

    ``placed`` (target reference -> digest, from a receipt) marks each image the override resolves to as
    placed or not, with a warning for each one that the recorded run did not place.

    ``registry`` becomes ``global.imageRegistry``. ``rules`` default to ``containerRegistry: registry``;
    pass a load-image.yaml's rules to get the very values sync wrote. Several charts give one override
    holding all their keys; two charts setting one key differently is an :class:`InputError`.
    """
    prefix = site_prefix(registry)
    rules = rules if rules is not None else RewriteRules(registry=registry)
    if rules.is_empty:
        raise InputError("no rewrite rule: the images would keep their origin registries")
    warnings: list[str] = []
    base = _clean_backup(backup, backup_label, warnings) if backup else _HEADER
    actions: list[tuple[KeyPath, str]] = [(GLOBAL_REGISTRY, registry)]
    owner: dict[KeyPath, tuple[str, str]] = {GLOBAL_REGISTRY: ("--registry", registry)}
    resolved_rows: list[tuple[HintedChart, ImageTemplate, Reference, list[tuple[KeyPath, str]], bool]] = []
    for hinted in charts:
        plan = plan_chart(hinted, rules, skip_images=True)
        if rules.append_origin_registry and rules.prefix_registry and _uses_global_registry(hinted.chart):
            warnings.append(
                f"{hinted.name}: its templates read global.imageRegistry, which replaces each image's registry "
                "value; with appendOriginRegistry the origin registry lives in that value and is lost: use "
                "containerPrefixRegistry without appendOriginRegistry"
            )
        for move in plan.moves:
            template, original = move.template, move.original
            values, follows, conflict = _override_values(move, hinted.context, registry, hinted.name)
            if conflict:
                warnings.append(conflict)
            for path, value in values:
                seen = owner.get(path)
                if seen is None:
                    owner[path] = (hinted.name, value)
                    actions.append((path, value))
                elif seen[1] != value:
                    raise InputError(
                        f"{dotted(path)[1:]} would be set to {value!r} for {hinted.name} but to {seen[1]!r} for "
                        f"{seen[0]}; write one override per chart (--chart)"
                    )
            resolved_rows.append((hinted, template, original, values, follows))
    text = apply_rewrites(base, actions, source=backup_label if backup else "override")
    final = load_values(text.encode("utf-8"), backup_label)
    backup_values = final if backup else {}
    images: list[ImageResolution] = []
    for hinted, template, original, values, follows in resolved_rows:
        chart_context = hinted.context
        try:
            resolved = parse_reference(render(template, go_merge(chart_context, final)))
        except ValueError as exc:
            raise InputError(f"{hinted.hints_label}: {template.raw}: with the override: {exc}") from exc
        for pinned, kind in ((template.tag, "tag"), (template.digest, "digest")):
            if pinned is None:
                continue
            given, default = _lookup(backup_values, pinned), _lookup(chart_context, pinned)
            if given is not None and given != default:
                warnings.append(
                    f"{backup_label} sets {dotted(pinned)[1:]} = {given!r} (chart {hinted.name} "
                    f"{hinted.chart.version} has {default!r}); the package only holds the chart's {kind}"
                )
        under = check_site_registry(resolved, prefix)
        if not under:
            warnings.append(f"{hinted.name}: {original.name} resolves to {resolved.name}, not under {registry}")
        was_placed = None if placed is None else is_placed(resolved, placed)
        if was_placed is False:
            warnings.append(f"{hinted.name}: {resolved.name} was not placed by the recorded run (see verify)")
        images.append(
            ImageResolution(
                hinted.name, template.raw, original.name, resolved.name, tuple(values), follows, under, was_placed
            )
        )
    return SiteValues(text, registry, tuple(images), tuple(warnings))


@dataclass(frozen=True)
class ImageDestination:
    """Where ``sync`` would push one image of a chart (for ``config show``)."""

    chart: str
    version: str
    source: str
    chart_value: str
    destination: str | None  # None: the name does not change, nothing is pushed

    def to_json(self) -> dict[str, Any]:
        return {
            "chart": self.chart,
            "version": self.version,
            "source": self.source,
            "chartValue": self.chart_value,
            "destination": self.destination,
        }


def image_destinations(bundles: Iterable[Bundle], rules: RewriteRules) -> list[ImageDestination]:
    """Each hinted image's push destination under ``rules``, computed by the same plan ``sync`` uses."""
    out: list[ImageDestination] = []
    for bundle in bundles:
        plan = plan_chart(HintedChart.from_bundle(bundle), rules, skip_images=True)
        for move in plan.moves:
            destination = move.destination
            out.append(
                ImageDestination(
                    plan.name,
                    plan.version,
                    move.original.name,
                    move.rewritten.name,
                    destination.name if destination else None,
                )
            )
    return out
