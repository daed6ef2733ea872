"""Lesson 3: the book's three-layer network, by raw tensors and by nn.Linear layers."""

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson


def test_forward_pass_lesson(tmp_path, capsys):
    r = run_lesson("03_forward_pass", tmp_path)
    book = [0.31682708, 0.69627909]
    np.testing.assert_allclose(r["y_raw"], book, atol=1e-8)
    np.testing.assert_allclose(r["y_layers"], book, atol=1e-8)
    np.testing.assert_allclose(r["y_layers"], r["y_raw"], rtol=0, atol=1e-12)
    assert r["max_diff"] < 1e-8
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    (png,) = r["pngs"]
    assert_png(png)
    out = capsys.readouterr().out
    assert out.count("y  = (0.31682708, 0.69627909)") == 2
    assert "z1 = (0.57444252, 0.66818777, 0.75026011)" in out
    assert "weight (3, 2) = W1.T" in out
    assert "0.weight, 0.bias, 2.weight, 2.bias, 4.weight, 4.bias" in out
