"""Lesson 6: numerical gradient vs backpropagation, then training with backprop."""

import os

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson

from zerograd.data.datasets import find_mnist_files


def test_numerical_gradient_lesson_quick(tmp_path, capsys):
    result = run_lesson("06_numerical_gradient", tmp_path)
    out = capsys.readouterr().out

    # TwoLayerNet 784-50-10: 784*50 + 50 + 50*10 + 10 parameters
    assert result["num_parameters"] == 39760
    # quick mode: 200 elements of W1 and W2, every element of b1 and b2
    assert {k: v["checked"] for k, v in result["per_param"].items()} == {
        "W1": 200,
        "b1": 50,
        "W2": 200,
        "b2": 10,
    }
    assert result["checked"] == 460
    for name, errors in result["per_param"].items():
        assert errors["max_rel_error"] < 1e-6, name  # float64: about 1e-8 and below
        assert errors["max_abs_diff"] < 1e-9, name
    np.testing.assert_allclose(
        result["max_rel_error"], max(v["max_rel_error"] for v in result["per_param"].values())
    )

    # the extrapolation is per-element time x every parameter; the ratio follows from it
    np.testing.assert_allclose(
        result["numerical_seconds"], result["numerical_seconds_per_element"] * 39760
    )
    np.testing.assert_allclose(
        result["ratio"], result["numerical_seconds"] / result["backprop_seconds"]
    )
    assert result["iterations"] == 10000

    # quick training: 2 epochs on 6,000 images
    assert result["is_sample"] is (find_mnist_files("mnist") is None)
    assert result["train_size"] == 6000 and result["epochs"] == 2
    assert len(result["val_accuracy"]) == 2
    assert result["test_accuracy"] >= 0.85

    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert [os.path.basename(p) for p in result["pngs"]] == [
        "06_agreement.png",
        "06_timing.png",
        "06_accuracy.png",
    ]
    for path in result["pngs"]:
        assert_png(path)

    assert "39,760 parameters" in out
    for label in ("W1 (0.weight)", "b1 (0.bias)", "W2 (2.weight)", "b2 (2.bias)"):
        assert label in out
    assert "460 elements checked" in out and "they agree" in out
    assert "(extrapolated)" in out and "10,000 iterations" in out
    assert f"test accuracy {result['test_accuracy']:.4f}" in out
