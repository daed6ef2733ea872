"""Lesson 12: six lr schedules against their formulas, a random search on a validation split."""

import os

import numpy as np
import pytest
from lesson_helpers import (
    NEEDS_MATPLOTLIB,
    assert_png,
    lesson_definitions,
    needs_matplotlib,
    run_lesson,
    run_script,
)

import zerograd.train
from zerograd.data import Subset
from zerograd.data.datasets import MNIST


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("12_lr_schedules_search")
    return run_lesson("12_lr_schedules_search", out)


def test_every_schedule_follows_its_formula(quick):
    for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"):
        assert quick[f"formula_diff_{name}"] < 1e-15, name


def test_schedule_values_at_key_epochs(quick):
    lrs = quick["lrs"]
    step = lrs["StepLR(30, gamma=0.1)"]
    np.testing.assert_allclose([step[29], step[30], step[60]], [0.1, 0.01, 0.001], rtol=1e-12)
    multi = lrs["MultiStepLR([30, 60, 80])"]
    np.testing.assert_allclose([multi[79], multi[80]], [0.001, 0.0001], rtol=1e-12)
    np.testing.assert_allclose(lrs["ExponentialLR(0.95)"][10], 0.1 * 0.95**10, rtol=1e-12)
    np.testing.assert_allclose(lrs["CosineAnnealingLR(100)"][50], 0.05, rtol=1e-12)
    warm = lrs["LinearLR 10 + cosine 90"]
    np.testing.assert_allclose([warm[0], warm[5], warm[10]], [0.01, 0.055, 0.1], rtol=1e-12)
    assert max(warm) == warm[10]  # the peak is where warm-up hands over to the cosine


def test_plateau_halves_after_eleven_bad_epochs(quick):
    assert quick["plateau_cuts"] == [31, 42, 81, 92]
    np.testing.assert_allclose(quick["lrs"]["ReduceLROnPlateau(0.5, 10)"][-1], 0.1 / 16)


def test_search_draws_in_range_and_sorts_best_first(quick):
    trials = quick["trials"]
    assert len(trials) == 12
    accs = [t["val_acc"] for t in trials]
    assert accs == sorted(accs, reverse=True) and quick["best"] == trials[0]
    assert sorted(t["trial"] for t in trials) == list(range(1, 13))
    for t in trials:
        assert 10**-4 <= t["lr"] <= 10**-0.5 and 1e-8 <= t["weight_decay"] <= 1e-4
    # validation accuracies are multiples of 1/100: 100 validation images
    np.testing.assert_allclose(np.array(accs) * 100, np.round(np.array(accs) * 100), atol=1e-9)


def test_search_finds_a_good_lr_and_it_tests_well(quick):
    best = quick["best"]
    assert best["val_acc"] > 0.7 and best["lr"] > 1e-2  # SGD here wants a large lr
    worst = quick["trials"][-1]
    assert worst["lr"] < 1e-3 and worst["val_acc"] < 0.3  # too small an lr barely moves
    assert quick["test_acc"] > 0.6


def test_a_too_large_lr_is_reported_as_diverged():
    lesson = lesson_definitions("12_lr_schedules_search")
    five = MNIST(train=True, flatten=True, sample=True)
    few = Subset(five, range(200))
    assert lesson.train(0, few, lr=10.0, weight_decay=0.0, epochs=2) is None
    assert lesson.train(0, few, lr=0.05, weight_decay=0.0, epochs=1) is not None


@needs_matplotlib
def test_pictures_are_written(quick):
    for key in ("schedules_png", "search_png"):
        assert_png(quick[key])


def test_test_set_used_once_and_key_lines_printed(tmp_path, monkeypatch, capsys):
    # the full mode without the MNIST files, shortened; a spy counts evaluations per data set
    monkeypatch.delenv("ZEROGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    seen = []
    real_evaluate = zerograd.train.evaluate

    def spy(model, loader, *args, **kwargs):
        dataset = loader.dataset
        seen.append("test" if isinstance(dataset, MNIST) and not dataset.train else "train")
        return real_evaluate(model, loader, *args, **kwargs)

    # the lesson's `from zerograd.train import evaluate` runs after this, so it takes the spy
    monkeypatch.setattr(zerograd.train, "evaluate", spy)
    result = run_script(
        "12_lr_schedules_search", ["--out", str(tmp_path), "--trials", "3", "--epochs", "1"]
    )
    assert seen == ["train"] * 3 + ["test"]  # 3 trials on the validation split, then the test
    out = capsys.readouterr().out
    # one line, last, says the full set was skipped and how to get it
    assert out.splitlines()[-1].startswith("skipped: the full MNIST set (no MNIST files in")
    assert "Part 1: the lr of SGD(lr=0.1) over 100 epochs under six schedules" in out
    assert "ReduceLROnPlateau halved the lr at epochs [31, 42, 81, 92]" in out
    assert "Part 2: random search, 3 trials of 1 epochs" in out
    assert "400 to train on, 100 to validate on (random_split)" in out
    assert "The test set is NOT used to choose" in out
    assert "top 5 of 3 trials" in out and "tested once on 1000 test images" in out
    assert f"test accuracy = {result['test_acc']:.4f}" in out
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert_png(result["search_png"])


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the MNIST files: set ZEROGRAD_DATA to a folder holding mnist/",
)
def test_full_mnist_search_and_test_once(tmp_path, capsys):
    result = run_script(
        "12_lr_schedules_search", ["--out", str(tmp_path), "--trials", "4", "--epochs", "10"]
    )
    out = capsys.readouterr().out
    assert "500 training images of MNIST" in out and "tested once on 10000 test images" in out
    assert result["best"]["lr"] > 1e-2 and result["best"]["val_acc"] > 0.6
    assert result["test_acc"] > 0.6
