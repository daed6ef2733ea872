"""Lesson 16: a character LSTM trained with truncated BPTT on tiny-shakespeare, and sampling."""

import math

import pytest
from lesson_helpers import run_lesson

from zerograd.data.text import find_tiny_shakespeare

pytestmark = pytest.mark.skipif(
    find_tiny_shakespeare() is None,
    reason="needs the tiny-shakespeare text: set ZEROGRAD_DATA to a folder holding "
    "tinyshakespeare/input.txt",
)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("16_char_lm", tmp_path_factory.mktemp("16"))


def test_one_quick_epoch_learns_far_below_chance(quick):
    assert quick["val_loss"] < 0.75 * math.log(65)  # chance is ln 65 = 4.17 nats per character


def test_samples_continue_the_prompt_with_the_vocabulary(quick):
    for text in quick["samples"].values():
        assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 300


def test_weights_load_and_generate(quick, capsys):
    from zerograd.cli import main

    assert main(["generate", "--weights", quick["weights"], "--length", "50", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("ROMEO:")
