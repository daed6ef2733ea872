"""Lesson 19: one causal attention head by hand, then nanoGPT's character GPT on
tiny-shakespeare (quick: a tiny one), validated on the last 10% of the text, and samples."""

import math

import numpy as np
import pytest
from lesson_helpers import assert_png, lesson_definitions, needs_matplotlib, run_lesson

import zerograd as zg
import zerograd.functional as F
from zerograd.data.text import find_tiny_shakespeare

pytestmark = pytest.mark.skipif(
    find_tiny_shakespeare() is None,
    reason="needs the tiny-shakespeare text: set ZEROGRAD_DATA to a folder holding "
    "tinyshakespeare/input.txt",
)

lesson = lesson_definitions("19_char_gpt")  # its functions, without running it


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("19_char_gpt", tmp_path_factory.mktemp("19"))


def test_attention_by_hand_equals_the_op(quick):
    assert quick["attention_difference"] < 1e-12


def test_quick_training_learns_well_below_chance(quick):
    curve = quick["val_curve"]
    assert curve[0][0] == 0 and curve[-1][0] == quick["iters"] == 150
    assert curve[0][1] > 0.95 * math.log(65)  # a fresh model knows nothing
    assert quick["val_loss"] < 0.75 * math.log(65)
    assert np.mean(quick["train_losses"][-20:]) < np.mean(quick["train_losses"][:20])


def test_samples_continue_the_prompt(quick):
    for text in quick["samples"].values():
        assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 300


@needs_matplotlib
def test_picture(quick):
    assert_png(quick["png"])


def test_causal_head_by_hand_masks_the_future_and_matches_the_op():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5))
    Wq, Wk, Wv = (rng.standard_normal((5, 3)) for _ in range(3))
    y, A = lesson.causal_attention_by_hand(x, Wq, Wk, Wv)
    assert (np.triu(A, k=1) == 0).all() and np.allclose(A.sum(1), 1.0)
    want = F.scaled_dot_product_attention(*(zg.tensor(x @ W) for W in (Wq, Wk, Wv)), is_causal=True)
    np.testing.assert_allclose(y, want.data, rtol=1e-12, atol=1e-12)
