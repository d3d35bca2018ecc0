"""Loading a plan's images into docker, podman or containerd, named as the install expects.

The names come from the one relocation plan, so a node loaded with ``--prefix-registry REG`` holds
exactly the references the relocated charts and the site override name; with no rule every image keeps
its (normalised) source name.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skoala_airgap.destinations.runtime.stream import LoadItem, LoadResult, runtime_name
from skoala_airgap.engine.progress import ItemDone, NullProgress, Progress
from skoala_airgap.errors import InputError
from skoala_airgap.model.reference import Reference
from skoala_airgap.relocation.plan import RelocationPlan
from skoala_airgap.workflows import receipt as receipts
from skoala_airgap.workflows.push import source_summary

RUNTIMES = ("docker", "podman", "containerd")


@dataclass(frozen=True)
class LoadSettings:
    runtime: str
    where: str  # Engine API host (unix://, tcp://, ssh://) or containerd socket
    namespace: str = "k8s.io"
    untag_source: bool = False
    unpack: bool = True
    concurrency: int = 2


@dataclass
class LoadReport:
    settings: LoadSettings
    results: list[LoadResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    receipt: Path | None = None

    @property
    def failed(self) -> list[LoadResult]:
        return [r for r in self.results if not r.ok]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": not self.failed and not self.problems, "runtime": self.settings.runtime}
        out["socket"] = self.settings.where
        if self.settings.runtime == "containerd":
            out["namespace"] = self.settings.namespace
        out["images"] = [
            {
                "source": r.item.display_name,
                "source_names": r.item.source_names,
                "names": r.names,
                "digest": r.item.digest,
                "image_id": r.image_id,
                "status": r.status,
                "removed": r.removed,
                "error": r.error or None,
            }
            for r in self.results
        ]
        loaded = sum(r.ok for r in self.results)
        summary = {"images": len(self.results), "loaded": loaded, "failed": len(self.results) - loaded}
        out |= {
            "problems": self.problems,
            "warnings": self.warnings,
            "receipt": str(self.receipt) if self.receipt else None,
        }
        out["summary"] = {**summary, "elapsed_seconds": round(self.elapsed, 3)}
        return out


def default_host(runtime: str, environ: dict[str, str] | None = None) -> str:
    """Where each client looks by default: DOCKER_HOST for docker, CONTAINER_HOST for podman (podman-remote)."""
    env = dict(os.environ if environ is None else environ)
    if runtime == "docker":
        return env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if env.get("CONTAINER_HOST"):
        return env["CONTAINER_HOST"]
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime_dir = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime_dir}/podman/podman.sock"


def _runtime_spelling(ref: Reference) -> str:
    return runtime_name(ref.registry, ref.repository, None if ref.is_digest else ref.tag, ref.digest)


def load_items(plan: RelocationPlan) -> list[LoadItem]:
    """One item per distinct image (by manifest digest) with all its source and target names."""
    items: dict[str, LoadItem] = {}
    for move in plan.moves():
        item = items.setdefault(move.digest, LoadItem(move.image, move.chart))
        for names, value in (
            (item.source_names, _runtime_spelling(move.source)),
            (item.target_names, _runtime_spelling(move.target)),
        ):
            if value not in names:
                names.append(value)
    return list(items.values())


def load_plan(
    plan: RelocationPlan, settings: LoadSettings, progress: Progress | None = None, *, receipt: Path | None = None
) -> LoadReport:
    if settings.runtime not in RUNTIMES:
        raise InputError(f"--runtime {settings.runtime}: expected one of {', '.join(RUNTIMES)}")
    started = time.monotonic()
    sink = progress or NullProgress()
    items = load_items(plan)
    report = LoadReport(settings, problems=list(plan.problems), warnings=list(plan.source.warnings))
    if settings.runtime == "containerd":
        from skoala_airgap.destinations.runtime.containerd import load_into_containerd

        report.results = load_into_containerd(
            items,
            settings.where,
            namespace=settings.namespace,
            untag_source=settings.untag_source,
            unpack=settings.unpack,
            concurrency=settings.concurrency,
            progress=sink,
        )
    else:
        from skoala_airgap.destinations.runtime.engine_api import load_into_engine

        report.results = load_into_engine(
            items, settings.where, untag_source=settings.untag_source, concurrency=settings.concurrency, progress=sink
        )
    for result in report.results:
        names = ", ".join(result.names) or "-"
        sink.item(ItemDone(result.status, result.item.display_name, names, result.item.digest, error=result.error))
    report.elapsed = time.monotonic() - started
    if receipt is not None:
        report.receipt = _write_receipt(receipt, plan, settings, report.results)
    return report


def _write_receipt(path: Path, plan: RelocationPlan, settings: LoadSettings, results: list[LoadResult]) -> Path:
    where = f"{settings.where} ({settings.namespace})" if settings.runtime == "containerd" else settings.where
    images = [
        {"source": r.item.display_name, "target": name, "digest": r.item.digest, "chart": r.item.group}
        for r in results
        if r.ok
        for name in r.names
    ]
    placement = receipts.Placement(f"{settings.runtime} {where}", settings.runtime, "load", plan.rules, images=images)
    return receipts.record(path, source_summary(plan), placement)
