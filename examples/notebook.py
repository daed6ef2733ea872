"""A lesson as a Jupyter notebook: ``zerograd lesson NAME --notebook [DIR] [--lang zh]``.

The lesson's ``.py`` file (jupytext's ``py:percent`` format: ``# %% [markdown]`` and ``# %%``
cells) is the one source; the ``.ipynb`` is generated from it, never edited by hand, and never
kept in git. The same source gives the same bytes every time: cell ids are numbered, and the
notebook's metadata is fixed (the ``python3`` kernel).

Chinese: ``zh/NAME.md`` holds the lesson's markdown cells in Chinese, in the lesson's order, each
started by a line ``<!-- cell -->``; with ``lang="zh"`` they replace the English ones and the
code cells stay as they are. A lesson without that file has no Chinese notebook yet.

Needs jupytext and nbformat (the ``notebook`` extra).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from zerograd.lessons.runner import is_notebook_lesson, lesson_source

__all__ = ["NOTEBOOK_EXTRA", "LANGS", "build", "write", "zh_cells"]

NOTEBOOK_EXTRA = 'pip install "zerograd[notebook]"'
LANGS = ("en", "zh")
ZH_CELL = "<!-- cell -->"  # the line that starts a markdown cell in zh/NAME.md
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _jupytext():
    try:
        import jupytext
    except ImportError:
        raise ImportError(
            f"Notebooks need jupytext: {NOTEBOOK_EXTRA} (or pip install jupytext)."
        ) from None
    return jupytext


def zh_cells(name: str) -> list | None:
    """The Chinese markdown cells of lesson ``name`` from ``zh/NAME.md``, or None without it."""
    path = Path(importlib.util.find_spec("zerograd.lessons").origin).parent / "zh" / f"{name}.md"
    if not path.is_file():
        return None
    cells, current = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() == ZH_CELL:
            current = []
            cells.append(current)
        elif current is not None:
            current.append(line)
    return ["\n".join(lines).strip("\n") for lines in cells]


def build(name: str, lang: str = "en") -> str:
    """Notebook ``name`` (e.g. ``01_perceptron``) as ``.ipynb`` JSON text, in ``lang``.

    Raises
    ------
    ValueError
        The lesson is not in cells yet, ``lang`` is unknown, or the Chinese text has another
        number of markdown cells than the lesson.
    ImportError
        jupytext is missing (the message says what to install).
    """
    if lang not in LANGS:
        raise ValueError(f"notebook: no language {lang!r}; choose one of {', '.join(LANGS)}.")
    source = lesson_source(name)
    if not is_notebook_lesson(source):
        raise ValueError(
            f"lesson {name} is not a notebook yet (it is a plain script, no '# %%' cells); "
            f"run it with zerograd lesson {name}."
        )
    texts = zh_cells(name) if lang == "zh" else None
    if lang == "zh" and texts is None:
        raise ValueError(
            f"lesson {name} has no Chinese notebook yet (no zh/{name}.md beside the lessons); "
            "--lang en gives the English one."
        )
    jupytext = _jupytext()
    nb = jupytext.reads(source, fmt="py:percent")
    if texts is not None:
        markdown = [cell for cell in nb.cells if cell.cell_type == "markdown"]
        if len(texts) != len(markdown):
            raise ValueError(
                f"zh/{name}.md has {len(texts)} markdown cells but lesson {name} has "
                f"{len(markdown)}; they must match one to one."
            )
        for cell, text in zip(markdown, texts):
            cell.source = text
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # numbered, not random: the same lesson gives the same bytes
        cell.metadata = {}
    nb.metadata = {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    return jupytext.writes(nb, fmt="ipynb")


def write(name: str, folder, lang: str = "en") -> Path:
    """Write notebook ``name`` as ``folder/NAME.ipynb`` (``NAME.zh.ipynb`` in Chinese), creating
    the folder; return the path."""
    text = build(name, lang)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{name}.ipynb" if lang == "en" else f"{name}.{lang}.ipynb")
    path.write_text(text, encoding="utf-8")
    return path
