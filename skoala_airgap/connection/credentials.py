"""Where registry credentials come from, in order: what the command was given (options, charts-syncer's
environment variables, load-image.yaml), containers auth files, then docker's ``config.json``
(``credHelpers``, ``credsStore``, ``auths``).

Secrets never leave this module in text form: :class:`Credentials` hides them from ``repr``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.errors import InputError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)
    source: str = ""  # where they came from, for messages ("--username", "config.json", ...)

    @property
    def has_password(self) -> bool:
        return bool(self.username and self.password)


def _host_key(key: str) -> str:
    """``https://harbor.example/v2/`` -> ``harbor.example``; Docker Hub's aliases -> one key."""
    host = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    return DOCKER_HUB_KEY if host in _DOCKER_HUB_HOSTS else host


def docker_config_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _from_helper(helper: str, host: str) -> Credentials | None:
    """Run ``docker-credential-<helper> get``; "not found" means no credentials, not an error."""
    server = DOCKER_HUB_KEY if _host_key(host) == DOCKER_HUB_KEY else host
    try:
        result = subprocess.run(
            [f"docker-credential-{helper}", "get"], input=server, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        data = json.loads(result.stdout)
    except ValueError:
        return None
    username, secret = str(data.get("Username", "")), str(data.get("Secret", ""))
    if username == "<token>":
        return Credentials(identity_token=secret, source=f"docker-credential-{helper}")
    return Credentials(username, secret, source=f"docker-credential-{helper}")


def _from_auth_entry(entry: Mapping[str, object], where: str) -> Credentials | None:
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        user, sep, secret = decoded.partition(":")  # the first ':' only: passwords may contain ':'
        if sep and user:
            username, password = user, secret.rstrip("\x00")
    creds = Credentials(
        username,
        password,
        identity_token=str(entry.get("identitytoken") or ""),
        registry_token=str(entry.get("registrytoken") or ""),
        source=where,
    )
    return creds if creds.username or creds.identity_token or creds.registry_token else None


def from_docker_config(host: str, environ: Mapping[str, str]) -> Credentials | None:
    path = docker_config_path(environ)
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    wanted = _host_key(host)
    helpers = config.get("credHelpers") or {}
    helper = next((h for k, h in helpers.items() if _host_key(k) == wanted), None) or config.get("credsStore")
    if isinstance(helper, str) and helper:
        found = _from_helper(helper, host)
        if found:
            return found
    auths = config.get("auths") or {}
    entry = auths.get(host) or next((e for k, e in auths.items() if _host_key(k) == wanted), None)
    return _from_auth_entry(entry, str(path)) if isinstance(entry, dict) else None


def _auth_file_paths(settings: ConnectionSettings) -> list[tuple[Path, str]]:
    """containers-auth.json files in the order podman and skopeo read them."""
    env = settings.environ
    paths: list[tuple[Path, str]] = []
    if settings.authfile is not None:
        paths.append((settings.authfile, "--authfile"))
    elif env.get("REGISTRY_AUTH_FILE"):
        paths.append((Path(env["REGISTRY_AUTH_FILE"]), "REGISTRY_AUTH_FILE"))
    elif env.get("XDG_RUNTIME_DIR"):
        paths.append((Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json", "containers auth.json"))
    return paths


def _from_auth_file(path: Path, label: str, host: str, *, required: bool) -> Credentials | None:
    """An ``auths`` entry for ``host`` in a containers-auth.json (docker's format, without helpers)."""
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        if required:
            raise InputError(f"{path}: auth file not found ({label})") from None
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read auth file ({label}): {exc}") from exc
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = _host_key(host)
    entry = auths.get(host) or next((e for k, e in auths.items() if _host_key(k) == wanted), None)
    return _from_auth_entry(entry, f"{path} ({label})") if isinstance(entry, dict) else None


def resolve_credentials(host: str, settings: ConnectionSettings) -> Credentials | None:
    """The credentials for ``host``, from the first source that has some:

    1. logins given to the command (options, TARGET_CONTAINERS_AUTH_*, load-image.yaml), in order;
    2. ``--authfile`` or ``REGISTRY_AUTH_FILE`` or ``$XDG_RUNTIME_DIR/containers/auth.json`` (podman);
    3. docker's ``config.json`` (``$DOCKER_CONFIG`` or ``~/.docker``), with credential helpers.
    """
    for login in settings.logins:
        if login.host in ("", host) and login.username and login.password:
            return Credentials(login.username, login.password, source=login.source)
    for path, label in _auth_file_paths(settings):
        found = _from_auth_file(path, label, host, required=label != "containers auth.json")
        if found:
            return found
    return from_docker_config(host, settings.environ or os.environ)
