"""``zerograd train --tensorboard``, seen as its users see it: a 2-epoch run on the embedded sample
read back by TensorBoard's own reader and by a real ``tensorboard`` server over HTTP; resuming goes
on logging in the same place with each step once; a missing extra is one line, before any work."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
import urllib.parse

import numpy as np
import pytest
from cli_helpers import call, fails
from tensorboard_helpers import get_json, poll_json, tensorboard_server

from zerograd.io import load

NEEDS_EXTRA = 'needs tensorboardX and Pillow (the writer): pip install "zerograd[tensorboard]"'
NEEDS_READER = "needs tensorboard (TensorBoard's reader and server): pip install tensorboard"
ARGS = ["--sample", "--epochs", "2", "--no-progress"]
STEPS = 54  # steps an epoch: 5,400 training images of the sample in batches of 100


def needs_extras():
    pytest.importorskip("tensorboardX", reason=NEEDS_EXTRA)
    pytest.importorskip("PIL", reason=NEEDS_EXTRA)
    pytest.importorskip("tensorboard", reason=NEEDS_READER)


def read(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    sizes = {k: 0 for k in ("scalars", "histograms", "images", "tensors")}
    return EventAccumulator(str(log_dir), size_guidance=sizes).Reload()


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def epoch_rows(run) -> list:
    with open(run / "metrics.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row["kind"] == "epoch"]


@pytest.fixture(scope="module")
def tb_run(tmp_path_factory):
    """A 2-epoch run with --tensorboard on the sample, trained once for this module."""
    needs_extras()
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("tensorboard")
    mp.setenv("ZEROGRAD_DATA", str(base / "nodata"))
    mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
    out = base / "run"
    r = call(["train", *ARGS, "--out", out, "--tensorboard"])
    mp.undo()
    assert r.status == 0, r.err
    assert f"TensorBoard logs in {out / 'tensorboard'}/" in r.out
    return out


def test_the_run_reads_back_in_tensorboards_reader(tb_run):
    assert json.loads((tb_run / "config.json").read_text())["tensorboard"] is True
    acc = read(tb_run / "tensorboard")
    # per step: the loss and lr of each of the 108 steps, once each
    for tag in ("step/loss", "step/lr"):
        assert [s for s, _ in scalars(acc, tag)] == list(range(1, 2 * STEPS + 1)), tag
    losses = np.array([v for _, v in scalars(acc, "step/loss")])
    assert np.isfinite(losses).all() and losses[-10:].mean() < losses[:10].mean()  # it learned
    lrs = [v for _, v in scalars(acc, "step/lr")]
    assert lrs[:STEPS] == pytest.approx([0.1] * STEPS)  # momentum's default lr, then cosine: 0.05
    assert lrs[STEPS:] == pytest.approx([0.05] * STEPS)
    # per epoch, at its last step: metrics.csv's numbers
    rows = epoch_rows(tb_run)
    for tag, column in (("loss/train", "loss"), ("accuracy/train", "accuracy"),
                        ("loss/val", "val_loss"), ("accuracy/val", "val_accuracy"),
                        ("lr", "lr")):  # fmt: skip
        got = scalars(acc, tag)
        assert [s for s, _ in got] == [STEPS, 2 * STEPS], tag
        want = [float(row[column]) for row in rows]
        np.testing.assert_allclose([v for _, v in got], want, rtol=1e-5, err_msg=tag)
    assert 0.8 < scalars(acc, "accuracy/val")[-1][1] <= 1
    # histograms of every parameter of the final model, weights and gradients
    weights = load(tb_run / "model.safetensors")
    want = sorted([f"weights/{k}" for k in weights] + [f"gradients/{k}" for k in weights])
    assert sorted(acc.Tags()["histograms"]) == want
    for key, w in weights.items():
        last = acc.Histograms(f"weights/{key}")[-1]
        h, v = last.histogram_value, w.data.astype(np.float64)
        assert last.step == 2 * STEPS
        np.testing.assert_allclose([h.min, h.max, h.num], [v.min(), v.max(), v.size])
    # the misclassified validation digits: a grid of 28 x 28 images, 8 to a row, and their labels
    from PIL import Image

    for image, table in zip(acc.Images("misclassified/val"),
                            acc.Tensors("misclassified/val_labels")):  # fmt: skip
        rows = table.tensor_proto.string_val[0].decode().splitlines()[2:]
        n = len(rows)
        assert 0 < n <= 32 and image.step == table.step
        assert all(re.fullmatch(r"\| \d+ \| (\d) \| (?!\1)\d \|", row) for row in rows), rows
        grid = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert("L"))
        assert grid.shape == (-(-n // 8) * 30 + 2, min(n, 8) * 30 + 2)
        assert grid[0, 0] == 127  # the grey padding; the digits inside are white on black
        assert grid[2:30, 2:30].max() == 255 and grid[2:30, 2:30].min() == 0


def test_tensorboards_server_serves_the_runs_scalars(tb_run):
    """The real ``tensorboard`` server on localhost: its HTTP API hands back the run's scalars."""
    with tensorboard_server(tb_run) as url:
        run = "tensorboard"  # the run's folder, under --logdir
        tags = poll_json(f"{url}/data/plugin/scalars/tags",
                         lambda t: "accuracy/val" in t.get(run, {}), timeout=120)  # fmt: skip
        assert {"step/loss", "step/lr", "loss/train", "accuracy/val", "lr"} <= set(tags[run])
        query = urllib.parse.urlencode({"run": run, "tag": "accuracy/val"})
        points = get_json(f"{url}/data/plugin/scalars/scalars?{query}")
        assert [step for _, step, _ in points] == [STEPS, 2 * STEPS]
        want = [float(row["val_accuracy"]) for row in epoch_rows(tb_run)]
        np.testing.assert_allclose([value for _, _, value in points], want, rtol=1e-5)
        query = urllib.parse.urlencode({"run": run, "tag": "step/loss"})
        assert [step for _, step, _ in get_json(f"{url}/data/plugin/scalars/scalars?{query}")] == (
            list(range(1, 2 * STEPS + 1))
        )


def test_resume_goes_on_logging_each_step_once(tb_run, tmp_path, no_data):
    run = shutil.copytree(tb_run, tmp_path / "run")
    after_2 = (run / "last.safetensors").read_bytes()
    # resumed without --tensorboard: the run's own config.json says where its logs go
    r = call(["train", "--out", run, "--resume", "--epochs", "3", "--no-progress"])
    assert r.status == 0, r.err
    # as if that resumed run had died after logging epoch 3 but before its checkpoint: from
    # the epoch-2 checkpoint again
    (run / "last.safetensors").write_bytes(after_2)
    (run / "results.json").unlink()
    r = call(["train", "--out", run, "--resume", "--epochs", "3", "--no-progress"])
    assert r.status == 0, r.err
    acc = read(run / "tensorboard")
    assert [s for s, _ in scalars(acc, "step/loss")] == list(range(1, 3 * STEPS + 1))
    assert [s for s, _ in scalars(acc, "accuracy/val")] == [STEPS, 2 * STEPS, 3 * STEPS]
    assert [v for _, v in scalars(acc, "epoch")] == [1, 2, 3]
    assert len(acc.Images("misclassified/val")) == 3


def test_tensorboard_dir_of_its_own_and_no_mixing_runs(no_data):
    logs = no_data / "logs"
    r = call(["train", "--sample", "--epochs", "1", "--no-progress", "--out", no_data / "a",
              "--tensorboard", logs])  # fmt: skip
    if r.status == 2 and "needs tensorboardX" in r.err:
        pytest.skip(NEEDS_EXTRA)
    assert r.status == 0, r.err
    needs_extras()
    assert json.loads((no_data / "a" / "config.json").read_text())["tensorboard"] == str(logs)
    assert not (no_data / "a" / "tensorboard").exists()
    assert [s for s, _ in scalars(read(logs), "epoch")] == [STEPS]
    # another run into the same folder would mix two runs' curves: refused, nothing made
    b = ["train", *ARGS, "--out", no_data / "b", "--tensorboard", logs]
    fails(b, r"--tensorboard .*logs already holds the TensorBoard logs of another run", 2)
    assert not (no_data / "b").exists()


def test_a_log_folder_that_cannot_be_made_is_refused_before_any_work(no_data):
    pytest.importorskip("tensorboardX", reason=NEEDS_EXTRA)  # without it, that is said first
    (no_data / "notes.txt").write_text("not a folder")
    out = no_data / "run"
    fails(["train", *ARGS, "--out", out, "--tensorboard", no_data / "notes.txt" / "logs"],
          r"--tensorboard .*notes\.txt/logs: .*notes\.txt is a file, so the folder cannot be made",
          2)  # fmt: skip
    fails(
        ["train", *ARGS, "--out", out, "--tensorboard", no_data / "notes.txt"],
        r"--tensorboard .*notes\.txt is a file, not a folder; pass a folder for the logs",
        2,
    )
    assert not out.exists()


def test_missing_extra_is_one_line_before_any_work(no_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    out = no_data / "run"
    hint = r'--tensorboard needs tensorboardX.* pip install "zerograd\[tensorboard\]"'
    fails(["train", *ARGS, "--out", out, "--tensorboard"], hint, 2)
    assert not out.exists()


def test_help_tells_the_option():
    r = call(["train", "--help"])
    assert r.status == 0
    assert "--tensorboard [DIR]" in r.out and "zerograd[tensorboard]" in r.out


@pytest.mark.parametrize("where", ["in the run folder", "a folder of its own"])
def test_a_run_failing_before_its_first_checkpoint_leaves_no_logs(no_data, where):
    needs_extras()
    out, logs = no_data / "run", no_data / "logs"
    tb = ["--tensorboard"] if where == "in the run folder" else ["--tensorboard", logs]
    fails(["train", "--out", out, "--sample", "--epochs", "2", "--lr", "1e6", "--no-progress",
           *tb], "NaN guard: the loss became nan at epoch 1", 1)  # fmt: skip
    assert not out.exists() and not logs.exists()
