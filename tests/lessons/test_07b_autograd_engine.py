"""Lesson 7b: a scalar autograd engine from nothing, checked against zerograd and trained."""

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson, run_lesson_script


def test_autograd_engine_lesson(tmp_path, capsys):
    r = run_lesson("07b_autograd_engine", tmp_path)
    # the Value engine and zerograd's engine agree on every operation's gradient
    np.testing.assert_allclose(r["expr_grads"], r["expr_zerograd_grads"], rtol=1e-12)
    assert r["expr_grad_diff"] < 1e-12
    # and both agree with central differences, which need no chain rule
    np.testing.assert_allclose(r["expr_grads"], r["expr_numeric_grads"], rtol=1e-6)
    assert r["expr_grads"][0] == pytest.approx(-5.862602802831, abs=1e-9)
    assert r["graph_values"] == 28 and r["graph_operations"] == 20
    # the MLP 3-4-4-1: 41 parameters, its gradients the same as zerograd's twin network's
    assert r["mlp_parameters"] == 41
    assert r["mlp_grad_diff"] < 1e-12 and r["mlp_loss_diff"] < 1e-12
    # training: the loss falls and every example ends on the right side of 0
    assert r["steps"] == 20 and len(r["losses"]) == 20
    assert r["losses"][-1] < 0.01 * r["losses"][0]
    assert r["right"] == 4
    np.testing.assert_allclose(r["predictions"], [1, -1, -1, 1], atol=0.1)
    out = capsys.readouterr().out
    assert "largest difference in the gradients: 0.0e+00" in out
    assert "An MLP 3-4-4-1 of Values: 41 parameters" in out
    assert "4 of 4 on the right side of 0 after 20 steps" in out
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    for png in r["pngs"]:
        assert_png(png)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.png", "loss.png"]


def test_autograd_engine_lesson_seed_changes_the_start_not_the_checks(tmp_path):
    a = run_lesson("07b_autograd_engine", tmp_path / "a", "--seed", "3")  # a notebook
    b = run_lesson_script("07b_autograd_engine", tmp_path / "b", "--seed", "3")  # a script
    assert a["losses"] == b["losses"]  # the same seed repeats exactly, notebook or script
    c = run_lesson_script("07b_autograd_engine", tmp_path / "c", "--seed", "4")
    assert a["losses"][0] != c["losses"][0]
    assert c["mlp_grad_diff"] < 1e-12
