"""HARBOR target (legacy chartrepo, Harbor <= 2.7): ``https://host/chartrepo/<project>``.

Uploads go to ``https://host/api/chartrepo/<project>/charts`` (the first ``/chartrepo/`` becomes
``/api/chartrepo/``, as charts-syncer does). Harbor's ChartMuseum runs with overwrite on, so a re-upload
never answers 409: the download-and-compare step in :class:`ClassicRepoPublisher` is what keeps a
different chart from being overwritten silently.

Harbor 2.8 removed ChartMuseum: its chartrepo routes answer beego's HTML 404 page. We recognise that (and
``with_chartmuseum`` missing from ``/api/v2.0/systeminfo``) and say to use ``kind: OCI`` instead.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import requests

from skoala_airgap.connection.errors import error_text
from skoala_airgap.connection.http import Notify
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.charts.base import ChartRepoError
from skoala_airgap.destinations.charts.chartmuseum import ClassicRepoPublisher
from skoala_airgap.errors import AirgapError, InputError

__all__ = ["HarborNoChartRepoError", "HarborPublisher", "split_harbor_url"]

_MARK = "/chartrepo/"


class HarborNoChartRepoError(InputError):
    """Harbor has no chart repository (>= 2.8, or installed without ChartMuseum): the config must change."""


def split_harbor_url(url: str) -> tuple[str, str]:
    """``https://host[/prefix]/chartrepo/<project>`` -> (``https://host[/prefix]``, project)."""
    parts = urlsplit(url.rstrip("/"))
    before, mark, project = parts.path.partition(_MARK)
    if not mark or not project or "/" in project:
        raise InputError(f"{url}: a Harbor chart repository URL looks like https://<host>/chartrepo/<project>")
    return urlunsplit((parts.scheme, parts.netloc, before, "", "")), project


class HarborPublisher(ClassicRepoPublisher):
    """One Harbor project's chart repository."""

    kind = "HARBOR"

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        connection: ConnectionSettings | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.base, self.project = split_harbor_url(url)
        super().__init__(url, auth=auth, connection=connection, notify=notify)

    def upload_url(self) -> str:
        return f"{self.base}/api/chartrepo/{self.project}/charts"

    def check_response(self, method: str, url: str, response: requests.Response) -> None:
        status = response.status_code
        if status == 404 and not _is_json(response):
            raise self._no_chartrepo()
        if status == 404 and "project" in error_text(response) and "not found" in error_text(response):
            raise ChartRepoError(
                f"Harbor project {self.project!r} does not exist at {self.base}; create it first "
                "(--auto-create-repository)"
            )
        if status == 403:
            who = f"user {self.http.auth[0]!r}" if self.http.auth else "anonymous access"
            raise ChartRepoError(
                f"{method} {url}: HTTP 403: {who} may not use project {self.project!r} "
                "(Harbor answers 403 too when the project does not exist)"
            )

    def empty_repository_confirmed(self) -> bool:
        """A Harbor whose systeminfo says it runs ChartMuseum: a 404 index is a project without charts."""
        return self.chartrepo_available() is True

    def chartrepo_available(self) -> bool | None:
        """``with_chartmuseum`` from systeminfo: True/False, or None when Harbor does not say."""
        url = f"{self.base}/api/v2.0/systeminfo"
        try:
            response = self.http.request("GET", url)
            info = response.json() if response.status_code == 200 else None
        except (ValueError, AirgapError):
            return None
        if not isinstance(info, dict):
            return None
        if "with_chartmuseum" in info:
            return bool(info["with_chartmuseum"])
        # Only logged-in callers see the protected fields (with_chartmuseum among them, up to 2.7): without
        # them, the absence says nothing.
        protected = "registry_url" in info or "external_url" in info
        return False if info.get("harbor_version") and protected else None

    def ensure_project(self, *, public: bool = False) -> bool:
        """Create the project (charts-syncer's auto-create); True if created, False if it already existed.

        charts-syncer always creates public projects; we default to private and let the caller choose.
        """
        url = f"{self.base}/api/v2.0/projects"
        body = {"project_name": self.project, "metadata": {"public": "true" if public else "false"}}
        response = self.http.request("POST", url, json=body)
        if response.status_code == 201:
            return True
        if response.status_code == 409:
            return False
        hint = "this account may not create projects" if response.status_code == 403 else ""
        raise self.http.failure("POST", url, response, hint)

    def _no_chartrepo(self) -> HarborNoChartRepoError:
        version = ""
        try:
            response = self.http.request("GET", f"{self.base}/api/v2.0/systeminfo")
            version = str(response.json().get("harbor_version") or "") if response.status_code == 200 else ""
        except (ValueError, AttributeError, AirgapError):
            pass
        shown = f" ({version})" if version else ""
        return HarborNoChartRepoError(
            f"Harbor at {self.base}{shown} has no chart repository (ChartMuseum was removed in Harbor 2.8): "
            f"push charts as OCI artifacts instead with target.repo.kind: OCI and "
            f"target.repo.url: {self.base}/{self.project}"
        )


def _is_json(response: requests.Response) -> bool:
    try:
        json.loads(response.content or b"null")
    except ValueError:
        return False
    return True
