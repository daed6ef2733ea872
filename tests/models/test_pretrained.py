"""Shipped weights: listed, checksummed, loadable, and as accurate as docs/models.md says."""

import shutil

import numpy as np
import pytest

import zerograd as zg
from zerograd import models
from zerograd.data import DataLoader
from zerograd.data.datasets import MNIST, FashionMNIST, find_mnist_files
from zerograd.models import hub as P
from zerograd.train import evaluate

CLASSIFIERS = [n for n in models.PRETRAINED if n != "char-lstm-shakespeare"]


@pytest.mark.parametrize("name", list(models.PRETRAINED))
def test_every_shipped_file_exists_matches_its_checksum_and_loads(name):
    info = models.pretrained_info(name)
    assert info["model"] in models.ZOO and info["command"].startswith("zerograd ")
    if name in CLASSIFIERS:
        assert 0.5 < float(info["test_accuracy"]) <= 1
    else:
        assert 1.0 < float(info["val_loss"]) < 1.55
    model = models.pretrained(name)
    assert not model.training
    assert name in P.SHA256


def test_sample_accuracy_of_simple_cnn():
    test = MNIST(train=False, sample=True)
    result = evaluate(models.pretrained("simple-cnn-mnist"), DataLoader(test, batch_size=500))
    assert result["accuracy"] > 0.975


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_full_test_set_accuracy_is_the_recorded_one(name):
    info = models.pretrained_info(name)
    dataset = info["dataset"]
    if find_mnist_files(dataset) is None:
        pytest.skip(f"needs the {dataset} files: set ZEROGRAD_DATA to a folder holding {dataset}/")
    cls = MNIST if dataset == "mnist" else FashionMNIST
    result = evaluate(models.pretrained(name), DataLoader(cls(train=False), batch_size=1000))
    assert abs(result["accuracy"] - float(info["test_accuracy"])) < 1e-4


def test_damaged_file_and_unknown_name_give_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"no weights named .vgg16.; the package ships mlp-mnist"):
        models.pretrained("vgg16")
    broken = tmp_path / "weights"
    broken.mkdir()
    shutil.copy(P.WEIGHTS_DIR / "simple-cnn-mnist.safetensors", broken)
    data = bytearray((broken / "simple-cnn-mnist.safetensors").read_bytes())
    data[-1] ^= 0xFF  # one flipped weight byte
    (broken / "simple-cnn-mnist.safetensors").write_bytes(bytes(data))
    monkeypatch.setattr(P, "WEIGHTS_DIR", broken)
    with pytest.raises(ValueError, match=r"damaged or was replaced"):
        models.pretrained("simple-cnn-mnist")
    monkeypatch.setattr(P, "WEIGHTS_DIR", tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="missing from this installation"):
        models.pretrained("simple-cnn-mnist")


def test_pretrained_model_predicts_a_digit():
    test = MNIST(train=False, sample=True)
    x, t = test[0]
    logits = models.pretrained("simple-cnn-mnist")(zg.tensor(x.data[None]))
    assert int(np.argmax(logits.data)) == t


def test_char_model_validation_loss_is_the_recorded_one():
    from zerograd import nn
    from zerograd.data.text import BPTTLoader, find_tiny_shakespeare, tiny_shakespeare

    if find_tiny_shakespeare() is None:
        pytest.skip(
            "needs the tiny-shakespeare text: set ZEROGRAD_DATA to a folder holding "
            "tinyshakespeare/input.txt"
        )
    model, vocab, meta = models.load_language_model(models.pretrained_path("char-lstm-shakespeare"))
    ids = vocab.encode(tiny_shakespeare())
    val = BPTTLoader(ids[int(0.9 * len(ids)) :], 16, 100)  # lesson 16's split and loader
    V, ce = len(vocab), nn.CrossEntropyLoss()
    loss = evaluate(
        model, val, lambda o, t: ce(o.reshape(-1, V), t.reshape(-1)), metrics=(), stateful=True
    )["loss"]
    assert abs(loss - float(meta["val_loss"])) < 1e-3 and loss <= 1.55
