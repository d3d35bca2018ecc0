"""Write image rewrites into values.yaml and blank dependency repositories in Chart.yaml, as text edits.

Charts are read by people after relocation, so every byte we do not have to change stays as it was:
comments, order, indentation, quoting and line endings. Edits are made on the character spans PyYAML's
composer reports for each node, and each edit is checked by re-reading the result with Helm's rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from skoala_airgap.charts.values_context import KeyPath, load_values, plain_scalar_value
from skoala_airgap.errors import InputError

__all__ = ["apply_rewrites", "encode_scalar", "set_dependency_repositories_empty"]

_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./:@+=~-]*")
_FLOW_UNSAFE = frozenset(":,[]{}#")
_YAML11 = Resolver()


def encode_scalar(value: str, *, flow: bool = False, style: str | None = None) -> str:
    """``value`` as a YAML string scalar: in ``style`` (``'`` or ``"``) if given, else plain when safe.

    Plain only if every reader we care about sees the same string: yaml.v2 (Helm), YAML 1.1 (PyYAML)
    and flow context when ``flow``. Otherwise double-quoted (JSON escaping is valid YAML).
    """
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style != '"' and _plain_ok(value, flow):
        return value
    return json.dumps(value, ensure_ascii=False)


def _plain_ok(value: str, flow: bool) -> bool:
    if not _PLAIN_CHARS.fullmatch(value) or value.endswith(":"):
        return False
    if flow and _FLOW_UNSAFE.intersection(value):
        return False
    yaml11_tag = _YAML11.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(plain_scalar_value(value) == value and yaml11_tag == _STR_TAG)


def _compose(text: str, source: str) -> Node | None:
    """The first document's node tree (Helm reads only the first document)."""
    try:
        return next(yaml.compose_all(text, Loader=yaml.SafeLoader), None)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: cannot parse YAML: {exc}") from exc


def _find(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    """The last ``key:`` entry of a mapping (later duplicates win, as when Helm reads the file)."""
    found = None
    for key_node, value_node in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            found = (key_node, value_node)
    return found


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


def _indent_step(root: Node) -> int:
    """How far this file indents a nested block mapping (first example found), default 2."""
    pending = [root]
    while pending:
        node = pending.pop(0)
        if not isinstance(node, MappingNode) or node.flow_style or not node.value:
            continue
        column = node.value[0][0].start_mark.column
        for _, child in node.value:
            if isinstance(child, MappingNode) and not child.flow_style and child.value:
                step = child.value[0][0].start_mark.column - column
                if step > 0:
                    return int(step)
            pending.append(child)
    return 2


def _line_break(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_end(text: str, pos: int) -> int:
    match = re.compile(r"[\r\n]").search(text, pos)
    return match.start() if match else len(text)


def _block_lines(keys: KeyPath, value: str, column: int, step: int) -> list[str]:
    lines = [" " * (column + i * step) + encode_scalar(key) + ":" for i, key in enumerate(keys)]
    lines[-1] += " " + encode_scalar(value)
    return lines


def _flow_fragment(keys: KeyPath, value: str) -> str:
    fragment = encode_scalar(value, flow=True)
    for key in reversed(keys[1:]):
        fragment = "{" + encode_scalar(key, flow=True) + ": " + fragment + "}"
    return encode_scalar(keys[0], flow=True) + ": " + fragment


def _splice(text: str, start: int, end: int, replacement: str) -> str:
    return text[:start] + replacement + text[end:]


def _scalar_start(text: str, node: ScalarNode) -> int:
    """Where the scalar itself starts, after any ``&anchor``/``!tag`` properties; the end if it is empty."""
    start, end = node.start_mark.index, node.end_mark.index
    if start == end or text[start] not in "&!":
        return start
    try:
        for token in yaml.scan(text[start:end], Loader=yaml.SafeLoader):
            if isinstance(token, yaml.ScalarToken):
                return int(start + token.start_mark.index)
    except yaml.YAMLError:
        return start
    return end


def _replace_scalar(text: str, node: ScalarNode, value: str, flow: bool) -> str:
    """Swap one scalar for ``value``; keep its anchor and quote style, drop an explicit tag."""
    start, end = node.start_mark.index, node.end_mark.index
    scalar_at = _scalar_start(text, node)
    anchor = re.search(r"&\S+", text[start:scalar_at])
    style = node.style if node.style in ("'", '"') else None
    replacement = (anchor.group(0) + " " if anchor else "") + encode_scalar(value, flow=flow, style=style)
    if node.style in ("|", ">"):
        body = text[scalar_at:end]
        tail = body[len(body.rstrip(" \t\r\n")) :]
        breaks = re.search(r"[\r\n]", tail)
        replacement += tail[breaks.start() :] if breaks else ""
    if start == end and start > 0 and text[start - 1] not in " \t":
        replacement = " " + replacement
    return _splice(text, start, end, replacement)


def _after_last_line(text: str, mapping: MappingNode) -> tuple[int, bool]:
    """Insertion point just after the block mapping's last line of content (before trailing comments).

    Returns (index, at_line_start). The mapping's own end mark is useless here: it runs on past
    comments up to the next token.
    """
    node: Node = mapping
    while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    end = node.end_mark.index
    if end > 0 and text[end - 1] == "\n":
        return end, True
    return _line_end(text, end), False


def _insert_into(text: str, mapping: MappingNode, keys: KeyPath, value: str, step: int) -> str:
    """Add ``keys[0]: ...`` (nested maps for the rest of ``keys``) as the mapping's last entry."""
    if mapping.flow_style:
        fragment = _flow_fragment(keys, value)
        if mapping.value:
            at = mapping.value[-1][1].end_mark.index
            return _splice(text, at, at, ", " + fragment)
        close = mapping.end_mark.index - 1
        return _splice(text, close, close, fragment)
    newline = _line_break(text)
    block = newline.join(_block_lines(keys, value, mapping.value[0][0].start_mark.column, step))
    at, at_line_start = _after_last_line(text, mapping)
    return _splice(text, at, at, block + newline if at_line_start else newline + block)


def _fill_null(text: str, key: Node, null: ScalarNode, keys: KeyPath, value: str, flow: bool, step: int) -> str:
    """Turn ``key:`` (null) into ``key:`` holding the nested ``keys`` mapping."""
    start, end = null.start_mark.index, null.end_mark.index
    if flow:
        replacement = "{" + _flow_fragment(keys, value) + "}"
        if start == end and start > 0 and text[start - 1] not in " \t":
            replacement = " " + replacement
        return _splice(text, start, end, replacement)
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    newline = _line_break(text)
    lines = _block_lines(keys, value, key.start_mark.column + step, step)
    return _splice(text, start, end, newline + newline.join(lines))


def _append_document(text: str, keys: KeyPath, value: str) -> str:
    newline = _line_break(text)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + newline.join(_block_lines(keys, value, 0, 2)) + newline


def _apply_one(text: str, path: KeyPath, value: str, source: str) -> str:
    root = _compose(text, source)
    if root is None or (_is_null(root) and root.start_mark.index == root.end_mark.index):
        return _append_document(text, path, value)
    if _is_null(root):
        lines = _block_lines(path, value, 0, 2)
        return _splice(text, root.start_mark.index, root.end_mark.index, _line_break(text).join(lines))
    if not isinstance(root, MappingNode):
        raise InputError(f"{source}: cannot set {_dotted(path)}: the document is {_kind(root)}, not a mapping")
    step = _indent_step(root)
    mapping: MappingNode = root
    for depth, key in enumerate(path):
        found = _find(mapping, key)
        if found is None:
            return _insert_into(text, mapping, path[depth:], value, step)
        key_node, child = found
        here = _dotted(path[: depth + 1])
        if child.start_mark.index < key_node.end_mark.index:
            raise InputError(f"{source}: cannot set {_dotted(path)}: {here} is a YAML alias; edit it by hand")
        if depth == len(path) - 1:
            if not isinstance(child, ScalarNode):
                raise InputError(f"{source}: cannot set {_dotted(path)}: it holds {_kind(child)}")
            return _replace_scalar(text, child, value, bool(mapping.flow_style))
        if isinstance(child, MappingNode):
            mapping = child
            continue
        if _is_null(child):
            assert isinstance(child, ScalarNode)
            return _fill_null(text, key_node, child, path[depth + 1 :], value, bool(mapping.flow_style), step)
        raise InputError(f"{source}: cannot set {_dotted(path)}: {here} is {_kind(child)}, not a mapping")
    raise AssertionError("unreachable: the loop returns on the last key")


def _dotted(path: KeyPath) -> str:
    return "." + ".".join(path)


def _verify(text: str, path: KeyPath, value: str, source: str) -> None:
    """Re-read the edited file as Helm would and make sure the value landed (and nothing broke)."""
    try:
        item: object = load_values(text.encode("utf-8"), source)
    except InputError as exc:
        raise InputError(f"{source}: setting {_dotted(path)} would break the file ({exc}); edit it by hand") from exc
    for key in path:
        item = item.get(key) if isinstance(item, dict) else None
    if item != value:
        raise InputError(f"{source}: setting {_dotted(path)} to {value!r} did not take (reads {item!r})")


def apply_rewrites(values_yaml: str, actions: Sequence[tuple[tuple[str, ...], str]], *, source: str) -> str:
    """Apply rewrite actions ``(full key path, new value)`` to a values.yaml text, in order.

    Only the edited scalar changes; every other line stays byte-identical. Beyond charts-syncer:
    a missing key or missing intermediate maps are inserted (never silently dropped), a top-level key
    works, a null or number is replaced by the string, and inserted values are quoted when needed.
    A path through a list, a non-null scalar or a YAML alias is an :class:`InputError`.
    """
    text = values_yaml
    for path, value in actions:
        if not path or not all(path):
            raise InputError(f"{source}: invalid value path {path!r}")
        text = _apply_one(text, tuple(path), value, source)
        _verify(text, tuple(path), value, source)
    return text


def set_dependency_repositories_empty(chart_yaml: str, *, source: str = "Chart.yaml") -> str:
    """Blank every ``dependencies[].repository`` (spec §4.5 step 2), keeping all other bytes.

    charts-syncer re-serialises Chart.yaml with sorted keys and no comments; Helm reads both the same,
    so we change only the repository values (to ``""``). Null or already empty ones are left alone.
    """
    root = _compose(chart_yaml, source)
    if root is None or _is_null(root):
        return chart_yaml
    if not isinstance(root, MappingNode):
        raise InputError(f"{source}: expected a mapping at the top level")
    found = _find(root, "dependencies")
    if found is None or _is_null(found[1]):
        return chart_yaml
    dependencies = found[1]
    if not isinstance(dependencies, SequenceNode):
        raise InputError(f"{source}: dependencies is {_kind(dependencies)}, not a list")
    targets: list[tuple[ScalarNode, bool]] = []
    for item in dependencies.value:
        entry = _find(item, "repository") if isinstance(item, MappingNode) else None
        if entry is None or _is_null(entry[1]):
            continue
        repository = entry[1]
        if not isinstance(repository, ScalarNode):
            raise InputError(f"{source}: a dependency repository is {_kind(repository)}, not a string")
        if repository.value != "":
            flow = bool(dependencies.flow_style or item.flow_style)
            targets.append((repository, flow))
    text = chart_yaml
    for node, flow in sorted(targets, key=lambda target: target[0].start_mark.index, reverse=True):
        text = _replace_scalar(text, node, "", flow)
    return text
