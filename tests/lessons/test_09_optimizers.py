"""Lesson 9: optimizer paths on x^2/20 + y^2 and MNIST loss curves per optimizer."""

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

NAMES = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "AdamW")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("09_optimizers")
    return run_lesson("09_optimizers", out)


def test_sgd_path_is_the_closed_form(quick):
    # plain SGD on x^2/20 + y^2 scales x by (1 - lr/10) and y by (1 - 2 lr) at every step
    x, y, value = quick["bowl_SGD"]
    np.testing.assert_allclose(x, -7.0 * (1 - 0.95 / 10) ** 30, rtol=1e-12)
    np.testing.assert_allclose(y, 2.0 * (1 - 2 * 0.95) ** 30, rtol=1e-12)
    np.testing.assert_allclose(value, x**2 / 20 + y**2, rtol=1e-12)
    assert quick["gap_sgd"] < 1e-12 and quick["gap_momentum"] < 1e-12


def test_every_optimizer_goes_down_the_bowl(quick):
    start = (-7.0) ** 2 / 20 + 2.0**2
    for name in NAMES:
        x, y, value = quick[f"bowl_{name}"]
        np.testing.assert_allclose(value, x**2 / 20 + y**2, rtol=1e-12)
        assert value < start / 20, (name, value)
    # AdaGrad's shrinking steps land closest to the minimum in 30 steps (as in the book's figure)
    assert quick["bowl_AdaGrad"][2] == min(quick[f"bowl_{n}"][2] for n in NAMES)


def test_mnist_losses_rank_like_the_book(quick):
    losses = {name: quick[f"loss_{name}"] for name in NAMES}
    assert all(np.isfinite(v) and v < 1.0 for v in losses.values()), losses
    # plain SGD is the slowest; the adaptive and momentum methods are well ahead of it
    assert losses["SGD"] == max(losses.values()), losses
    for name in ("Momentum", "Nesterov", "AdaGrad", "Adam", "AdamW"):
        assert losses[name] < 0.6 * losses["SGD"], losses
    # AdamW at lr 0.001 with decay 0.01 hardly differs from Adam
    assert abs(losses["Adam"] - losses["AdamW"]) < 0.05
    assert quick["accuracy_Adam"] > 0.85 and quick["accuracy_SGD"] > 0.6


@needs_matplotlib
def test_pictures_are_written(quick):
    assert_png(quick["paths_png"])
    assert_png(quick["loss_png"])


def test_prints_the_key_lines(tmp_path, capsys):
    run_lesson("09_optimizers", tmp_path, "--iterations", "5")
    out = capsys.readouterr().out
    assert "Part 1: 30 steps on f(x, y) = x^2/20 + y^2 from (-7.0, 2.0)" in out
    assert "max |optim.SGD path - SGD by hand|" in out
    assert "Part 2: 5 iterations of batch 128 on the MNIST sample (6000 images)" in out
    for name in NAMES:
        assert f"\n  {name} " in out
    assert "final loss" in out
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert "Pictures:" in out


def test_falls_back_to_the_sample_without_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ZEROGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    run_script("09_optimizers", ["--out", str(tmp_path), "--iterations", "2", "--steps", "3"])
    out = capsys.readouterr().out
    # one line, last, says the full set was skipped and how to get it
    assert out.splitlines()[-1].startswith("skipped: the full MNIST set (no MNIST files in")
    assert "on the MNIST sample (6000 images)" in out


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the MNIST files: set ZEROGRAD_DATA to a folder holding mnist/",
)
def test_full_mnist_adam_beats_sgd(tmp_path, capsys):
    result = run_script("09_optimizers", ["--out", str(tmp_path), "--iterations", "100"])
    assert "on MNIST (60000 images)" in capsys.readouterr().out
    assert result["loss_Adam"] < 0.6 * result["loss_SGD"]
