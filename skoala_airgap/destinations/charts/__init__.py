"""Chart targets behind one interface (:class:`ChartPublisher`), chosen by ``target.repo.kind``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from skoala_airgap.config.model import Repo, RepoKind
from skoala_airgap.connection.credentials import Credentials, from_docker_config
from skoala_airgap.connection.transport import TransportOptions
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
    insecure: bool = False,
    plain_http: bool = False,
    ca_file: Path | None = None,
    credentials: Credentials | None = None,
    options: TransportOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChartPublisher:
    """The publisher for ``repo`` (a config's ``target.repo``).

    Credentials: ``credentials`` if given, else ``repo.auth`` (already merged with TARGET_REPO_AUTH_* by
    the config reader); OCI targets then fall back to docker's config.json, as Helm does. ``plain_http``
    matters only for ``oci://`` URLs: for http(s) URLs the scheme decides.
    """
    options = options or TransportOptions(plain_http=plain_http, insecure=insecure, ca_file=ca_file)
    basic = (credentials.username, credentials.password) if credentials and credentials.has_password else None
    if basic is None and repo.auth is not None:
        basic = (repo.auth.username, repo.auth.password)
    if repo.kind is RepoKind.LOCAL:
        if repo.path is None:
            raise InputError("target.repo.path is required for kind LOCAL")
        return LocalPublisher(repo.path)
    if repo.kind is RepoKind.CHARTMUSEUM:
        return ChartMuseumPublisher(repo.url, auth=basic, options=options)
    if repo.kind is RepoKind.HARBOR:
        return HarborPublisher(repo.url, auth=basic, options=options)
    if repo.kind is RepoKind.OCI:
        creds = credentials
        if creds is None and repo.auth is not None:
            creds = Credentials(repo.auth.username, repo.auth.password, source="target.repo.auth")
        if creds is None:
            _, host, _ = split_oci_url(repo.url)
            creds = from_docker_config(host, os.environ if environ is None else environ)
        return OciPublisher(repo.url, credentials=creds, options=options)
    reason = {
        RepoKind.HELM: "a plain Helm repository has no upload API (use CHARTMUSEUM, HARBOR, OCI or LOCAL)",
        RepoKind.JFROG: "JFROG targets are not supported yet",
    }.get(repo.kind, "unknown kind")
    raise InputError(f"target.repo.kind {repo.kind.name} cannot receive charts: {reason}")
