"""``verify``: judge the site as a user would, read-only, from the same plan the other commands build.

Three kinds of checks, one line each:

- every planned target reference resolves, on the registry, to the digest the source image has (a
  manifest HEAD; a tag that moved names both digests);
- every chart (with a config's chart target) is at its destination with the relocated values, i.e.
  each value the relocation writes is there with the value it writes;
- every image a values override (``-f``) makes a chart pull is present on the site registry.

Nothing is written anywhere; only pull scopes are asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from skoala_airgap.charts.archive import read_chart_tgz
from skoala_airgap.charts.hints import dotted, render
from skoala_airgap.charts.values_context import go_merge, load_values
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.charts.base import ChartPublisher
from skoala_airgap.destinations.connect import open_registry
from skoala_airgap.destinations.registry import RegistryClient
from skoala_airgap.engine.progress import ItemDone, NullProgress, Progress
from skoala_airgap.errors import AirgapError, InputError, TargetUnreachableError
from skoala_airgap.model.reference import parse_reference
from skoala_airgap.relocation.chart import ChartPlan
from skoala_airgap.relocation.plan import ImageMove, RelocationPlan


@dataclass(frozen=True)
class Finding:
    kind: str  # image, chart, override
    name: str
    target: str
    status: str  # present, missing, different, unreachable
    expected: str = ""
    found: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "present"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v != "" or k in ("status", "kind")}


@dataclass
class VerifyReport:
    host: str
    findings: list[Finding] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.status] = counts.get(finding.status, 0) + 1
        return {
            "ok": not self.problems,
            "registry": self.host,
            "items": [f.to_json() for f in self.findings],
            "summary": {"checked": len(self.findings), **counts, "elapsed_seconds": round(self.elapsed, 3)},
        }


class _Registries:
    """One read-only client per registry host, opened on first use."""

    def __init__(self, settings: ConnectionSettings, notify: Any) -> None:
        self.settings, self.notify = settings, notify
        self.clients: dict[str, RegistryClient | AirgapError] = {}

    def get(self, host: str) -> RegistryClient:
        if host not in self.clients:
            try:
                self.clients[host] = open_registry(host, self.settings, pool_size=4, notify=self.notify)
            except TargetUnreachableError as exc:
                self.clients[host] = exc
        found = self.clients[host]
        if isinstance(found, AirgapError):
            raise found
        return found


def _check_image(registries: _Registries, kind: str, name: str, target: str, expected: str) -> Finding:
    ref = parse_reference(target)
    try:
        client = registries.get(ref.registry)
        found = client.manifest_digest(ref.repository, ref.identifier, for_push=False)
    except TargetUnreachableError as exc:
        return Finding(kind, name, target, "unreachable", expected, message=str(exc))
    if found is None:
        return Finding(kind, name, target, "missing", expected, message=f"{target}: not found")
    if expected and str(found) != expected:
        message = f"{target}: tag moved: expected {expected}, registry has {found}"
        return Finding(kind, name, target, "different", expected, str(found), message)
    return Finding(kind, name, target, "present", expected, str(found))


def image_probe(settings: ConnectionSettings, notify: Callable[[str], None]) -> Callable[[str], bool | None]:
    """``image -> present?`` (None when the registry cannot answer), for ``doctor``'s override check."""
    registries = _Registries(settings, notify)

    def exists(image: str) -> bool | None:
        ref = parse_reference(image)
        try:
            return (
                registries.get(ref.registry).manifest_digest(ref.repository, ref.identifier, for_push=False) is not None
            )
        except AirgapError:
            return None

    return exists


def verify_images(moves: list[ImageMove], registries: _Registries, sink: Progress) -> list[Finding]:
    out = []
    for move in moves:
        finding = _check_image(registries, "image", move.source.name, move.target.name, move.digest)
        sink.item(ItemDone(finding.status, move.source.name, move.target.name, finding.found, error=finding.message))
        out.append(finding)
    return out


def _values_of(tgz: bytes, label: str) -> dict[str, Any]:
    """values.yaml of a chart fetched from the target, through the one bounded chart reader."""
    files = read_chart_tgz(tgz, label).files
    return load_values(files.get("values.yaml", b""), f"{label}: values.yaml")


def _lookup(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    item: Any = values
    for key in path:
        item = item.get(key) if isinstance(item, Mapping) else None
    return item


def verify_chart(chart: ChartPlan, publisher: ChartPublisher, sink: Progress) -> Finding:
    where = publisher.describe()
    label = f"chart {chart.name} {chart.version}"
    try:
        tgz = publisher.fetch(chart.name, chart.version)
    except TargetUnreachableError as exc:
        return Finding("chart", label, where, "unreachable", message=str(exc))
    if tgz is None:
        finding = Finding("chart", label, where, "missing", message=f"{label}: not at {where}")
    else:
        values = _values_of(tgz, f"{where}: {chart.name}-{chart.version}.tgz")
        wrong = [(p, v, _lookup(values, p)) for p, v in chart.actions if _lookup(values, p) != v]
        if wrong:
            path, want, got = wrong[0]
            message = f"{label}: {dotted(path)[1:]} is {got!r}, the relocation writes {want!r}"
            finding = Finding("chart", label, where, "different", want, str(got), message)
        else:
            finding = Finding("chart", label, where, "present")
    sink.item(ItemDone(finding.status, label, where, error=finding.message))
    return finding


def verify_override(
    plan: RelocationPlan,
    override: str,
    label: str,
    registries: _Registries,
    site: str,
    sink: Progress,
    charts: tuple[str, ...] = (),
) -> list[Finding]:
    """Every image the charts pull with ``override`` applied must be on the site registry. An override
    is written per release, so ``charts`` names the charts it is for (default: every chart)."""
    unknown = sorted(set(charts) - {chart.name for chart in plan.charts})
    if unknown:
        raise InputError(
            f"--chart {unknown[0]}: no such chart in the source ({', '.join(c.name for c in plan.charts)})"
        )
    try:
        values = load_values(override.encode("utf-8"), label)
    except InputError:
        raise
    expected = {m.target.name: m.digest for m in plan.images}
    out: list[Finding] = []
    for chart in plan.charts:
        if charts and chart.name not in charts:
            continue
        for move in chart.moves:
            try:
                resolved = parse_reference(render(move.template, go_merge(chart.hinted.context, values)))
            except (InputError, ValueError) as exc:
                raise InputError(f"{label}: {chart.name}: {move.template.raw}: {exc}") from exc
            name = f"{chart.name}: {move.original.name}"
            if resolved.registry != site:
                finding = Finding(
                    "override",
                    name,
                    resolved.name,
                    "missing",
                    message=f"{resolved.name}: not on the site registry {site}",
                )
            else:
                finding = _check_image(registries, "override", name, resolved.name, expected.get(resolved.name, ""))
            sink.item(ItemDone(finding.status, name, resolved.name, finding.found, error=finding.message))
            out.append(finding)
    return out


def verify_site(
    plan: RelocationPlan,
    moves: list[ImageMove],
    settings: ConnectionSettings,
    *,
    publisher: ChartPublisher | None = None,
    override: tuple[str, str] | None = None,
    override_charts: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> VerifyReport:
    started = time.monotonic()
    sink = progress or NullProgress()
    host = plan.host(moves) if moves else (plan.rules.prefix_registry or plan.rules.registry).split("/", 1)[0]
    registries = _Registries(settings, sink.note)
    report = VerifyReport(host)
    checks = len(moves) + (len(plan.charts) if publisher is not None else 0)
    if override is not None:
        checks += sum(len(c.moves) for c in plan.charts if not override_charts or c.name in override_charts)
    sink.start(0, f"verify {host}", items=checks)
    report.findings += verify_images(moves, registries, sink)
    if publisher is not None:
        report.findings += [verify_chart(chart, publisher, sink) for chart in plan.charts]
    if override is not None:
        report.findings += verify_override(plan, override[0], override[1], registries, host, sink, override_charts)
    report.elapsed = time.monotonic() - started
    return report
