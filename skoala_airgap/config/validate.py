"""Semantic validation of a decoded config (spec §3.4 plus our decisions, see docs/config.md)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from skoala_airgap.config.model import (
    CHART_NAME_MAX,
    CHART_NAME_RE,
    CHART_VERSION_RE,
    URL_KINDS,
    Config,
    Repo,
    RepoKind,
)
from skoala_airgap.config.problems import ReaderState
from skoala_airgap.config.select import valid_chart_name
from skoala_airgap.errors import ConfigError


def _url_problem(url: str) -> str | None:
    """Why ``url`` is unusable as a chart repository base URL (stricter than Go's ParseRequestURI)."""
    if not url:
        return "empty url"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "contains whitespace or control characters"
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return "invalid URL escape"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "missing host"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not contain a query or fragment"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain user info (user:password@); put the credentials in auth"
    return None


class Validation(ReaderState):
    """Checks that need the whole config (one-of rules, URLs, credentials, chart filters)."""

    def one_of(self, side: str, repo: Repo | None, bundles: Path | None) -> None:
        repo_key, bundles_key = f"{side}.repo", f"{side}.intermediateBundlesPath"
        if repo is not None and bundles is not None:
            line = max(self.lines.get(repo_key, 0), self.lines.get(bundles_key, 0)) or None
            self.error(f"{side} has both repo and intermediateBundlesPath; set only one", line=line)
        elif repo is None and bundles is None and not {side, repo_key} & self.broken:
            what = "source.intermediateBundlesPath (or source.repo)" if side == "source" else "target.repo"
            self.error(f"no {side}: set {what}", side)

    def validate_repo(self, repo: Repo | None, side: str) -> None:
        if repo is None:
            return
        key = f"{side}.repo"
        if repo.kind is RepoKind.UNKNOWN:
            if f"{key}.kind" not in self.broken:
                unset = "" if f"{key}.kind" in self.lines else f" ({key}.kind is not set)"
                self.error(f'unsupported repo kind "{RepoKind.UNKNOWN.name}"{unset}', f"{key}.kind")
        elif repo.kind is RepoKind.LOCAL:
            if repo.path is None:
                self.error(f'"{key}.path" is required for kind LOCAL', f"{key}.path")
        elif repo.kind in URL_KINDS:
            problem = _url_problem(repo.url)
            if problem:
                self.error(f'"{key}.url" should be a valid URL: {problem}', f"{key}.url")
            elif repo.kind is RepoKind.HARBOR and not re.fullmatch(
                r"(?:/.*)?/chartrepo/[^/]+", urlsplit(repo.url).path
            ):
                self.error(
                    f'"{key}.url" must be a Harbor chart repository URL like https://<host>/chartrepo/<project>; '
                    "Harbor >= 2.8 has no ChartMuseum: use kind OCI with https://<host>/<project>",
                    f"{key}.url",
                )
        if repo.auth is not None and not (repo.auth.username and repo.auth.password):
            self.error(f'"{key}.auth" "username" and "password" are required', f"{key}.auth")

    def validate_server(self, server: str, key: str) -> None:
        if "://" in server or "/" in server:
            self.error(
                f'credentials server name "{server}" must not contain a scheme (http:// or https://) nor a path; '
                "use a bare host[:port]",
                key,
            )

    def validate(self, config: Config) -> None:
        source, target = config.source, config.target
        self.one_of("source", source.repo, source.intermediate_bundles_path)
        self.one_of("target", target.repo, target.intermediate_bundles_path)
        if source.intermediate_bundles_path and target.intermediate_bundles_path and target.repo is None:
            self.error(
                "target.repo is required when loading bundles (source.intermediateBundlesPath); "
                "target.intermediateBundlesPath is for saving",
                "target.intermediateBundlesPath",
            )
        self.validate_repo(source.repo, "source")
        self.validate_repo(target.repo, "target")

        s_auth = source.containers.auth if source.containers else None
        if s_auth is not None:
            if not (s_auth.registry and s_auth.username and s_auth.password):
                self.error(
                    '"source.containers.auth" "registry", "username" and "password" are required',
                    "source.containers.auth",
                )
            else:
                self.validate_server(s_auth.registry, "source.containers.auth.registry")
        t_auth = target.containers.auth if target.containers else None
        if t_auth is not None:
            if not (t_auth.username and t_auth.password):
                self.error('"target.containers.auth" "username" and "password" are required', "target.containers.auth")
            elif t_auth.registry:
                origin = "containerPrefixRegistry" if target.container_prefix_registry else "containerRegistry"
                self.validate_server(t_auth.registry, f"target.{origin}")

        for index, chart in enumerate(config.charts):
            key = f"charts[{index}]"
            if not valid_chart_name(chart.name):
                self.error(
                    f'charts name "{chart.name}" is invalid: must be 1-{CHART_NAME_MAX} characters matching '
                    f"{CHART_NAME_RE.pattern}",
                    f"{key}.name",
                )
            for v_index, version in enumerate(chart.versions):
                if not CHART_VERSION_RE.match(version):
                    self.error(
                        f'charts {chart.name} version "{version}" is invalid, must match {CHART_VERSION_RE.pattern}',
                        f"{key}.versions[{v_index}]",
                    )
        if config.charts and config.skip_charts:
            self.error('"charts" and "skipCharts" properties can not be set at the same time', "skipCharts")


def usable_here(config: Config) -> list[ConfigError]:
    """What a valid charts-syncer config still needs for skoala-airgap to run it (``config validate``)."""
    path = str(config.path)
    problems: list[ConfigError] = []
    if config.source.repo is not None:
        problems.append(
            ConfigError(
                path,
                "source.repo (an online chart repository) is not supported: skoala-airgap loads bundles and "
                "offline packages; set source.intermediateBundlesPath",
                config.line_of("source.repo"),
            )
        )
    bundles = config.source.intermediate_bundles_path
    if bundles is not None and not bundles.exists():
        where = config.line_of("source.intermediateBundlesPath")
        problems.append(ConfigError(path, f"source.intermediateBundlesPath {bundles}: no such file or folder", where))
    for key, host in (
        ("target.containerRegistry", config.target.container_registry),
        ("target.containerPrefixRegistry", config.target.container_prefix_registry),
    ):
        if "://" in host:  # charts-syncer takes it, then writes image names no runtime can pull
            reason = (
                f'{key} "{host}" must be a bare host[:port] without http:// or https:// '
                "(the scheme is chosen when connecting: --plain-http, --insecure)"
            )
            problems.append(ConfigError(path, reason, config.line_of(key)))
    repo = config.target.repo
    if repo is not None and repo.kind is RepoKind.LOCAL and repo.path is not None and repo.path.is_file():
        problems.append(
            ConfigError(
                path, f"target.repo.path {repo.path} is a file, not a folder", config.line_of("target.repo.path")
            )
        )
    return problems
