"""The README's Python examples run as written (README and code must not drift apart)."""

import importlib.util
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    code = BLOCKS[index]
    if "MNIST(" in code and not os.environ.get("ZEROGRAD_DATA"):
        pytest.skip(
            "needs the MNIST files (this README example trains on them): set ZEROGRAD_DATA to a "
            "folder holding mnist/"
        )
    if ".plot(" in code and importlib.util.find_spec("matplotlib") is None:
        pytest.skip('needs matplotlib (this README example draws): pip install "zerograd[plot]"')
    monkeypatch.chdir(tmp_path)
    namespace = {}
    if "Square()" in code and "import zerograd as zg" not in code:
        exec("import zerograd as zg", namespace)
    exec(compile(code, f"README.md example {index + 1}", "exec"), namespace)
    if "fit(" in code:
        assert namespace["history"].last["val_accuracy"] > 0.97
        assert (tmp_path / "curves.png").exists() and (tmp_path / "model.safetensors").exists()


# --- every public name the README shows still lives where the README says ---------------------

TEXT = README.read_text()
CODE = "\n".join(BLOCKS)


def _readme_imports():
    """(module, name or None, alias) for each import line of the README's Python examples."""
    found = []
    for line in CODE.splitlines():
        line = line.split("#")[0].strip()
        if m := re.fullmatch(r"import ([\w.]+)(?: as (\w+))?", line):
            found.append((m[1], None, m[2] or m[1].split(".")[0]))
        elif m := re.fullmatch(r"from ([\w.]+) import (.+)", line):
            for item in m[2].strip("()").split(","):
                name, _, alias = item.strip().partition(" as ")
                found.append((m[1], name, alias or name))
    return list(dict.fromkeys(f for f in found if f[0].split(".")[0] == "zerograd"))


IMPORTS = _readme_imports()
# what each alias stands for: zg -> zerograd, F -> zerograd.functional, nn -> zerograd.nn ...
ALIASES = {"zerograd": "zerograd"} | {
    alias: module if name is None else f"{module}.{name}" for module, name, alias in IMPORTS
}
# dotted uses anywhere in the README (code and prose): zg.viz.graph, F.cross_entropy, nn.Linear
USES = sorted(
    {
        m[1] + "." + m[2].rstrip(".")
        for m in re.finditer(rf"(?<![\w.])({'|'.join(map(re.escape, ALIASES))})\.(\w[\w.]*)", TEXT)
    }
)


def test_the_readme_shows_names_to_check():
    assert ("zerograd.train", "run", "run") in IMPORTS and "zg.viz.graph" in USES
    assert len(IMPORTS) >= 10 and len(USES) >= 30


@pytest.mark.parametrize("module, name, alias", IMPORTS, ids=[f"{m}:{n}" for m, n, _ in IMPORTS])
def test_each_readme_import_still_works(module, name, alias):
    mod = importlib.import_module(module)
    if name is not None:
        assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), (
            f"README: from {module} import {name} no longer works"
        )


@pytest.mark.parametrize("use", USES)
def test_each_name_the_readme_uses_resolves(use):
    alias, *attrs = use.split(".")
    obj = importlib.import_module(ALIASES[alias])
    for i, attr in enumerate(attrs):
        if not hasattr(obj, attr):  # a sub-module not imported by its package
            obj = importlib.import_module(f"{ALIASES[alias]}.{'.'.join(attrs[: i + 1])}")
        else:
            obj = getattr(obj, attr)
