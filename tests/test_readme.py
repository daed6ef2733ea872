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
