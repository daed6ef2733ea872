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


@pytest.mark.parametrize("name", list(models.PRETRAINED))
def test_every_shipped_file_exists_matches_its_checksum_and_loads(name):
    info = models.pretrained_info(name)
    assert info["model"] in models.ZOO and 0.5 < float(info["test_accuracy"]) <= 1
    assert info["command"].startswith("zerograd train")
    model = models.pretrained(name)
    assert not model.training
    assert name in P.SHA256


def test_sample_accuracy_of_simple_cnn():
    test = MNIST(train=False, sample=True)
    result = evaluate(models.pretrained("simple-cnn-mnist"), DataLoader(test, batch_size=500))
    assert result["accuracy"] > 0.975


@pytest.mark.parametrize("name", list(models.PRETRAINED))
def test_full_test_set_accuracy_is_the_recorded_one(name):
    info = models.pretrained_info(name)
    dataset = info["dataset"]
    if find_mnist_files(dataset) is None:
        pytest.skip(f"the {dataset} files are not in ZEROGRAD_DATA (set it to ../shared/data)")
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
