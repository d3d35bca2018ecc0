"""Defaults and environment overrides applied to a decoded config (spec §3.3, §3.5), as charts-syncer does."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from skoala_airgap.config.model import DEFAULT_REPO_NAME, Config, ContainerAuth, Containers, Repo, RepoAuth, RepoKind
from skoala_airgap.config.problems import ReaderState


def _default_charts_index(url: str) -> str:
    """charts-syncer's ``<host>/<path>/charts-index:latest`` (without its doubled slash)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = parts.netloc.rpartition("@")[2]
    uri = "/".join(s for s in (host, parts.path.strip("/")) if s)
    return f"{uri}/charts-index:latest" if uri else "charts-index:latest"


class Environment(ReaderState):
    """charts-syncer's defaults and its ``SOURCE_*``/``TARGET_*`` environment variables."""

    def apply_defaults(self, config: Config) -> Config:
        source, target = config.source, config.target
        repo = source.repo
        if repo is not None and not repo.disable_charts_index and not repo.charts_index:
            source = dataclasses.replace(
                source, repo=dataclasses.replace(repo, charts_index=_default_charts_index(repo.url))
            )
        if target.repo is not None and target.repo.kind is RepoKind.OCI:
            target = dataclasses.replace(target, repo=dataclasses.replace(target.repo, disable_charts_index=True))
        if not target.repo_name:
            target = dataclasses.replace(target, repo_name=DEFAULT_REPO_NAME)
        return dataclasses.replace(config, source=source, target=target)

    def env(self, *names: str) -> str:
        """First non-empty variable among ``names`` (viper ignores empty values)."""
        for name in names:
            value = self.environ.get(name, "")
            if value:
                return value
        return ""

    def repo_with_env(self, repo: Repo | None, side: str) -> Repo | None:
        if repo is None:
            return None
        up = side.upper()
        file_auth = repo.auth or RepoAuth("", "")
        username = self.env(f"{up}_REPO_AUTH_USERNAME", f"{up}_AUTH_USERNAME") or file_auth.username
        password = self.env(f"{up}_REPO_AUTH_PASSWORD", f"{up}_AUTH_PASSWORD") or file_auth.password
        if username and password:
            return dataclasses.replace(repo, auth=RepoAuth(username, password))
        if repo.auth is not None and not repo.auth.username and not repo.auth.password:
            return dataclasses.replace(repo, auth=None)  # an empty "auth: {}" means no auth
        return repo

    def apply_env(self, config: Config) -> Config:
        source, target = config.source, config.target
        source = dataclasses.replace(source, repo=self.repo_with_env(source.repo, "source"))
        target = dataclasses.replace(target, repo=self.repo_with_env(target.repo, "target"))

        s_cont = source.containers or Containers()
        s_auth = s_cont.auth or ContainerAuth("", "", "")
        registry = self.env("SOURCE_CONTAINERS_AUTH_REGISTRY") or s_auth.registry
        username = self.env("SOURCE_CONTAINERS_AUTH_USERNAME") or s_auth.username
        password = self.env("SOURCE_CONTAINERS_AUTH_PASSWORD") or s_auth.password
        if registry or username or password:
            auth = ContainerAuth(registry, username, password)
            source = dataclasses.replace(source, containers=dataclasses.replace(s_cont, auth=auth))

        t_cont = target.containers or Containers()
        t_auth = t_cont.auth or ContainerAuth("", "", "")
        username = self.env("TARGET_CONTAINERS_AUTH_USERNAME") or t_auth.username
        password = self.env("TARGET_CONTAINERS_AUTH_PASSWORD") or t_auth.password
        if username or password:
            server = target.container_prefix_registry or target.container_registry
            if t_auth.registry and t_auth.registry != server:
                self.warnings.append(
                    f'target.containers.auth.registry "{t_auth.registry}" is ignored: credentials apply to '
                    f'"{server}" (containerPrefixRegistry, else containerRegistry)'
                )
            if not server:
                self.warnings.append(
                    "target.containers.auth is unused: neither containerPrefixRegistry nor containerRegistry is set"
                )
            auth = ContainerAuth(server, username, password)
            target = dataclasses.replace(target, containers=dataclasses.replace(t_cont, auth=auth))
        return dataclasses.replace(config, source=source, target=target)
