"""Failures in the middle of a run: a NaN loss, running out of memory, Ctrl-C before anything was
saved. Each is one line, says what to do, and leaves no half-made run folder."""

from __future__ import annotations

from cli_helpers import fails


def test_a_nan_loss_stops_the_run_and_claims_no_checkpoint_it_lacks(no_data):
    out = no_data / "run"
    r = fails(["train", "--out", out, "--sample", "--epochs", "2", "--lr", "1e6",
               "--no-progress"], "NaN guard: the loss became nan at epoch 1", 1)  # fmt: skip
    assert "nothing was saved" in r.err and "last good checkpoint" not in r.err
    assert "--detect-anomaly" in r.err
    assert not out.exists()


def test_out_of_memory_suggests_a_smaller_batch(no_data, monkeypatch):
    from zerograd.train import loop

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.2 GiB for an array")

    monkeypatch.setattr(loop, "fit", no_memory)
    out = no_data / "run"
    expected = r"out of memory .* batch size 4000; try a smaller --batch-size \(e.g. 2000\)"
    fails(["train", "--out", out, "--sample", "--batch-size", "4000"], expected, 1)
    assert not out.exists()


def test_ctrl_c_before_the_first_checkpoint_leaves_nothing(no_data, monkeypatch):
    from zerograd.train import loop

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "fit", interrupted)
    out = no_data / "run"
    fails(["train", "--out", out, "--sample"], "interrupted before the first epoch ended; nothing "
          "was saved", 130)  # fmt: skip
    assert not out.exists()


def test_a_missing_data_dir_is_an_error_not_replaced(no_data):
    fails(["train", "--out", no_data / "run", "--data-dir", no_data / "nowhere"],
          "--data-dir .*nowhere: no such folder", 2)  # fmt: skip
    assert not (no_data / "run").exists()
