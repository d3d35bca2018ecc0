"""Which charts a config selects and whether their images move (``charts``, ``skipCharts``, ``skipImages``)."""

from __future__ import annotations

from skoala_airgap.config.model import CHART_NAME_MAX, CHART_NAME_RE, CHART_VERSION_RE, Config
from skoala_airgap.errors import ConfigError


def valid_chart_name(name: str) -> bool:
    return 0 < len(name) <= CHART_NAME_MAX and CHART_NAME_RE.match(name) is not None


def require_rewrite_rule(config: Config, skip_images: bool) -> None:
    """charts-syncer's ``validateTarget``: pushing images needs a rule, else they would go back to their origin.

    Images count as skipped with ``--skip-images`` or when every ``charts[]`` entry has ``skipImages``.
    """
    every_chart_skips = bool(config.charts) and all(c.skip_images for c in config.charts)
    if skip_images or every_chart_skips or config.rewrite_rules_present():
        return
    raise ConfigError(
        str(config.path),
        "at least one rewrite rule is required: set target.containerRegistry, containerPrefixRegistry, "
        "containerRepository or containerPrefixRepository (or skip images)",
        config.line_of("target"),
    )


def chart_selected(config: Config, name: str, version: str) -> bool:
    """Whether a chart version passes ``charts`` / ``versions`` / ``skipCharts``; invalid names never do."""
    if not valid_chart_name(name) or not CHART_VERSION_RE.match(version):
        return False
    if name in config.skip_charts:
        return False
    if not config.charts:
        return True
    return any(c.name == name and (not c.versions or version in c.versions) for c in config.charts)


def skip_images_for(config: Config, name: str, cli_skip_images: bool) -> bool:
    """``--skip-images`` wins when true; otherwise the chart's own ``skipImages``."""
    return cli_skip_images or any(c.name == name and c.skip_images for c in config.charts)
