"""The package's shape: pyproject.toml lists every package (the lessons' mapping needs an explicit
list), and the arrows point down only (no import hides at the bottom of a module to dodge a
cycle)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "zerograd"


def test_every_package_is_listed():
    tomllib = pytest.importorskip("tomllib", reason="needs Python 3.11 or newer (tomllib)")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT / "src").parts) for p in PACKAGE.rglob("__init__.py")
    }
    listed = set(config["packages"])
    assert on_disk | {"zerograd.lessons"} == listed
    assert config["package-dir"]["zerograd.lessons"] == "examples"
    assert (ROOT / "examples" / "__init__.py").exists()


def test_no_module_imports_below_a_definition():
    # an import after the module's functions and classes is how a cycle is dodged; imports
    # inside a function (optional extras, imported where used) are fine
    late = []
    for path in sorted(PACKAGE.rglob("*.py")):
        seen = None
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                seen = seen or node.name
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and seen:
                late.append(f"{path.relative_to(ROOT)}:{node.lineno} (after {seen})")
    assert late == []


def test_no_local_name_shadows_a_module_import():
    # a local variable named like an import hides it for the rest of the function (nn/rnn.py's
    # layer_input was one): rename the local
    shadows = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {
            (a.asname or a.name).split(".")[0]
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for a in node.names
        } - {"annotations"}
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(fn):
                stored = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
                name = node.id if stored else node.arg if isinstance(node, ast.arg) else None
                if name in imported:
                    shadows.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert shadows == []
