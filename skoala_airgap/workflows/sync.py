"""``sync --config load-image.yaml``: charts-syncer's bundle load, without its bugs.

Plan -> execute -> report. For each selected bundle: skip it when the target already has the chart
(charts-syncer's "Already synced"; ``--force`` re-syncs), plan its image moves and values edits, then
push every image of every bundle in one run of the push engine, and publish a chart only when all of
its images are in place. ``--dry-run`` contacts nothing and writes nothing: it returns the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skoala_airgap.config.model import (
    Config,
    bundle_files,
    chart_selected,
    require_rewrite_rule,
    skip_images_for,
)
from skoala_airgap.connection.credentials import Credentials
from skoala_airgap.connection.transport import TransportOptions
from skoala_airgap.engine.push import (
    DEFAULT_CONCURRENCY,
    ImageResult,
    ProgressFn,
    Pusher,
    PushItem,
    PushOptions,
    PushTarget,
)
from skoala_airgap.errors import AirgapError
from skoala_airgap.relocation.chart import ChartRelocation, plan_chart, relocated_chart
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.bundle import Bundle
from skoala_airgap.sources.package import OfflinePackage


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    skip_images: bool = False
    force: bool = False
    insecure: bool = False
    plain_http: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    oci_layout: Path | None = None  # write images into this OCI layout instead of the registry


@dataclass
class ChartOutcome:
    name: str
    version: str
    bundle: str
    status: str = "pending"  # planned, published, unchanged, replaced, already-synced, failed
    destination: str = ""
    error: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("planned", "published", "unchanged", "replaced", "already-synced")


@dataclass
class SyncReport:
    charts: list[ChartOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ChartOutcome]:
        return [c for c in self.charts if not c.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "charts": [vars(c) for c in self.charts],
            "warnings": self.warnings,
            "failed": len(self.failed),
        }


def load_bundles(config: Config) -> tuple[list[Bundle], list[str]]:
    """Bundles from the configured directory, or from an offline package named there directly."""
    path = config.source.intermediate_bundles_path
    assert path is not None
    warnings: list[str] = []
    if path.is_file():
        package = OfflinePackage.open(path)
        bundles = package.bundles
        warnings += [f"{path}!{name}: skipped, not named NAME_VERSION.bundle.tar" for name in package.skipped]
        warnings += package.version_warnings()
    else:
        found, skipped = bundle_files(path)
        bundles = [Bundle.open(b.path) for b in found]
        warnings += [f"{p}: skipped, not named NAME_VERSION.bundle.tar" for p in skipped]
    for bundle in bundles:
        bundle.validate()
        if bundle.chart.name != bundle.name or bundle.chart.version != bundle.version:
            warnings.append(
                f"{bundle.label}: file name says {bundle.name} {bundle.version}, Chart.yaml says"
                f" {bundle.chart.name} {bundle.chart.version}; using Chart.yaml"
            )
    return [b for b in bundles if chart_selected(config, b.chart.name, b.chart.version)], warnings


def _image_credentials(config: Config, host: str) -> Credentials | None:
    """charts-syncer sends container credentials only to the registry they were given for."""
    containers = config.target.containers
    auth = containers.auth if containers else None
    if auth and auth.username and auth.password and auth.registry in ("", host):
        return Credentials(auth.username, auth.password, source="load-image.yaml target.containers.auth")
    return None


def _items(plans: list[ChartRelocation]) -> dict[str, list[PushItem]]:
    by_host: dict[str, list[PushItem]] = {}
    for plan in plans:
        seen: set[str] = set()
        for move in plan.moves:
            if move.target is None or move.image is None or move.target.name in seen:
                continue
            seen.add(move.target.name)
            tag = move.target.tag if not move.target.is_digest else None
            item = PushItem(move.image, move.target.repository, tag, move.original.name, plan.bundle.label)
            by_host.setdefault(move.target.registry, []).append(item)
    return by_host


def _image_entry(result: ImageResult) -> dict[str, Any]:
    return {
        "source": result.item.source_name,
        "target": result.target,
        "digest": result.digest,
        "status": result.status,
        "previous_digest": result.previous_digest,
        "error": result.error,
        "bytes": result.bytes,
    }


def sync(config: Config, options: SyncOptions, progress: ProgressFn | None = None) -> SyncReport:
    from skoala_airgap.charts.package import package_chart
    from skoala_airgap.destinations.charts import make_publisher
    from skoala_airgap.workflows.push import open_target

    report = SyncReport(warnings=list(config.warnings))
    bundles, warnings = load_bundles(config)
    report.warnings += warnings
    if not bundles:
        raise AirgapError(f"{config.source.intermediate_bundles_path}: no charts to sync")
    assert config.target.repo is not None
    publisher = make_publisher(config.target.repo, insecure=options.insecure)
    rules = RewriteRules.from_target(config.target)
    plans: list[ChartRelocation] = []
    outcomes: dict[str, ChartOutcome] = {}
    for bundle in bundles:
        outcome = ChartOutcome(bundle.chart.name, bundle.chart.version, bundle.label, destination=publisher.describe())
        report.charts.append(outcome)
        skip_images = skip_images_for(config, bundle.chart.name, options.skip_images)
        # Asking the target first doubles as the preflight: bad chart-repo credentials or an
        # unreachable repository stop the run here, before any image or chart is written.
        exists = False if options.dry_run else publisher.exists(outcome.name, outcome.version)
        if exists and not options.force:
            outcome.status = "already-synced"
            continue
        try:
            require_rewrite_rule(config, skip_images)
            plan = plan_chart(bundle, rules, skip_images=skip_images)
        except AirgapError as exc:
            outcome.status, outcome.error = "failed", str(exc)
            continue
        plans.append(plan)
        outcomes[bundle.label] = outcome
    by_host = _items(plans)
    if options.dry_run:
        for host, items in by_host.items():
            for item in items:
                outcomes[item.group].images.append(
                    {"source": item.source_name, "target": f"{host}/{item.target}", "status": "planned"}
                )
        for outcome in outcomes.values():
            outcome.status = "planned"
        return report
    transport = TransportOptions(insecure=options.insecure, plain_http=options.plain_http)
    clients: dict[str, PushTarget] = {}
    for host in by_host:  # connect (and authenticate) everywhere before writing anything
        clients[host] = open_target(
            host,
            oci_layout=options.oci_layout,
            transport=transport,
            credentials=_image_credentials(config, host),
            concurrency=options.concurrency,
        )
    for host, items in by_host.items():
        results = Pusher(clients[host], PushOptions(concurrency=options.concurrency), progress).push(items)
        for result in results:
            outcome = outcomes[result.item.group]
            outcome.images.append(_image_entry(result))
            if not result.ok:
                outcome.status = "failed"
                outcome.error = outcome.error or f"image {result.item.source_name}: {result.error}"
    for plan in plans:
        outcome = outcomes[plan.bundle.label]
        if outcome.status == "failed":
            continue  # never publish a chart whose images are not all in place
        try:
            tgz = package_chart(relocated_chart(plan))
            published = publisher.publish(outcome.name, outcome.version, tgz, force=options.force)
            outcome.status = published.status
        except AirgapError as exc:
            outcome.status, outcome.error = "failed", f"chart: {exc}"
    return report
