"""Pushing a plan's images: open the destination, run the copy engine, record what was placed.

``push-images`` pushes every image move of the plan; ``sync`` pushes the hinted ones of the charts it
publishes. Both come through :func:`push_moves`, with one connection layer and one engine, and both run
the Harbor preflight (``workflows/preflight.py``) on the opened registry before the first write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.connect import open_registry
from skoala_airgap.destinations.layout import LayoutClient
from skoala_airgap.engine.contract import ImageResult, PushItem, PushOptions, PushTarget
from skoala_airgap.engine.progress import NullProgress, Progress
from skoala_airgap.engine.push import Pusher
from skoala_airgap.engine.state import BlobLocations, UploadJournal, state_dir
from skoala_airgap.relocation.plan import ImageMove, RelocationPlan
from skoala_airgap.workflows import receipt as receipts
from skoala_airgap.workflows.preflight import harbor_preflight

if TYPE_CHECKING:
    from skoala_airgap.config.model import Config


@dataclass(frozen=True)
class PushSettings:
    """How to push: the engine's options, the connection, and where state and receipts go."""

    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    options: PushOptions = field(default_factory=PushOptions)
    oci_layout: Path | None = None  # write into this OCI layout directory instead of a registry
    state: Path | None = None  # --state-dir; None: the default state directory
    use_state: bool = True  # False: no journal and no blob-location memory (tests of cold runs)


@dataclass
class PushReport:
    host: str
    results: list[ImageResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    receipt: Path | None = None
    projects: list[dict[str, Any]] = field(default_factory=list)  # Harbor projects checked or created

    @property
    def failed(self) -> list[ImageResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        sums = {k: sum(r.bytes[k] for r in self.results) for k in ("uploaded", "skipped", "mounted")}
        return {"images": len(self.results), **counts, "bytes": sums, "elapsed_seconds": round(self.elapsed, 3)}

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.failed and not self.problems,
            "registry": self.host,
            "images": [r.to_json() for r in self.results],
            "problems": self.problems,
            "warnings": self.warnings,
            "summary": self.summary(),
            "receipt": str(self.receipt) if self.receipt else None,
            "projects": self.projects,
        }


def push_items(moves: list[ImageMove]) -> list[PushItem]:
    return [
        PushItem(m.image, m.target.repository, None if m.target.is_digest else m.target.tag, m.source.name, m.chart)
        for m in moves
    ]


def open_target(host: str, settings: PushSettings, progress: Progress) -> PushTarget:
    """The destination for ``host``: an OCI layout directory when asked for, else the pinged registry."""
    if settings.oci_layout is not None:
        layout = LayoutClient(settings.oci_layout, host)
        layout.ping()
        return layout
    pool = settings.options.concurrency + 2
    return open_registry(host, settings.connection, pool_size=pool, notify=progress.note)


def push_moves(
    host: str,
    moves: list[ImageMove],
    settings: PushSettings,
    progress: Progress | None = None,
    *,
    target: PushTarget | None = None,
) -> list[ImageResult]:
    """Push ``moves`` (all to ``host``) with one engine run (into ``target`` when it is already open)."""
    sink = progress or NullProgress()
    target = target or open_target(host, settings, sink)
    directory = state_dir(settings.state, settings.connection.environ or None) if settings.use_state else None
    pusher = Pusher(
        target,
        # --retries bounds a blob's re-uploads too (a stalled or reset upload), not only single requests
        replace(settings.options, retries=settings.connection.retry.retries),
        sink,
        journal=UploadJournal(directory) if settings.oci_layout is None else None,
        locations=BlobLocations(directory if settings.oci_layout is None else None),
    )
    return pusher.push(push_items(moves))


def destination_of(host: str, settings: PushSettings) -> tuple[str, str]:
    """(destination, kind) as a receipt names it."""
    if settings.oci_layout is not None:
        return f"oci-layout {settings.oci_layout}", "oci-layout"
    return f"registry {host}", "registry"


def push_plan(
    plan: RelocationPlan,
    settings: PushSettings,
    progress: Progress | None = None,
    *,
    receipt: Path | None = None,
    config: Config | None = None,
    auto_create: bool = False,
    public: bool = False,
    warn: Callable[[str], None] | None = None,
) -> PushReport:
    """``push-images``: every move of the plan to its one registry, then the receipt.

    When the registry is a Harbor, every project the images need must exist first, or is created with
    ``auto_create`` (private unless ``public``): the preflight raises before anything is written.
    """
    started = time.monotonic()
    sink = progress or NullProgress()
    moves = plan.moves()
    host = plan.host(moves)
    report = PushReport(host, problems=list(plan.problems), warnings=list(plan.source.warnings))

    def warned(message: str) -> None:
        report.warnings.append(message)
        if warn is not None:
            warn(message)

    target = open_target(host, settings, sink)
    projects = harbor_preflight(
        config,
        plan,
        moves,
        target=target,
        publisher=None,
        connection=settings.connection,
        auto_create=auto_create,
        public=public,
        note=sink.note,
        warn=warned,
    )
    report.projects = [p.to_json() for p in projects]
    report.results = push_moves(host, moves, settings, sink, target=target)
    report.elapsed = time.monotonic() - started
    if receipt is not None:
        report.receipt = write_receipt(receipt, plan, host, settings, report.results, command="push-images")
    return report


def write_receipt(
    path: Path,
    plan: RelocationPlan,
    host: str,
    settings: PushSettings,
    results: list[ImageResult],
    *,
    command: str,
    charts: list[dict[str, str]] | None = None,
) -> Path:
    destination, kind = destination_of(host, settings)
    placement = receipts.Placement(
        destination,
        kind,
        command,
        plan.rules,
        images=[
            {"source": r.item.source_name, "target": r.target, "digest": r.digest, "chart": r.item.group}
            for r in results
            if r.ok
        ],
        charts=charts or [],
    )
    return receipts.record(path, source_summary(plan), placement)


def source_summary(plan: RelocationPlan) -> dict[str, Any]:
    return {
        "path": str(plan.source.path),
        "name": plan.source.path.name,
        "charts": {c.name: c.version for c in plan.charts},
    }
