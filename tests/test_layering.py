"""The package keeps its shape: layers import only downwards, no package-level cycles, short modules.

The layers (docs/design.md): errors/interrupt at the bottom; the core model and readers; sources and
config; relocation (the one planner) and the engine; destinations; workflows (and doctor) that combine
them; the CLI on top. A new import that goes upwards fails here with the module and the import."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "skoala_airgap"
MAX_LINES = 400

# package -> the packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "interrupt": {"errors"},
    "archive": {"errors", "interrupt"},
    "charts": {"errors"},
    "model": {"errors", "archive"},
    "connection": {"errors", "interrupt"},
    "sources": {"errors", "interrupt", "archive", "charts", "model"},
    "config": {"errors", "charts"},
    "relocation": {"errors", "charts", "model", "sources"},
    "engine": {"errors", "interrupt", "connection", "model"},
    "destinations": {"errors", "interrupt", "archive", "charts", "config", "connection", "engine", "model"},
    "workflows": {
        "errors",
        "interrupt",
        "archive",
        "charts",
        "config",
        "connection",
        "destinations",
        "engine",
        "model",
        "relocation",
        "sources",
    },
    "doctor": {"errors", "relocation", "sources", "workflows", "charts", "model", "connection"},
    "cli": set(),  # the top: anything
    "__main__": {"cli"},
    "__init__": set(),
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _package_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        out += [(node.lineno, name.split(".")[1]) for name in names if name.startswith("skoala_airgap.")]
    return out


def test_every_package_has_a_layer() -> None:
    assert {_package_of(p) for p in _modules()} <= set(ALLOWED)


def test_imports_go_only_downwards() -> None:
    wrong = []
    for path in _modules():
        own = _package_of(path)
        if own == "cli":
            continue
        for line, target in _imports(path):
            if target != own and target not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line}: {own} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        own = _package_of(path)
        graph[own] |= {target for _, target in _imports(path) if target != own}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph[start])

    cycles = sorted(pkg for pkg in list(graph) if reaches(pkg, pkg, {pkg}))
    assert not cycles, f"packages on an import cycle: {cycles}"


def test_no_module_over_the_limit() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_cli_holds_no_library_logic() -> None:
    """cli/ modules stay thin: option parsing, calling a workflow, rendering."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "cli").glob("*_cmd.py")}
    assert max(sizes.values()) <= 300, sizes
