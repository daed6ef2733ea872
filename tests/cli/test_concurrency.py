"""Two runs on one folder: one trains, the other is refused, and the folder holds one whole run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from zerograd.io import load
from zerograd.models import create


def test_two_train_processes_on_one_out(no_data):
    out = no_data / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def train(seed):
        return subprocess.Popen(
            [sys.executable, "-m", "zerograd", "train", "--out", str(out), "--sample",
             "--model", "simple-cnn", "--epochs", "2", "--batch-size", "20", "--no-progress",
             "--seed", str(seed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip

    first = train(1)
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists():  # the first holds the folder now
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = train(2)
    _, err2 = second.communicate(timeout=300)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 1, err2
    lines = err2.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err2
    assert lines[0] == (
        f"zerograd train: {out} is in use by another zerograd run (it holds the folder's lock); "
        "wait for it to finish, or pass another --out."
    )
    # one consistent run: the first one's
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 1
    results = json.loads((out / "results.json").read_text())
    assert results["epochs_run"] == 2
    model = create("simple-cnn")
    model.load_state_dict(load(out / "model.safetensors"))
    # and now that it has finished, a third is refused for another reason: it would overwrite
    third = subprocess.run(
        [sys.executable, "-m", "zerograd", "train", "--out", str(out), "--sample"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert third.returncode == 2 and "already holds a finished run" in third.stderr
    assert json.loads((out / "config.json").read_text())["seed"] == 1
