"""Lesson 10: activation histograms per weight initialisation and MNIST loss per init."""

import math
import os

import numpy as np
import pytest
from lesson_helpers import (
    NEEDS_MATPLOTLIB,
    assert_png,
    needs_matplotlib,
    run_lesson,
    run_script,
)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("10_weight_init")
    return run_lesson("10_weight_init", out)


def test_weight_std_matches_the_formulas(quick):
    expected = {"std 1": 1.0, "std 0.01": 0.01, "Xavier": 0.1, "He": math.sqrt(0.02)}
    for name, std in expected.items():
        formula, drawn = quick[f"weight_std_{name}"]
        np.testing.assert_allclose(formula, std, rtol=1e-12)
        np.testing.assert_allclose(drawn, std, rtol=0.03)  # 10,000 draws: ~0.7% off


def test_sigmoid_saturates_collapses_or_spreads(quick):
    std1, small, xavier = (quick[f"act_std_sigmoid_{n}"] for n in ("std 1", "std 0.01", "Xavier"))
    assert min(std1) > 0.4  # saturated: piled up at 0 and 1
    assert max(small[1:]) < 0.02  # every unit outputs about 0.5: no expressive power
    assert all(0.1 < s < 0.3 for s in xavier)  # spread out at every layer


def test_relu_explodes_vanishes_or_stays_steady(quick):
    std1, small, xavier, he = (
        quick[f"act_std_relu_{n}"] for n in ("std 1", "std 0.01", "Xavier", "He")
    )
    # N(0, 1) weights scale the signal by about sqrt(100 / 2) ~ 7 per layer; N(0, 0.01^2) by 1/14
    assert all(b > 5 * a for a, b in zip(std1, std1[1:])), std1
    assert all(b < a / 5 for a, b in zip(small, small[1:])), small
    assert small[-1] < 1e-4
    assert xavier[-1] < 0.5 * xavier[0]  # Xavier shrinks under ReLU
    assert all(0.6 < s < 1.2 for s in he), he  # He keeps the scale


def test_mnist_he_learns_best_and_small_std_barely(quick):
    small, xavier, he = (quick[f"loss_{n}"] for n in ("std 0.01", "Xavier", "He"))
    assert small > 2.28  # still log(10) = 2.3026: the signal vanishes before the output
    assert he < xavier < small
    assert he < 1.0 and quick["accuracy_He"] > 0.7
    np.testing.assert_allclose(quick["accuracy_std 0.01"], 0.1, atol=0.05)


@needs_matplotlib
def test_pictures_are_written(quick):
    for key in ("sigmoid_png", "relu_png", "loss_png"):
        assert_png(quick[key])


def test_prints_the_key_lines_and_falls_back_to_the_sample(tmp_path, monkeypatch, capsys):
    # the full mode without the MNIST files: the same lines, on the sample, saying so
    monkeypatch.delenv("ZEROGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    run_script("10_weight_init", ["--out", str(tmp_path), "--iterations", "2"])
    out = capsys.readouterr().out
    assert "Xavier    formula 0.1000" in out and "He        formula 0.1414" in out
    assert "sigmoid: activation std per layer" in out and "relu: activation std per layer" in out
    # one line, last, says the full set was skipped and how to get it
    assert out.splitlines()[-1].startswith("skipped: the full MNIST set (no MNIST files in")
    assert "Part 2: 2 iterations of SGD (lr 0.01, batch 128) on the MNIST sample" in out
    for name in ("std 0.01", "Xavier", "He"):
        assert f"\n  {name} " in out
    assert "final loss" in out
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert "Pictures:" in out


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the MNIST files: set ZEROGRAD_DATA to a folder holding mnist/",
)
def test_full_mnist_he_beats_xavier_beats_small(tmp_path, capsys):
    result = run_script("10_weight_init", ["--out", str(tmp_path), "--iterations", "200"])
    assert "on MNIST" in capsys.readouterr().out
    assert result["loss_He"] < result["loss_Xavier"] < result["loss_std 0.01"]
    assert result["loss_std 0.01"] > 2.28
