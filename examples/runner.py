"""How a lesson runs: as a script, from ``zerograd lesson``, from the tests, or in Jupyter.

A lesson is a jupytext ``py:percent`` file: markdown cells (``# %% [markdown]``) explain, code
cells (``# %%``) run at the top level, top to bottom, the same way in every setting. Its first
code cell builds an ``argparse`` parser and reads its options with :func:`parse_args`::

    args = parse_args(parser)

which takes

- the command line, run as a script (``python examples/01_perceptron.py --quick``);
- the arguments :func:`run` was given (``zerograd lesson`` and the tests);
- in a Jupyter kernel, where there is no command line: the defaults, ``--quick`` when the
  environment variable ``ZEROGRAD_QUICK`` is 1, and any other options from ``ZEROGRAD_ARGS``
  (e.g. ``ZEROGRAD_ARGS="--seed 1 --out /tmp/pictures"``).

The lesson gathers the numbers it prints into a ``result`` dict at the end; :func:`run` returns
it. Lessons not yet in this form keep a ``main(argv) -> dict``; :func:`run` runs both kinds.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import runpy
import shlex
import sys
from pathlib import Path

__all__ = [
    "ENV_ARGS",
    "ENV_QUICK",
    "EndLesson",
    "is_notebook_lesson",
    "lesson_title",
    "parse_args",
    "run",
]

ENV_QUICK = "ZEROGRAD_QUICK"
ENV_ARGS = "ZEROGRAD_ARGS"
CELL = "# %%"  # the line that starts a cell in the py:percent format

_argv = None  # the arguments of the run in progress, when run() started it


class EndLesson(SystemExit):
    """Raised by a lesson that has nothing more to do here (lesson 16 without its text file),
    after it has said why: a script exits with status 0, :func:`run` returns an empty result.
    (A lesson's cells run at the top level, where ``return`` is not allowed.)"""

    def __init__(self):
        super().__init__(0)


def lesson_source(name: str) -> str:
    """The source text of lesson ``name`` (e.g. ``01_perceptron``), without running it."""
    spec = importlib.util.find_spec(f"zerograd.lessons.{name}")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no lesson {name!r} in zerograd.lessons")
    return spec.loader.get_source(spec.name)


def is_notebook_lesson(source: str) -> bool:
    """Whether a lesson's source is in cells (``# %%`` lines), which makes it a notebook."""
    return any(line.startswith(CELL) for line in source.splitlines())


def lesson_title(source: str) -> str:
    """A lesson's title: its first markdown heading (``# # Lesson 1: ...``) in a lesson made of
    cells, else the first line of its module docstring. Reads the text only; runs nothing."""
    if is_notebook_lesson(source):
        for line in source.splitlines():
            if line.startswith("# #"):
                return line.lstrip("# ").strip()
        return ""
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _in_kernel() -> bool:
    """Whether this is a Jupyter kernel rather than a command line (IPython's ``%run script
    ARGS`` sets sys.argv to the script's, so it counts as a command line)."""
    return "ipykernel" in Path(sys.argv[0]).as_posix() if sys.argv else False


def parse_args(parser):
    """The lesson's options: from :func:`run`, the command line, or (in a Jupyter kernel)
    ``ZEROGRAD_QUICK`` and ``ZEROGRAD_ARGS``. See the module's docstring."""
    if _argv is not None:
        return parser.parse_args(_argv)
    if not _in_kernel():
        return parser.parse_args()
    argv = shlex.split(os.environ.get(ENV_ARGS, ""))
    if os.environ.get(ENV_QUICK, "0") not in ("", "0"):
        argv.insert(0, "--quick")
    return parser.parse_args(argv)


def show(*paths) -> None:
    """Show the pictures in the notebook when the lesson runs in Jupyter; as a script the lesson
    prints their paths instead, so this does nothing there."""
    if _in_kernel():
        from IPython.display import Image, display

        for path in paths:
            display(Image(filename=str(path)))


def run(name: str, argv=()) -> dict:
    """Run lesson ``name`` with the command-line arguments ``argv``; return its ``result``.

    A lesson in cells runs as ``python examples/NAME.py ARGV`` would (``__name__`` is
    ``"__main__"``); an older one through its ``main(argv)``.
    """
    global _argv
    if not is_notebook_lesson(lesson_source(name)):
        return importlib.import_module(f"zerograd.lessons.{name}").main(list(argv))
    outer, _argv = _argv, [str(a) for a in argv]
    try:
        namespace = runpy.run_module(f"zerograd.lessons.{name}", run_name="__main__")
    except EndLesson:
        return {}  # the lesson ended early on purpose (lesson 16 without its text file)
    finally:
        _argv = outer
    return namespace["result"]
