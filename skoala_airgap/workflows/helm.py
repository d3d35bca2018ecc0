"""The ``helm upgrade`` commands of the vendor's offline-upgrade procedure, for skoala and skoala-init together.

skoala and skoala-init must run the same version, so the script is refused when the package's two charts
disagree. It has the vendor's two forms: from a chart repository (``skoala-release/skoala``) and from the
unmodified chart in each bundle (``original-chart/``). Both pass the release's values backup and then the
site override written by ``skoala-airgap values`` (``-f`` files apply in order, the last one wins).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from skoala_airgap.errors import InputError
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.sources.open import Source
from skoala_airgap.sources.package import LOCKSTEP_CHARTS

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_REPO",
    "ReleaseChart",
    "backup_file",
    "override_file",
    "release_charts",
    "rule_arguments",
    "upgrade_script",
]

DEFAULT_NAMESPACE = "skoala-system"
DEFAULT_REPO = "skoala-release"


@dataclass(frozen=True)
class ReleaseChart:
    """One chart to upgrade; ``bundle`` is the bundle file, relative to the unpacked package or absolute."""

    name: str
    version: str
    bundle: str


def backup_file(release: str) -> str:
    """Where the script backs up a release's values (``helm get values``)."""
    return f"{release}-bak.yaml"


def override_file(release: str) -> str:
    """Where the script writes a release's site override (``skoala-airgap values``)."""
    return f"{release}-override.yaml"


def _bundle_location(source: Source, file_name: str) -> str:
    if source.kind == "package" and source.package is not None:
        for member in source.package.index:
            if member.kind != "dir" and member.name.rsplit("/", 1)[-1] == file_name:
                return member.name
        return file_name
    if source.kind == "bundle":
        return str(source.path)
    return str(source.path / file_name)


def release_charts(source: Source) -> list[ReleaseChart]:
    """skoala and skoala-init from ``source`` (bundles and chart archives), refused unless one version."""
    versions: dict[str, set[str]] = {}
    bundles: dict[str, ReleaseChart] = {}
    for bundle in source.bundles:
        name, version = bundle.chart.name, bundle.chart.version
        versions.setdefault(name, set()).add(version)
        if name in LOCKSTEP_CHARTS and name not in bundles:
            bundles[name] = ReleaseChart(name, version, _bundle_location(source, bundle.file_name))
    if source.package is not None:
        for chart in source.package.charts:
            versions.setdefault(chart.name, set()).add(chart.version)
    present = {name: versions[name] for name in LOCKSTEP_CHARTS if name in versions}
    if not bundles:
        raise InputError(f"{source.path}: no {' or '.join(LOCKSTEP_CHARTS)} bundle found")
    all_versions = set().union(*present.values())
    if len(all_versions) > 1:
        listed = ", ".join(f"{name} {'/'.join(sorted(v))}" for name, v in present.items())
        raise InputError(
            f"{source.path}: chart versions differ ({listed}); skoala and skoala-init must be upgraded "
            "together with one version"
        )
    return [bundles[name] for name in LOCKSTEP_CHARTS if name in bundles]


def _cmd(*words: str) -> str:
    return " ".join(shlex.quote(word) for word in words)


def _upgrade(release: str, chart: str, namespace: str, version: str) -> str:
    return (
        f"{_cmd('helm', 'upgrade', release, chart)} \\\n"
        f"  {_cmd('-n', namespace, '--version', version)} \\\n"
        f"  {_cmd('-f', backup_file(release), '-f', override_file(release))}"
    )


def rule_arguments(rules: RewriteRules, origin: str, *, config: Path | None, receipt: Path | None) -> list[str]:
    """The arguments that give ``skoala-airgap values`` the same rules this script was made with."""
    if origin.startswith("load-image.yaml") and config is not None:
        return ["--config", str(config)]
    if origin.startswith("receipt") and receipt is not None:
        return ["--receipt", str(receipt)]
    flags = {
        "--registry": rules.registry,
        "--prefix-registry": rules.prefix_registry,
        "--repository": rules.repository,
        "--prefix-repository": rules.prefix_repository,
    }
    args = [word for flag, value in flags.items() if value for word in (flag, value)]
    return args + (["--append-origin-registry"] if rules.append_origin_registry else [])


def upgrade_script(
    source: Source,
    *,
    registry: str,
    namespace: str = DEFAULT_NAMESPACE,
    repo: str | None = None,
    chart_dir: Path | None = None,
    rules_args: list[str] | None = None,
    rules_note: str = "",
) -> str:
    """The commands as a shell script: back up, write overrides, then upgrade in one or both forms.

    With neither ``repo`` nor ``chart_dir`` both forms are printed (repository ``skoala-release``, charts
    under ``./<package name>``); with one of them, only that form. ``config`` (the load-image.yaml sync
    used, or the receipt, or the rule flags: ``rules_args``) is passed on to ``skoala-airgap values`` so the
    overrides hold the values the push or sync wrote.
    """
    if repo is not None and chart_dir is not None:
        raise InputError("--repo and --chart-dir choose one form each; give only one")
    charts = release_charts(source)
    names = [c.name for c in charts]
    version = charts[0].version
    package = str(source.path)
    lines = [
        f"# Offline upgrade of {' and '.join(names)} {version} in namespace {namespace}",
        "# (images and charts already synced with: skoala-airgap sync --config load-image.yaml)",
    ]
    if rules_note:
        lines.append(f"# {rules_note}")
    missing = [name for name in LOCKSTEP_CHARTS if name not in names]
    if missing:
        lines.append(f"# warning: {package} has no {' or '.join(missing)} chart; only {', '.join(names)} below")
    lines += ["", "# 1. Back up the values of each release"]
    lines += [
        _cmd("helm", "get", "values", c.name, "-n", namespace, "-o", "yaml") + f" > {backup_file(c.name)}"
        for c in charts
    ]
    lines += ["", f"# 2. Write the site overrides: global.imageRegistry={registry} plus each image's own values"]
    lines += [
        _cmd(
            "skoala-airgap",
            "values",
            *(rules_args or ["--registry", registry]),
            "--package",
            package,
            "--chart",
            c.name,
            "-f",
            backup_file(c.name),
            "-o",
            override_file(c.name),
        )
        for c in charts
    ]
    both = repo is None and chart_dir is None
    if repo is not None or both:
        repo_name = repo or DEFAULT_REPO
        lines += [
            "",
            f"# 3{'a' if both else ''}. Upgrade from the chart repository {repo_name}",
            f"#    (once: helm repo add {repo_name} https://<harbor>/chartrepo/<project>)",
            _cmd("helm", "repo", "update", repo_name),
        ]
        lines += [_upgrade(c.name, f"{repo_name}/{c.name}", namespace, c.version) for c in charts]
    if chart_dir is not None or both:
        directory = chart_dir if chart_dir is not None else Path(source.path.name.removesuffix(".tar"))
        lines += [
            "",
            f"# 3{'b' if both else ''}. {'Or upgrade' if both else 'Upgrade'} from original-chart, "
            "the chart inside each bundle",
        ]
        if source.kind == "package":
            lines.append(_cmd("skoala-airgap", "unpack", package, "-o", str(directory)))
        for c in charts:
            bundle = str(directory / c.bundle) if source.kind == "package" else c.bundle
            target = directory / c.name
            extract = _cmd("tar", "-xf", bundle, "-C", str(target), "original-chart")
            lines.append(f"{_cmd('mkdir', '-p', str(target))} && {extract}")
        lines += [_upgrade(c.name, str(directory / c.name / "original-chart"), namespace, c.version) for c in charts]
    return "\n".join(lines) + "\n"
