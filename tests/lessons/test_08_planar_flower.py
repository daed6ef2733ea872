"""Lesson 8: logistic regression vs a shallow tanh net on the planar flower; symmetric inits."""

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("08_planar_flower", tmp_path_factory.mktemp("08_planar_flower"))


def test_a_line_cannot_separate_the_petals(quick):
    assert quick["iterations"] == 2000
    assert 0.35 < quick["logreg_accuracy"] < 0.6  # about a coin flip


def test_a_hidden_layer_of_four_bends_around_them(quick):
    assert quick["accuracy_n_h_4"] >= 0.85
    assert quick["table"][4] == quick["accuracy_n_h_4"]


def test_hidden_size_table(quick):
    table = quick["table"]
    assert sorted(table) == [1, 2, 3, 4, 5, 20, 50]
    # one or two tanh units carve too few regions; three or more find the petals
    assert max(table[1], table[2]) < 0.8
    for n_h in (3, 4, 5, 20, 50):
        assert table[n_h] >= 0.85, n_h


def test_equal_initial_weights_stay_equal(quick):
    spread, acc = quick["init_row_spread"], quick["init_accuracy"]
    np.testing.assert_array_equal(quick["zero_init_hidden_weights"], 0.0)  # W1 never moves
    assert spread["zeros"] == 0.0
    assert spread["constant"] < 1e-6  # learns, but all 4 units remain one unit
    assert spread["small"] > 0.1  # random starts break the symmetry
    assert acc["zeros"] == 0.5  # sigmoid(0) = 0.5 everywhere: one class for every point
    assert acc["constant"] < 0.8
    assert acc["small"] == quick["accuracy_n_h_4"]


def test_pngs_and_printed_lines(tmp_path, capsys):
    r = run_lesson("08_planar_flower", tmp_path)
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert r["pngs"] == [r["boundaries_png"], r["hidden_sizes_png"]]
    for png in r["pngs"]:
        assert_png(png)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boundaries.png", "hidden_sizes.png"]
    out = capsys.readouterr().out
    assert "planar flower: 400 points, 200 of class 0, 200 of 1" in out
    assert "logistic regression: training accuracy" in out
    assert "2-4-1 tanh network:  training accuracy" in out
    assert "zeros                   50.00%  True" in out
    assert " n_h  accuracy    cost" in out
