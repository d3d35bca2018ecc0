"""What the user said about reaching targets, in one frozen object shared by every network call.

Commands build one :class:`ConnectionSettings` from their options (``--ca-file``, ``--insecure``,
``--authfile``, timeouts, ...); registry clients and chart-repository clients both resolve it per host
(TLS files from certs.d, credentials from the sources in order), so ``push-images``, ``sync``, ``load``
and ``verify`` reach a target in exactly the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from skoala_airgap.errors import InputError

#: Where docker and containers/image (podman, skopeo) look for per-registry TLS files.
DEFAULT_CERTS_D = (Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"))
#: Overrides the certs.d roots (colon-separated); for tests and for sites that keep them elsewhere.
CERTS_D_ENV = "SKOALA_AIRGAP_CERTS_D"
CONNECT_TIMEOUT_ENV = "SKOALA_AIRGAP_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "SKOALA_AIRGAP_READ_TIMEOUT"
RETRIES_ENV = "SKOALA_AIRGAP_RETRIES"


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, and seconds without any progress on a read or write before giving up."""

    connect: float = 10.0
    read: float = 60.0

    @property
    def pair(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a temporary failure is retried, and how long the exponential backoff starts."""

    retries: int = 5
    backoff: float = 0.5
    max_wait: float = 30.0


@dataclass(frozen=True)
class Login:
    """Credentials the user gave for one host (``host`` empty: whatever registry the command targets)."""

    username: str
    password: str = field(repr=False)
    source: str
    host: str = ""


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything that decides how a host is reached; see :mod:`skoala_airgap.connection.tls` and
    :mod:`skoala_airgap.connection.credentials` for how it is resolved per host."""

    insecure: bool = False  # TLS without verification; also allows a plain-HTTP fallback
    plain_http: bool = False  # force plain HTTP
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    cert_dir: Path | None = None  # skopeo's --cert-dir: *.crt CAs and *.cert/*.key for any host
    certs_d: tuple[Path, ...] = DEFAULT_CERTS_D
    logins: tuple[Login, ...] = ()  # explicit options, environment, load-image.yaml, in that order
    authfile: Path | None = None  # --authfile / REGISTRY_AUTH_FILE (containers-auth.json)
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **given: object) -> ConnectionSettings:
        """Settings with the environment's overrides (certs.d roots, timeouts, retries) applied."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {"environ": env}
        if env.get(CERTS_D_ENV):
            values["certs_d"] = tuple(Path(p) for p in env[CERTS_D_ENV].split(":") if p)
        timeouts = Timeouts(
            connect=_float(env, CONNECT_TIMEOUT_ENV, Timeouts.connect),
            read=_float(env, READ_TIMEOUT_ENV, Timeouts.read),
        )
        values["timeouts"] = timeouts
        if env.get(RETRIES_ENV):
            if not env[RETRIES_ENV].isdigit():
                raise InputError(f"{RETRIES_ENV}={env[RETRIES_ENV]!r}: expected a whole number of retries")
            values["retry"] = RetryPolicy(retries=int(env[RETRIES_ENV]))
        values.update({k: v for k, v in given.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise InputError(f"{name}={text!r}: expected a number of seconds greater than 0")
    return value
