"""Registry authentication: answer Basic and Bearer challenges, cache tokens per scope.

Flow (distribution token spec): a request without usable credentials gets 401 and a
``WWW-Authenticate`` challenge. Basic: resend with the password. Bearer: fetch a token from the realm
for the scope the registry asked for (with Basic credentials, or a refresh token, or anonymously) and
resend. Tokens are cached per scope set until shortly before they expire.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from requests.auth import _basic_auth_str

from skoala_airgap.connection.credentials import Credentials
from skoala_airgap.connection.errors import AuthError, parse_error_codes

if TYPE_CHECKING:
    import requests

    from skoala_airgap.connection.http import HttpClient

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_DEFAULT_TOKEN_SECONDS = 60
_EXPIRY_MARGIN = 10


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``Bearer realm="...",service="...",scope="..."`` (or ``Basic realm=...``)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


@dataclass
class _Token:
    value: str
    expires_at: float


class Authenticator:
    """Per-registry auth state shared by all worker threads."""

    def __init__(self, host: str, credentials: Credentials | None) -> None:
        self.host = host
        self.credentials = credentials
        self._basic = False
        self._bearer: Challenge | None = None
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def header(self, scope: str) -> dict[str, str]:
        """The Authorization header to send for ``scope``, if one is known to be needed."""
        with self._lock:
            if self._basic and self.credentials and self.credentials.has_password:
                return {"Authorization": _basic_auth_str(self.credentials.username, self.credentials.password)}
            token = self._tokens.get(scope)
            if token and token.expires_at > time.monotonic():
                return {"Authorization": f"Bearer {token.value}"}
        return {}

    def knows_scheme(self) -> bool:
        return self._basic or self._bearer is not None

    def answer(self, http: HttpClient, response: requests.Response, scope: str) -> None:
        """React to a 401: switch to Basic, or fetch a Bearer token for ``scope``. Raises when hopeless."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        creds = self.credentials
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise AuthError(response.request.method or "", response.url, 401, parse_error_codes(response.content))
        if challenge.scheme == "basic":
            if not creds or not creds.has_password:
                raise AuthError(
                    response.request.method or "",
                    response.url,
                    401,
                    hint=f"registry {self.host} wants a username and password: give --username with "
                    "--password-stdin, TARGET_CONTAINERS_AUTH_USERNAME/PASSWORD, --authfile, or docker login",
                )
            with self._lock:
                if self._basic:  # Basic was already sent and refused
                    raise AuthError(
                        response.request.method or "",
                        response.url,
                        401,
                        hint=f"registry {self.host}: credentials from {creds.source} were refused",
                    )
                self._basic = True
            return
        self._bearer = challenge
        wanted = challenge.params.get("scope") or scope
        token = self._fetch_token(http, challenge, wanted)
        with self._lock:
            # A token for "repository:a:pull,push repository:b:pull" also serves each part alone.
            for key in {scope, wanted, *scope.split(" ")}:
                self._tokens[key] = token

    def denied(self, response: requests.Response) -> AuthError:
        """The registry refused the answer to its own challenge: the credentials do not grant access."""
        source = f" for credentials from {self.credentials.source}" if self.credentials else " (anonymous)"
        return AuthError(
            response.request.method or "",
            response.url,
            401,
            parse_error_codes(response.content),
            hint=f"registry {self.host}: access denied{source}",
        )

    def _fetch_token(self, http: HttpClient, challenge: Challenge, scope: str) -> _Token:
        realm = challenge.params.get("realm", "")
        if not realm:
            raise AuthError("GET", f"https://{self.host}/v2/", 401, hint="Bearer challenge without a realm")
        params: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        params.extend(("scope", s) for s in scope.split(" ") if s)
        creds = self.credentials
        if creds and creds.registry_token:
            return _Token(creds.registry_token, time.monotonic() + 3600)
        if creds and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": "skoala-airgap"}
            form.update({"service": challenge.params.get("service", ""), "scope": scope})
            response = http.send("POST", realm, what="asking the token service", data=form)
            if response.status_code == 404:
                response = http.send("GET", realm, what="asking the token service", params=params)
        else:
            auth = (creds.username, creds.password) if creds and creds.has_password else None
            response = http.send("GET", realm, what="asking the token service", params=params, auth=auth)
        if response.status_code != 200:
            source = f" from {creds.source}" if creds else " (anonymous)"
            raise AuthError(
                "GET",
                realm,
                response.status_code,
                hint=f"registry {self.host}: token service refused the credentials{source}",
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise AuthError("GET", realm, response.status_code, hint="token service did not answer with JSON")
        value = body.get("token") or body.get("access_token")
        if not value:
            raise AuthError("GET", realm, response.status_code, hint="token service returned no token")
        try:
            lifetime = int(body.get("expires_in") or _DEFAULT_TOKEN_SECONDS)
        except (TypeError, ValueError):
            lifetime = _DEFAULT_TOKEN_SECONDS
        return _Token(str(value), time.monotonic() + max(lifetime - _EXPIRY_MARGIN, 1))
