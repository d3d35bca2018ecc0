"""Structural decoding of a config: YAML nodes to the model, with charts-syncer's strict protobuf rules.

charts-syncer converts the YAML to JSON strictly and decodes it into a protobuf message, so unknown fields,
duplicate keys and numbers where strings belong are errors; we report each with its line. The YAML is
composed (not constructed) with PyYAML, whose resolver follows YAML 1.1 as go-yaml v2 does: ``yes`` is a
boolean and an unquoted ``1.2`` is a number (``y``/``n`` and base-60 numbers are adjusted in :func:`_tag`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from skoala_airgap.config.model import (
    ChartFilter,
    Config,
    ContainerAuth,
    Containers,
    Repo,
    RepoAuth,
    RepoKind,
    Source,
    Target,
)
from skoala_airgap.config.problems import ReaderState, join

_TAG = "tag:yaml.org,2002:"
_STR, _BOOL, _NULL, _INT, _FLOAT = (_TAG + t for t in ("str", "bool", "null", "int", "float"))
_TIMESTAMP, _MERGE = _TAG + "timestamp", _TAG + "merge"
_TRUE_WORDS = frozenset({"true", "yes", "on", "y"})

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


class Decoder(ReaderState):
    """YAML text to a :class:`Config`, every shape problem reported with its line."""

    def compose(self) -> Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.error("config is not UTF-8 text")
            return None
        except OSError as exc:
            self.error(f"cannot read config: {exc.strerror or exc}")
            return None
        try:
            root: Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else None
            self.error(f"invalid YAML: {exc.problem or exc.context}", line=line)
            return None
        except yaml.YAMLError as exc:
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
            path = join(prefix, name)
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
        return "" if node is None else self.scalar_string(node, join(prefix, name), secret=secret)

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
        path = join(prefix, name)
        self.error(f"{path} must be true or false, not {_describe(node)}", path)
        return False

    def kind(self, fields: dict[str, Node], name: str, prefix: str) -> RepoKind:
        node = fields.get(name)
        if node is None or _is_null(node):
            return RepoKind.UNKNOWN
        path = join(prefix, name)
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
        path = join(prefix, name)
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
            auth=self.repo_auth(f.get("auth"), join(prefix, "auth")),
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
        auth_prefix = join(prefix, "auth")
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
