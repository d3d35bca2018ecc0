"""``sync --config load-image.yaml``: charts-syncer's bundle load, without its bugs.

Plan -> check -> push -> publish -> receipt. The plan (every chart's hints, values edits and image
moves) is built first, so every input problem stops the run before anything is written. Then the chart
target is checked (credentials, reachability, a LOCAL path that is a file) and the images of every
selected chart are pushed in one engine run: images already there cost one HEAD each, so a registry that
was wiped, or rules that changed, are repaired rather than reported as "already synced". A chart is
published only when all its images are in place; the same bytes already there are "already-synced",
different ones are "differs" (rules changed?) unless ``--force`` replaces them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skoala_airgap.charts.package import package_chart
from skoala_airgap.config.model import Config
from skoala_airgap.config.select import chart_selected, require_rewrite_rule, skip_images_for
from skoala_airgap.config.validate import usable_here
from skoala_airgap.connection.settings import Login
from skoala_airgap.destinations.charts import make_publisher
from skoala_airgap.destinations.charts.base import ChartConflictError, ChartPublisher
from skoala_airgap.engine.contract import ImageResult, PushTarget
from skoala_airgap.engine.progress import ItemDone, NullProgress, Progress
from skoala_airgap.errors import AirgapError, InputError
from skoala_airgap.model.descriptor import Platform
from skoala_airgap.relocation.chart import ChartPlan, relocated_chart
from skoala_airgap.relocation.plan import ImageMove, RelocationPlan, plan_source
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.open import open_source
from skoala_airgap.sources.platform import select_platform
from skoala_airgap.workflows.preflight import harbor_preflight
from skoala_airgap.workflows.push import PushSettings, open_target, push_moves, write_receipt


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    skip_images: bool = False
    force: bool = False
    push: PushSettings = field(default_factory=PushSettings)
    receipt: Path | None = None
    auto_create_repository: bool = False  # create missing Harbor projects (charts-syncer's flag)
    public: bool = False  # ... as public projects (charts-syncer always does; we default to private)
    platform: Platform | None = None  # keep this platform of multi-platform images (--platform)
    latest_version_only: bool = False  # per chart, only the highest SemVer version (--latest-version-only)


@dataclass
class ChartOutcome:
    name: str
    version: str
    bundle: str
    status: str = "pending"  # planned, published, already-synced, replaced, differs, failed
    destination: str = ""
    error: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("planned", "published", "already-synced", "replaced")

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


@dataclass
class SyncReport:
    charts: list[ChartOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    receipt: Path | None = None
    input_fault: bool = False
    projects: list[dict[str, Any]] = field(default_factory=list)  # Harbor projects checked or created

    @property
    def failed(self) -> list[ChartOutcome]:
        return [c for c in self.charts if not c.ok]

    def summary(self) -> dict[str, Any]:
        images = [i for c in self.charts for i in c.images]
        counts: dict[str, int] = {}
        for chart in self.charts:
            counts[chart.status] = counts.get(chart.status, 0) + 1
        moved = {k: sum(i.get("bytes", {}).get(k, 0) for i in images) for k in ("uploaded", "skipped", "mounted")}
        return {
            "charts": len(self.charts),
            **counts,
            "images": len(images),
            "uploaded_bytes": moved["uploaded"],
            "bytes": moved,
            "elapsed_seconds": round(self.elapsed, 3),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "charts": [c.to_json() for c in self.charts],
            "warnings": self.warnings,
            "failed": len(self.failed),
            "summary": self.summary(),
            "receipt": str(self.receipt) if self.receipt else None,
            "projects": self.projects,
        }


def config_rules(config: Config, override: RewriteRules | None = None) -> RewriteRules:
    """The config's rewrite rules, or the command line's when it gives some (they win)."""
    if override is not None and not override.is_empty:
        return override
    return RewriteRules.from_target(config.target)


def config_logins(config: Config) -> tuple[Login, ...]:
    """charts-syncer sends container credentials only to the registry they were given for (spec §3.5)."""
    containers = config.target.containers
    auth = containers.auth if containers else None
    if auth and auth.username and auth.password:
        where = f"{config.path.name} target.containers.auth (or TARGET_CONTAINERS_AUTH_USERNAME/PASSWORD)"
        return (Login(auth.username, auth.password, where, auth.registry),)
    return ()


def plan_sync(
    config: Config,
    *,
    rules: RewriteRules,
    skip_images: bool,
    platform: Platform | None = None,
    latest_version_only: bool = False,
    require_rules: bool = True,
) -> RelocationPlan:
    """Open the configured bundles and plan every selected chart; input problems raise here."""
    problems = usable_here(config)  # what charts-syncer accepts and we cannot run, named by config line
    if problems:
        raise problems[0]
    path = config.source.intermediate_bundles_path
    if path is None:
        raise InputError(
            f"{config.path}: source.repo is not supported: skoala-airgap loads bundles and offline packages; "
            "set source.intermediateBundlesPath (see docs/config.md)"
        )
    source = open_source(path)
    if platform is not None:
        source.warnings += select_platform(source, platform)
    newest = _newest_versions(config, source.bundles) if latest_version_only else None
    plan = plan_source(
        source,
        rules,
        select=lambda name, version: (
            chart_selected(config, name, version) and (newest is None or newest.get(name) == version)
        ),
        skip_images=lambda name: skip_images_for(config, name, skip_images),
    )
    if not plan.charts:
        reasons = "; ".join(source.skipped + plan.not_selected) or "no bundles"
        raise InputError(f"{path}: no charts to sync ({reasons})")
    if require_rules and rules.is_empty and any(not chart.skip_images for chart in plan.charts):
        require_rewrite_rule(config, skip_images=False)  # images would go back to their origin
    return plan


def _newest_versions(config: Config, bundles: list[Bundle]) -> dict[str, str]:
    """charts-syncer's ``--latest-version-only``: per chart name, the highest SemVer among the selected."""
    from skoala_airgap.destinations.charts.local import _version_key

    newest: dict[str, str] = {}
    for bundle in bundles:
        name, version = bundle.chart.name, bundle.chart.version
        if chart_selected(config, name, version) and (
            name not in newest or _version_key(version) > _version_key(newest[name])
        ):
            newest[name] = version
    return newest


def planned_images(config: Config, options: SyncOptions, *, rules: RewriteRules | None = None) -> list[ImageMove]:
    """``--print-images``: the images the selected charts name and would move (nothing is contacted)."""
    plan = plan_sync(
        config,
        rules=config_rules(config, rules),
        skip_images=options.skip_images,
        platform=options.platform,
        latest_version_only=options.latest_version_only,
        require_rules=False,
    )
    return [m for c in plan.charts for m in plan.moves(hinted_only=True) if m.chart == f"{c.name} {c.version}"]


def missing_charts(config: Config) -> list[str]:
    """``--verify`` (charts-syncer): every ``charts[]`` entry and version the source does not hold."""
    path = config.source.intermediate_bundles_path
    if path is None:
        raise InputError(f"{config.path}: source.repo is not supported: set source.intermediateBundlesPath")
    found = {(b.chart.name, b.chart.version) for b in open_source(path).bundles}
    names = {name for name, _ in found}
    missing: list[str] = []
    for entry in config.charts:
        if entry.name not in names:
            missing.append(entry.name)
        missing += [f"{entry.name} {v}" for v in entry.versions if (entry.name, v) not in found]
    return missing


def _moves_of(plan: RelocationPlan, chart: ChartPlan) -> list[ImageMove]:
    key = f"{chart.name} {chart.version}"
    return [m for m in plan.moves(hinted_only=True, changed_only=True) if m.chart == key]


def sync(
    config: Config, options: SyncOptions, progress: Progress | None = None, *, rules: RewriteRules | None = None
) -> SyncReport:
    started = time.monotonic()
    sink = progress or NullProgress()
    plan = plan_sync(
        config,
        rules=config_rules(config, rules),
        skip_images=options.skip_images,
        platform=options.platform,
        latest_version_only=options.latest_version_only,
    )
    # Every relocated chart is packaged now (kilobytes each): a chart Helm would refuse (a version that is
    # not SemVer, a bad apiVersion) is bad input found before any image moves, not a failure after them.
    packages = {chart.label: package_chart(relocated_chart(chart)) for chart in plan.charts}
    report = SyncReport(warnings=list(config.warnings) + list(plan.source.warnings))
    assert config.target.repo is not None
    publisher = make_publisher(config.target.repo, connection=options.push.connection, notify=sink.note)
    outcomes = {
        c.label: ChartOutcome(c.name, c.version, c.label, destination=publisher.describe()) for c in plan.charts
    }
    report.charts = list(outcomes.values())
    moves = [m for c in plan.charts for m in _moves_of(plan, c)]
    if options.dry_run:
        for chart in plan.charts:
            outcome = outcomes[chart.label]
            outcome.status = "planned"
            outcome.images = [
                {"source": m.source.name, "target": m.target.name, "status": "planned"} for m in _moves_of(plan, chart)
            ]
        return report
    target = open_target(plan.host(moves), options.push, sink) if moves else None
    # Before any write: every Harbor project the run needs exists (or is created with the flag).
    projects = harbor_preflight(
        config,
        plan,
        moves,
        target=target,
        publisher=publisher,
        connection=options.push.connection,
        auto_create=options.auto_create_repository,
        public=options.public,
        note=sink.note,
        warn=report.warnings.append,
    )
    report.projects = [p.to_json() for p in projects]
    publisher.check()  # before any write: credentials, reachability, a LOCAL path that is a file
    results = _push(plan, moves, options, sink, target)
    _publish(plan, publisher, outcomes, results, options, sink, packages)
    report.input_fault = any(r.input_fault for r in results)
    report.elapsed = time.monotonic() - started
    if options.receipt is not None and moves:
        charts = [
            {"name": o.name, "version": o.version, "destination": o.destination, "status": o.status}
            for o in report.charts
            if o.ok
        ]
        report.receipt = write_receipt(
            options.receipt, plan, plan.host(moves), options.push, results, command="sync", charts=charts
        )
    return report


def _push(
    plan: RelocationPlan, moves: list[ImageMove], options: SyncOptions, sink: Progress, target: PushTarget | None
) -> list[ImageResult]:
    if not moves:
        return []
    return push_moves(plan.host(moves), moves, options.push, sink, target=target)


def _publish(
    plan: RelocationPlan,
    publisher: ChartPublisher,
    outcomes: dict[str, ChartOutcome],
    results: list[ImageResult],
    options: SyncOptions,
    sink: Progress,
    packages: dict[str, bytes],
) -> None:
    by_chart: dict[str, list[ImageResult]] = {}
    for result in results:
        by_chart.setdefault(result.item.group, []).append(result)
    sink.start(0, f"publish {publisher.describe()}", items=len(plan.charts))  # ends the image phase
    for chart in plan.charts:
        outcome = outcomes[chart.label]
        images = by_chart.get(f"{chart.name} {chart.version}", [])
        outcome.images = [r.to_json() for r in images]
        broken = [r for r in images if not r.ok]
        if broken:  # never publish a chart whose images are not all in place
            outcome.status = "failed"
            outcome.error = f"image {broken[0].item.source_name}: {broken[0].error}"
        else:
            _publish_one(chart, publisher, outcome, options, packages[chart.label])
        sink.item(
            ItemDone(
                outcome.status, f"chart {chart.name} {chart.version}", outcome.destination, error=outcome.error or ""
            )
        )


def _publish_one(
    chart: ChartPlan, publisher: ChartPublisher, outcome: ChartOutcome, options: SyncOptions, tgz: bytes
) -> None:
    try:
        published = publisher.publish(chart.name, chart.version, tgz, force=options.force)
    except ChartConflictError as exc:
        outcome.status = "differs"
        outcome.error = f"{exc} (the chart there differs from this run's: rules changed?)"
        return
    except InputError:
        raise
    except AirgapError as exc:
        outcome.status, outcome.error = "failed", f"chart: {exc}"
        return
    outcome.destination = published.location
    outcome.status = "already-synced" if published.status == "unchanged" else published.status
