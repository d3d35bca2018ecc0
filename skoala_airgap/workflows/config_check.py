"""What ``config validate --online`` and ``config show --package`` report about a load-image.yaml.

``online_checks`` logs in to the image registry (a ``/v2/`` ping that answers a 401 challenge with the
config's or the environment's credentials) and reads the chart target (``check()``: reachability,
credentials, a repository at that URL); nothing is written anywhere. ``image_destinations_of`` says where
each image of a package goes under the config, as ``sync`` would compute it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skoala_airgap.config.model import Config
from skoala_airgap.config.select import chart_selected, skip_images_for
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.charts import make_publisher
from skoala_airgap.destinations.connect import open_registry
from skoala_airgap.errors import AirgapError
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.open import open_source
from skoala_airgap.workflows.sync import config_rules
from skoala_airgap.workflows.values import image_destinations


def online_checks(config: Config, connection: ConnectionSettings) -> list[dict[str, str]]:
    """One entry per target: ``{"what", "status": "ok"|"fail", "error"}``."""
    out: list[dict[str, str]] = []
    rules = config_rules(config)
    host = (rules.prefix_registry or rules.registry).split("/", 1)[0]
    if host:
        try:
            client = open_registry(host, connection)
            out.append({"what": f"registry {host} ({client.scheme})", "status": "ok", "error": ""})
        except AirgapError as exc:
            out.append({"what": f"registry {host}", "status": "fail", "error": str(exc)})
    if config.target.repo is not None:
        publisher = make_publisher(config.target.repo, connection=connection)
        try:
            publisher.check()
            out.append({"what": f"chart target {publisher.describe()}", "status": "ok", "error": ""})
        except AirgapError as exc:
            out.append({"what": f"chart target {publisher.describe()}", "status": "fail", "error": str(exc)})
    return out


def image_destinations_of(config: Config, package: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(one entry per image or unselected chart, the package's warnings)."""
    source = open_source(package)
    rules = RewriteRules.from_target(config.target)
    out: list[dict[str, Any]] = []
    for bundle in source.bundles:
        name, version = bundle.chart.name, bundle.chart.version
        if not chart_selected(config, name, version):
            out.append({"chart": name, "version": version, "status": "not selected by charts/skipCharts"})
            continue
        skipped = skip_images_for(config, name, False)
        for dest in image_destinations([bundle], rules):
            entry = dest.to_json()
            entry["status"] = "skipImages" if skipped else ("push" if dest.destination else "unchanged")
            out.append(entry)
    return out, list(source.warnings)
