"""How to reach a registry: scheme, TLS trust, client certificate, proxies, retries.

Why ``verify`` is passed on every request: with ``trust_env`` on (needed for HTTPS_PROXY/NO_PROXY),
requests lets ``REQUESTS_CA_BUNDLE`` override ``Session.verify``, but never a per-request value.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter


@dataclass(frozen=True)
class TransportOptions:
    plain_http: bool = False
    insecure: bool = False  # TLS without verification
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    retries: int = 5
    backoff: float = 0.5  # seconds; doubled per attempt, with jitter
    timeout: float = 300.0

    @property
    def scheme(self) -> str:
        return "http" if self.plain_http else "https"

    @property
    def verify(self) -> Any:
        if self.insecure:
            return False
        return str(self.ca_file) if self.ca_file else True

    @property
    def cert(self) -> Any:
        if self.client_cert and self.client_key:
            return (str(self.client_cert), str(self.client_key))
        return str(self.client_cert) if self.client_cert else None


def new_session(pool_size: int) -> requests.Session:
    """A session whose connection pool fits every worker (urllib3 otherwise drops sockets)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "skoala-airgap"
    # Harbor sets CSRF cookies that then break later requests; registries need none.
    session.cookies.set_policy(_NoCookies())
    return session


class _NoCookies(DefaultCookiePolicy):
    """A cookie policy that accepts and returns nothing."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


def backoff_delay(attempt: int, base: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): Retry-After if given, else exponential + jitter."""
    if retry_after:
        try:
            wait: float = min(float(retry_after), 120.0)
            return wait
        except ValueError:
            pass
    return float(base * 2.0 ** (attempt - 1) * (0.5 + random.random()))


def sleep(seconds: float) -> None:
    time.sleep(seconds)
