"""The lessons as notebooks: ``zerograd lesson NAME --notebook [DIR] [--lang zh]``.

The ``.py`` lesson is the one source; the ``.ipynb`` is generated (same bytes every time) into a
folder git ignores. The lesson tests run each generated notebook in a kernel (lesson_helpers);
here: the command, determinism, the Chinese cells, the hints when something is missing.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lesson_helpers import HAVE_NOTEBOOK, NEEDS_NOTEBOOK, run_notebook
from zerograd.lessons.notebook import zh_cells
from zerograd.lessons.runner import is_notebook_lesson, lesson_source

from zerograd.cli import main
from zerograd.cli.lesson import lessons

ROOT = Path(__file__).resolve().parents[2]
IN_CELLS = [name for name, _ in lessons() if is_notebook_lesson(lesson_source(name))]
WITH_ZH = [name for name in IN_CELLS if zh_cells(name) is not None]
needs_jupytext = pytest.mark.skipif(not HAVE_NOTEBOOK, reason=NEEDS_NOTEBOOK)


def test_the_new_lesson_sits_after_lesson_7():
    names = [name for name, _ in lessons()]
    assert names.index("07b_autograd_engine") == names.index("07_gender_by_hand") + 1
    assert "07b_autograd_engine" in IN_CELLS


@needs_jupytext
@pytest.mark.parametrize("name", IN_CELLS)
def test_notebook_is_generated_the_same_every_time(name, tmp_path, capsys):
    assert main(["lesson", name, "--notebook", str(tmp_path / "a")]) == 0
    assert main(["lesson", name, "--notebook", str(tmp_path / "b")]) == 0
    a, b = (tmp_path / "a" / f"{name}.ipynb"), (tmp_path / "b" / f"{name}.ipynb")
    assert a.read_bytes() == b.read_bytes()
    assert f"wrote {a}" in capsys.readouterr().out
    nb = json.loads(a.read_text())
    kinds = [cell["cell_type"] for cell in nb["cells"]]
    assert kinds[0] == "markdown" and kinds[1] == "code" and "markdown" in kinds[2:]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert [cell["id"] for cell in nb["cells"]] == [f"cell-{i}" for i in range(len(kinds))]
    assert nb["cells"][0]["source"][0].startswith("# Lesson ")
    assert all(not cell.get("outputs") for cell in nb["cells"])  # written unexecuted


@needs_jupytext
def test_notebook_goes_to_an_ignored_folder_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lesson", "7b", "--notebook"]) == 0
    assert (tmp_path / "runs" / "notebooks" / "07b_autograd_engine.ipynb").is_file()
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a checkout to ask .gitignore")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "runs/notebooks/07b_autograd_engine.ipynb"], cwd=ROOT
    )
    assert ignored.returncode == 0, "runs/notebooks/ must be ignored by git"


@pytest.mark.parametrize("name", WITH_ZH)
def test_chinese_cells_match_the_lesson_one_to_one(name):
    source = lesson_source(name)
    markdown = source.count("# %% [markdown]")
    texts = zh_cells(name)
    assert len(texts) == markdown
    assert all(texts), f"zh/{name}.md has an empty cell"
    assert texts[0].startswith("# 第")


@needs_jupytext
@pytest.mark.parametrize("name", WITH_ZH)
def test_chinese_notebook_keeps_the_code_and_swaps_the_text(name, tmp_path, capsys):
    assert main(["lesson", name, "--notebook", str(tmp_path), "--lang", "zh"]) == 0
    assert main(["lesson", name, "--notebook", str(tmp_path)]) == 0
    zh = json.loads((tmp_path / f"{name}.zh.ipynb").read_text())["cells"]
    en = json.loads((tmp_path / f"{name}.ipynb").read_text())["cells"]
    assert [c["cell_type"] for c in zh] == [c["cell_type"] for c in en]
    for z, e in zip(zh, en):
        if e["cell_type"] == "code":
            assert z["source"] == e["source"]
        else:
            assert z["source"] != e["source"]


@needs_jupytext
def test_the_chinese_notebook_runs_in_a_kernel(tmp_path):
    # the Chinese text changes no code: the same numbers come back
    result = run_notebook("07b_autograd_engine", ["--out", str(tmp_path)], lang="zh")
    assert result["right"] == 4 and result["mlp_grad_diff"] < 1e-12


def test_lesson_in_cells_still_runs_as_a_script(tmp_path):
    # python examples/NAME.py --quick --out DIR, in a fresh interpreter
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "07b_autograd_engine.py"), "--quick", "--out",
         str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "4 of 4 on the right side of 0 after 20 steps" in proc.stdout


def test_notebook_errors_are_one_line_with_the_fix(capsys, monkeypatch, tmp_path):
    assert main(["lesson", "7b", "--notebook", str(tmp_path), "--lang", "fr"]) == 2
    assert "no language 'fr'; choose one of en, zh" in capsys.readouterr().err
    assert main(["lesson", "7b", "--notebook", str(tmp_path), "--bogus"]) == 2
    assert "takes a folder and --lang, got --bogus" in capsys.readouterr().err
    plain = [name for name, _ in lessons() if name not in IN_CELLS]
    if plain:
        assert main(["lesson", plain[0], "--notebook", str(tmp_path)]) == 2
        assert "is not a notebook yet" in capsys.readouterr().err
    no_zh = [name for name in IN_CELLS if name not in WITH_ZH]
    if no_zh:
        assert main(["lesson", no_zh[0], "--notebook", str(tmp_path), "--lang", "zh"]) == 2
        assert "has no Chinese notebook yet" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "jupytext", None)  # as where it is not installed
    assert main(["lesson", "7b", "--notebook", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'Notebooks need jupytext: pip install "zerograd[notebook]"' in err
    assert not list(tmp_path.glob("*.ipynb"))
