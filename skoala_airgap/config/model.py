"""Read charts-syncer ``load-image.yaml`` / ``charts-syncer.yaml`` configs the way DaoCloud charts-syncer does.

charts-syncer converts the YAML to JSON strictly and decodes it into a protobuf message, so unknown fields,
duplicate keys and numbers where strings belong are errors. We keep those rules but report every problem with its
line number, and we reject a few things charts-syncer silently accepts (see docs/config.md, "Decisions").
The YAML is composed (not constructed) with ruamel.yaml using YAML 1.1 scalar rules, because charts-syncer's
parser (go-yaml v2) is YAML 1.1: ``yes`` is a boolean and an unquoted ``1.2`` is a number.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from skoala_airgap.errors import ConfigError

__all__ = [
    "BUNDLE_RE",
    "CHART_NAME_RE",
    "CHART_VERSION_RE",
    "DEFAULT_REPO_NAME",
    "BundleFile",
    "ChartFilter",
    "Config",
    "ContainerAuth",
    "Containers",
    "Repo",
    "RepoAuth",
    "RepoKind",
    "Source",
    "Target",
    "bundle_files",
    "chart_selected",
    "find_config",
    "load_config",
    "require_rewrite_rule",
    "skip_images_for",
    "validate_config",
]

#: Bundle file names, verbatim from charts-syncer ``pkg/util/chartutil``: unanchored at the end, unescaped dot.
BUNDLE_RE = re.compile(r"(^[a-zA-Z][a-zA-Z0-9+-]*)_([a-zA-Z0-9][a-zA-Z0-9+-.]*)\.bundle.tar")
#: Chart names accepted in ``charts[].name`` (1-250 characters).
CHART_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+-]*$")
#: Chart versions accepted in ``charts[].versions``; ``+-.`` is a range, so ``,`` is allowed too (as in Go).
CHART_VERSION_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9+-.]*$")
DEFAULT_REPO_NAME = "myrepo"
_CHART_NAME_MAX = 250
_MASK = "******"
_CONFIG_NAME = "charts-syncer.yaml"
# viper tries "<name>.<ext>" for each extension it supports before the bare name; we read only YAML/JSON ones.
_CONFIG_CANDIDATES = (f"{_CONFIG_NAME}.json", f"{_CONFIG_NAME}.yaml", f"{_CONFIG_NAME}.yml", _CONFIG_NAME)

_TAG = "tag:yaml.org,2002:"
_STR, _BOOL, _NULL, _INT, _FLOAT = (_TAG + t for t in ("str", "bool", "null", "int", "float"))
_TIMESTAMP, _MERGE = _TAG + "timestamp", _TAG + "merge"
_TRUE_WORDS = frozenset({"true", "yes", "on", "y"})


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
_URL_KINDS = frozenset({RepoKind.HELM, RepoKind.CHARTMUSEUM, RepoKind.HARBOR, RepoKind.OCI, RepoKind.JFROG})


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


@dataclass(frozen=True, slots=True)
class BundleFile:
    """A ``<name>_<version>.bundle.tar`` found in a bundle directory."""

    name: str
    version: str
    path: Path


# --------------------------------------------------------------------------------------------------------------
# Public functions


def find_config(explicit: Path | None, *, home: Path, cwd: Path) -> Path:
    """The config file to read: ``--config`` wins, else charts-syncer.yaml in $HOME, then the cwd (as viper)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(str(explicit), "config file not found")
        return explicit
    for directory in (home, cwd):
        for name in _CONFIG_CANDIDATES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    raise ConfigError(_CONFIG_NAME, f"no config file: pass --config, or put {_CONFIG_NAME} in $HOME or ./")


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load, default, apply env credentials and validate; raise the first problem (by line) as ConfigError."""
    config, errors = _Reader(path, os.environ if environ is None else environ).read()
    if errors:
        raise errors[0]
    assert config is not None
    return config


def validate_config(
    path: Path, *, environ: Mapping[str, str] | None = None, skip_images: bool | None = None
) -> list[ConfigError]:
    """Every problem in the file, in line order (for ``config validate``); empty when the config is good.

    ``skip_images`` given as False also checks that a rewrite rule is present (``require_rewrite_rule``).
    """
    config, errors = _Reader(path, os.environ if environ is None else environ).read()
    if config is not None and skip_images is not None:
        try:
            require_rewrite_rule(config, skip_images)
        except ConfigError as exc:
            errors.append(exc)
    return errors


def require_rewrite_rule(config: Config, skip_images: bool) -> None:
    """charts-syncer's ``validateTarget``: pushing images needs a rule, else they would go back to their origin.

    Images count as skipped with ``--skip-images`` or when every ``charts[]`` entry has ``skipImages``.
    """
    every_chart_skips = bool(config.charts) and all(c.skip_images for c in config.charts)
    if skip_images or every_chart_skips or config.rewrite_rules_present():
        return
    raise ConfigError(
        str(config.path),
        "at least one rewrite rule is required: set target.containerRegistry, containerPrefixRegistry, "
        "containerRepository or containerPrefixRepository (or skip images)",
        config.line_of("target"),
    )


def bundle_files(directory: Path) -> tuple[list[BundleFile], list[Path]]:
    """Bundles in ``directory`` in lexical order, plus the ``*.tar`` files skipped (the caller warns).

    charts-syncer panics on a non-matching ``*.tar`` (e.g. ``images.tar``); we skip it. A second file that maps
    to an already seen name and version is skipped too.
    """
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.name.endswith(".tar"))
    except FileNotFoundError as exc:
        raise ConfigError(str(directory), "bundle directory does not exist") from exc
    except NotADirectoryError as exc:
        raise ConfigError(str(directory), "bundle path is not a directory") from exc
    except OSError as exc:
        raise ConfigError(str(directory), f"cannot list bundle directory: {exc.strerror or exc}") from exc
    found: list[BundleFile] = []
    skipped: list[Path] = []
    seen: set[tuple[str, str]] = set()
    for name in names:
        path = directory / name
        match = BUNDLE_RE.search(name)
        key = (match.group(1), match.group(2)) if match else None
        if key is None or key in seen or not path.is_file():
            skipped.append(path)
            continue
        seen.add(key)
        found.append(BundleFile(key[0], key[1], path))
    return found, skipped


def chart_selected(config: Config, name: str, version: str) -> bool:
    """Whether a chart version passes ``charts`` / ``versions`` / ``skipCharts``; invalid names never do."""
    if not _valid_chart_name(name) or not CHART_VERSION_RE.match(version):
        return False
    if name in config.skip_charts:
        return False
    if not config.charts:
        return True
    return any(c.name == name and (not c.versions or version in c.versions) for c in config.charts)


def skip_images_for(config: Config, name: str, cli_skip_images: bool) -> bool:
    """``--skip-images`` wins when true; otherwise the chart's own ``skipImages``."""
    return cli_skip_images or any(c.name == name and c.skip_images for c in config.charts)


# --------------------------------------------------------------------------------------------------------------
# Schema: the camelCase JSON names of each protobuf message; the snake_case names are derived.

_CONFIG_FIELDS = ("source", "target", "charts", "skipCharts", "relocateContainerImages")
_SOURCE_FIELDS = ("repo", "intermediateBundlesPath", "containers")
_TARGET_FIELDS = (
    "repo",
    "intermediateBundlesPath",
    "containerRegistry",
    "containerPrefixRegistry",
    "containerRepository",
    "containerPrefixRepository",
    "appendOriginRegistry",
    "repoName",
    "containers",
)
_REPO_FIELDS = ("url", "kind", "auth", "path", "chartsIndex", "useChartsIndex", "disableChartsIndex")
_REPO_AUTH_FIELDS = ("username", "password")
_CONTAINERS_FIELDS = ("auth", "kind")
_CONTAINER_AUTH_FIELDS = ("username", "password", "registry")
_CHART_FIELDS = ("name", "versions", "skipImages")


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _line_of(lines: Mapping[str, int], key: str) -> int | None:
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        if cut <= 0:
            return None
        key = key[:cut]
    return None


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        _INT: "a number",
        _FLOAT: "a number",
        _BOOL: "a boolean",
        _NULL: "null",
        _STR: "a string",
    }.get(_tag(node), f"a {_tag(node).removeprefix(_TAG)} value")


def _tag(node: Node) -> str:
    """The node's type as go-yaml v2 sees it: ``y``/``n`` are booleans, there are no base-60 numbers."""
    tag = str(node.tag)
    if isinstance(node, ScalarNode) and node.style is None:
        if tag == _STR and node.value in ("y", "Y", "n", "N"):
            return _BOOL
        if tag in (_INT, _FLOAT) and ":" in str(node.value):
            return _STR
    return tag


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _valid_chart_name(name: str) -> bool:
    return 0 < len(name) <= _CHART_NAME_MAX and CHART_NAME_RE.match(name) is not None


def _url_problem(url: str) -> str | None:
    """Why ``url`` is unusable as a chart repository base URL (stricter than Go's ParseRequestURI)."""
    if not url:
        return "empty url"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "contains whitespace or control characters"
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return "invalid URL escape"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "missing host"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not contain a query or fragment"
    return None


def _default_charts_index(url: str) -> str:
    """charts-syncer's ``<host>/<path>/charts-index:latest`` (without its doubled slash)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = parts.netloc.rpartition("@")[2]
    uri = "/".join(s for s in (host, parts.path.strip("/")) if s)
    return f"{uri}/charts-index:latest" if uri else "charts-index:latest"


class _Reader:
    """One pass over a config file that collects every problem instead of stopping at the first."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.lines: dict[str, int] = {}
        self.broken: set[str] = set()  # keys whose value had the wrong shape (already reported)

    # -- reporting ---------------------------------------------------------------------------------------------

    def error(self, reason: str, key: str | None = None, *, line: int | None = None) -> None:
        if line is None and key is not None:
            line = _line_of(self.lines, key)
        self.errors.append(ConfigError(str(self.path), reason, line))

    def sorted_errors(self) -> list[ConfigError]:
        return sorted(self.errors, key=lambda e: (e.line is None, e.line or 0))

    # -- entry point -------------------------------------------------------------------------------------------

    def read(self) -> tuple[Config | None, list[ConfigError]]:
        root = self.compose()
        if root is None:
            return None, self.errors
        config = self.decode(root)
        if config is not None:
            config = self.apply_env(self.apply_defaults(config))
            self.validate(config)
            config = dataclasses.replace(config, warnings=tuple(self.warnings), lines=dict(self.lines))
        errors = self.sorted_errors()
        return (None if errors else config), errors

    def compose(self) -> Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.error("config is not UTF-8 text")
            return None
        except OSError as exc:
            self.error(f"cannot read config: {exc.strerror or exc}")
            return None
        yaml = YAML(typ="rt")
        yaml.version = (1, 1)  # go-yaml v2 scalar rules: yes/no/on/off are booleans
        try:
            root: Node | None = yaml.compose(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else None
            self.error(f"invalid YAML: {exc.problem or exc.context}", line=line)
            return None
        except YAMLError as exc:
            self.error(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            return None
        if root is None or _is_null(root):
            self.error("config is empty: no source and no target")
            return None
        return root

    # -- structural decoding -----------------------------------------------------------------------------------

    def pairs(self, node: MappingNode, chain: frozenset[int] = frozenset()) -> Iterator[tuple[Node, Node, bool]]:
        """Key/value pairs with YAML merge keys (``<<``) expanded after the explicit keys, flagged as merged."""
        chain = chain | {id(node)}
        merged: list[tuple[Node, Node]] = []
        for key, value in node.value:
            if key.tag != _MERGE:
                yield key, value, False
                continue
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, MappingNode):
                    self.error("a merge key (<<) must refer to a mapping", line=_line(key))
                elif id(source) in chain:
                    self.error("a merge key (<<) refers to the mapping it is in", line=_line(key))
                else:
                    merged.extend((k, v) for k, v, _ in self.pairs(source, chain))
        for key, value in merged:
            yield key, value, True

    def fields(self, node: Node | None, prefix: str, allowed: tuple[str, ...]) -> dict[str, Node] | None:
        """Map camelCase field name -> value node; reports non-mappings, unknown and duplicate fields."""
        if node is None or _is_null(node):
            return None
        label = prefix or "config"
        if not isinstance(node, MappingNode):
            self.error(f"{label} must be a mapping, not {_describe(node)}", line=_line(node))
            self.broken.add(prefix)
            return None
        lookup = {name: name for name in allowed} | {_snake(name): name for name in allowed}
        out: dict[str, Node] = {}
        raw_names: dict[str, str] = {}
        for key, value, merged in self.pairs(node):
            if not isinstance(key, ScalarNode):
                self.error(f"{label} has a key that is not a string", line=_line(key))
                continue
            raw = str(key.value)
            name = lookup.get(raw)
            if name is None:
                hint = difflib.get_close_matches(raw, list(lookup), n=1)
                suffix = f' (did you mean "{hint[0]}"?)' if hint else ""
                self.error(f'unknown field "{raw}" in {label}{suffix}', line=_line(key))
                continue
            path = _join(prefix, name)
            if name in out:
                if not merged:
                    also = "" if raw_names[name] == raw else f' as "{raw_names[name]}"'
                    self.error(
                        f'duplicate field "{raw}" in {label} (first given{also} on line {self.lines[path]})',
                        line=_line(key),
                    )
                continue
            out[name] = value
            raw_names[name] = raw
            self.lines[path] = _line(key)
        return out

    def string(self, fields: dict[str, Node], name: str, prefix: str, *, secret: bool = False) -> str:
        node = fields.get(name)
        return "" if node is None else self.scalar_string(node, _join(prefix, name), secret=secret)

    def scalar_string(self, node: Node, path: str, *, secret: bool = False) -> str:
        """A string value; null is empty. Numbers and booleans are errors, as in charts-syncer's JSON decoding."""
        if _is_null(node):
            return ""
        if isinstance(node, ScalarNode) and _tag(node) in (_STR, _TIMESTAMP):
            return str(node.value)
        hint = ""
        if isinstance(node, ScalarNode) and _tag(node) in (_INT, _FLOAT, _BOOL) and not secret:
            hint = f' (quote it: "{node.value}")'
        self.error(f"{path} must be a string, not {_describe(node)}{hint}", path, line=_line(node))
        return ""

    def boolean(self, fields: dict[str, Node], name: str, prefix: str) -> bool:
        node = fields.get(name)
        if node is None or _is_null(node):
            return False
        if isinstance(node, ScalarNode) and _tag(node) == _BOOL:
            return str(node.value).lower() in _TRUE_WORDS
        path = _join(prefix, name)
        self.error(f"{path} must be true or false, not {_describe(node)}", path)
        return False

    def kind(self, fields: dict[str, Node], name: str, prefix: str) -> RepoKind:
        node = fields.get(name)
        if node is None or _is_null(node):
            return RepoKind.UNKNOWN
        path = _join(prefix, name)
        if isinstance(node, ScalarNode) and _tag(node) == _STR and node.value in RepoKind.__members__:
            return RepoKind[str(node.value)]
        if isinstance(node, ScalarNode) and _tag(node) == _INT and str(node.value).isdigit():
            try:
                return RepoKind(int(node.value))
            except ValueError:
                pass
        shown = f'"{node.value}"' if isinstance(node, ScalarNode) else _describe(node)
        names = ", ".join(k.name for k in RepoKind if k is not RepoKind.UNKNOWN)
        self.error(f"unknown kind {shown} in {path} (expected one of {names})", path)
        self.broken.add(path)
        return RepoKind.UNKNOWN

    def strings(self, fields: dict[str, Node], name: str, prefix: str) -> tuple[str, ...]:
        node = fields.get(name)
        path = _join(prefix, name)
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, SequenceNode):
            self.error(f"{path} must be a list of strings, not {_describe(node)}", path)
            return ()
        out: list[str] = []
        for index, item in enumerate(node.value):
            item_path = f"{path}[{index}]"
            self.lines[item_path] = _line(item)
            errors_before = len(self.errors)
            value = self.scalar_string(item, item_path)
            if len(self.errors) == errors_before:
                out.append(value)
        return tuple(out)

    def repo(self, node: Node | None, prefix: str) -> Repo | None:
        f = self.fields(node, prefix, _REPO_FIELDS)
        if f is None:
            return None
        self.boolean(f, "useChartsIndex", prefix)  # deprecated and unused, but still type-checked
        local_path = self.string(f, "path", prefix)
        return Repo(
            kind=self.kind(f, "kind", prefix),
            url=self.string(f, "url", prefix).rstrip("/"),
            path=Path(local_path) if local_path else None,
            auth=self.repo_auth(f.get("auth"), _join(prefix, "auth")),
            charts_index=self.string(f, "chartsIndex", prefix),
            disable_charts_index=self.boolean(f, "disableChartsIndex", prefix),
        )

    def repo_auth(self, node: Node | None, prefix: str) -> RepoAuth | None:
        f = self.fields(node, prefix, _REPO_AUTH_FIELDS)
        if f is None:
            return None
        return RepoAuth(self.string(f, "username", prefix), self.string(f, "password", prefix, secret=True))

    def containers(self, node: Node | None, prefix: str) -> Containers | None:
        f = self.fields(node, prefix, _CONTAINERS_FIELDS)
        if f is None:
            return None
        auth = None
        auth_prefix = _join(prefix, "auth")
        a = self.fields(f.get("auth"), auth_prefix, _CONTAINER_AUTH_FIELDS)
        if a is not None:
            auth = ContainerAuth(
                self.string(a, "registry", auth_prefix),
                self.string(a, "username", auth_prefix),
                self.string(a, "password", auth_prefix, secret=True),
            )
        return Containers(kind=self.kind(f, "kind", prefix), auth=auth)

    def bundles_path(self, fields: dict[str, Node], prefix: str) -> Path | None:
        text = self.string(fields, "intermediateBundlesPath", prefix)
        return Path(text) if text else None

    def source(self, node: Node | None) -> Source | None:
        f = self.fields(node, "source", _SOURCE_FIELDS)
        if f is None:
            return None
        return Source(
            repo=self.repo(f.get("repo"), "source.repo"),
            intermediate_bundles_path=self.bundles_path(f, "source"),
            containers=self.containers(f.get("containers"), "source.containers"),
        )

    def target(self, node: Node | None) -> Target | None:
        f = self.fields(node, "target", _TARGET_FIELDS)
        if f is None:
            return None
        p = "target"
        return Target(
            repo=self.repo(f.get("repo"), "target.repo"),
            intermediate_bundles_path=self.bundles_path(f, p),
            container_registry=self.string(f, "containerRegistry", p),
            container_prefix_registry=self.string(f, "containerPrefixRegistry", p),
            container_repository=self.string(f, "containerRepository", p),
            container_prefix_repository=self.string(f, "containerPrefixRepository", p),
            append_origin_registry=self.boolean(f, "appendOriginRegistry", p),
            repo_name=self.string(f, "repoName", p),
            containers=self.containers(f.get("containers"), "target.containers"),
        )

    def charts(self, node: Node | None) -> tuple[ChartFilter, ...]:
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, SequenceNode):
            self.error(f"charts must be a list, not {_describe(node)}", "charts")
            return ()
        out: list[ChartFilter] = []
        for index, item in enumerate(node.value):
            prefix = f"charts[{index}]"
            self.lines[prefix] = _line(item)
            if isinstance(item, ScalarNode) and not _is_null(item):
                self.error(
                    f"{prefix} must be a mapping like {{name: {item.value}}}; plain chart names are the old format",
                    prefix,
                )
                continue
            f = self.fields(item, prefix, _CHART_FIELDS)
            if f is None:
                if _is_null(item):
                    self.error(f"{prefix} is empty", prefix)
                continue
            out.append(
                ChartFilter(
                    name=self.string(f, "name", prefix),
                    versions=self.strings(f, "versions", prefix),
                    skip_images=self.boolean(f, "skipImages", prefix),
                )
            )
        return tuple(out)

    def decode(self, root: Node) -> Config | None:
        f = self.fields(root, "", _CONFIG_FIELDS)
        if f is None:
            return None
        source = self.source(f.get("source"))
        target = self.target(f.get("target"))
        charts = self.charts(f.get("charts"))
        skip_charts = self.strings(f, "skipCharts", "")
        relocate = self.boolean(f, "relocateContainerImages", "")
        return Config(source or Source(), target or Target(), charts, skip_charts, relocate, self.path)

    # -- defaults and environment (spec §3.3, §3.5) --------------------------------------------------------------

    def apply_defaults(self, config: Config) -> Config:
        source, target = config.source, config.target
        repo = source.repo
        if repo is not None and not repo.disable_charts_index and not repo.charts_index:
            source = dataclasses.replace(
                source, repo=dataclasses.replace(repo, charts_index=_default_charts_index(repo.url))
            )
        if target.repo is not None and target.repo.kind is RepoKind.OCI:
            target = dataclasses.replace(target, repo=dataclasses.replace(target.repo, disable_charts_index=True))
        if not target.repo_name:
            target = dataclasses.replace(target, repo_name=DEFAULT_REPO_NAME)
        return dataclasses.replace(config, source=source, target=target)

    def env(self, *names: str) -> str:
        """First non-empty variable among ``names`` (viper ignores empty values)."""
        for name in names:
            value = self.environ.get(name, "")
            if value:
                return value
        return ""

    def repo_with_env(self, repo: Repo | None, side: str) -> Repo | None:
        if repo is None:
            return None
        up = side.upper()
        file_auth = repo.auth or RepoAuth("", "")
        username = self.env(f"{up}_REPO_AUTH_USERNAME", f"{up}_AUTH_USERNAME") or file_auth.username
        password = self.env(f"{up}_REPO_AUTH_PASSWORD", f"{up}_AUTH_PASSWORD") or file_auth.password
        if username and password:
            return dataclasses.replace(repo, auth=RepoAuth(username, password))
        if repo.auth is not None and not repo.auth.username and not repo.auth.password:
            return dataclasses.replace(repo, auth=None)  # an empty "auth: {}" means no auth
        return repo

    def apply_env(self, config: Config) -> Config:
        source, target = config.source, config.target
        source = dataclasses.replace(source, repo=self.repo_with_env(source.repo, "source"))
        target = dataclasses.replace(target, repo=self.repo_with_env(target.repo, "target"))

        s_cont = source.containers or Containers()
        s_auth = s_cont.auth or ContainerAuth("", "", "")
        registry = self.env("SOURCE_CONTAINERS_AUTH_REGISTRY") or s_auth.registry
        username = self.env("SOURCE_CONTAINERS_AUTH_USERNAME") or s_auth.username
        password = self.env("SOURCE_CONTAINERS_AUTH_PASSWORD") or s_auth.password
        if registry or username or password:
            auth = ContainerAuth(registry, username, password)
            source = dataclasses.replace(source, containers=dataclasses.replace(s_cont, auth=auth))

        t_cont = target.containers or Containers()
        t_auth = t_cont.auth or ContainerAuth("", "", "")
        username = self.env("TARGET_CONTAINERS_AUTH_USERNAME") or t_auth.username
        password = self.env("TARGET_CONTAINERS_AUTH_PASSWORD") or t_auth.password
        if username or password:
            server = target.container_prefix_registry or target.container_registry
            if t_auth.registry and t_auth.registry != server:
                self.warnings.append(
                    f'target.containers.auth.registry "{t_auth.registry}" is ignored: credentials apply to '
                    f'"{server}" (containerPrefixRegistry, else containerRegistry)'
                )
            if not server:
                self.warnings.append(
                    "target.containers.auth is unused: neither containerPrefixRegistry nor containerRegistry is set"
                )
            auth = ContainerAuth(server, username, password)
            target = dataclasses.replace(target, containers=dataclasses.replace(t_cont, auth=auth))
        return dataclasses.replace(config, source=source, target=target)

    # -- semantic validation (spec §3.4 plus our decisions) ------------------------------------------------------

    def one_of(self, side: str, repo: Repo | None, bundles: Path | None) -> None:
        repo_key, bundles_key = f"{side}.repo", f"{side}.intermediateBundlesPath"
        if repo is not None and bundles is not None:
            line = max(self.lines.get(repo_key, 0), self.lines.get(bundles_key, 0)) or None
            self.error(f"{side} has both repo and intermediateBundlesPath; set only one", line=line)
        elif repo is None and bundles is None and not {side, repo_key} & self.broken:
            what = "source.intermediateBundlesPath (or source.repo)" if side == "source" else "target.repo"
            self.error(f"no {side}: set {what}", side)

    def validate_repo(self, repo: Repo | None, side: str) -> None:
        if repo is None:
            return
        key = f"{side}.repo"
        if repo.kind is RepoKind.UNKNOWN:
            if f"{key}.kind" not in self.broken:
                unset = "" if f"{key}.kind" in self.lines else f" ({key}.kind is not set)"
                self.error(f'unsupported repo kind "{RepoKind.UNKNOWN.name}"{unset}', f"{key}.kind")
        elif repo.kind is RepoKind.LOCAL:
            if repo.path is None:
                self.error(f'"{key}.path" is required for kind LOCAL', f"{key}.path")
        elif repo.kind in _URL_KINDS:
            problem = _url_problem(repo.url)
            if problem:
                self.error(f'"{key}.url" should be a valid URL: {problem}', f"{key}.url")
            elif repo.kind is RepoKind.HARBOR and not re.fullmatch(
                r"(?:/.*)?/chartrepo/[^/]+", urlsplit(repo.url).path
            ):
                self.error(
                    f'"{key}.url" must be a Harbor chart repository URL like https://<host>/chartrepo/<project>; '
                    "Harbor >= 2.8 has no ChartMuseum: use kind OCI with https://<host>/<project>",
                    f"{key}.url",
                )
        if repo.auth is not None and not (repo.auth.username and repo.auth.password):
            self.error(f'"{key}.auth" "username" and "password" are required', f"{key}.auth")

    def validate_server(self, server: str, key: str) -> None:
        if "://" in server or "/" in server:
            self.error(
                f'credentials server name "{server}" must not contain a scheme (http:// or https://) nor a path; '
                "use a bare host[:port]",
                key,
            )

    def validate(self, config: Config) -> None:
        source, target = config.source, config.target
        self.one_of("source", source.repo, source.intermediate_bundles_path)
        self.one_of("target", target.repo, target.intermediate_bundles_path)
        if source.intermediate_bundles_path and target.intermediate_bundles_path and target.repo is None:
            self.error(
                "target.repo is required when loading bundles (source.intermediateBundlesPath); "
                "target.intermediateBundlesPath is for saving",
                "target.intermediateBundlesPath",
            )
        self.validate_repo(source.repo, "source")
        self.validate_repo(target.repo, "target")

        s_auth = source.containers.auth if source.containers else None
        if s_auth is not None:
            if not (s_auth.registry and s_auth.username and s_auth.password):
                self.error(
                    '"source.containers.auth" "registry", "username" and "password" are required',
                    "source.containers.auth",
                )
            else:
                self.validate_server(s_auth.registry, "source.containers.auth.registry")
        t_auth = target.containers.auth if target.containers else None
        if t_auth is not None:
            if not (t_auth.username and t_auth.password):
                self.error('"target.containers.auth" "username" and "password" are required', "target.containers.auth")
            elif t_auth.registry:
                origin = "containerPrefixRegistry" if target.container_prefix_registry else "containerRegistry"
                self.validate_server(t_auth.registry, f"target.{origin}")

        for index, chart in enumerate(config.charts):
            key = f"charts[{index}]"
            if not _valid_chart_name(chart.name):
                self.error(
                    f'charts name "{chart.name}" is invalid: must be 1-{_CHART_NAME_MAX} characters matching '
                    f"{CHART_NAME_RE.pattern}",
                    f"{key}.name",
                )
            for v_index, version in enumerate(chart.versions):
                if not CHART_VERSION_RE.match(version):
                    self.error(
                        f'charts {chart.name} version "{version}" is invalid, must match {CHART_VERSION_RE.pattern}',
                        f"{key}.versions[{v_index}]",
                    )
        if config.charts and config.skip_charts:
            self.error('"charts" and "skipCharts" properties can not be set at the same time', "skipCharts")


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
