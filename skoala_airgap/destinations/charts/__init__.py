"""Chart targets behind one interface (:class:`ChartPublisher`), chosen by ``target.repo.kind``."""

from __future__ import annotations

import dataclasses

from skoala_airgap.config.model import Repo, RepoKind
from skoala_airgap.connection.http import Notify
from skoala_airgap.connection.settings import ConnectionSettings, Login
from skoala_airgap.destinations.charts.base import (
    ChartConflictError,
    ChartPublisher,
    ChartRepoError,
    CredentialsRefusedError,
    PublishResult,
    PublishStatus,
)
from skoala_airgap.destinations.charts.chartmuseum import ChartMuseumPublisher
from skoala_airgap.destinations.charts.harbor import HarborNoChartRepoError, HarborPublisher
from skoala_airgap.destinations.charts.local import LocalPublisher
from skoala_airgap.destinations.charts.oci import OciPublisher, split_oci_url
from skoala_airgap.errors import InputError

__all__ = [
    "ChartConflictError",
    "ChartMuseumPublisher",
    "ChartPublisher",
    "ChartRepoError",
    "CredentialsRefusedError",
    "HarborNoChartRepoError",
    "HarborPublisher",
    "LocalPublisher",
    "OciPublisher",
    "PublishResult",
    "PublishStatus",
    "make_publisher",
]


def make_publisher(
    repo: Repo,
    *,
    connection: ConnectionSettings | None = None,
    notify: Notify | None = None,
) -> ChartPublisher:
    """The publisher for ``repo`` (a config's ``target.repo``); nothing is contacted yet.

    Chart repositories get ``repo.auth`` (already merged with TARGET_REPO_AUTH_* by the config reader).
    OCI targets are registries: ``repo.auth`` first, then the connection's credential sources
    (authfile, docker config.json), as Helm does.
    """
    settings = connection or ConnectionSettings()
    basic = (repo.auth.username, repo.auth.password) if repo.auth is not None else None
    if repo.kind is RepoKind.LOCAL:
        if repo.path is None:
            raise InputError("target.repo.path is required for kind LOCAL")
        return LocalPublisher(repo.path)
    if repo.kind is RepoKind.CHARTMUSEUM:
        return ChartMuseumPublisher(repo.url, auth=basic, connection=settings, notify=notify)
    if repo.kind is RepoKind.HARBOR:
        return HarborPublisher(repo.url, auth=basic, connection=settings, notify=notify)
    if repo.kind is RepoKind.OCI:
        if repo.auth is not None:
            _, host, _ = split_oci_url(repo.url)
            login = Login(repo.auth.username, repo.auth.password, "target.repo.auth", host)
            settings = dataclasses.replace(settings, logins=(login, *settings.logins))
        return OciPublisher(repo.url, connection=settings, notify=notify)
    reason = {
        RepoKind.HELM: "a plain Helm repository has no upload API (use CHARTMUSEUM, HARBOR, OCI or LOCAL)",
        RepoKind.JFROG: "JFROG targets are not supported yet",
    }.get(repo.kind, "unknown kind")
    raise InputError(f"target.repo.kind {repo.kind.name} cannot receive charts: {reason}")
