"""Lesson 14: the RNN that adds, by hand and with nn.RNN; gradients agree; all pairs right."""

import numpy as np
import pytest
from lesson_helpers import assert_png, lesson_definitions, needs_matplotlib, run_lesson

lesson = lesson_definitions("14_binary_addition")  # its functions, without running it


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("14_binary_addition", tmp_path_factory.mktemp("14"))


def test_by_hand_adds_every_pair_within_ten_thousand_sums(quick):
    assert quick["hand_first"] is not None and quick["hand_first"] <= 10_000
    assert quick["hand_final"] == 1.0


def test_nn_rnn_adds_every_pair_within_ten_thousand_sums(quick):
    assert quick["rnn_first"] is not None and quick["rnn_first"] <= 10_000
    assert quick["rnn_final"] == 1.0


def test_hand_written_bptt_equals_autograd(quick):
    assert quick["gradient_difference"] < 1e-12


@needs_matplotlib
def test_picture(quick):
    assert_png(quick["png"])


def test_bptt_matches_finite_differences():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s) for s in ((2, 4), (4, 4), (4, 1))]
    X = rng.integers(0, 2, (3, 8, 2)).astype(float)
    T = rng.integers(0, 2, (3, 8)).astype(float)
    _, grads = lesson.backprop_through_time(params, X, T)
    eps = 1e-6
    for p, g in zip(params, grads):
        i = (1, 0) if p.shape[0] > 1 else (0, 0)
        old = p[i]
        p[i] = old + eps
        up = lesson.backprop_through_time(params, X, T)[0]
        p[i] = old - eps
        down = lesson.backprop_through_time(params, X, T)[0]
        p[i] = old
        assert abs((up - down) / (2 * eps) - g[i]) < 1e-7


def test_all_pairs_and_bits():
    X, sums = lesson.all_pairs()
    assert X.shape == (16384, 8, 2) and sums.max() == 254
    assert (lesson.to_int(X[:, :, 0]) + lesson.to_int(X[:, :, 1]) == sums).all()
