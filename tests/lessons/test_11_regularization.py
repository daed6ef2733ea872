"""Lesson 11: overfitting 300 images, weight decay and dropout narrowing the gap, batch norm."""

import os

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
    out = tmp_path_factory.mktemp("11_regularization")
    return run_lesson("11_regularization", out)


def test_weight_decay_is_the_books_l2_penalty(quick):
    # SGD(weight_decay=0.1) and loss + 0.5 * 0.1 * sum(W^2): the same step up to float32 rounding
    assert quick["weight_decay_step_difference"] < 1e-6


def test_the_plain_net_overfits(quick):
    train, test = quick["train_acc_no"], quick["test_acc_no"]
    assert train > 0.95  # nearly every one of the 300 training images
    assert test < train - 0.15  # far fewer of the test images


def test_weight_decay_and_dropout_each_narrow_the_gap(quick):
    gap = {k: quick[f"train_acc_{k}"] - quick[f"test_acc_{k}"] for k in ("no", "weight", "dropout")}
    assert gap["weight"] < gap["no"] - 0.03, gap
    assert gap["dropout"] < gap["no"] - 0.03, gap
    # they narrow it by fitting the training set less well, not by magic
    assert quick["train_acc_weight"] < quick["train_acc_no"]
    assert quick["train_acc_dropout"] < quick["train_acc_no"]


def test_batch_norm_learns_faster_at_every_init(quick):
    for key in ("he", "std0.1", "std0.01"):
        assert quick[f"bn_half_{key}"] > quick[f"plain_half_{key}"] + 0.1, key
        assert quick[f"bn_acc_{key}"] > quick[f"plain_acc_{key}"] + 0.1, key


def test_tiny_init_only_learns_with_batch_norm(quick):
    # N(0, 0.01^2) weights through 6 layers: the signal vanishes, the plain net guesses one class
    assert quick["plain_acc_std0.01"] < 0.2
    assert quick["bn_acc_std0.01"] > 0.9


@needs_matplotlib
def test_pictures_are_written(quick):
    for key in ("overfitting_png", "batch_norm_png"):
        assert_png(quick[key])


def test_prints_the_key_lines_and_falls_back_to_the_sample(tmp_path, monkeypatch, capsys):
    # the full mode without the MNIST files, shortened: the same lines, on the sample, saying so
    monkeypatch.delenv("ZEROGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    result = run_script(
        "11_regularization", ["--out", str(tmp_path), "--epochs", "2", "--bn-epochs", "2"]
    )
    out = capsys.readouterr().out
    # one line, last, says the full set was skipped and how to get it
    assert out.splitlines()[-1].startswith("skipped: the full MNIST set (no MNIST files in")
    assert "Part 1: a 7-layer MLP (784-100x6-10) on 300 training images of the MNIST sample" in out
    assert "2 epochs of SGD (lr 0.01, batch 100), 1000 test images" in out
    assert "SGD(weight_decay=0.1) vs loss + 0.5 * 0.1 * sum(W^2)" in out
    for name in ("no regularisation", "weight decay 0.1", "dropout 0.2"):
        assert f"\n  {name} " in out
    assert "Part 2: batch norm" in out and "20 iterations of SGD" in out
    for label in ("He", "N(0, 0.1^2)", "N(0, 0.01^2)"):
        assert f"\n  {label} " in out
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert "Pictures:" in out
    assert_png(result["overfitting_png"])


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the MNIST files: set ZEROGRAD_DATA to a folder holding mnist/",
)
def test_full_mnist_batch_norm_and_all_test_images(tmp_path, capsys):
    result = run_script(
        "11_regularization", ["--out", str(tmp_path), "--epochs", "1", "--bn-epochs", "5"]
    )
    out = capsys.readouterr().out
    assert "300 training images of MNIST" in out and "10000 test images" in out
    # 50 iterations: batch norm ahead at He init, and the only one learning from N(0, 0.01^2)
    assert result["bn_acc_he"] > result["plain_acc_he"] + 0.1
    assert result["plain_acc_std0.01"] < 0.2 < 0.5 < result["bn_acc_std0.01"]
