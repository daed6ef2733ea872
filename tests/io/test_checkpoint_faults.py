"""Faults during checkpoint writes: a process killed at random points, a full disk.

The guarantee under test (``zerograd.io.atomic_write``): the latest checkpoint is always present
and loads, holding either the previous save or the new one, never a mix and never a torn file.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import signal
import sys
import time

import numpy as np
import pytest

import zerograd as zg
from zerograd import io, nn, optim
from zerograd.io import atomic

posix_only = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="needs POSIX signals and fork() to kill a writer mid-save",
)

KILLS = 36
CHECKPOINT = "ckpt.safetensors"


def make_state():
    """A model and Adam state of ~1.3 MB, so one save takes a few milliseconds."""
    zg.manual_seed(0)
    model = nn.Sequential(nn.Linear(192, 192), nn.ReLU(), nn.Linear(192, 192), nn.BatchNorm1d(192))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model(zg.randn(4, 192)).sum().backward()
    opt.step()
    return model, opt


def stamp(model, opt, epoch: int) -> None:
    """Every number of the training state := epoch, so a file shows which save it came from."""
    for t in model.state_dict().values():
        t.data[...] = epoch
    for state in opt.state.values():
        for v in state.values():
            if hasattr(v, "data"):
                v.data[...] = epoch


def writer(folder: str, first_epoch: int, saves, hold_mid_write: bool) -> None:
    """The child: save checkpoints over and over, each stamped with its epoch, until killed.

    ``saves`` (a shared counter) counts the completed saves. With ``hold_mid_write`` the child
    writes part of its first save's bytes, bumps the counter to -1 and waits there to be killed:
    a kill that surely lands mid-write, however loaded the machine is.
    """
    model, opt = make_state()
    path = os.path.join(folder, CHECKPOINT)
    if hold_mid_write:
        real_fdopen = os.fdopen

        def stalling_fdopen(*args, **kwargs):
            f = real_fdopen(*args, **kwargs)
            real_write = f.write

            def write(b):
                real_write(bytes(memoryview(b).cast("B")[: max(1, len(b) // 2)]))
                f.flush()
                saves.value = -1
                time.sleep(3600)

            f.write = write
            return f

        os.fdopen = stalling_fdopen  # only in this forked child
    epoch = first_epoch
    while True:
        stamp(model, opt, epoch)
        io.save_checkpoint(path, model, opt, epoch=epoch, extra={"stamp": epoch})
        saves.value += 1
        epoch += 1


def wait_for(saves, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(saves.value):
        assert time.monotonic() < deadline, f"the writer made no progress in {timeout:.0f} s"
        time.sleep(0.001)


def check_latest(path, previous_epoch: int) -> int:
    """The checkpoint at ``path`` loads, is whole, and is the previous save or a newer one."""
    model, opt = make_state()
    info = io.load_checkpoint(path, model, opt)
    epoch = info["epoch"]
    assert info["extra"] == {"stamp": epoch}
    assert epoch >= previous_epoch, (epoch, previous_epoch)
    for key, t in model.state_dict().items():
        np.testing.assert_array_equal(t.data, epoch, err_msg=f"{key} is not from epoch {epoch}")
    for i, state in opt.state_dict()["state"].items():
        for name, v in state.items():
            if hasattr(v, "data"):
                np.testing.assert_array_equal(v.data, epoch, err_msg=f"state[{i}][{name}]")
    return epoch


@posix_only
def test_sigkill_at_random_points_never_breaks_the_latest_checkpoint(tmp_path):
    path = tmp_path / CHECKPOINT
    model, opt = make_state()
    stamp(model, opt, 0)
    io.save_checkpoint(path, model, opt, epoch=0, extra={"stamp": 0})
    t0 = time.perf_counter()
    io.save_checkpoint(path, model, opt, epoch=0, extra={"stamp": 0})
    one_save = time.perf_counter() - t0

    ctx = multiprocessing.get_context("fork")  # no re-import: a child starts in milliseconds
    rng = random.Random(1234)
    epoch, torn, new_ones = 0, 0, 0
    for i in range(KILLS):
        # three kinds of kill, in turn: at a random moment from the child's start (before, during
        # or between writes); a random moment after at least one save completed; and one held
        # mid-write. The last two make sure both outcomes happen even on a loaded machine.
        kind = ("random", "after_a_save", "mid_write")[i % 3]
        saves = ctx.Value("i", 0, lock=False)
        child = ctx.Process(
            target=writer, args=(str(tmp_path), epoch + 1, saves, kind == "mid_write"), daemon=True
        )
        child.start()
        if kind == "after_a_save":
            wait_for(saves, lambda n: n >= 1)
        elif kind == "mid_write":
            wait_for(saves, lambda n: n == -1)
        if kind != "mid_write":
            time.sleep(rng.uniform(0, 4 * one_save))
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
        assert child.exitcode == -signal.SIGKILL
        assert path.exists(), "the latest checkpoint is missing after a kill"
        latest = check_latest(path, epoch)
        if kind == "after_a_save":
            assert latest > epoch, "a save completed before the kill, but the file is older"
        if kind == "mid_write":
            assert latest == epoch, "a kill mid-write changed the latest checkpoint"
        new_ones += latest > epoch
        epoch = latest
        # a killed writer cannot clean up: at most its one temporary file stays, never the target
        leftovers = sorted(n for n in os.listdir(tmp_path) if n != CHECKPOINT)
        assert len(leftovers) <= 1, leftovers
        if kind == "mid_write":
            assert len(leftovers) == 1, "the writer held mid-write left no temporary file"
        for name in leftovers:
            assert name.startswith(f".{CHECKPOINT}.") and name.endswith(".tmp"), name
            torn += 1
            os.unlink(tmp_path / name)
    # the kills landed both mid-write (a temporary file left) and after completed saves
    assert torn > 0, "no kill landed during a write; the test did not exercise anything"
    assert new_ones > 0, "no save ever completed before a kill"


# ---------------------------------------------------------------------------------------------
# a full disk, simulated at each step of a save


class FullDisk:
    """A file object whose writes fail with ENOSPC once ``room`` bytes have been written."""

    def __init__(self, f, room: int):
        self._f, self._room = f, room

    def write(self, b) -> int:
        n = len(memoryview(b).cast("B"))
        if n > self._room:
            self._f.write(bytes(memoryview(b).cast("B")[: self._room]))  # part of it lands
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= n
        return self._f.write(b)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


@pytest.fixture
def saved(tmp_path):
    """A checkpoint of epoch 1 on disk, with its bytes."""
    path = tmp_path / CHECKPOINT
    model, opt = make_state()
    stamp(model, opt, 1)
    io.save_checkpoint(path, model, opt, epoch=1, extra={"stamp": 1})
    return path, path.read_bytes()


@pytest.mark.parametrize("room", [0, 8, 100, 4096, 500_000])
def test_full_disk_during_write_keeps_the_previous_checkpoint(saved, monkeypatch, room):
    path, before = saved
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k), room))
    model, opt = make_state()
    stamp(model, opt, 2)
    with pytest.raises(OSError, match="No space left on device") as e:
        io.save_checkpoint(path, model, opt, epoch=2, extra={"stamp": 2})
    monkeypatch.undo()
    assert e.value.errno == errno.ENOSPC
    assert repr(str(path)) in str(e.value) and "Free some space" in str(e.value)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [CHECKPOINT]  # no temporary file left behind
    assert check_latest(path, 1) == 1


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_full_disk_at_fsync_or_rename_keeps_the_previous_checkpoint(saved, monkeypatch, step):
    path, before = saved

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, step, no_space)
    model, opt = make_state()
    with pytest.raises(OSError, match="atomic_write: could not write") as e:
        io.save_checkpoint(path, model, opt, epoch=2)
    monkeypatch.undo()
    assert e.value.errno == errno.ENOSPC and str(path) in str(e.value)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [CHECKPOINT]
    assert check_latest(path, 1) == 1


def test_no_room_for_the_temporary_file_names_the_target(saved, monkeypatch):
    path, before = saved

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "open", no_space)
    model, opt = make_state()
    with pytest.raises(OSError, match="could not create a temporary file beside") as e:
        io.save_checkpoint(path, model, opt, epoch=2)
    monkeypatch.undo()
    assert e.value.errno == errno.ENOSPC and str(path) in str(e.value)
    assert path.read_bytes() == before and os.listdir(path.parent) == [CHECKPOINT]


def test_full_disk_on_the_first_save_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / CHECKPOINT
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k), 64))
    model, opt = make_state()
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint(path, model, opt, epoch=0)
    assert os.listdir(tmp_path) == []
