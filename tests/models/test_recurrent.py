"""RowLSTM, CharLSTM, generate and the language-model files."""

import numpy as np
import pytest

import zerograd as zg
from zerograd import models
from zerograd.data.text import CharVocab


def test_row_lstm_reads_images_or_sequences():
    zg.manual_seed(0)
    model = models.RowLSTM(hidden_size=16)
    x = zg.randn(3, 1, 28, 28)
    np.testing.assert_array_equal(model(x).data, model(x.reshape(3, 28, 28)).data)
    with pytest.raises(ValueError, match=r"RowLSTM: input has shape \(3, 784\)"):
        model(zg.randn(3, 784))


def test_char_lstm_state_carries_a_text_across_chunks():
    zg.manual_seed(0)
    model = models.CharLSTM(11, embedding_dim=5, hidden_size=7, num_layers=2)
    ids = zg.tensor(np.random.default_rng(0).integers(0, 11, (2, 12)))
    whole, _ = model(ids)
    first, state = model(ids[:, :5])
    second, _ = model(ids[:, 5:], state)
    np.testing.assert_allclose(np.concatenate([first.data, second.data], 1), whole.data, atol=1e-6)


def test_generate_is_seeded_greedy_at_zero_and_checks_its_arguments():
    zg.manual_seed(0)
    vocab = CharVocab("abc ")
    model = models.CharLSTM(4, embedding_dim=3, hidden_size=5)
    zg.manual_seed(1)
    one = models.generate(model, vocab, "ab", 20)
    zg.manual_seed(1)
    assert models.generate(model, vocab, "ab", 20) == one
    assert one.startswith("ab") and len(one) == 22 and set(one) <= set(vocab.chars)
    greedy = models.generate(model, vocab, "ab", 10, temperature=0)
    assert greedy == models.generate(model, vocab, "ab", 10, temperature=0)
    with pytest.raises(ValueError, match="prompt must hold"):
        models.generate(model, vocab, "", 5)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        models.generate(model, vocab, "a", 5, temperature=-1)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        models.generate(model, vocab, "xyz", 5)


def test_language_model_file_round_trip(tmp_path):
    zg.manual_seed(0)
    vocab = CharVocab("abc ")
    model = models.CharLSTM(4, embedding_dim=3, hidden_size=5, num_layers=2)
    path = tmp_path / "lm.safetensors"
    models.save_language_model(model, vocab, path, val_loss=1.23)
    again, vocab2, meta = models.load_language_model(path)
    assert vocab2.chars == vocab.chars and meta["val_loss"] == "1.23" and not again.training
    x = zg.tensor([[0, 1, 2]])
    np.testing.assert_array_equal(again(x)[0].data, model.eval()(x)[0].data)
    zg.save(model.state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="not a character language model's weights"):
        models.load_language_model(tmp_path / "plain.safetensors")
