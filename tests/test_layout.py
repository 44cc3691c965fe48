"""The package's shape (invariant 6, README): imports point one way, only the CLI knows argparse, and no
function runs over 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "nct"

# Each part of nct by layer: a module may import its own layer and those below it, never above.
LAYERS = [
    {"errors", "util", "coding", "parallel", "cluster", "container", "results", "plots"},
    {"models"},
    {"data"},
    {"tokenizers", "compressors", "api"},
    {"train", "generate"},
    {"eval"},
    {"analysis", "report"},
    {"cli", "__main__"},
]
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def modules() -> dict[str, ast.Module]:
    """Every module of src/nct by its path (relative to src/nct), parsed."""
    return {str(p.relative_to(SRC)): ast.parse(p.read_text(), str(p)) for p in sorted(SRC.rglob("*.py"))}


def part_of(path: str) -> str:
    """The part of nct a module belongs to: its subpackage, or its own name at the top."""
    return Path(path).parts[0] if len(Path(path).parts) > 1 else Path(path).stem


def imported(path: str, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module, relative ones resolved."""
    package = ["nct", *Path(path).parent.parts]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            name = ".".join(x for x in (base, node.module) if x)
            out.append((node.lineno, name))
            if node.module is None:  # from . import x: the modules themselves
                out += [(node.lineno, f"{name}.{a.name}") for a in node.names]
    return out


def test_every_part_has_a_layer():
    assert {part_of(path) for path in modules()} - {"__init__"} <= set(LAYER)


def test_imports_point_down_the_layers():
    upward = []
    for path, tree in modules().items():
        own = part_of(path)
        if own == "__init__":  # nct's own namespace re-exports the API
            continue
        for line, name in imported(path, tree):
            parts = name.split(".")
            if parts[0] == "nct" and len(parts) > 1 and parts[1] in LAYER and LAYER[parts[1]] > LAYER[own]:
                upward.append(f"{path}:{line} imports {name}")
    assert not upward, "\n".join(upward)


def test_only_the_cli_knows_argparse():
    users = [f"{path}:{line}" for path, tree in modules().items() if part_of(path) not in ("cli", "__main__")
             for line, name in imported(path, tree) if name == "argparse"]
    assert not users, users


MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_80_lines():
    long = [f"{path}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, tree in modules().items() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, "\n".join(long)
