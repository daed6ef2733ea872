"""mkdocs hooks for the documentation site (mkdocs.yml names this file under ``hooks:``).

- The navigation is built here, not listed in mkdocs.yml: every lesson in ``examples/`` gets a
  page in course order, and an optional page (``docs/tensorboard.md``) appears only when it exists,
  so the strict build never points at a missing file.
- The lessons stay where they are, in ``examples/``: a lesson written as jupytext cells
  (``# %%`` lines) is handed to mkdocs-jupyter as ``lessons/NAME.py`` and rendered as a notebook,
  executed in quick mode (``ZEROGRAD_QUICK=1``; ``ZEROGRAD_DOCS_EXECUTE`` picks which, see
  :func:`executed`; ``ZEROGRAD_DOCS_CACHE=0`` ignores the outputs cached by earlier builds in
  ``.cache/mkdocs-jupyter``); a lesson that is still a plain script gets a page made from its
  docstring, its pictures in ``docs/img/`` and its source.

Build with ``mkdocs build --strict`` (what CI runs) or ``mkdocs serve``.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CELL = "# %%"  # the line that starts a cell in jupytext's py:percent format
OPTIONAL_GUIDES = [("TensorBoard logs", "tensorboard.md")]
GUIDES = [
    ("Runs, resuming and errors", "runs.md"),
    ("Pretrained models", "models.md"),
    ("ONNX export", "onnx.md"),
    ("Inspecting models", "inspect.md"),
    ("Distributed training", "distributed.md"),
]
API = [
    ("zerograd: Tensor and creation", "api/zerograd.md"),
    ("zerograd.autograd", "api/autograd.md"),
    ("zerograd.nn", "api/nn.md"),
    ("zerograd.functional", "api/functional.md"),
    ("zerograd.optim", "api/optim.md"),
    ("zerograd.data", "api/data.md"),
    ("zerograd.io", "api/io.md"),
    ("zerograd.train", "api/train.md"),
    ("zerograd.models", "api/models.md"),
    ("zerograd.onnx", "api/onnx.md"),
    ("zerograd.inspect", "api/inspect.md"),
    ("zerograd.distributed", "api/distributed.md"),
    ("zerograd.testing", "api/testing.md"),
]


def lessons() -> list[Path]:
    """The lesson files in course order: ``examples/NN_topic.py`` (and ``NNb_topic.py``)."""
    return sorted(p for p in EXAMPLES.glob("[0-9]*.py") if re.match(r"\d+[a-z]?_", p.name))


def is_cells(path: Path) -> bool:
    """Whether a lesson is written as jupytext cells, which makes it a notebook."""
    return any(line.startswith(CELL) for line in path.read_text(encoding="utf-8").splitlines())


def lesson_title(path: Path) -> str:
    """The first markdown heading of a lesson in cells, else its docstring's first line."""
    text = path.read_text(encoding="utf-8")
    if is_cells(path):
        for line in text.splitlines():
            if line.startswith("# #"):
                return line.lstrip("# ").strip()
    doc = ast.get_docstring(ast.parse(text)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else path.stem


def executed(paths: list[Path]) -> list[Path]:
    """The notebook lessons to run while building, from ``ZEROGRAD_DOCS_EXECUTE``: unset, ``1`` or
    ``all`` runs every one (quick mode); ``0`` or ``none`` none; else a comma-separated list of
    names or numbers (``01_perceptron,7b``). The others are rendered without their outputs."""
    value = os.environ.get("ZEROGRAD_DOCS_EXECUTE", "all").strip().lower()
    if value in ("", "1", "all", "true", "yes"):
        return list(paths)
    if value in ("0", "none", "false", "no"):
        return []
    asked = {v.strip() for v in value.split(",") if v.strip()}
    number = lambda name: re.match(r"(\d+)([a-z]?)", name).groups()
    wanted = {(int(n), letter) for n, letter in map(number, (a for a in asked if a[0].isdigit()))}
    return [
        p
        for p in paths
        if p.stem in asked
        or (int(number(p.stem)[0]), number(p.stem)[1]) in wanted
        or p.stem.partition("_")[2] in asked
    ]


def on_config(config):
    docs = Path(config["docs_dir"])
    guides = GUIDES + [(title, page) for title, page in OPTIONAL_GUIDES if (docs / page).exists()]
    lesson_pages = [{lesson_title(p): f"lessons/{p.stem}.md"} for p in lessons()]
    for entry, path in zip(lesson_pages, lessons()):
        if is_cells(path):
            (title,) = entry
            entry[title] = f"lessons/{path.stem}.py"
    config["nav"] = [
        {"Home": "index.md"},
        {"Course": [{"The course, stop by stop": "course.md"}] + lesson_pages},
        {"Guides": [{title: page} for title, page in guides]},
        {"API reference": [{title: page} for title, page in API]},
        {"Results": "results.md"},
        {"PyTorch conformance": "conformance.md"},
        {"Reliability": "reliability.md"},
        {"中文": [{"首页": "zh/index.md"}, {"课程": "zh/course.md"}]},
    ]
    jupyter = config["plugins"].get("mkdocs-jupyter")
    if jupyter is not None:
        notebooks = [p for p in lessons() if is_cells(p)]
        run = executed(notebooks)
        jupyter.config["execute"] = bool(run)
        jupyter.config["execute_ignore"] = [f"examples/{p.name}" for p in notebooks if p not in run]
        if os.environ.get("ZEROGRAD_DOCS_CACHE", "1") == "0":
            jupyter.config["cache"] = False
        if run:
            os.environ.setdefault("ZEROGRAD_QUICK", "1")  # the kernel inherits it: quick mode
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which picks up the notebook lessons
def on_files(files, config):
    docs = Path(config["docs_dir"])
    for path in lessons():
        if is_cells(path):
            files.append(File.generated(config, f"lessons/{path.name}", abs_src_path=str(path)))
        else:
            files.append(
                File.generated(config, f"lessons/{path.stem}.md", content=_page(path, docs))
            )
    return files


def on_page_markdown(markdown, page, config, files):
    # In table rows outside code spans, "a[0]['step']" would read as a reference link to
    # mkdocs-autorefs (the reliability tables quote error messages): escape the second bracket.
    # A link to a lesson's page may say lessons/NAME.md whether the lesson is a notebook yet or not
    notebooks = {p.stem for p in lessons() if is_cells(p)}
    markdown = re.sub(
        r"\]\(((?:\.\./)*lessons/)([\w]+)\.md([#)])",
        lambda m: f"]({m[1]}{m[2]}.{'py' if m[2] in notebooks else 'md'}{m[3]}",
        markdown,
    )
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("|") and "][" in line:
            parts = line.split("`")
            parts[::2] = [part.replace("][", "]\\[") for part in parts[::2]]
            lines[i] = "`".join(parts)
    return "\n".join(lines)


def on_nav(nav, config, files):
    # mkdocs-jupyter wraps each notebook lesson in a NotebookFile that forgets where a generated
    # file's source is (it recomputes it from the docs folder); give it back the lesson's path
    for file in files:
        inner = getattr(file, "file", None)
        if inner is not None and file.src_uri.startswith("lessons/"):
            file.__dict__["abs_src_path"] = inner.abs_src_path
    return nav


def _page(path: Path, docs: Path) -> str:
    """A plain-script lesson as a page: its docstring, its pictures and its source."""
    text = path.read_text(encoding="utf-8")
    doc = (ast.get_docstring(ast.parse(text)) or path.stem).strip()
    title, _, body = doc.partition("\n")
    number = re.match(r"\d+[a-z]?", path.stem)[0]
    pictures = sorted(docs.glob(f"img/{number}_*.png"))
    lines = [f"# {title}", "", body.strip().replace("``", "`"), ""]
    lines += [f"![{p.stem}](../img/{p.name})" for p in pictures]
    lines += [
        "",
        "## Run it",
        "",
        "```bash",
        f"zerograd lesson {path.stem}            # or: python examples/{path.name}",
        f"zerograd lesson {path.stem} --quick    # a short run",
        "```",
        "",
        "The walk-through with every output is in [the course](../course.md).",
        "",
        f"## The source: `examples/{path.name}`",
        "",
        "```python",
        text.rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)
