"""Every lesson runs on a bare install: without matplotlib, and without the data files it reads.

Each case runs a lesson in a fresh interpreter as ``python examples/NN_topic.py --quick`` does
(``runpy``, ``__name__ == "__main__"``) and checks: exit status 0, no traceback, the lesson's
numbers still printed, and then one ``skipped:`` line per thing left out, saying what was skipped
and how to get it. (a) covers every lesson that draws (all but 16), with ``import matplotlib``
failing; (b) every lesson that reads data files in ``--quick`` mode (5, 6, 16, 17, 19), with
``ZEROGRAD_DATA`` and the cache pointed at empty folders. Lessons 9-13 fall back to the sample
only in their full mode; their own tests (``test_*_falls_back_*``, run in-process) check that line.
Some runs are shortened with the lesson's own options (fewer iterations): the code paths are the
same. The file takes about 80 s on 2 cores.
"""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

# python -c RUN MODE NAME ARGS...: MODE "no-matplotlib" makes `import matplotlib` fail, as it does
# where the plot extra is not installed (None in sys.modules stops the import)
RUN = """\
import runpy, sys
if sys.argv[1] == "no-matplotlib":
    sys.modules["matplotlib"] = None
name = sys.argv[2]
sys.argv = sys.argv[2:]
runpy.run_module("zerograd.lessons." + name, run_name="__main__")
"""

# lesson -> (options that shorten the run, a printed line that holds its last numbers)
LESSONS = {
    "01_perceptron": ((), r"the network gets 4 of 4 right"),
    "02_activations": ((), r"with ReLU between, max \|diff\|   = \d\.\d{3}"),
    "03_forward_pass": ((), r"Both give y = \(0\.31682708, 0\.69627909\)"),
    "04_softmax": ((), r"F\.log_softmax   = \(-4\.53988992e-05, "),
    "05_mnist": ((), r"batching is \d+x faster, same outputs: True"),
    "06_numerical_gradient": (("--epochs", "1"), r"test accuracy 0\.\d{4} on [\d,]+ test images"),
    "07_gender_by_hand": ((), r"prediction for \(-23, -5\): 0\.\d{4} by hand"),
    "07b_autograd_engine": ((), r"4 of 4 on the right side of 0 after 20 steps"),
    "08_planar_flower": ((), r"\n  50 +\d+\.\d\d% +\d\.\d{4}\n"),
    "09_optimizers": (("--iterations", "20"), r"\n  AdamW +\d+\.\d{4} +0\.\d{4}\n"),
    "10_weight_init": (("--iterations", "20"), r"\n  He +\d+\.\d{4} +0\.\d{4}\n"),
    "11_regularization": (
        ("--epochs", "2", "--bn-epochs", "2"),
        r"\n +20 it +0\.\d{4} +0\.\d{4}\n",
    ),
    "12_lr_schedules_search": (("--trials", "3", "--epochs", "1"), r"test accuracy = 0\.\d{4}"),
    "13_cnn": ((), r"largest difference from F\.conv2d: \d\.\de[-+]\d\d"),
    "14_binary_addition": (
        (),
        r"Part 3: .*\n(?:.*\n)*?  every pair right after \S+ sums; after \d+",
    ),
    "15_lstm_mnist": (("--epochs", "1"), r"RNN epoch 1: train loss \d\.\d{4}, test accuracy"),
    "16_char_lm": ((), r"--- temperature 1\.0 ---\nROMEO:"),
    "17_transfer_learning": (("--steps", "10"), r"\n +100 +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d\n"),
    "18_attention": (("--steps", "30"), r"with attention   : [\d,]+ parameters"),
    "19_char_gpt": (("--iters", "20"), r"--- temperature 1\.0 ---\nROMEO:"),
}
DRAWS = [name for name in LESSONS if name != "16_char_lm"]  # 16 writes weights, no pictures
READS_DATA = ["05_mnist", "06_numerical_gradient", "16_char_lm", "17_transfer_learning",
              "19_char_gpt"]  # fmt: skip
# the lessons with nothing to do without their text: one line, nothing else
TEXT_ONLY = {"16_char_lm": "a character model", "19_char_gpt": "a character GPT"}

# what 5 and 6 print when they use the sample's 6,000 / 1,000 images
SAMPLE_USED = {
    "05_mnist": "train: 6000 images, test: 1000 images",
    "06_numerical_gradient": "on 1,000 test images",
}
NO_MATPLOTLIB = 'skipped: the figures (matplotlib is not installed: pip install "zerograd[plot]")'
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run(name, tmp_path, mode="", env=None):
    """Run lesson ``name`` with --quick in a fresh interpreter; return its stdout."""
    args, _ = LESSONS[name]
    command = [sys.executable, "-c", RUN, mode, name, "--quick", "--out", str(tmp_path / "out")]
    proc = subprocess.run(
        [*command, *args],
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def skipped_lines(out: str) -> list:
    """The ``skipped:`` lines, after checking they come last, one per thing, none repeated."""
    lines = out.rstrip("\n").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("skipped:")), len(lines))
    tail = lines[first:]
    assert all(line.startswith("skipped: ") for line in tail), f"not all last: {tail}"
    assert not any(line.startswith("skipped:") for line in lines[:first])
    assert len(set(tail)) == len(tail), tail
    return tail


def data_present() -> dict:
    """Which data the environment running the tests has (so (a) knows what else is skipped)."""
    from zerograd.data.datasets import find_mnist_files
    from zerograd.data.text import find_tiny_shakespeare

    return {
        "MNIST": find_mnist_files("mnist") is not None,
        "Fashion-MNIST": find_mnist_files("fashion-mnist") is not None,
        "tinyshakespeare": find_tiny_shakespeare() is not None,
    }


@pytest.mark.parametrize("name", DRAWS)
def test_without_matplotlib_prints_the_numbers_and_one_line(name, tmp_path):
    out = run(name, tmp_path, mode="no-matplotlib")
    assert re.search(LESSONS[name][1], out), f"{name} did not print its numbers:\n{out}"
    lines = skipped_lines(out)
    assert [line for line in lines if "matplotlib" in line] == [NO_MATPLOTLIB]
    # anything else skipped is data this environment lacks, never another picture
    have = data_present()
    for line in lines:
        if line != NO_MATPLOTLIB:
            assert any(f"no {what} files" in line for what, there in have.items() if not there)
    assert not list((tmp_path / "out").glob("*.png"))


@pytest.mark.parametrize("name", READS_DATA)
def test_without_the_data_files_prints_the_numbers_and_one_line(name, tmp_path):
    empty, home = tmp_path / "data", tmp_path / "home"
    empty.mkdir()
    home.mkdir()
    env = {"ZEROGRAD_DATA": str(empty), "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
    out = run(name, tmp_path, env=env)
    lines = skipped_lines(out)
    if not HAVE_MATPLOTLIB and name in DRAWS:  # no plot extra here either: one line for that
        assert NO_MATPLOTLIB in lines
        lines.remove(NO_MATPLOTLIB)
    assert len(lines) == 1, lines
    (line,) = lines
    # where it looked, and how to get the files
    assert f"ZEROGRAD_DATA={empty} or {home / 'cache' / 'zerograd'}" in line
    if name in TEXT_ONLY:  # no sample of the text ships: the lesson has nothing else to do
        assert line.startswith(f"skipped: the lesson: training and sampling {TEXT_ONLY[name]} (")
        assert "set ZEROGRAD_DATA to a folder holding tinyshakespeare/input.txt" in line
        assert [s for s in out.strip().splitlines() if s != NO_MATPLOTLIB] == [line]
        assert not (tmp_path / "out").exists()  # no empty folder left behind
        return
    assert re.search(LESSONS[name][1], out), f"{name} did not print its numbers:\n{out}"
    if name == "17_transfer_learning":  # parts 1 and 2 on the MNIST sample, part 3 left out
        assert line.startswith("skipped: part 3, MNIST -> Fashion-MNIST (no Fashion-MNIST files")
        assert "fashion-mnist/, or download them once with" in line
        assert "FashionMNIST(download=True)" in line
        assert "Part 2: the MNIST sample, digits 0-4 -> digits 5-9" in out
        assert "Part 3" not in out
    else:  # 5 and 6 fall back to the sample and say so
        assert line.startswith("skipped: the full MNIST set (no MNIST files in ZEROGRAD_DATA=")
        assert "set ZEROGRAD_DATA to a folder holding mnist/" in line
        assert "MNIST(download=True)" in line
        assert line.endswith(
            "; using the sample shipped in the package instead "
            "(6,000 training and 1,000 test images)"
        )
        assert SAMPLE_USED[name] in out


def test_a_broken_matplotlib_is_skipped_with_its_error(tmp_path):
    # installed but failing to import (a broken wheel, a missing shared library): the lesson
    # still prints its numbers and says what the import said
    fake = tmp_path / "fake" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("libfreetype.so.6: cannot open")\n')
    out = run("03_forward_pass", tmp_path, env={"PYTHONPATH": str(fake.parent)})
    assert re.search(LESSONS["03_forward_pass"][1], out)
    assert skipped_lines(out) == [
        "skipped: the figures (matplotlib is installed but does not import "
        "(libfreetype.so.6: cannot open): reinstall it, pip install --force-reinstall matplotlib)"
    ]
