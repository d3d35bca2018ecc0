"""One host's HTTP session and the one retry loop every registry and chart-repository call goes through.

What it guarantees, for every request: the host's TLS context (:mod:`.tls`), a connect timeout and a
read timeout (a stalled transfer is a timeout, not a hang), no cookies (Harbor's CSRF cookies break
later calls), retries with exponential backoff and jitter for temporary failures (connection errors,
timeouts, 429 with ``Retry-After``, 5xx), each announced through ``notify``, and failures turned into
one line in our words: :class:`TargetUnreachableError` after the budget, :class:`TlsError` when trust
is missing. Streamed bodies cannot be replayed; callers pass ``replayable=False`` and retry themselves.
"""

from __future__ import annotations

import errno
import random
import ssl
import threading
import warnings
from collections.abc import Callable, Collection
from functools import cache, partial
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from skoala_airgap import interrupt
from skoala_airgap.connection.errors import RegistryError, TlsError, parse_error_codes, redact_url
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.connection.tls import ssl_context, tls_files
from skoala_airgap.errors import TargetUnreachableError

Notify = Callable[[str], None]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "skoala-airgap"

# --insecure is said once per host (see HttpClient.__init__); urllib3 would say it on every request.
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def _quiet(_: str) -> None:
    return None


class Auth(Protocol):
    """An authorization scheme for :meth:`HttpClient.send` (registry Basic/Bearer challenges)."""

    def header(self, scope: str) -> dict[str, str]: ...

    def answer(self, http: HttpClient, response: requests.Response, scope: str) -> None: ...

    def denied(self, response: requests.Response) -> Exception: ...


class _TlsAdapter(HTTPAdapter):
    """Hands our per-host :class:`ssl.SSLContext` to urllib3 (the documented override point).

    The context is built on first use: a plain-HTTP registry never needs one, and loading the system CA
    store costs ~30 ms of a warm re-run's start (cProfile, ``load_default_certs``).
    """

    def __init__(self, context: Callable[[], ssl.SSLContext], pool_size: int) -> None:
        self._context = context
        super().__init__(pool_connections=4, pool_maxsize=pool_size, max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, given = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs: dict[str, Any] = dict(given)
        for key in ("ca_certs", "ca_cert_dir", "cert_file", "key_file", "cert_reqs"):
            pool_kwargs.pop(key, None)
        if host_params.get("scheme") == "https":
            pool_kwargs["ssl_context"] = self._context()
        return host_params, pool_kwargs


class _NoCookies(DefaultCookiePolicy):
    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class HttpClient:
    """``scheme://host`` with pooled connections for ``pool_size`` workers; shared by threads."""

    def __init__(
        self,
        host: str,
        settings: ConnectionSettings,
        *,
        scheme: str = "https",
        pool_size: int = 8,
        notify: Notify | None = None,
        announce: bool = True,
    ) -> None:
        """``announce=False``: the caller says itself how the host is reached (``--insecure`` included)."""
        self.host = host
        self.scheme = scheme
        self.settings = settings
        self.base = f"{scheme}://{host}"
        self.notify = notify or _quiet
        self.session = requests.Session()
        context = cache(partial(ssl_context, host, settings))  # built once: certs.d is read once per client
        if scheme == "https":
            context()  # a bad CA or client certificate file fails here, before any request
        adapter = _TlsAdapter(context, max(pool_size, 4))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.cookies.set_policy(_NoCookies())
        self._lock = threading.Lock()
        self._verify = not settings.insecure
        if announce and settings.insecure and scheme == "https":
            self.notify(f"{host}: TLS certificate verification is off (--insecure)")

    def url(self, path: str) -> str:
        return urljoin(self.base + "/", path.lstrip("/"))

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        what: str = "",
        ok: Collection[int] | None = None,
        replayable: bool = True,
        authenticator: Auth | None = None,
        scope: str = "",
        headers: dict[str, str] | None = None,
        retries: int | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with timeouts, auth and retries (``retries`` overrides the policy's count). With ``ok`` a
        status outside it raises :class:`RegistryError`; without it the caller judges the response."""
        doing = what or f"{method} {urlsplit(url).path}"
        retry = self.settings.retry
        budget = retry.retries if retries is None else min(retries, retry.retries)
        attempt = 0
        answered = False
        while True:
            interrupt.check()
            attempt += 1
            sent = dict(headers or {})
            if authenticator is not None:
                sent.update(authenticator.header(scope))
            try:
                # requests hands ``verify`` to urllib3 as cert_reqs, which overrides our context's verify_mode:
                # it must say False for --insecure, or the unverified context would verify after all.
                response = self.session.request(
                    method, url, headers=sent, timeout=self.settings.timeouts.pair, verify=self._verify, **kwargs
                )
            except requests.exceptions.SSLError as exc:
                raise self.tls_error(exc) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                reason = describe(exc, self.settings)
                if replayable and attempt <= budget:
                    self._wait(attempt, None, doing, reason, budget)
                    continue
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                timed_out = isinstance(exc, requests.exceptions.Timeout)
                message = f"{_host_of(url, self.host)}: unreachable: {reason} while {doing}{tries}"
                raise TargetUnreachableError(message, timed_out=timed_out) from exc
            status = response.status_code
            if status == 401 and authenticator is not None and replayable:
                if answered:
                    raise authenticator.denied(response)
                answered = True
                authenticator.answer(self, response, scope)
                continue
            if status in RETRY_STATUSES and replayable and attempt <= budget:
                self._wait(attempt, response.headers.get("Retry-After"), doing, f"HTTP {status}", budget)
                continue
            if ok is not None and status not in ok:
                error = RegistryError(method, url, status, parse_error_codes(response.content))
                error.retry_after = response.headers.get("Retry-After")
                raise error
            return response

    def _wait(self, attempt: int, retry_after: str | None, doing: str, reason: str, budget: int) -> None:
        """Say the retry on stderr (even with -q), then back off: ``retrying checking the registry API
        (GET /v2/) on h:5000 in 1.2 s (2/5): no answer within 60 s``."""
        delay = backoff_delay(attempt, self.settings.retry.backoff, retry_after, self.settings.retry.max_wait)
        self.notify(f"retrying {doing} on {self.host} in {delay:.1f} s ({attempt}/{budget}): {reason}")
        interrupt.sleep(delay)

    def tls_error(self, exc: BaseException) -> TlsError:
        """The TLS failure in our words, with the options that fix it."""
        text = str(exc)
        advice = ""
        if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text or "http request" in text.lower():
            reason, advice = "the server does not speak TLS on this port", "a plain-HTTP server? use --plain-http"
        elif "hostname mismatch" in text or "doesn't match" in text or "IP address mismatch" in text:
            reason = "certificate is not valid for this host name"
        elif "expired" in text:
            reason = "certificate has expired"
        elif "CERTIFICATE_VERIFY_FAILED" in text:
            reason = "certificate signed by unknown authority"
            advice = f"use --ca-file or /etc/docker/certs.d/{self.host}/ca.crt"
        else:
            reason = describe(exc, self.settings)
        trust = tls_files(self.host, self.settings).describe()
        # cause first, then where, then what to do: "TLS: certificate signed by unknown authority (h:443); use ..."
        return TlsError(f"TLS: {reason} ({self.host})" + (f"; {advice}" if advice else "") + f"; trusted: {trust}")


def backoff_delay(attempt: int, base: float, retry_after: str | None = None, max_wait: float = 30.0) -> float:
    """Seconds before retry ``attempt`` (1-based): ``Retry-After`` if given, else exponential with jitter."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), max_wait * 4)
        except ValueError:
            pass
    return float(min(base * 2.0 ** (attempt - 1), max_wait) * (0.5 + random.random()))


_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EPIPE: "connection closed while sending",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def describe(exc: BaseException, settings: ConnectionSettings) -> str:
    """A short cause for a connection failure, from the innermost exception that says something."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {settings.timeouts.connect:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {settings.timeouts.read:g} s"
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NameResolutionError) or "Name or service not known" in str(current):
            return "host name not found"
        if isinstance(current, TimeoutError | urllib3.exceptions.TimeoutError):
            return f"no progress within {settings.timeouts.read:g} s"
        if isinstance(current, OSError) and current.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[current.errno]
        text = str(current)
        for needle, words in (
            ("Connection refused", "connection refused"),
            ("Connection reset", "connection reset"),
            ("RemoteDisconnected", "connection closed by the server"),
            ("Connection aborted", "connection closed by the server"),
            ("IncompleteRead", "connection closed in the middle of a response"),
            ("Broken pipe", "connection closed while sending"),
        ):
            if needle in text:
                return words
        current = current.__cause__ or current.__context__ or _first_arg(current)
    text = " ".join(str(exc).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _host_of(url: str, default: str) -> str:
    """``host[:port]`` of ``url`` (a token realm may live on another host than the registry), no user info."""
    parts = urlsplit(url)
    if not parts.hostname:
        return default
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port}" if parts.port else host


def _first_arg(exc: BaseException) -> BaseException | None:
    """requests wraps urllib3's error as its first argument instead of chaining it."""
    return next((a for a in exc.args if isinstance(a, BaseException)), None)


def absolute(response: requests.Response, location: str) -> str:
    """A ``Location`` header made absolute against the request URL (registries may send relative ones)."""
    return urljoin(response.url, location)


__all__ = ["HttpClient", "Notify", "absolute", "backoff_delay", "describe", "redact_url"]
