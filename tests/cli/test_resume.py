"""Resume that never lies: interrupted runs (Ctrl-C, SIGKILL at random points) resumed to the bit,
changed settings applied and reported or refused, damaged checkpoints named."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_helpers import call, fails

from zerograd.io import load

# a run long enough to be stopped in the middle (4 epochs of 270 steps on the sample)
ARGS = ["--sample", "--epochs", "4", "--batch-size", "20", "--no-progress", "--seed", "3"]


def snapshot(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def same_weights(a, b) -> None:
    wa, wb = load(a / "model.safetensors"), load(b / "model.safetensors")
    assert list(wa) == list(wb)
    for key in wa:
        np.testing.assert_array_equal(wa[key].data, wb[key].data, err_msg=key)


def start(out, *extra, env):
    return subprocess.Popen(
        [sys.executable, "-m", "zerograd", "train", "--out", str(out), *ARGS, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def env(no_data):
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def straight(no_data):
    """The same run, never interrupted."""
    out = no_data / "straight"
    r = call(["train", "--out", out, *ARGS])
    assert r.status == 0, r.err
    return out


def finish(out, env) -> int:
    """Resume (or start again, when nothing was saved) until the run has finished; return how
    many tries it took."""
    for tries in range(1, 6):
        again = ["--resume"] if (out / "last.safetensors").exists() else []
        proc = start(out, *again, env=env)
        _, err = proc.communicate(timeout=300)
        if proc.returncode == 0:
            return tries
        assert "Traceback" not in err, err
    raise AssertionError(f"the run in {out} did not finish: {err}")


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_stopped_at_random_points_and_resumed_the_weights_are_bit_identical(
    how, straight, no_data, env
):
    rng = random.Random(f"resume-{how}")
    for trial in range(3):
        out = no_data / f"{how}-{trial}"
        proc = start(out, env=env)
        while "Training" not in proc.stdout.readline():  # the run has begun
            assert proc.poll() is None, proc.communicate()
        time.sleep(rng.uniform(0.0, 3.0))  # somewhere in the 4 epochs or the final writes
        proc.send_signal(getattr(signal, how))
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0 or (proc.returncode == -2 and (out / "results.json").exists()):
            continue  # it had finished already (the signal came as the interpreter exited)
        if how == "SIGINT":
            assert proc.returncode == 130, err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in err, err
            if (out / "last.safetensors").exists():
                assert "the last intact checkpoint is" in lines[0]
                assert f"zerograd train --out {out} --resume" in lines[0]
            elif not out.exists():  # stopped before the first epoch ended: nothing left behind
                assert "nothing was saved" in lines[0]
        if not (out / "results.json").exists():  # else it had finished as the signal came
            finish(out, env)
        same_weights(straight, out)
        a = json.loads((straight / "results.json").read_text())
        b = json.loads((out / "results.json").read_text())
        assert a["test_accuracy"] == b["test_accuracy"] and b["epochs_run"] == 4
        assert b["best_epoch"] == a["best_epoch"]
        parts, whole = [s["seconds"] for s in b["segments"]], b["seconds"]
        assert sum(parts) == pytest.approx(whole)  # results.json adds up every segment
        rows = list(csv.DictReader((out / "metrics.csv").open()))
        assert [r["epoch"] for r in rows if r["kind"] == "epoch"] == ["1", "2", "3", "4"]


def test_resume_with_the_same_settings_in_process_is_bit_identical(straight, no_data, monkeypatch):
    from zerograd.train import ModelCheckpoint

    out = no_data / "crashed"
    save_epoch = ModelCheckpoint.on_epoch_end

    def save_then_die(self, trainer, epoch, logs):
        save_epoch(self, trainer, epoch, logs)
        if epoch == 2:
            raise KeyboardInterrupt  # Ctrl-C right after epoch 2's checkpoint

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", save_then_die)
    r = call(["train", "--out", out, *ARGS])
    assert r.status == 130 and "last.safetensors (epoch 2 of 4)" in r.err
    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", save_epoch)
    assert not (out / "model.safetensors").exists()
    r = call(["train", "--out", out, "--resume"])  # the run's own settings, from its checkpoint
    assert r.status == 0, r.err
    assert "Resuming from" in r.out and "changed settings" not in r.out
    same_weights(straight, out)
    results = json.loads((out / "results.json").read_text())
    assert len(results["segments"]) == 2 and results["segments"][1]["from_epoch"] == 3


def test_extending_epochs_replans_the_schedule_and_never_trains_at_lr_zero(no_data):
    out = no_data / "run"
    assert call(["train", "--out", out, "--sample", "--epochs", "2", "--no-progress"]).status == 0
    r = call(["train", "--out", out, "--resume", "--epochs", "4", "--no-progress"])
    assert r.status == 0, r.err
    assert "epochs 2 -> 4" in r.out and "cosine schedule is re-planned" in r.out
    rows = [r for r in csv.DictReader((out / "metrics.csv").open()) if r["kind"] == "epoch"]
    lrs = [float(r["lr"]) for r in rows]
    # epochs 3 and 4 train where a 4-epoch cosine is: 0.1 (1 + cos(pi t / 4)) / 2
    assert lrs[2:] == pytest.approx([0.05, 0.1 * (1 + np.cos(3 * np.pi / 4)) / 2], rel=1e-5)
    assert all(lr > 0 for lr in lrs)
    results = json.loads((out / "results.json").read_text())
    assert results["epochs_run"] == 4 and len(results["segments"]) == 2


def test_a_changed_lr_or_schedule_is_applied_and_reported(no_data):
    out = no_data / "run"
    base = ["--out", out, "--sample", "--no-progress"]
    assert call(["train", *base, "--epochs", "1"]).status == 0
    r = call(["train", *base, "--resume", "--epochs", "2", "--lr", "0.02", "--schedule", "none"])
    assert r.status == 0, r.err
    assert "lr 0.1 -> 0.02" in r.out and "schedule cosine -> none" in r.out
    rows = [r for r in csv.DictReader((out / "metrics.csv").open()) if r["kind"] == "epoch"]
    assert float(rows[1]["lr"]) == pytest.approx(0.02)
    config = json.loads((out / "config.json").read_text())
    assert config["lr"] == 0.02 and config["schedule"] == "none" and config["epochs"] == 2


@pytest.mark.parametrize(
    "change, what",
    [
        (["--dataset", "fashion-mnist"], "cannot resume .*dataset='mnist', this asks for 'fashion"),
        (["--model", "simple-cnn"], "cannot resume .*model='mlp', this asks for 'simple-cnn'"),
        (["--optimizer", "adam"], "cannot resume .*optimizer='momentum', this asks for 'adam'"),
        (["--seed", "7"], "cannot resume .*seed=0, this asks for 7"),
        (["--batch-size", "50"], "cannot resume .*batch_size=100, this asks for 50"),
        (["--augment", "shift"], r"cannot resume .*augment=\[\], this asks for \['shift'\]"),
        (["--val-split", "0.2"], "cannot resume .*val_split=0.1, this asks for 0.2"),
        (["--dropout", "0.2"], r"cannot resume .*model_options=\{\}, this asks for \{'dropout'"),
    ],
)
def test_resuming_as_another_run_is_refused_and_changes_nothing(run_copy, change, what):
    before = snapshot(run_copy)
    fails(["train", "--out", run_copy, "--resume", "--epochs", "3", *change], what, 2)
    assert snapshot(run_copy) == before


def test_a_finished_run_is_not_resumed_without_more_epochs(run_copy):
    fails(["train", "--out", run_copy, "--resume"], "already trained 1 epoch; pass --epochs", 2)


def test_a_damaged_last_checkpoint_offers_the_whole_best(run_copy):
    from zerograd.io import load_metadata

    last = run_copy / "last.safetensors"
    last.write_bytes(last.read_bytes()[:1000])  # torn
    (run_copy / "results.json").unlink()  # as if it had died before finishing
    fails(["train", "--out", run_copy, "--resume", "--epochs", "2"],
          r"last.safetensors is damaged .*best.safetensors \(epoch 1\) is whole: resume from it "
          "with --resume best", 1)  # fmt: skip
    r = call(["train", "--out", run_copy, "--resume", "best", "--epochs", "2", "--no-progress"])
    assert r.status == 0, r.err
    assert json.loads(load_metadata(run_copy / "last.safetensors")["epoch"]) == 2


def test_stopped_before_the_first_checkpoint_starts_again_without_resume(no_data):
    out = no_data / "run"
    from zerograd.train import RunConfig

    out.mkdir()  # what a run killed (SIGKILL) during its first epoch leaves:
    RunConfig(sample=True, epochs=1, out=str(out)).save(out / "config.json")
    (out / "metrics.csv").write_text("kind,epoch\n")
    fails(["train", "--out", out, "--resume"], "stopped before its first epoch ended", 2)
    r = call(["train", "--out", out, "--sample", "--epochs", "1", "--no-progress"])
    assert r.status == 0, r.err
