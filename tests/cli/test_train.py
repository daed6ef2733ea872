"""zerograd train / evaluate / predict on the embedded sample (no data files needed)."""

import csv
import json

import numpy as np
import pytest
from cli_helpers import call, fails


def train(out, *extra):
    return call(["train", "--out", out, "--no-progress", "--epochs", "1", *extra])


def test_train_falls_back_to_the_sample_and_writes_the_run(no_data):
    out = no_data / "run"
    r = train(out)
    assert r.status == 0, r.err
    assert "uses the small sample embedded in the package" in r.out
    assert "ZEROGRAD_DATA" in r.out and "--download" in r.out
    assert "Test accuracy:" in r.out and "after 1 epoch," in r.out  # not "1 epochs"
    pytest.importorskip("matplotlib", reason='needs matplotlib: pip install "zerograd[plot]"')
    for name in ("model.safetensors", "last.safetensors", "best.safetensors", "config.json",
                 "results.json", "metrics.csv", "curves.png"):  # fmt: skip
        assert (out / name).exists(), name
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] > 0.8  # one epoch on 5,400 images
    assert "embedded MNIST sample" in results["data"]
    assert results["validation"] == "600 held out for validation"
    assert results["best_epoch"] == 1 and 0.8 < results["best_val_accuracy"] <= 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "model.safetensors",
            "last.safetensors",
            "best.safetensors",
            "config.json",
            "results.json",
            "metrics.csv",
            "curves.png",
        ]  # fmt: skip
    )


def test_config_json_is_the_run_configuration_round_tripped(no_data):
    from zerograd.train import RunConfig

    out = no_data / "run"
    assert train(out, "--model", "mlp-small", "--dropout", "0.3", "--weight-decay", "1e-4",
                 "--augment", "shift", "--val-split", "0.2").status == 0  # fmt: skip
    config = RunConfig.load(out / "config.json")
    assert config.model_options == {"dropout": 0.3} and config.weight_decay == 1e-4
    assert config.augment == ["shift"] and config.val_split == 0.2 and config.epochs == 1
    assert RunConfig.from_dict(json.loads((out / "config.json").read_text())) == config
    ckpt = json.loads(load_metadata(out / "last.safetensors")["extra"])
    assert RunConfig.from_dict(ckpt["config"]) == config  # checkpoints carry it too


def load_metadata(path):
    from zerograd.io import load_metadata as read

    return read(path)


def test_metrics_csv_has_epoch_rows_and_step_rows(no_data):
    out = no_data / "run"
    assert train(out, "--sample", "--epochs", "2", "--log-every", "20").status == 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    epochs = [r for r in rows if r["kind"] == "epoch"]
    steps = [r for r in rows if r["kind"] == "step"]
    assert [r["epoch"] for r in epochs] == ["1", "2"]
    assert all(float(r["val_accuracy"]) > 0.5 for r in epochs)
    # 5,400 images / 100 = 54 steps an epoch: rows at 20, 40 and the epoch's last step
    assert [int(r["step"]) for r in steps] == [20, 40, 54, 74, 94, 108]
    assert float(steps[0]["loss"]) > float(steps[-1]["loss"])


def test_no_validation_split_is_possible_and_said(no_data):
    out = no_data / "run"
    r = train(out, "--sample", "--val-split", "0")
    assert r.status == 0 and "no validation split" in r.out
    assert not (out / "best.safetensors").exists()
    assert json.loads((out / "results.json").read_text())["best_val_accuracy"] is None


def test_fashion_mnist_without_files_says_where_it_looked(no_data):
    fails(["train", "--out", no_data / "f", "--dataset", "fashion-mnist"],
          "fashion-mnist files were not found", 1)  # fmt: skip
    assert not (no_data / "f").exists()


def test_evaluate_prints_accuracy_per_class_and_confusion(finished_run):
    r = call(["evaluate", "--run", finished_run, "--sample"])
    assert r.status == 0, r.err
    assert "accuracy" in r.out and "top-5" in r.out and "per-class accuracy:" in r.out
    assert "confusion matrix" in r.out and len(r.out.strip().splitlines()) >= 14


def test_predict_pictures_and_npy(finished_run, tmp_path):
    Image = pytest.importorskip("PIL.Image", reason='needs Pillow: pip install "zerograd[image]"')
    from zerograd.data.datasets import MNIST

    test = MNIST(train=False, sample=True)
    digits = {}
    for i in range(50):
        digits.setdefault(int(test.targets[i]), test.data[i])
    png, npy = tmp_path / "seven.png", tmp_path / "two.npy"
    Image.fromarray((255 - digits[7]).astype(np.uint8)).save(png)  # dark on light: inverted
    np.save(npy, digits[2])
    r = call(["predict", png, npy, "--run", finished_run])
    assert r.status == 0, r.err
    lines = r.out.strip().splitlines()
    assert lines[0].startswith(f"{png}: 7 (") and lines[1].startswith(f"{npy}: 2 (")
    assert "next:" in lines[0]


def test_train_a_cnn_with_augmentation_and_evaluate_the_run(no_data):
    out = no_data / "cnn"
    r = train(out, "--model", "simple-cnn", "--augment", "shift,rotate", "--lr", "0.05")
    assert r.status == 0, r.err
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "simple-cnn" and config["augment"] == ["shift", "rotate"]
    assert json.loads((out / "results.json").read_text())["test_accuracy"] > 0.8
    r = call(["evaluate", "--run", out, "--sample"])
    assert r.status == 0 and "simple-cnn on the embedded MNIST sample" in r.out


def test_evaluate_and_predict_the_shipped_weights(no_data):
    from zerograd.data.datasets import MNIST

    r = call(["evaluate", "--pretrained", "simple-cnn-mnist", "--sample"])
    assert r.out.startswith("pretrained simple-cnn-mnist: simple-cnn on the embedded MNIST sample")
    accuracy = float(r.out.split("accuracy ")[1].split("%")[0])
    assert accuracy > 97.0
    test = MNIST(train=False, sample=True)
    npy = no_data / "digit.npy"
    np.save(npy, test.data[0])
    pytest.importorskip("PIL", reason='needs Pillow: pip install "zerograd[image]"')
    r = call(["predict", npy, "--pretrained", "simple-cnn-mnist"])
    assert r.out.startswith(f"{npy}: {int(test.targets[0])} (")


def test_predict_names_fashion_classes(tmp_path):
    pytest.importorskip("PIL", reason='needs Pillow: pip install "zerograd[image]"')
    from zerograd.data.datasets import FashionMNIST

    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((28, 28)) + np.eye(28))
    r = call(["predict", npy, "--pretrained", "deep-cnn-bn-fashion"])
    assert r.status == 0, r.err
    top = r.out.split(": ", 1)[1].split(" (")[0]
    assert top in FashionMNIST.classes


def test_commands_offer_only_the_pretrained_models_they_can_use():
    r = call(["evaluate", "--help"])
    assert "deep-cnn-mnist" in r.out and "char-lstm-shakespeare" not in r.out
    fails(["evaluate", "--pretrained", "char-lstm-shakespeare"], "invalid choice", 2)
    fails(["predict", "x.png", "--pretrained", "char-lstm-shakespeare"], "invalid choice", 2)


@pytest.mark.parametrize("cmd", ["train", "evaluate", "predict", "generate", "export", "lesson",
                                 "gradcheck"])  # fmt: skip
def test_help(cmd):
    r = call([cmd, "--help"])
    assert r.status == 0 and f"usage: zerograd {cmd}" in r.out and "--debug" in r.out


def test_debug_shows_the_traceback(no_data, monkeypatch):
    argv = ["train", "--out", no_data / "f", "--dataset", "fashion-mnist", "--debug"]
    from zerograd.train import RunError

    with pytest.raises(RunError, match="fashion-mnist files were not found"):
        call(argv)
    monkeypatch.setenv("ZEROGRAD_DEBUG", "1")
    with pytest.raises(RunError):
        call(argv[:-1])
