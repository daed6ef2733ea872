"""zerograd generate, on a small language model the test writes itself."""

import pytest
from cli_helpers import fails

import zerograd as zg
from zerograd import models
from zerograd.cli import main
from zerograd.data.text import CharVocab


@pytest.fixture
def weights(tmp_path):
    zg.manual_seed(0)
    vocab = CharVocab("ROME: abcdfg\n")
    model = models.CharLSTM(len(vocab), embedding_dim=4, hidden_size=8)
    path = tmp_path / "char_lstm.safetensors"
    models.save_language_model(model, vocab, path)
    return path


def test_generate_prints_the_prompt_and_its_continuation(weights, capsys):
    assert main(["generate", "--weights", str(weights), "--length", "40", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("ROMEO:") and len(first.rstrip("\n")) >= 40
    main(["generate", "--weights", str(weights), "--length", "40", "--seed", "3"])
    assert capsys.readouterr().out == first  # the same seed, the same text


def test_generate_errors(weights, tmp_path):
    fails(["generate", "--weights", tmp_path / "none.safetensors"], "not found; train a model", 1)
    fails(["generate", "--weights", weights, "--prompt", "XYZ"], "not in the vocabulary", 1)
    plain = tmp_path / "plain.safetensors"
    zg.save({"w": zg.ones(2)}, plain)
    fails(["generate", "--weights", plain], "not a character language model", 1)


def test_generate_from_the_shipped_model(capsys):
    assert main(["generate", "--pretrained", "char-lstm-shakespeare", "--length", "30"]) == 0
    assert capsys.readouterr().out.startswith("ROMEO:")
    fails(["generate"], "give --weights FILE .* or --pretrained", 2)
