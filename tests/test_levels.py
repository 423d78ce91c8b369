"""Each level of neuropil imports only from its own level or below (see tools/levels.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools.levels import ALLOWED_UPWARD, LEVELS, top_level_name

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "neuropil").rglob("*.py"))


def imported_neuropil_names(tree: ast.AST):
    """Yields (line, top-level name) for every `neuropil.<name>` the module imports."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "neuropil" and len(parts) > 1:
                    yield node.lineno, parts[1]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "neuropil":
                continue
            if len(parts) > 1:
                yield node.lineno, parts[1]
            else:  # from neuropil import layers, ops
                for alias in node.names:
                    yield node.lineno, alias.name


def test_every_module_has_a_level():
    unknown = {top_level_name(p.relative_to(ROOT).as_posix()) for p in SOURCES} - set(LEVELS)
    assert not unknown, f"add these to tools/levels.py: {sorted(unknown)}"


def test_no_relative_imports_hide_levels():
    offenders = [p.relative_to(ROOT).as_posix() for p in SOURCES
                 if any(isinstance(n, ast.ImportFrom) and n.level > 0
                        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))))]
    assert not offenders, f"use absolute imports so the level test sees them: {offenders}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_upward_imports(path):
    relative = path.relative_to(ROOT).as_posix()
    own = LEVELS[top_level_name(relative)]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    upward = [
        f"line {line}: imports neuropil.{name} (level {LEVELS.get(name)}) from level {own}"
        for line, name in imported_neuropil_names(tree)
        if name in LEVELS and LEVELS[name] > own and (relative, name) not in ALLOWED_UPWARD
    ]
    assert not upward, f"{relative}:\n" + "\n".join(upward)


def test_level_checker_catches_an_upward_import():
    tree = ast.parse("from neuropil.models import Model\nimport neuropil.training.trainer\n")
    assert [name for _, name in imported_neuropil_names(tree)] == ["models", "training"]
