"""Harbor's own API (``/api/v2.0``) and token service, as far as a preflight needs them.

Followed: Harbor 2.7 (``v2.7.0``, the last release with a chart repository) and Harbor HEAD (2.8+) for
the v2.0 API, per ``chart-repo-and-registry-apis.md`` §2.5-2.9:

- detection: ``GET /api/v2.0/systeminfo`` answers a JSON object with ``harbor_version`` (anonymous
  callers get ``auth_mode``, ``harbor_version``, ``self_registration``; logged-in ones more);
- existence: ``HEAD /api/v2.0/projects?project_name=P``: 200 exists, 404 missing, 401 not logged in;
- creation: ``POST /api/v2.0/projects`` with ``{"project_name":P,"metadata":{"public":"false"}}``:
  201 created, 409 already there, 400 bad name, 403 not allowed (admins only, project-level robots);
- push permission: what ``/service/token`` grants for ``repository:P/x:pull,push`` is exactly what the
  registry will let through, for users and robot accounts (``robot$ci``, ``robot$p+ci``) alike.

Basic credentials are sent up front (Harbor's 401 on ``/api`` carries no challenge) and no cookie is ever
kept: a request carrying Harbor's ``sid`` session cookie loses its CSRF exemption and every POST would
then answer 403 "CSRF token not found in request".
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import requests

from skoala_airgap.connection.errors import error_text, redact_url
from skoala_airgap.connection.http import HttpClient, Notify
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.errors import AirgapError, InputError

__all__ = ["HarborApi", "HarborAuthError", "HarborProjectError"]

REGISTRY_SERVICE = "harbor-registry"


class HarborAuthError(InputError):
    """Harbor refused the credentials (or there were none): exit 2, naming the user, never the password."""


class HarborProjectError(InputError):
    """A project the run needs is missing or may not be used: the options or the account must change (exit 2)."""


class HarborApi:
    """One Harbor at ``base`` (``scheme://host[/prefix]``), logged in as ``auth`` (or anonymous)."""

    def __init__(
        self,
        base: str,
        *,
        auth: tuple[str, str] | None,
        connection: ConnectionSettings | None = None,
        notify: Notify | None = None,
        who: str = "",
    ) -> None:
        self.base = base.rstrip("/")
        parts = urlsplit(self.base)
        self.auth = auth
        self.who = who or "the configured account"
        settings = connection or ConnectionSettings()
        self.http = HttpClient(parts.netloc, settings, scheme=parts.scheme, pool_size=2, notify=notify, announce=False)
        self._info: dict[str, Any] | None = None

    @property
    def user(self) -> str:
        return f"user {self.auth[0]!r}" if self.auth else "anonymous access (no credentials configured)"

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base}{path}"
        return self.http.send(method, url, auth=self.auth, what=f"{method} {redact_url(url)}", **kwargs)

    # detection ---------------------------------------------------------------------------------------------
    def systeminfo(self) -> dict[str, Any] | None:
        """Harbor's ``GeneralInfo``, or None when the server does not answer as Harbor."""
        if self._info is None:
            try:
                response = self._send("GET", "/api/v2.0/systeminfo", retries=1)
                info = response.json() if response.status_code == 200 else None
            except (ValueError, AirgapError):
                info = None
            if not isinstance(info, dict) or not isinstance(info.get("harbor_version"), str):
                return None
            self._info = info
        return self._info

    @property
    def version(self) -> str:
        info = self.systeminfo() or {}
        return str(info.get("harbor_version") or "")

    # projects ----------------------------------------------------------------------------------------------
    def project_exists(self, name: str) -> bool:
        response = self._send("HEAD", "/api/v2.0/projects", params={"project_name": name})
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        if response.status_code == 401:
            raise self._refused()
        raise self._failure("HEAD", f"/api/v2.0/projects?project_name={name}", response)

    def create_project(self, name: str, *, public: bool) -> bool:
        """Create ``name``; True if created, False if it was there already (409)."""
        body = {"project_name": name, "metadata": {"public": "true" if public else "false"}}
        response = self._send("POST", "/api/v2.0/projects", json=body)
        if response.status_code == 201:
            return True
        if response.status_code == 409:
            return False
        if response.status_code == 401:
            raise self._refused()
        detail = error_text(response)
        if response.status_code == 400:
            raise HarborProjectError(f"Harbor {self.base}: cannot create project {name!r}: {detail or 'HTTP 400'}")
        if response.status_code == 403:
            raise HarborProjectError(
                f"Harbor {self.base}: {self.user} may not create project {name!r} ({detail or 'HTTP 403'}); "
                "create it in Harbor, or use an account that may"
            )
        raise self._failure("POST", "/api/v2.0/projects", response)

    def push_granted(self, repository: str) -> bool | None:
        """Whether the registry token service grants ``push`` on ``repository`` to this account.

        None when the answer cannot be read (no token service, an unexpected token): the push decides.
        """
        params = {"service": REGISTRY_SERVICE, "scope": f"repository:{repository}:pull,push"}
        try:
            response = self._send("GET", "/service/token", params=params, retries=1)
        except AirgapError:
            return None
        if response.status_code == 401:
            raise self._refused()
        if response.status_code != 200:
            return None
        try:
            token = str(response.json().get("token") or response.json().get("access_token") or "")
            claims = _jwt_claims(token)
        except (ValueError, AttributeError):
            return None
        access = claims.get("access")
        if not isinstance(access, list):
            return None
        for entry in access:
            if isinstance(entry, dict) and entry.get("type") == "repository" and entry.get("name") == repository:
                return "push" in (entry.get("actions") or [])
        return False

    # errors ------------------------------------------------------------------------------------------------
    def _refused(self) -> HarborAuthError:
        return HarborAuthError(f"Harbor {self.base}: credentials refused (HTTP 401) for {self.user}; check {self.who}")

    def _failure(self, method: str, path: str, response: requests.Response) -> AirgapError:
        detail = error_text(response)
        return AirgapError(
            f"Harbor {self.base}: {method} {path}: HTTP {response.status_code}" + (f" ({detail})" if detail else "")
        )


def _jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified (the registry verifies it; we only read what was granted)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload))
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not an object")
    return claims
