"""Helpers for the lesson tests (tests/lessons): run a lesson and check its pictures.

A lesson in cells (jupytext's py:percent, ``# %%``) runs as its generated notebook in a real
Jupyter kernel (nbclient + ipykernel), top to bottom, in quick mode: any cell's error fails the
test, and the lesson's ``result`` dict comes back from the kernel. Without nbclient, ipykernel or
jupytext (the bare CI run) it runs as a script instead, so its numbers are still checked there;
``test_notebooks.py`` skips with the install hint. A lesson not yet in cells runs its ``main()``.
"""

import ast
import importlib.util
import os
import pickle
import shlex
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from zerograd.lessons.runner import ENV_ARGS, ENV_QUICK, is_notebook_lesson, lesson_source
from zerograd.lessons.runner import run as run_script

NOTEBOOK_PACKAGES = ("nbclient", "ipykernel", "jupytext", "nbformat")
NEEDS_NOTEBOOK = (
    "needs nbclient, ipykernel and jupytext (the lessons as notebooks): "
    'pip install "zerograd[notebook]"'
)
HAVE_NOTEBOOK = all(importlib.util.find_spec(name) for name in NOTEBOOK_PACKAGES)

# the lessons draw with matplotlib (the plot extra); without it they print their numbers and say
# the figures were skipped, so the picture checks skip (tests/lessons/test_without_extras.py
# checks that path)
NEEDS_MATPLOTLIB = 'needs matplotlib (the lesson\'s pictures): pip install "zerograd[plot]"'
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason=NEEDS_MATPLOTLIB
)


def run_lesson(name: str, out: Path, *args: str) -> dict:
    """Run lesson ``name`` as ``--quick --out OUT ARGS``; return its ``result`` dict.

    As a notebook in a kernel where it can (see the module's docstring), else as a script. What
    the notebook printed is printed here too, so ``capsys`` sees it as from a script.
    """
    argv = ["--quick", "--out", str(out), *args]
    if HAVE_NOTEBOOK and is_notebook_lesson(lesson_source(name)):
        return run_notebook(name, argv[1:])
    return run_script(name, argv)


def lesson_definitions(name: str) -> SimpleNamespace:
    """The functions, classes, imports and UPPER_CASE constants of lesson ``name``, without
    running its cells: for tests of one function (a lesson in cells runs when imported)."""
    tree = ast.parse(lesson_source(name))
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    body = [
        node
        for node in tree.body
        if isinstance(node, keep) or (isinstance(node, ast.Assign) and _is_constant(node))
    ]
    namespace = {"__name__": f"zerograd.lessons.{name}"}
    exec(compile(ast.Module(body, type_ignores=[]), f"<lesson {name}>", "exec"), namespace)
    return SimpleNamespace(**namespace)


def _is_constant(node: ast.Assign) -> bool:
    """``NAME = ...`` or ``NAME, OTHER = ...`` with UPPER_CASE names of 3 letters or more
    (``W = rng.normal(...)`` is data, not a constant)."""
    names = []
    for target in node.targets:
        names += target.elts if isinstance(target, ast.Tuple) else [target]
    return all(isinstance(n, ast.Name) and n.id.isupper() and len(n.id) > 2 for n in names)


def run_lesson_script(name: str, out: Path, *args: str) -> dict:
    """Run lesson ``name`` as a script only (``--quick --out OUT ARGS``): for tests that run a
    lesson several times, once its notebook run is checked elsewhere (a kernel costs seconds)."""
    return run_script(name, ["--quick", "--out", str(out), *args])


def run_notebook(name: str, args: list, lang: str = "en") -> dict:
    """Execute lesson ``name``'s generated notebook in a python3 kernel with ``ZEROGRAD_QUICK=1``
    and ``ZEROGRAD_ARGS`` set to ``args``; print its text output; return its ``result``."""
    import nbclient
    import nbformat
    from zerograd.lessons.notebook import build

    nb = nbformat.reads(build(name, lang), as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "result.pickle"
        # one cell more, for the test only: hand the result dict back to this process
        nb.cells.append(
            nbformat.v4.new_code_cell(
                f"import pickle\nwith open({str(saved)!r}, 'wb') as f:\n    pickle.dump(result, f)"
            )
        )
        env = {ENV_QUICK: "1", ENV_ARGS: shlex.join(args)}
        before = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the kernel starts with this process's environment
        try:
            client = nbclient.NotebookClient(
                nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}}
            )
            client.execute()
        finally:
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        with open(saved, "rb") as f:
            result = pickle.load(f)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                stream = sys.stdout if output["name"] == "stdout" else sys.stderr
                stream.write(output["text"])
    return result


def assert_png(path: Path) -> None:
    """``path`` is a whole, valid PNG: signature, IHDR, every chunk's CRC, IEND, some pixels."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, kinds = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"{path}: bad CRC in {kind!r}"
        kinds.append(kind)
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 100 and height >= 100, f"{path} is only {width}x{height}"
