"""Write a commented ``load-image.yaml`` like the vendor's annotated examples, from settings.

Engineers used to copy one of three examples and edit it by hand; this module writes the file from a few
answers instead, then reads it back through the sync config reader before it is put in place, so a file
it writes always loads. A file holding a password is created with mode 0600 (never widened by umask or
an existing file), and no error message ever contains a password.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from skoala_airgap.charts.values_edit import encode_scalar
from skoala_airgap.config.model import RepoKind
from skoala_airgap.config.reader import validate_config
from skoala_airgap.errors import ConfigError, InputError

__all__ = ["DEFAULT_SETTINGS", "INIT_KINDS", "InitSettings", "missing_settings", "render_config", "write_config"]

#: The chart destinations ``config init`` writes.
INIT_KINDS = (RepoKind.HARBOR, RepoKind.CHARTMUSEUM, RepoKind.LOCAL, RepoKind.OCI)

_URL_HINTS = {
    RepoKind.HARBOR: "https://<harbor>/chartrepo/<project> (Harbor with ChartMuseum, before 2.8)",
    RepoKind.CHARTMUSEUM: "the ChartMuseum server root, e.g. http://chartmuseum.example.com:8080",
    RepoKind.OCI: "https://<registry>/<project>: charts are pushed as OCI artifacts (Harbor >= 2.8)",
}


@dataclass(frozen=True)
class InitSettings:
    """The answers a ``load-image.yaml`` is written from; passwords are kept out of ``repr``."""

    kind: RepoKind
    bundles: str = ""
    url: str = ""
    path: str = ""
    registry: str = ""
    prefix_registry: str = ""
    repository: str = ""
    prefix_repository: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    container_username: str = ""
    container_password: str = field(default="", repr=False)

    @property
    def has_secret(self) -> bool:
        return bool(self.password or self.container_password)

    @property
    def has_rule(self) -> bool:
        return bool(self.registry or self.prefix_registry or self.repository or self.prefix_repository)


def missing_settings(settings: InitSettings) -> list[str]:
    """Option names still needed before a valid file can be written (what to prompt for)."""
    missing: list[str] = []
    if not settings.bundles:
        missing.append("bundles")
    if settings.kind is RepoKind.LOCAL:
        if not settings.path:
            missing.append("path")
    elif not settings.url:
        missing.append("url")
    if not settings.has_rule:
        missing.append("registry")
    if settings.username and not settings.password:
        missing.append("password")
    if settings.container_username and not settings.container_password:
        missing.append("container-password")
    return missing


def _value(text: str) -> str:
    return encode_scalar(text)


#: What ``-g/--generate-config`` writes: the vendor's Harbor layout with example values to edit.
DEFAULT_SETTINGS = InitSettings(
    kind=RepoKind.HARBOR,
    bundles="./offline",
    url="https://harbor.example.com/chartrepo/skoala",
    prefix_registry="harbor.example.com",
)
GENERATED_TITLE = (
    "# Default load-image.yaml written by `skoala-airgap --generate-config`: replace harbor.example.com,\n"
    "# the project and ./offline with your site's values (or write one with `skoala-airgap config init`)."
)


def render_config(settings: InitSettings, *, title: str | None = None) -> str:
    """The commented YAML text; only the keys that are set are written (apart from the required ones)."""
    if settings.kind not in INIT_KINDS:
        raise InputError(f"config init writes kind {', '.join(k.name for k in INIT_KINDS)}, not {settings.kind.name}")
    kind = settings.kind
    lines = [
        title
        or "# load-image.yaml for `skoala-airgap sync` (and charts-syncer), written by `skoala-airgap config init`.",
        "# Check it with `skoala-airgap config validate load-image.yaml`; see docs/config.md for every field.",
        "source:",
        "  # The offline package .tar itself, or the folder holding its NAME_VERSION.bundle.tar files.",
        "  # A relative path is read from the directory you run the command in, not from this file.",
        f"  intermediateBundlesPath: {_value(settings.bundles)}",
        "target:",
        "  # Where images go (docs/relocation.md). With several rules the documented precedence applies.",
    ]
    rules = (
        ("containerRegistry", settings.registry, "replace each image's registry with this host[:port]"),
        ("containerPrefixRegistry", settings.prefix_registry, "new registry; the origin registry moves into the path"),
        ("containerRepository", settings.repository, "flatten every image under this repository"),
        ("containerPrefixRepository", settings.prefix_repository, "put this in front of each repository"),
    )
    for key, value, comment in rules:
        if value:
            lines.append(f"  {key}: {_value(value)}  # {comment}")
    lines += ["  repo:", f"    kind: {kind.name}"]
    if kind is RepoKind.LOCAL:
        lines.append(f"    path: {_value(settings.path)}  # charts are written into this folder")
    else:
        lines.append(f"    url: {_value(settings.url)}  # {_URL_HINTS[kind]}")
        if settings.username:
            lines += [
                "    auth:  # chart repository login (TARGET_REPO_AUTH_USERNAME/PASSWORD override it)",
                f"      username: {_value(settings.username)}",
                f"      password: {_value(settings.password)}",
            ]
        else:
            lines.append("    # no auth: set TARGET_REPO_AUTH_USERNAME and TARGET_REPO_AUTH_PASSWORD when needed")
    lines += ["  containers:"]
    if kind in (RepoKind.HARBOR, RepoKind.OCI):
        lines.append(
            "    kind: HARBOR  # a Harbor: projects checked first; --auto-create-repository creates missing ones"
        )
    if settings.container_username:
        lines += [
            "    auth:  # registry login; it is sent to containerPrefixRegistry, else containerRegistry",
            f"      username: {_value(settings.container_username)}",
            f"      password: {_value(settings.container_password)}",
        ]
    else:
        lines.append("    # no auth: set TARGET_CONTAINERS_AUTH_USERNAME and TARGET_CONTAINERS_AUTH_PASSWORD")
    if lines[-1] == "  containers:":
        lines.pop()
    return "\n".join(lines) + "\n"


def _fail(problems: list[ConfigError], temp: Path, output: Path) -> InputError:
    shown = "; ".join(f"line {p.line}: {p.reason}" if p.line else p.reason for p in problems).replace(
        str(temp), str(output)
    )
    return InputError(f"{output}: the settings do not make a valid config: {shown}")


def write_config(settings: InitSettings, output: Path, *, force: bool = False, title: str | None = None) -> Path:
    """Render, validate through the sync config reader, then write ``output`` (0600 with a secret)."""
    missing = missing_settings(settings)
    if missing:
        raise InputError(f"{output}: missing {', '.join('--' + name for name in missing)}")
    if output.exists() and not force:
        raise InputError(f"{output}: already exists (use --force to overwrite)")
    text = render_config(settings, title=title)
    directory = output.parent if str(output.parent) else Path(".")
    mode = 0o600 if settings.has_secret else 0o644
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, mode)  # mkstemp creates 0600; a file without secrets gets the usual 0644
        problems = validate_config(temp, environ={}, skip_images=False)
        if problems:
            raise _fail(problems, temp, output)
        os.replace(temp, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return output
