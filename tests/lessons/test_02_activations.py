"""Lesson 2: activations, their autograd derivatives, and linear layers collapsing into one."""

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson


def test_activations_lesson(tmp_path, capsys):
    r = run_lesson("02_activations", tmp_path)
    np.testing.assert_allclose(r["sigmoid_1"], 0.7310585786, rtol=1e-6)
    np.testing.assert_allclose(r["sigmoid_2"], 0.8807970780, rtol=1e-6)
    # derivatives at x = -2, -1, 0, 1, 2 from autograd, against the values on paper
    d = r["derivatives"]
    s = 1 / (1 + np.exp(-np.array([-2.0, -1.0, 0.0, 1.0, 2.0])))
    np.testing.assert_allclose(d["sigmoid"], s * (1 - s), rtol=1e-6)
    np.testing.assert_allclose(d["tanh"], 1 - np.tanh([-2.0, -1.0, 0.0, 1.0, 2.0]) ** 2, rtol=1e-6)
    np.testing.assert_array_equal(d["step"], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(d["ReLU"], [0, 0, 0, 1, 1])
    np.testing.assert_allclose(d["leaky ReLU (0.1)"], [0.1, 0.1, 0.1, 1, 1], rtol=1e-6)
    np.testing.assert_array_equal(d["identity"], [1, 1, 1, 1, 1])
    assert r["max_formula_error"] < 1e-6
    # three Linear layers are one Linear (float32 rounding only); a ReLU between them breaks it
    assert r["linear_max_diff"] < 1e-5
    assert r["relu_max_diff"] > 1e-2
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    (png,) = r["pngs"]
    assert_png(png)
    out = capsys.readouterr().out
    assert "sigmoid(1.0) = 0.7311" in out
    assert "sigmoid(2.0) = 0.8808" in out
    assert "max |deep - one layer|" in out
    assert "depth buys nothing" in out
