"""The value context image hints are rendered against (spec §2.3).

charts-syncer renders hints over ``buildValuesMap``: the root chart's values, with every subchart's own
context merged under the subchart's ``Chart.yaml`` name (divideandconquer/go-merge semantics). The values
are parsed the way Helm parses them (yaml.v2 scalar rules, then a JSON round trip), because that decides
what a hint renders to: ``tag: 1.10`` is the number 1.1 and ``tag: yes`` is the boolean true.

Deliberately reproduced, because the image names inside a bundle were produced by exactly this evaluation
at save time: Helm ``global`` values are *not* propagated into subcharts, dependency ``alias`` is ignored,
and empty parent values (``""``, ``0``, ``false``, ``[]``, ``{}``) do not override subchart values.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from skoala_airgap.charts.yaml_loader import SafeLoader
from skoala_airgap.errors import InputError

KeyPath = tuple[str, ...]

__all__ = [
    "KeyPath",
    "YamlNumber",
    "build_values_context",
    "go_merge",
    "load_chart_archive",
    "load_values",
    "plain_scalar_value",
    "with_rewrites",
]


class YamlNumber(float):
    """A values.yaml number (always float64 once Helm is done with it) that remembers its source text.

    Rendering uses ``source`` to notice when Go's float formatting would change what the author wrote.
    """

    source: str

    def __new__(cls, value: float, source: str) -> YamlNumber:
        number = super().__new__(cls, value)
        number.source = source
        return number


# ---------------------------------------------------------------------------------------------------------
# YAML with Helm's (sigs.k8s.io/yaml over gopkg.in/yaml.v2) scalar rules

_GO_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_GO_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_GO_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_GO_NAN = frozenset({".nan", ".NaN", ".NAN"})
_GO_POS_INF = frozenset({".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})
_GO_NEG_INF = frozenset({"-.inf", "-.Inf", "-.INF"})
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_GO_STYLE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
_PLAIN_TAG = "tag:skoala-airgap,2024:go-plain"


def _go_parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, falling back to ``ParseUint`` as yaml.v2 does."""
    signed = text[:1] in ("+", "-")
    body = text[1:] if signed else text
    base = 10
    prefix = body[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        base, body = {"0x": 16, "0o": 8, "0b": 2}[prefix], body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or any(c not in _DIGITS[base] for c in body):
        return None
    value = int(body, base)
    if text.startswith("-"):
        value = -value
    if -(2**63) <= value < 2**63 or (not signed and value < 2**64):
        return value
    return None


def plain_scalar_value(text: str) -> Any:
    """What an unquoted YAML scalar means to Helm: yaml.v2 ``resolve`` followed by the JSON round trip.

    Differs from PyYAML's YAML 1.1 rules: ``y``/``n`` are booleans, ``1e3`` is a number, timestamps and
    sexagesimal ``1:30`` stay strings. Every number becomes a float64.
    """
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    if text in _GO_NULL:
        return None
    if text in _GO_NAN:
        return YamlNumber(math.nan, text)
    if text in _GO_POS_INF:
        return YamlNumber(math.inf, text)
    if text in _GO_NEG_INF:
        return YamlNumber(-math.inf, text)
    first = text[0]
    if first == "." and _GO_DOT_FLOAT.fullmatch(text):
        number = float(text)
        return text if math.isinf(number) else YamlNumber(number, text)
    if first in "+-0123456789":
        plain = text.replace("_", "")
        integer = _go_parse_int(plain)
        if integer is not None:
            return YamlNumber(float(integer), text)
        if _GO_STYLE_FLOAT.fullmatch(plain):
            number = float(plain)
            if not math.isinf(number):
                return YamlNumber(number, text)
    return text


class _HelmLoader(SafeLoader):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader with yaml.v2's scalar rules: every plain scalar goes to one constructor.

    ``<<`` merge keys keep working; values with unknown local tags (``!foo``) load as if untagged,
    as yaml.v2 does.
    """

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012


def _construct_go_plain(loader: _HelmLoader, node: Node) -> Any:
    assert isinstance(node, ScalarNode)
    return plain_scalar_value(str(loader.construct_scalar(node)))


def _construct_unknown_tag(loader: _HelmLoader, node: Node) -> Any:
    if isinstance(node, MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node)
    assert isinstance(node, ScalarNode)
    return str(loader.construct_scalar(node))


_HelmLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
_HelmLoader.add_implicit_resolver(_PLAIN_TAG, re.compile(r"", re.DOTALL), None)
_HelmLoader.add_constructor(_PLAIN_TAG, _construct_go_plain)
_HelmLoader.add_constructor(None, _construct_unknown_tag)


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float) and key.is_integer() and abs(key) < 2**63:
        return str(int(key))
    if isinstance(key, YamlNumber):
        return key.source
    return str(key)


def _jsonable(value: Any) -> Any:
    """Mimic the YAML -> JSON -> ``map[string]interface{}`` trip: string keys, float64 numbers."""
    if isinstance(value, dict):
        return {_json_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, set):
        return {_json_key(k): None for k in value}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | YamlNumber | str) or value is None:
        return value
    if isinstance(value, int | float):
        return YamlNumber(float(value), str(value))
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")  # yaml.v2 hands !!binary over as the decoded string
    return str(value)


def load_values(data: bytes, source: str) -> dict[str, Any]:
    """Parse a values.yaml the way Helm does; an empty or null document is ``{}``.

    Only the first YAML document counts (yaml.v2 ``Unmarshal``); the top level must be a mapping.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text: {exc}") from exc
    try:
        loader = _HelmLoader(text)
        try:
            document = _first_document(loader)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: cannot parse YAML: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(f"{source}: expected a mapping at the top level, found {type(document).__name__}")
    result: dict[str, Any] = _jsonable(document)
    return result


def _first_document(loader: _HelmLoader) -> Any:
    if loader.check_node():
        return loader.construct_document(loader.get_node())
    return None


# ---------------------------------------------------------------------------------------------------------
# Chart files and subcharts


def load_chart_archive(data: bytes, source: str) -> dict[str, bytes]:
    """The files of a packed chart (``.tgz``), keyed by path inside the chart directory (in memory)."""
    from skoala_airgap.charts.archive import read_chart_tgz  # one chart-archive reader for the project

    return read_chart_tgz(data, source).files


def _chart_name(files: Mapping[str, bytes], source: str) -> str:
    if "Chart.yaml" not in files:
        raise InputError(f"{source}: no Chart.yaml")
    name = load_values(files["Chart.yaml"], f"{source}/Chart.yaml").get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{source}/Chart.yaml: missing chart name")
    return name


def _subcharts(files: Mapping[str, bytes], source: str) -> list[tuple[str, dict[str, bytes]]]:
    """Subcharts under ``charts/`` as (location, files), in a stable order.

    Mirrors Helm's loader: names starting with ``_`` or ``.`` are skipped, ``*.tgz`` is unpacked in
    memory, a directory is a chart. Loose files that are neither are not charts and are ignored.
    """
    directories: dict[str, dict[str, bytes]] = {}
    found: list[tuple[str, dict[str, bytes]]] = []
    for path, data in files.items():
        if not path.startswith("charts/"):
            continue
        first, slash, inner = path[len("charts/") :].partition("/")
        if not first or first.startswith(("_", ".")):
            continue
        if slash:
            directories.setdefault(first, {})[inner] = data
        elif first.endswith(".tgz"):
            where = f"{source}/charts/{first}"
            found.append((where, load_chart_archive(data, where)))
    for first, sub_files in directories.items():
        found.append((f"{source}/charts/{first}", sub_files))
    return sorted(found, key=lambda item: item[0])


def _normalise(chart_files: Mapping[str, bytes]) -> dict[str, bytes]:
    return {path.removeprefix("./"): data for path, data in chart_files.items()}


def build_values_context(chart_files: Mapping[str, bytes], *, source: str = "chart") -> dict[str, Any]:
    """The map a hint is evaluated against: root values with each subchart's context merged in.

    ``chart_files`` maps paths relative to the chart directory (``values.yaml``, ``charts/x/values.yaml``,
    ``charts/y-1.0.0.tgz``) to their bytes. Subcharts are keyed by their own ``Chart.yaml`` name and merged
    with :func:`go_merge` (subchart as base, parent section as override). Like charts-syncer, the merged
    maps are written into the root values map itself, which is what is returned; subcharts sharing a
    name are merged in path order, the last one winning.
    """
    files = _normalise(chart_files)
    values = load_values(files["values.yaml"], f"{source}/values.yaml") if "values.yaml" in files else {}
    for where, sub_files in _subcharts(files, source):
        name = _chart_name(sub_files, where)
        values[name] = go_merge(build_values_context(sub_files, source=where), values.get(name))
    return values


# ---------------------------------------------------------------------------------------------------------
# Merging

_DELETE = object()


def _is_empty(value: Any) -> bool:
    """go-merge's ``isEmptyValue`` on an unwrapped value: ``""``, ``0``, ``false``, empty list or map."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str | list | dict):
        return len(value) == 0
    return False


def _merge_present(base: Any, override: Any) -> Any:
    """Merge two values that both exist under the same key (both interfaces are unwrapped by go-merge)."""
    if isinstance(base, dict):
        return go_merge(base, override)
    if override is None:
        return _DELETE  # reflect's zero Value is "not empty", and setting it deletes the key
    if _is_empty(override):
        return _DELETE if base is None else base
    return override


def go_merge(base: Mapping[str, Any], override: Any) -> dict[str, Any]:
    """divideandconquer/go-merge ``Merge(base, override)`` for a map base, as relok8s uses it.

    Maps merge recursively. A key only the override has is taken unless it is null. Where both have a
    key and the base is not a map, the override wins only if non-empty; a null override deletes the key
    (as Helm does). A non-map override of a map is ignored.
    """
    result = dict(base)
    if not isinstance(override, Mapping):
        return result
    for key, value in override.items():
        if key not in base:
            if value is not None:
                result[key] = value
            continue
        merged = _merge_present(base[key], value)
        if merged is _DELETE:
            del result[key]
        else:
            result[key] = merged
    return result


def with_rewrites(context: Mapping[str, Any], actions: Sequence[tuple[KeyPath, str]]) -> dict[str, Any]:
    """The context with rewrite actions merged on top, in order (spec §2.8, for re-rendering)."""
    values = dict(context)
    for path, value in actions:
        override: Any = value
        for key in reversed(path):
            override = {key: override}
        values = go_merge(values, override)
    return values
