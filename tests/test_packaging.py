"""The package's shape: pyproject.toml lists every package (the lessons' mapping needs an explicit
list), and the arrows point down only (no import hides at the bottom of a module to dodge a
cycle)."""

import ast
import importlib.util
import subprocess
import sys
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


@pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None,
    reason="needs import-linter (checks the layers contract): pip install import-linter, or the "
    "test extra",
)
def test_the_layers_contract_holds():
    # lint-imports reads [tool.importlinter] in pyproject.toml: the layers of DESIGN.md
    code = "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_underscore_name_is_imported_from_another_package():
    # DESIGN.md: packages talk through public names; an underscore name stays inside its
    # module's package (zerograd._version, the version's own module, is for everyone)
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT / "src").with_suffix("").parts)
        here = parts[:-1]  # the package relative imports start from
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not (node.level or node.module):
                continue
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if not target.startswith("zerograd") or target == "zerograd._version":
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}".split(".")
                private = [p for p in full[1:] if p.startswith("_") and not p.startswith("__")]
                if private and _package_of(f"{target}.{alias.name}") != _package_of(module):
                    crossings.append(f"{module}: from {target} import {alias.name}")
    assert crossings == []
