"""The one interface every chart target implements, its result type, errors and shared helpers.

A publisher is idempotent: publishing bytes that are already there is "unchanged", different bytes under
the same name and version are refused unless ``force`` (then "replaced"). That is stricter than
charts-syncer, whose targets either fail ("already exists") or overwrite silently depending on the server.
"""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from skoala_airgap.charts.archive import ChartFiles, read_chart_tgz
from skoala_airgap.charts.yaml_loader import safe_load
from skoala_airgap.connection.errors import error_text, redact_url
from skoala_airgap.connection.http import HttpClient, Notify
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.errors import AirgapError, InputError

__all__ = [
    "ChartConflictError",
    "ChartPublisher",
    "ChartRepoError",
    "CredentialsRefusedError",
    "HttpChartRepo",
    "PublishResult",
    "PublishStatus",
    "helm_metadata",
    "sha256_hex",
]

PublishStatus = Literal["published", "unchanged", "replaced"]


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What happened to one chart: ``location`` is a file path, URL or OCI reference."""

    name: str
    version: str
    status: PublishStatus
    location: str
    digest: str  # sha256:<hex> of the .tgz


class ChartRepoError(AirgapError):
    """A chart target answered with an error the tool cannot work around (exit 1)."""


class ChartConflictError(ChartRepoError):
    """The target already holds this name and version with different bytes, and ``force`` was not given."""


class CredentialsRefusedError(InputError):
    """The target refused the credentials (or demanded some): the user's input is at fault (exit 2)."""


class ChartPublisher(abc.ABC):
    """Where relocated charts go. Implementations: LOCAL, CHARTMUSEUM, HARBOR, OCI."""

    @abc.abstractmethod
    def describe(self) -> str:
        """One line for ``--dry-run`` plans: the kind and where charts go (never credentials)."""

    def check(self) -> None:  # noqa: B027 - a hook: most targets answer through their first read
        """Before anything is written anywhere: can this target take charts (reachable, credentials
        accepted, a LOCAL path that is a folder)? Raises the error the publish would raise."""

    @abc.abstractmethod
    def exists(self, name: str, version: str) -> bool | None:
        """Whether the target lists this chart version; None when the target cannot tell."""

    @abc.abstractmethod
    def fetch(self, name: str, version: str) -> bytes | None:
        """The stored ``.tgz`` of this chart version, or None when the target does not have it."""

    @abc.abstractmethod
    def publish(self, name: str, version: str, tgz: bytes, *, force: bool = False) -> PublishResult:
        """Store ``tgz`` as ``name``/``version``; identical content already there is "unchanged"."""

    def conflict(self, name: str, version: str, where: str) -> ChartConflictError:
        return ChartConflictError(
            f"{where}: {name} {version} already exists with different content; use --force to replace it"
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chart_of(tgz: bytes, name: str, version: str, label: str) -> ChartFiles:
    """Read the archive and check it is the chart the caller says it is (the target trusts Chart.yaml)."""
    chart = read_chart_tgz(tgz, label)
    if (chart.name, chart.version) != (name, version):
        raise InputError(f"{label}: archive holds {chart.name} {chart.version}, not {name} {version}")
    return chart


# Helm's chart.Metadata / Maintainer / Dependency JSON field order (Go marshals struct fields in order).
_STRING_FIELDS = ("name", "home", "version", "description", "icon", "apiVersion", "condition", "tags")
_METADATA_ORDER = (
    *("name", "home", "sources", "version", "description", "keywords", "maintainers", "icon", "apiVersion"),
    *("condition", "tags", "appVersion", "deprecated", "annotations", "kubeVersion", "dependencies", "type"),
)
_DEPENDENCY_ORDER = ("name", "version", "repository", "condition", "tags", "enabled", "import-values", "alias")
_DEPENDENCY_REQUIRED = ("name", "repository")  # no omitempty in Helm's struct


def helm_metadata(chart: ChartFiles) -> dict[str, Any]:
    """Chart.yaml as Helm's ``chart.Metadata`` sees it: known fields only, empty ones left out.

    Used for the OCI config blob and index.yaml entries. For apiVersion v1 charts Helm takes the
    dependencies from requirements.yaml, so we do too.
    """
    meta = chart.metadata
    out: dict[str, Any] = {}
    for key in _METADATA_ORDER:
        value = meta.get(key)
        if key == "dependencies" and meta.get("apiVersion") == "v1" and "requirements.yaml" in chart.files:
            loaded = safe_load(chart.files["requirements.yaml"]) or {}
            value = loaded.get("dependencies") if isinstance(loaded, dict) else None
        if key == "appVersion" and value is not None and not isinstance(value, str):
            value = str(value)  # Helm >= 3.5 accepts an unquoted number here and keeps it as text
        if key == "maintainers" and isinstance(value, list):
            value = [_ordered(m, ("name", "email", "url"), ()) for m in value if isinstance(m, dict)]
        elif key == "dependencies" and isinstance(value, list):
            value = [_ordered(d, _DEPENDENCY_ORDER, _DEPENDENCY_REQUIRED) for d in value if isinstance(d, dict)]
        elif key == "annotations" and isinstance(value, dict):
            value = {str(k): str(v) for k, v in sorted(value.items())}
        elif key in _STRING_FIELDS and value is not None:
            value = str(value)
        if value not in (None, "", [], {}, False):
            out[key] = value
    return out


def _ordered(item: dict[str, Any], order: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    return {k: item.get(k, "") for k in order if k in required or item.get(k) not in (None, "", [], {}, False)}


def go_json(value: Any) -> bytes:
    """``encoding/json.Marshal``: compact, maps sorted by key, ``<>&`` and U+2028/9 escaped as Go does."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escaped)
    return text.replace("\u2029", "\\u2029").encode("utf-8")


class HttpChartRepo:
    """Shared HTTP plumbing for ChartMuseum and Harbor: pre-emptive Basic auth, no cookies, clear errors.

    Requests go through the one connection layer (:class:`~skoala_airgap.connection.http.HttpClient`):
    timeouts, TLS from the settings and certs.d, retries of connection errors and 429/5xx. Retrying a
    POST is safe: uploads are idempotent for the same bytes, and a 409 is judged by the caller.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None,
        connection: ConnectionSettings | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.auth = auth
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        settings = connection or ConnectionSettings()
        self.http = HttpClient(host, settings, scheme=parts.scheme, pool_size=2, notify=notify)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send; a 401 is a :class:`CredentialsRefusedError` (the user's credentials are at fault)."""
        response = self.http.send(method, url, auth=self.auth, what=f"{method} {_redact(url)}", **kwargs)
        if response.status_code == 401:
            who = f"user {self.auth[0]!r}" if self.auth else "anonymous access (no credentials configured)"
            raise CredentialsRefusedError(
                f"{method} {_redact(url)}: credentials refused (HTTP 401) for {who}; check target.repo.auth"
                " or TARGET_REPO_AUTH_USERNAME/PASSWORD"
            )
        return response

    def failure(self, method: str, url: str, response: requests.Response, hint: str = "") -> ChartRepoError:
        detail = error_text(response)
        text = f"{method} {_redact(url)}: HTTP {response.status_code}" + (f" ({detail})" if detail else "")
        return ChartRepoError(text + (f": {hint}" if hint else ""))


def _redact(url: str) -> str:
    return redact_url(url)
