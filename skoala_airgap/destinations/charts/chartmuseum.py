"""CHARTMUSEUM target: multipart ``POST …/api/…/charts`` (field ``chart``), Basic auth, index.yaml reads.

charts-syncer posts to ``<scheme>://<host>/api/charts`` and so loses any path in the repo URL (spec §4.6
[Q]). We build the URL the way the helm-push plugin does (spec §1.8): the server's context path comes from
``serverInfo.contextPath`` in ``<url>/index.yaml``, the rest of the URL path is the tenant, giving
``<host><context>/api/<tenant>/charts``. A context path can also be given explicitly.

Before uploading we download ``<url>/charts/<name>-<version>.tgz``: the same bytes mean "unchanged",
other bytes are a conflict unless ``force`` (then the upload carries ``?force``). A 409 from the upload
(someone else was faster) is resolved the same way.
"""

from __future__ import annotations

import abc
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import yaml

from skoala_airgap.charts.package import chart_filename
from skoala_airgap.charts.yaml_loader import safe_load
from skoala_airgap.connection.http import Notify
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.charts.base import (
    ChartPublisher,
    ChartRepoError,
    HttpChartRepo,
    PublishResult,
    PublishStatus,
    chart_of,
    sha256_hex,
)
from skoala_airgap.errors import AirgapError

__all__ = ["ChartMuseumPublisher", "ClassicRepoPublisher"]


class ClassicRepoPublisher(ChartPublisher):
    """What ChartMuseum and Harbor's chartrepo share: index.yaml, ``charts/<file>`` downloads, multipart POST."""

    kind = ""

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        connection: ConnectionSettings | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.http = HttpChartRepo(url, auth=auth, connection=connection, notify=notify)
        self.url = self.http.url

    # hooks -----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def upload_url(self) -> str:
        """Where the multipart upload goes."""

    def check_response(self, method: str, url: str, response: requests.Response) -> None:
        """Raise a specific error for target-specific failures; the caller handles the generic ones."""

    def empty_repository_confirmed(self) -> bool:
        """Whether a 404 index.yaml means "no chart yet" here: only when the server proves it is a chart
        repository (charts-syncer assumes it always; a wrong URL would then be filled silently)."""
        return False

    # ChartPublisher ----------------------------------------------------------------------------------------
    def describe(self) -> str:
        return f"{self.kind} {self.url} (upload: POST {self.upload_url()})"

    def check(self) -> None:
        self.index()  # reachability, credentials, and a repository at this URL at all

    def exists(self, name: str, version: str) -> bool:
        """Listed in index.yaml, as charts-syncer checks (ChartMuseum's index may lag a fresh upload)."""
        entries = self.index().get("entries") or {}
        versions = entries.get(name) if isinstance(entries, dict) else None
        return any(isinstance(v, dict) and str(v.get("version")) == version for v in versions or ())

    def fetch(self, name: str, version: str) -> bytes | None:
        return self.download(f"{self.url}/charts/{chart_filename(name, version)}")

    def publish(self, name: str, version: str, tgz: bytes, *, force: bool = False) -> PublishResult:
        filename = chart_filename(name, version)
        chart_of(tgz, name, version, filename)
        location = f"{self.url}/charts/{filename}"
        status = self._publish(name, version, location, tgz, force)
        return PublishResult(name, version, status, location, f"sha256:{sha256_hex(tgz)}")

    # plumbing ------------------------------------------------------------------------------------------------
    def index(self) -> dict[str, Any]:
        url = f"{self.url}/index.yaml"
        response = self.http.request("GET", url)
        self.check_response("GET", url, response)
        if response.status_code == 404 and self.empty_repository_confirmed():
            self.http.http.notify(
                f"{url}: 404, and the server is a {self.kind} repository: starting from an empty index"
            )
            return {"apiVersion": "v1", "entries": {}}
        if response.status_code != 200:
            hint = "no chart repository at this URL" + (
                " (not confirmed as one)" if response.status_code == 404 else "?"
            )
            raise self.http.failure("GET", url, response, hint)
        try:
            loaded = safe_load(response.content)
        except yaml.YAMLError as exc:
            raise ChartRepoError(f"GET {url}: index.yaml is not valid YAML") from exc
        return loaded if isinstance(loaded, dict) else {}

    def download(self, location: str) -> bytes | None:
        response = self.http.request("GET", location)
        self.check_response("GET", location, response)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.http.failure("GET", location, response)
        return response.content

    def _publish(self, name: str, version: str, location: str, tgz: bytes, force: bool) -> PublishStatus:
        filename = chart_filename(name, version)
        existing = self.download(location)
        if existing == tgz:
            return "unchanged"
        if existing is not None and not force:
            raise self.conflict(name, version, location)
        if self._post(filename, tgz, overwrite=existing is not None):
            return "replaced" if existing is not None else "published"
        # 409: it appeared since we looked (or the index lagged); decide again on the stored bytes.
        existing = self.download(location)
        if existing == tgz:
            return "unchanged"
        if not force:
            raise self.conflict(name, version, location)
        if not self._post(filename, tgz, overwrite=True):
            raise ChartRepoError(f"POST {self.upload_url()}: HTTP 409 even with ?force (DISABLE_FORCE_OVERWRITE?)")
        return "replaced"

    def _post(self, filename: str, tgz: bytes, *, overwrite: bool) -> bool:
        """Upload; True on success, False on 409 (already there)."""
        url = self.upload_url() + ("?force" if overwrite else "")
        files = {"chart": (filename, tgz, "application/octet-stream")}
        response = self.http.request("POST", url, files=files)
        self.check_response("POST", url, response)
        if response.status_code in (200, 201, 202):
            return True
        if response.status_code == 409:
            return False
        hints = {
            404: "upload route not found (wrong URL, or ChartMuseum runs with DISABLE_API)",
            413: "chart larger than the server's MAX_UPLOAD_SIZE",
            507: "repository reached MAX_STORAGE_OBJECTS",
        }
        raise self.http.failure("POST", url, response, hints.get(response.status_code, ""))


class ChartMuseumPublisher(ClassicRepoPublisher):
    """ChartMuseum at ``url`` = ``<scheme>://<host>[<context path>][/<tenant>]``."""

    kind = "CHARTMUSEUM"

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        connection: ConnectionSettings | None = None,
        notify: Notify | None = None,
        context_path: str | None = None,
    ) -> None:
        super().__init__(url, auth=auth, connection=connection, notify=notify)
        self._context_path = None if context_path is None else "/" + context_path.strip("/")

    @property
    def context_path(self) -> str:
        """Explicit, else ``serverInfo.contextPath`` from index.yaml (fetched once); "" for none."""
        if self._context_path is None:
            info = self.index().get("serverInfo")
            found = str(info.get("contextPath") or "") if isinstance(info, dict) else ""
            self._context_path = "/" + found.strip("/")
        return "" if self._context_path == "/" else self._context_path

    def describe(self) -> str:
        return f"{self.kind} {self.url} (upload: POST <context path>/api/<tenant>/charts, as helm cm-push)"

    def empty_repository_confirmed(self) -> bool:
        """ChartMuseum answers ``GET <context path>/health`` with ``{"healthy":true}`` (never protected)."""
        parts = urlsplit(self.url)
        segments = [s for s in parts.path.split("/") if s]
        for depth in range(len(segments), -1, -1):
            prefix = "".join(f"/{s}" for s in segments[:depth])
            url = urlunsplit((parts.scheme, parts.netloc, f"{prefix}/health", "", ""))
            try:
                response = self.http.request("GET", url)
                healthy = response.status_code == 200 and response.json().get("healthy") is True
            except (ValueError, AttributeError, AirgapError):
                healthy = False
            if healthy:
                return True
        return False

    def upload_url(self) -> str:
        parts = urlsplit(self.url)
        path = parts.path.rstrip("/")
        context = self.context_path
        if context and (path == context or path.startswith(context + "/")):
            tenant = path[len(context) :]
        else:
            context, tenant = "", path
        return urlunsplit((parts.scheme, parts.netloc, f"{context}/api{tenant}/charts", "", ""))
