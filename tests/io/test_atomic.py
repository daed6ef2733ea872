"""zerograd.io.atomic_write: whole file or the old one, under exceptions and under SIGKILL."""

import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zerograd as zg
from zerograd import io, nn
from zerograd.io import weights

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and umask are POSIX")


def test_writes_binary_and_text(tmp_path):
    path = tmp_path / "f.bin"
    with io.atomic_write(path) as f:
        f.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    with io.atomic_write(str(path), "w") as f:
        f.write("ünïcode\n")
    assert path.read_bytes() == "ünïcode\n".encode()
    with io.atomic_write(path, "w", encoding="latin-1") as f:
        f.write("ü")
    assert path.read_bytes() == b"\xfc"
    assert os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("mode", ["a", "ab", "r", "rb", "w+", "x"])
def test_rejects_modes_that_cannot_be_atomic(tmp_path, mode):
    with pytest.raises(ValueError, match="mode must be one of.*got " + re.escape(repr(mode))):
        with io.atomic_write(tmp_path / "f", mode):
            pass
    assert os.listdir(tmp_path) == []


def test_rejects_encoding_in_binary_mode(tmp_path):
    with pytest.raises(ValueError, match="encoding is only for text modes"):
        with io.atomic_write(tmp_path / "f", "wb", encoding="utf-8"):
            pass


def test_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        with io.atomic_write(tmp_path / "nope" / "f"):
            pass


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_error_inside_the_block_keeps_the_old_file(tmp_path, exc):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(type(exc)):
        with io.atomic_write(path, "w") as f:
            f.write("new, half written")
            raise exc
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_error_on_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with io.atomic_write(tmp_path / "new.bin") as f:
            f.write(b"x")
            raise RuntimeError
    assert os.listdir(tmp_path) == []


@posix_only
def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        with io.atomic_write(tmp_path / "f") as f:
            f.write(b"x")
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "f").st_mode & 0o777 == 0o644  # not mkstemp's private 0o600


# ---------------------------------------------------------------------------------------------
# io.save failing mid-way (simulated crash): old file byte-identical, no temporary file left


@pytest.fixture
def old_weights(tmp_path):
    path = tmp_path / "w.safetensors"
    io.save({"w": np.arange(10.0)}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("where", ["replace", "fsync", "write"])
def test_save_that_fails_mid_way_keeps_the_old_file(old_weights, monkeypatch, where):
    path, before = old_weights

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if where == "write":
        calls = []

        def second_tensor_fails(a):
            calls.append(a)
            if len(calls) == 2:
                boom()
            return real(a)

        real = weights._little_endian_bytes
        monkeypatch.setattr(weights, "_little_endian_bytes", second_tensor_fails)
    else:
        monkeypatch.setattr(os, where, boom)
    new = {"a": np.ones(1000), "b": np.ones(1000), "c": np.ones(1000)}
    with pytest.raises(OSError, match="No space left"):
        io.save(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]
    np.testing.assert_array_equal(io.load(path)["w"].data, np.arange(10.0))


# ---------------------------------------------------------------------------------------------
# a real SIGKILL while a big checkpoint is being written over an existing one

KILLED_WRITER = """
import sys, time
import numpy as np
import zerograd as zg
from zerograd import io, nn
from zerograd.io import weights

real = weights._little_endian_bytes
calls = []

def slow(a):  # after a few tensors are on disk, say so and hang until killed
    calls.append(a)
    if len(calls) == 5:
        print("writing", flush=True)
        time.sleep(60)
    return real(a)

weights._little_endian_bytes = slow
zg.manual_seed(1)
big = nn.Sequential(*[nn.Linear(256, 256) for _ in range(8)])  # 2 MB of float32
io.save_checkpoint(sys.argv[1], big, epoch=99)
print("finished", flush=True)
"""

KILLED_RAW_WRITER = """
import sys, time
from zerograd import io

with io.atomic_write(sys.argv[1]) as f:
    f.write(b"\\xff" * 5_000_000)
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def run_until_killed(script, path):
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line == "writing\n", (line, proc.stderr.read() if proc.poll() is not None else "")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def small_model():
    zg.manual_seed(0)
    return nn.Sequential(*[nn.Linear(256, 256) for _ in range(8)])


@posix_only
def test_sigkill_during_save_checkpoint_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    original = small_model()
    io.save_checkpoint(path, original, epoch=1, extra={"note": "original"})
    before = path.read_bytes()

    run_until_killed(KILLED_WRITER, path)

    assert path.read_bytes() == before
    leftovers = [n for n in os.listdir(tmp_path) if n != path.name]
    # the killed process could not clean up: its partial temporary file stays beside the target
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.safetensors.")
    assert leftovers[0].endswith(".tmp") and os.path.getsize(tmp_path / leftovers[0]) > 0
    restored = nn.Sequential(*[nn.Linear(256, 256) for _ in range(8)])
    info = io.load_checkpoint(path, restored)
    assert info == {"epoch": 1, "extra": {"note": "original"}}
    for (k, a), (_, b) in zip(original.state_dict().items(), restored.state_dict().items()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)


@posix_only
def test_sigkill_mid_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "w.safetensors"
    io.save({"w": np.arange(5.0)}, path)
    before = path.read_bytes()
    run_until_killed(KILLED_RAW_WRITER, path)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(io.load(path)["w"].data, np.arange(5.0))
