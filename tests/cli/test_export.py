"""zerograd export: shipped weights and run folders written as ONNX files and checked in
onnxruntime."""

import json
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason='zerograd export needs pip install "zerograd[onnx]"')
ort = pytest.importorskip("onnxruntime", reason='needs onnxruntime: pip install "zerograd[onnx]"')

from cli_helpers import call, fails  # noqa: E402

import zerograd as zg  # noqa: E402 (after the skips)
from zerograd import models  # noqa: E402
from zerograd.cli import build_parser, main  # noqa: E402


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture
def run_dir(tmp_path):
    """A folder as zerograd train leaves it: config.json and model.safetensors."""
    zg.manual_seed(0)
    model = models.create("mlp-small")
    run = tmp_path / "run"
    run.mkdir()
    config = {"dataset": "mnist", "model": "mlp-small", "model_config": model.config}
    (run / "config.json").write_text(json.dumps(config))
    zg.save(model.state_dict(), run / "model.safetensors")
    return run, model


def test_export_a_shipped_model(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    assert main(["export", "--format", "onnx", "--pretrained", "mlp-mnist", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {path} (" in out and "pretrained mlp-mnist (MLP)" in out
    assert "ONNX IR 14, opset 28, for any batch size" in out
    assert "input  input    float32 [batch, 1, 28, 28]" in out
    assert "output output   float32 [batch, 10]" in out
    assert "Checked in onnxruntime 1.32.0: on a batch of 3" in out
    x = np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32)
    (y,) = _session(path).run(None, {"input": x})
    expected = models.pretrained("mlp-mnist")(zg.tensor(x)).data
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_export_the_language_model(tmp_path, capsys):
    path = tmp_path / "char.onnx"
    assert main(["export", "--pretrained", "char-lstm-shakespeare", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert "input  input    int64 [batch, time]" in out
    assert "output output   float32 [batch, time, 65]" in out
    assert "output h_n      float32 [2, batch, 384]" in out
    assert "Checked in onnxruntime" in out


def test_export_a_run_folder_next_to_its_weights(run_dir, capsys):
    run, model = run_dir
    assert main(["export", "--run", str(run), "--batch-size", "1"]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {run / 'model.onnx'}" in out and "on a batch of 2" in out
    x = np.random.default_rng(2).random((4, 1, 28, 28), dtype=np.float32)
    (y,) = _session(run / "model.onnx").run(None, {"input": x})
    np.testing.assert_allclose(y, model(zg.tensor(x)).data, rtol=1e-5, atol=1e-5)


def test_fixed_batch_and_older_opset(run_dir, tmp_path, capsys):
    run, _ = run_dir
    path = tmp_path / "fixed.onnx"
    args = ["export", "--run", str(run), "-o", str(path), "--batch-size", "3"]
    assert main([*args, "--no-dynamic-batch", "--opset", "17"]) == 0
    out = capsys.readouterr().out
    assert "ONNX IR 8, opset 17, with fixed sizes" in out
    assert "float32 [3, 1, 28, 28]" in out and "on a batch of 3" in out
    assert _session(path).get_inputs()[0].shape == [3, 1, 28, 28]


def test_the_default_name_of_a_shipped_model_is_its_own(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--pretrained", "simple-cnn-mnist"]) == 0
    assert (tmp_path / "simple-cnn-mnist.onnx").exists()


def test_without_onnxruntime_it_writes_and_says_it_did_not_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    path = tmp_path / "m.onnx"
    assert main(["export", "--pretrained", "mlp-mnist", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime is not installed, so the file was not run" in out
    assert path.exists()


def test_without_onnx_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    fails(["export", "--pretrained", "mlp-mnist", "-o", tmp_path / "m.onnx"],
          r'pip install "zerograd\[onnx\]"', 1)  # fmt: skip
    assert not (tmp_path / "m.onnx").exists()


def test_export_errors(tmp_path):
    fails(["export"], "give --run DIR .* or --pretrained NAME", 2)
    missing = tmp_path / "none" / "m.onnx"
    fails(["export", "--pretrained", "mlp-mnist", "-o", missing], "none does not exist", 2)
    assert not (tmp_path / "none").exists()
    fails(["export", "--pretrained", "mlp-mnist", "--batch-size", "0"], "at least 1, got 0", 2)
    fails(["export", "--run", tmp_path / "no-run"], "no such run folder", 2)
    for bad in (["--format", "tflite"], ["--opset", "29"]):
        fails(["export", "--pretrained", "mlp-mnist", *bad], "invalid choice", 2)


def test_export_never_replaces_a_file_that_is_not_onnx(run_dir, tmp_path):
    run, _ = run_dir
    weights = run / "model.safetensors"
    before = weights.read_bytes()
    fails(
        ["export", "--run", run, "-o", weights], "exists and is not an ONNX file; pass --force", 2
    )
    notes = tmp_path / "notes.onnx"
    notes.write_text("my notes")
    fails(["export", "--pretrained", "mlp-mnist", "-o", notes], "not an ONNX file", 2)
    assert weights.read_bytes() == before and notes.read_text() == "my notes"
    assert call(["export", "--pretrained", "mlp-mnist", "-o", notes, "--force"]).status == 0
    assert call(["export", "--pretrained", "mlp-mnist", "-o", notes]).status == 0  # ONNX now


def test_help_lists_every_option():
    export = build_parser()._subparsers._group_actions[0].choices["export"]
    text = export.format_help()
    for option in (
        "--format {onnx}",
        "--pretrained",
        "--run DIR",
        "-o PATH, --output PATH",
        "--batch-size N",
        "--no-dynamic-batch",
        "--opset N",
        "--force",
        "zerograd[onnx]",
    ):
        assert option in text, option
    assert "export" in build_parser().format_help()
