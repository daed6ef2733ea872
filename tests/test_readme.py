"""The README's Python examples run as written (README and code must not drift apart)."""

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
        pytest.skip("ZEROGRAD_DATA is not set: this README example trains on the full MNIST files")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    if "Square()" in code and "import zerograd as zg" not in code:
        exec("import zerograd as zg", namespace)
    exec(compile(code, f"README.md example {index + 1}", "exec"), namespace)
    if "fit(" in code:
        assert namespace["history"].last["val_accuracy"] > 0.97
        assert (tmp_path / "curves.png").exists() and (tmp_path / "model.safetensors").exists()
