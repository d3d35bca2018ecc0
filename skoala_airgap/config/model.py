"""The loaded form of a charts-syncer ``load-image.yaml``: kinds, repos, targets, chart filters.

The file format and its quirks are read by :mod:`skoala_airgap.config.reader`; this module holds only the
values every command uses, and the redacted view ``config show`` prints (passwords as ``******``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Chart names accepted in ``charts[].name`` (1-250 characters).
#: Chart names accepted in ``charts[].name`` (1-250 characters).
CHART_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+-]*$")
#: Chart versions accepted in ``charts[].versions``; ``+-.`` is a range, so ``,`` is allowed too (as in Go).
CHART_VERSION_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9+-.]*$")
DEFAULT_REPO_NAME = "myrepo"
CHART_NAME_MAX = 250
_MASK = "******"


class RepoKind(enum.IntEnum):
    """charts-syncer's ``api.Kind``. UNKNOWN is only valid for ``containers.kind`` (it is the unset value)."""

    UNKNOWN = 0
    HELM = 1
    CHARTMUSEUM = 2
    HARBOR = 3
    OCI = 4
    LOCAL = 5
    JFROG = 6


#: Kinds whose ``repo.url`` must be an http(s) URL (JFROG too: its uploads go to ``<url>/<name>-<version>.tgz``).
URL_KINDS = frozenset({RepoKind.HELM, RepoKind.CHARTMUSEUM, RepoKind.HARBOR, RepoKind.OCI, RepoKind.JFROG})


@dataclass(frozen=True, slots=True)
class RepoAuth:
    """HTTP basic auth for a chart repository."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Repo:
    """A chart repository; ``url`` has trailing slashes removed, ``path`` is only used by LOCAL."""

    kind: RepoKind
    url: str = ""
    path: Path | None = None
    auth: RepoAuth | None = None
    charts_index: str = ""
    disable_charts_index: bool = False


@dataclass(frozen=True, slots=True)
class ContainerAuth:
    """Registry credentials. For the target, ``registry`` is derived from the rewrite rules (never the file)."""

    registry: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Containers:
    """Registry settings; ``kind`` HARBOR or JFROG enables project auto-creation."""

    kind: RepoKind = RepoKind.UNKNOWN
    auth: ContainerAuth | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where charts come from: exactly one of ``repo`` or ``intermediate_bundles_path``."""

    repo: Repo | None = None
    intermediate_bundles_path: Path | None = None
    containers: Containers | None = None

    @property
    def is_package_archive(self) -> bool:
        """True when the bundles path names an offline package ``.tar`` rather than a directory (extension)."""
        path = self.intermediate_bundles_path
        return path is not None and path.name.endswith(".tar")


@dataclass(frozen=True, slots=True)
class Target:
    """Where charts and images go, and the image rewrite rules (spec §2.6)."""

    repo: Repo | None = None
    intermediate_bundles_path: Path | None = None
    container_registry: str = ""
    container_prefix_registry: str = ""
    container_repository: str = ""
    container_prefix_repository: str = ""
    append_origin_registry: bool = False
    repo_name: str = DEFAULT_REPO_NAME
    containers: Containers | None = None


@dataclass(frozen=True, slots=True)
class ChartFilter:
    """One ``charts[]`` entry; empty ``versions`` means every version."""

    name: str
    versions: tuple[str, ...] = ()
    skip_images: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded, defaulted and validated config. ``lines`` maps dotted keys (``target.repo.url``) to lines."""

    source: Source
    target: Target
    charts: tuple[ChartFilter, ...]
    skip_charts: tuple[str, ...]
    relocate_container_images: bool
    path: Path
    warnings: tuple[str, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def rewrite_rules_present(self) -> bool:
        """True when any image rewrite rule is set (``appendOriginRegistry`` alone is not a rule)."""
        t = self.target
        return any(
            (t.container_registry, t.container_prefix_registry, t.container_repository, t.container_prefix_repository)
        )

    def line_of(self, key: str) -> int | None:
        """Line of a dotted key, or of its nearest present parent, so callers can point at the config."""
        return _line_of(self.lines, key)

    def redacted(self) -> dict[str, Any]:
        """The effective config in charts-syncer's camelCase shape, with every password shown as ``******``."""
        out: dict[str, Any] = {
            "source": _source_dict(self.source),
            "target": _target_dict(self.target),
        }
        if self.charts:
            out["charts"] = [
                {"name": c.name, "versions": list(c.versions), "skipImages": c.skip_images} for c in self.charts
            ]
        if self.skip_charts:
            out["skipCharts"] = list(self.skip_charts)
        out["relocateContainerImages"] = self.relocate_container_images
        return out


def line_of(lines: Mapping[str, int], key: str) -> int | None:
    """The line of ``key`` (``target.repo.url``) or of its nearest present parent."""
    return _line_of(lines, key)


def _line_of(lines: Mapping[str, int], key: str) -> int | None:
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        if cut <= 0:
            return None
        key = key[:cut]
    return None


# --------------------------------------------------------------------------------------------------------------
# redacted(): plain dicts for `config show`


def _mask(secret: str) -> str:
    return _MASK if secret else ""


def _repo_dict(repo: Repo) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": repo.kind.name, "url": repo.url}
    if repo.path is not None:
        out["path"] = str(repo.path)
    if repo.auth is not None:
        out["auth"] = {"username": repo.auth.username, "password": _mask(repo.auth.password)}
    out["chartsIndex"] = repo.charts_index
    out["disableChartsIndex"] = repo.disable_charts_index
    return out


def _containers_dict(containers: Containers) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": containers.kind.name}
    if containers.auth is not None:
        auth = containers.auth
        out["auth"] = {"registry": auth.registry, "username": auth.username, "password": _mask(auth.password)}
    return out


def _source_dict(source: Source) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if source.repo is not None:
        out["repo"] = _repo_dict(source.repo)
    if source.intermediate_bundles_path is not None:
        out["intermediateBundlesPath"] = str(source.intermediate_bundles_path)
    if source.containers is not None:
        out["containers"] = _containers_dict(source.containers)
    return out


def _target_dict(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if target.repo is not None:
        out["repo"] = _repo_dict(target.repo)
    if target.intermediate_bundles_path is not None:
        out["intermediateBundlesPath"] = str(target.intermediate_bundles_path)
    out |= {
        "containerRegistry": target.container_registry,
        "containerPrefixRegistry": target.container_prefix_registry,
        "containerRepository": target.container_repository,
        "containerPrefixRepository": target.container_prefix_repository,
        "appendOriginRegistry": target.append_origin_registry,
        "repoName": target.repo_name,
    }
    if target.containers is not None:
        out["containers"] = _containers_dict(target.containers)
    return out
