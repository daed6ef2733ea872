"""zerograd train / evaluate / predict on the embedded sample (no data files needed)."""

import json
import struct
import zlib

import numpy as np
import pytest

from zerograd.cli import main
from zerograd.io import load


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """A machine with no MNIST files anywhere: empty ZEROGRAD_DATA and cache."""
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "nodata"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def train(out, *extra):
    return main(["train", "--out", str(out), "--no-progress", "--epochs", "1", *extra])


def test_train_falls_back_to_the_sample_and_writes_the_run(no_data, capsys):
    out = no_data / "run"
    assert train(out) == 0
    text = capsys.readouterr().out
    assert "uses the small sample embedded in the package" in text
    assert "ZEROGRAD_DATA" in text and "--download" in text
    assert "Test accuracy:" in text
    for name in (
        "model.safetensors",
        "last.safetensors",
        "best.safetensors",
        "config.json",
        "results.json",
        "curves.png",
    ):
        assert (out / name).exists(), name
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] > 0.8  # one epoch on 6,000 images
    assert "embedded MNIST sample" in results["data"]


def test_resume_after_a_crash_is_bit_identical_to_an_uninterrupted_run(no_data, monkeypatch):
    from zerograd.train import ModelCheckpoint

    straight, crashed = no_data / "straight", no_data / "crashed"
    args = ["--no-progress", "--epochs", "2", "--sample"]  # default schedule: cosine over 2
    assert main(["train", "--out", str(straight), *args]) == 0

    save_epoch = ModelCheckpoint.on_epoch_end

    def save_then_die(self, trainer, epoch, logs):
        save_epoch(self, trainer, epoch, logs)
        raise KeyboardInterrupt  # the process dies right after epoch 1's checkpoint

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--out", str(crashed), *args])
    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", save_epoch)
    assert not (crashed / "model.safetensors").exists()
    assert main(["train", "--out", str(crashed), *args, "--resume"]) == 0

    a, b = load(straight / "model.safetensors"), load(crashed / "model.safetensors")
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].data, b[k].data)
    ra = json.loads((straight / "results.json").read_text())
    rb = json.loads((crashed / "results.json").read_text())
    assert ra["test_accuracy"] == rb["test_accuracy"] and rb["epochs_run"] == 2


def test_resume_without_a_checkpoint(no_data):
    with pytest.raises(SystemExit, match="no checkpoint at"):
        train(no_data / "fresh", "--resume")


def test_fashion_mnist_without_files_says_where_it_looked(no_data):
    with pytest.raises(SystemExit, match="fashion-mnist files were not found"):
        train(no_data / "f", "--dataset", "fashion-mnist")


def test_evaluate_prints_accuracy_per_class_and_confusion(no_data, capsys):
    out = no_data / "run"
    train(out, "--sample")
    capsys.readouterr()
    assert main(["evaluate", "--run", str(out), "--sample"]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "top-5" in text and "per-class accuracy: 0:" in text
    assert "confusion matrix" in text and len(text.strip().splitlines()) >= 14


def _write_png(path, grey):
    """A minimal 8-bit grey PNG (filter 0 on every row)."""
    h, w = grey.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in grey.astype(np.uint8))

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_predict_png_and_npy(no_data, capsys):
    from zerograd.data.datasets import MNIST

    out = no_data / "run"
    train(out, "--sample", "--epochs", "2")
    test = MNIST(train=False, sample=True)
    digits = {}
    for i in range(50):
        digits.setdefault(int(test.targets[i]), test.data[i])
    png, npy = no_data / "seven.png", no_data / "two.npy"
    _write_png(png, 255 - digits[7])  # dark on light, as people draw: inverted back
    np.save(npy, digits[2])
    capsys.readouterr()
    assert main(["predict", str(png), str(npy), "--run", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{png}: 7 (") and lines[1].startswith(f"{npy}: 2 (")
    assert "next:" in lines[0]


def test_predict_errors(no_data):
    bad = no_data / "big.npy"
    np.save(bad, np.zeros((30, 30)))
    with pytest.raises(SystemExit, match="config.json not found"):
        main(["predict", str(bad), "--run", str(no_data / "nothing")])
    out = no_data / "run"
    train(out, "--sample")
    with pytest.raises(SystemExit, match=r"\(30, 30\); the model needs a 28 x 28"):
        main(["predict", str(bad), "--run", str(out)])
    txt = no_data / "x.txt"
    txt.write_text("hi")
    with pytest.raises(SystemExit, match="give a .png or .npy"):
        main(["predict", str(txt), "--run", str(out)])
    fake = no_data / "fake.png"
    fake.write_bytes(b"not a png at all")
    with pytest.raises(SystemExit, match="not a PNG file"):
        main(["predict", str(fake), "--run", str(out)])


def test_train_a_cnn_with_augmentation_and_evaluate_the_run(no_data, capsys):
    out = no_data / "cnn"
    assert train(out, "--model", "simple-cnn", "--augment", "shift,rotate", "--lr", "0.05") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "simple-cnn" and config["augment"] == "shift,rotate"
    assert config["model_config"]["filters"] == 30
    assert json.loads((out / "results.json").read_text())["test_accuracy"] > 0.8
    capsys.readouterr()
    assert main(["evaluate", "--run", str(out), "--sample"]) == 0
    assert "simple-cnn on the embedded MNIST sample" in capsys.readouterr().out


def test_weight_decay_and_dropout_reach_the_model_and_optimizer(no_data):
    out = no_data / "mlp"
    assert train(out, "--model", "mlp-small", "--dropout", "0.3", "--weight-decay", "1e-4") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_config"]["dropout"] == 0.3 and config["weight_decay"] == 1e-4


def test_train_argument_errors(no_data):
    with pytest.raises(SystemExit, match=r"--augment shift,blur: unknown 'blur'; use .* shift"):
        train(no_data / "r", "--augment", "shift,blur")
    with pytest.raises(SystemExit, match="simple-cnn has no dropout layer"):
        train(no_data / "r", "--model", "simple-cnn", "--dropout", "0.2")
    with pytest.raises(SystemExit, match="--epochs must be at least 1, got 0"):
        train(no_data / "r", "--epochs", "0")


def test_evaluate_and_predict_the_shipped_weights(no_data, capsys):
    from zerograd.data.datasets import MNIST

    assert main(["evaluate", "--pretrained", "simple-cnn-mnist", "--sample"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("pretrained simple-cnn-mnist: simple-cnn on the embedded MNIST sample")
    accuracy = float(text.split("accuracy ")[1].split("%")[0])
    assert accuracy > 97.0
    test = MNIST(train=False, sample=True)
    npy = no_data / "digit.npy"
    np.save(npy, test.data[0])
    assert main(["predict", str(npy), "--pretrained", "simple-cnn-mnist"]) == 0
    assert capsys.readouterr().out.startswith(f"{npy}: {int(test.targets[0])} (")
    with pytest.raises(SystemExit, match="give --run DIR .* or --pretrained NAME"):
        main(["evaluate"])
    with pytest.raises(SystemExit, match="embeds a sample of MNIST only, not fashion-mnist"):
        main(["evaluate", "--pretrained", "deep-cnn-bn-fashion", "--sample"])


@pytest.mark.parametrize("cmd", ["train", "evaluate", "predict"])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0 and f"usage: zerograd {cmd}" in capsys.readouterr().out
