"""Character vocabulary, tiny-shakespeare lookup and checksum, and the BPTT chunk loader."""

import os

import numpy as np
import pytest

from zerograd.data.text import BPTTLoader, CharVocab, find_tiny_shakespeare, tiny_shakespeare


def test_vocab_round_trip_and_sorted_ids():
    text = "To be, or not to be: that is the question.\n"
    vocab = CharVocab.from_text(text)
    assert list(vocab.chars) == sorted(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and vocab.decode(ids) == text
    with pytest.raises(ValueError, match=r"1 characters are not in the vocabulary of .*'Z'"):
        vocab.encode("Zebra")
    with pytest.raises(ValueError, match=r"ids must be in \[0, "):
        vocab.decode([len(vocab)])
    with pytest.raises(ValueError, match="distinct"):
        CharVocab("aa")


def test_bptt_chunks_continue_each_stream():
    ids = np.arange(103)
    loader = BPTTLoader(ids, batch_size=4, seq_len=7)
    streams = ids[:100].reshape(4, 25)
    chunks = list(loader)
    assert len(chunks) == len(loader) == 4  # 24 inputs per stream: 7 + 7 + 7 + 3
    xs = np.concatenate([x.numpy() for x, _ in chunks], axis=1)
    ys = np.concatenate([y.numpy() for _, y in chunks], axis=1)
    np.testing.assert_array_equal(xs, streams[:, :-1])
    np.testing.assert_array_equal(ys, streams[:, 1:])
    assert chunks[-1][0].shape == (4, 3) and chunks[0][0].dtype == np.int64


def test_bptt_loader_errors():
    with pytest.raises(ValueError, match="1-D integer array"):
        BPTTLoader(np.zeros((2, 3), dtype=int), 1, 1)
    with pytest.raises(ValueError, match="seq_len must be a positive int"):
        BPTTLoader(np.arange(10), 2, 0)
    with pytest.raises(ValueError, match="streams of 1 for batch_size=5"):
        BPTTLoader(np.arange(9), 5, 2)


def test_missing_file_lists_the_places_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "nodata"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find_tiny_shakespeare() is None
    with pytest.raises(FileNotFoundError, match=r"(?s)Looked in:.*nodata.*ZEROGRAD_DATA"):
        tiny_shakespeare()


def test_wrong_file_fails_the_checksum(tmp_path):
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("First Citizen:\n")
    with pytest.raises(ValueError, match="not the published file's"):
        tiny_shakespeare(root=tmp_path)
    assert tiny_shakespeare(root=tmp_path, verify=False) == "First Citizen:\n"


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the tiny-shakespeare text: set ZEROGRAD_DATA to a folder holding "
    "tinyshakespeare/input.txt",
)
def test_the_real_text():
    text = tiny_shakespeare()
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    assert len(CharVocab.from_text(text)) == 65
