"""Registry and chart-repository errors: the error bodies, redacted URLs, and whether a retry can help."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from skoala_airgap.errors import AirgapError, InputError

if TYPE_CHECKING:
    import requests

_TEMPORARY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_TEMPORARY_CODES = frozenset({"TOOMANYREQUESTS", "UNAVAILABLE"})
_BODY_LIMIT = 64 * 1024


def redact_url(url: str) -> str:
    """Drop user info and the query (registry upload URLs carry signed ``_state`` there, URLs may carry
    a password in their user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_error_codes(body: bytes) -> list[tuple[str, str]]:
    """(code, message) pairs from ``{"errors": [...]}``; empty for other bodies."""
    try:
        data = json.loads(body[:_BODY_LIMIT] or b"{}")
    except (ValueError, UnicodeDecodeError):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    return [(str(e.get("code", "")), str(e.get("message", ""))) for e in errors if isinstance(e, dict)]


def error_text(response: requests.Response) -> str:
    """The message of ChartMuseum's ``{"error":…}`` or Harbor's ``{"errors":[…]}``; short raw text otherwise."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return "" if text.startswith("<") else text[:200]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return "; ".join(str(e.get("message", "")) for e in data["errors"] if isinstance(e, dict))
    return ""


class RegistryError(AirgapError):
    """A registry answered with an error status."""

    def __init__(
        self, method: str, url: str, status: int, codes: list[tuple[str, str]] | None = None, hint: str = ""
    ) -> None:
        self.method = method
        self.url = redact_url(url)
        self.status = status
        self.codes = codes or []
        self.retry_after: str | None = None  # the registry's Retry-After, honoured by blob-level retries
        detail = "; ".join(f"{c}: {m}" if m else c for c, m in self.codes)
        text = f"{method} {self.url}: HTTP {status}" + (f" ({detail})" if detail else "")
        super().__init__(text + (f": {hint}" if hint else ""))

    @property
    def temporary(self) -> bool:
        return self.status in _TEMPORARY_STATUSES or any(code in _TEMPORARY_CODES for code, _ in self.codes)

    def has_code(self, code: str) -> bool:
        return any(c == code for c, _ in self.codes)


class AuthError(RegistryError):
    """Credentials were refused or are missing: the user's input is at fault (exit 2).

    With a hint the message says the cause first, then the request: ``registry h: access denied for
    credentials from --username and --password-stdin (GET https://h/v2/: HTTP 401 UNAUTHORIZED)``.
    """

    exit_code = 2

    def __init__(
        self, method: str, url: str, status: int, codes: list[tuple[str, str]] | None = None, hint: str = ""
    ) -> None:
        super().__init__(method, url, status, codes)
        if hint:
            detail = "; ".join(c for c, _ in self.codes)
            self.args = (f"{hint} ({self.method} {self.url}: HTTP {status}" + (f" {detail})" if detail else ")"),)


class TlsError(InputError):
    """TLS could not be set up: the trust (CA, client certificate) the user gave does not fit the target."""
