"""Lesson 18: a GRU encoder-decoder rewrites dates as YYYY-MM-DD, without and with attention."""

import math

import numpy as np
import pytest
from lesson_helpers import assert_png, lesson_definitions, needs_matplotlib, run_lesson

import zerograd as zg
import zerograd.functional as F

lesson = lesson_definitions("18_attention")  # its functions, without running it


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("18_attention", tmp_path_factory.mktemp("18"))


def test_both_models_learn_and_attention_wins_clearly(quick):
    chance = quick["chance_loss"]
    for name in ("plain", "attention"):
        losses = quick[f"losses_{name}"]
        assert len(losses) == 250 and np.mean(losses[-20:]) < 0.5 * chance
        assert 0.0 <= quick[f"accuracy_{name}"] <= 1.0
    # after 250 steps attention gets most dates right while the plain model gets almost none
    assert quick["accuracy_attention"] >= 0.5
    assert quick["accuracy_attention"] > quick["accuracy_plain"] + 0.3


def test_answers_are_iso_dates(quick):
    for source, answer in quick["examples"]:
        assert len(answer) == 10 and answer[4] == answer[7] == "-", (source, answer)


def test_attention_by_hand_equals_the_op_and_weights_are_distributions(quick):
    assert quick["attention_difference"] < 1e-6
    w = quick["weights"]
    assert w.shape == (10, len(quick["source"]))
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-5)  # the padding got no weight


@needs_matplotlib
def test_picture(quick):
    assert_png(quick["png"])


def test_encode_pads_on_the_left_and_shift_right_starts_with_start():
    X, Y = lesson.encode(["9/27/94"], ["1994-09-27"])
    assert X.shape == (1, 29) and (X[0, :22] == lesson.PAD).all() and (X[0, 22:] > 0).all()
    assert lesson.decode(Y[0]) == "1994-09-27"
    y_in = lesson.shift_right(Y)
    assert y_in[0, 0] == lesson.START and (y_in[0, 1:] == Y[0, :-1]).all()


def test_attention_by_hand_matches_the_op_with_a_mask():
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    mask = np.ones((2, 1, 5), bool)
    mask[0, 0, :2] = False
    weights, context = lesson.attention_by_hand(q, k, k, mask)
    want = F.scaled_dot_product_attention(
        zg.tensor(q), zg.tensor(k), zg.tensor(k), attn_mask=zg.tensor(mask)
    )
    np.testing.assert_allclose(context, want.data, rtol=1e-12, atol=1e-12)
    assert (weights[0, :, :2] == 0).all() and math.isclose(weights[1].sum(), 3.0)
