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
from skoala_airgap.charts.hints import ImageTemplate, dotted, parse_hints, render
from skoala_airgap.charts.values_context import KeyPath, build_values_context, go_merge, load_values
from skoala_airgap.charts.values_edit import apply_rewrites
from skoala_airgap.errors import InputError
from skoala_airgap.model.image import SourceImage
from skoala_airgap.model.reference import Reference, parse_reference
from skoala_airgap.relocation.chart import plan_chart
from skoala_airgap.relocation.rules import RewriteRules, needs_push, push_target, relocate
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.lookup import find_image

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

#: The key the vendor's procedure overrides.
GLOBAL_REGISTRY: KeyPath = ("global", "imageRegistry")
_HEADER = (
    "# Site values override written by `skoala-airgap values`.\n"
    "# global.imageRegistry plus explicit per-image registry/repository values, so that every image\n"
    "# of the chart is pulled from the site registry. Pass it to helm upgrade after the backup:\n"
    "#   helm upgrade ... -f bak.yaml -f override.yaml\n"
)
_HELM_TABLE_HEADER = re.compile(r"\AUSER-SUPPLIED VALUES:[ \t]*\r?\n")
_EMPTY_DOCUMENT = re.compile(r"\A(?:(?:[ \t]*(?:#[^\n]*)?\r?\n)*)[ \t]*(?:\{\}|null|~)?[ \t]*(?:#[^\n]*)?\s*\Z")


@dataclass(frozen=True)
class HintedChart:
    """A chart with its image hints and (optionally) the images that pin tagless hints."""

    chart: ChartFiles
    templates: tuple[ImageTemplate, ...]
    images: tuple[SourceImage, ...] = ()
    hints_label: str = "hints.yaml"

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> HintedChart:
        """Hints and chart from an intermediate bundle; images only when a hint needs a digest pin."""
        label = bundle.index.member_label("hints.yaml")
        templates = tuple(parse_hints(bundle.hints, label))
        unpinned = any(t.tag is None and t.digest is None for t in templates)
        images = tuple(bundle.images) if unpinned and bundle.has_images else ()
        return cls(bundle.chart, templates, images, label)

    @classmethod
    def from_files(cls, chart: ChartFiles, hints: bytes, hints_label: str = "hints.yaml") -> HintedChart:
        """Hints given separately from the chart (e.g. a chart's ``.relok8s-images.yaml``)."""
        return cls(chart, tuple(parse_hints(hints, hints_label)), (), hints_label)

    @property
    def name(self) -> str:
        return self.chart.name


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

    def to_json(self) -> dict[str, Any]:
        return {
            "chart": self.chart,
            "template": self.template,
            "original": self.original,
            "resolved": self.resolved,
            "values": {dotted(path)[1:]: value for path, value in self.values},
            "followsGlobal": self.follows_global,
            "underSiteRegistry": self.under_site_registry,
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


def _resolve_chart(
    hinted: HintedChart,
    rules: RewriteRules,
    registry: str,
) -> list[tuple[ImageTemplate, Reference, list[tuple[KeyPath, str]], bool, str | None]]:
    """(template, original reference, explicit values, follows global, conflict warning) per hint."""
    chart = hinted.chart
    context = build_values_context(chart.files, source=chart.label)
    out: list[tuple[ImageTemplate, Reference, list[tuple[KeyPath, str]], bool, str | None]] = []
    for number, template in enumerate(hinted.templates, start=1):
        where = f"{hinted.hints_label}: item {number}"
        try:
            original = parse_reference(render(template, context))
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from exc
        unpinned = template.tag is None and template.digest is None
        digest: str | None = None
        if unpinned:
            image = find_image(hinted.images, original)
            if image is None:
                raise InputError(f"{where}: a hint without tag or digest needs the bundle's images.tar to pin it")
            digest = str(image.digest)
        try:
            rel = relocate(original, rules, digest)
            _ = rel.target
        except ValueError as exc:
            raise InputError(f"{where}: {original.name}: {exc}") from exc
        repository = rel.pinned_repository(digest) if digest else rel.repository
        repository_changed = repository != original.repository
        values: list[tuple[KeyPath, str]] = []
        follows = False
        conflict: str | None = None
        if template.registry_and_repository is not None:
            path = template.registry_and_repository
            if rel.registry_changed or repository_changed:
                values.append((path, f"{rel.registry}/{repository}"))
            else:
                values.append((path, _fragment(path, context)))
        else:
            assert template.registry is not None and template.repository is not None
            reg_value = rel.registry if rel.registry_changed else _fragment(template.registry, context)
            if template.registry == GLOBAL_REGISTRY:
                follows = True
                if reg_value != registry:
                    conflict = (
                        f"{chart.name}: {original.name}: the rules put it under registry {reg_value}, but its "
                        f"hint reads global.imageRegistry, which is {registry}"
                    )
            else:
                values.append((template.registry, reg_value))
            repo_value = repository if repository_changed else _fragment(template.repository, context)
            values.append((template.repository, repo_value))
        out.append((template, original, values, follows, conflict))
    return out


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
) -> SiteValues:
    """The override for ``charts`` (usually one release's chart), merged onto ``backup`` when given.

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
        if rules.append_origin_registry and rules.prefix_registry and _uses_global_registry(hinted.chart):
            warnings.append(
                f"{hinted.name}: its templates read global.imageRegistry, which replaces each image's registry "
                "value; with appendOriginRegistry the origin registry lives in that value and is lost: use "
                "containerPrefixRegistry without appendOriginRegistry"
            )
        for template, original, values, follows, conflict in _resolve_chart(hinted, rules, registry):
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
    defaults: dict[int, dict[str, Any]] = {}
    for hinted, template, original, values, follows in resolved_rows:
        chart_context = defaults.setdefault(
            id(hinted), build_values_context(hinted.chart.files, source=hinted.chart.label)
        )
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
        images.append(
            ImageResolution(hinted.name, template.raw, original.name, resolved.name, tuple(values), follows, under)
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
        templates = parse_hints(bundle.hints, bundle.index.member_label("hints.yaml"))
        unpinned = any(t.tag is None and t.digest is None for t in templates)
        plan = plan_chart(bundle, rules, skip_images=not (unpinned and bundle.has_images))
        for move in plan.moves:
            target = push_target(move.rewritten, move.original) if needs_push(move.original, move.rewritten) else None
            out.append(ImageDestination(plan.name, plan.version, move.original.name, move.rewritten.name, target))
    return out
