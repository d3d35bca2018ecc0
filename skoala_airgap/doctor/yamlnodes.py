"""YAML with line numbers, so every doctor finding can say ``manifest.yaml:57``.

PyYAML's composer keeps a start mark on every node; values are built from a node on demand with the
safe constructor. Mappings are looked up key by key (the last duplicate wins, as in PyYAML's loader).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from skoala_airgap.doctor.project import ConfigError

__all__ = ["child", "compose_file", "key_line", "line_of", "lookup", "mapping_items", "value_of"]


def compose_file(path: Path, what: str) -> tuple[str, yaml.Node | None]:
    """The text of ``path`` and its single document as a node tree (None when empty).

    Unreadable files and bad YAML are a ConfigError naming the file (and the line, when known).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(str(path), f"cannot read the {what}: {reason}") from None
    try:
        return text, yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(str(path), f"not valid YAML ({what}): {exc.problem or exc.context}", line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"not valid YAML ({what}): {exc}") from None


def line_of(node: yaml.Node | None) -> int | None:
    """1-based line where ``node`` starts."""
    return node.start_mark.line + 1 if node is not None else None


def mapping_items(node: yaml.Node | None) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """(key text, key node, value node) of a mapping; empty for anything else."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """``node[key]`` for a mapping key or a sequence index; None when absent."""
    if isinstance(key, int):
        if isinstance(node, yaml.SequenceNode) and 0 <= key < len(node.value):
            item: yaml.Node = node.value[key]
            return item
        return None
    found = [value for name, _, value in mapping_items(node) if name == key]
    return found[-1] if found else None


def key_line(node: yaml.Node | None, key: str) -> int | None:
    """1-based line of ``key`` itself in a mapping (where an engineer would add a missing child)."""
    found = [key_node for name, key_node, _ in mapping_items(node) if name == key]
    return line_of(found[-1]) if found else None


def lookup(node: yaml.Node | None, path: tuple[str | int, ...]) -> yaml.Node | None:
    """Walk ``path`` from ``node``; None as soon as a step is missing."""
    for key in path:
        node = child(node, key)
        if node is None:
            return None
    return node


def value_of(node: yaml.Node) -> Any:
    """The Python value of a node, built by PyYAML's safe constructor."""
    return yaml.SafeLoader("").construct_object(node, deep=True)
