"""The command line's table: every bad invocation of ``zerograd`` we tried and what the user gets.

Each row of the command-line table in ``docs/reliability.md`` is one case here, under the same id,
and ``test_doc_and_cases_agree`` fails if a row has no case or a case no row. A case prepares a
private folder (a copy of a finished run, damaged files, pictures ...), runs ``zerograd ARGV``
in-process with that folder as the current directory, and checks what the user gets:

- the exit status: 2 for a usage mistake, 1 for a failure;
- exactly one line on stderr, ``zerograd <command>: ...``, matching the case's pattern (which names
  the problem: the option, the value or the path), and no traceback;
- that nothing on disk changed: every file in the folder keeps its bytes and modification time,
  and no file or folder was added (no half-made run folder) or removed.

Cases never train more than they must: the finished run is the session's, copied; almost every case
fails before any work. The table is generated from these cases, with today's messages::

    python tests/cli/test_bad_invocations.py            # print the table
    python tests/cli/test_bad_invocations.py --write    # rewrite it in docs/reliability.md
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # cli_helpers, run as a script
from cli_helpers import call, changes, check_failure, snapshot, train_sample_run  # noqa: E402
from doc_tables import write_or_print  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
START, END = "<!-- cli table: start -->", "<!-- cli table: end -->"
COMMANDS = ("train", "evaluate", "predict", "generate", "export", "gradcheck", "lesson")
PROC = "/proc/zerograd-bad-invocation"  # /proc takes no new entries, not even from root
LM = "char-lstm-shakespeare"


@dataclasses.dataclass
class Case:
    id: str
    argv: list  # what follows `zerograd`, run in the case's folder
    status: int  # 2: usage, 1: failure
    match: str  # a regex the stderr line must contain: the problem, with its value or path
    setup: str = ""  # what the case put in its folder first, as the table says it
    prepare: object = None  # prepare(ctx) makes it
    needs: str | None = None  # "non-root" (permissions), "onnx"
    xfail: str | None = None  # a known problem below the command line: what should happen

    @property
    def prog(self) -> str:
        first = self.argv[0] if self.argv else ""
        return f"zerograd {first}" if first in COMMANDS else "zerograd"


CASES: list[Case] = []


def case(id, argv, status, match, setup="", prepare=None, needs=None, xfail=None):
    CASES.append(Case(id, [str(a) for a in argv], status, match, setup, prepare, needs, xfail))


class Ctx:
    """What a case's ``prepare`` gets: its folder, the session's finished run to copy,
    environment changes and clean-ups undone after the call."""

    def __init__(self, tmp: Path, finished: Path):
        self.tmp, self.finished = tmp, finished
        self.cleanups = []
        self._env = {}

    def copy_run(self, name: str = "run") -> Path:
        return Path(shutil.copytree(self.finished, self.tmp / name))

    def setenv(self, name: str, value: str) -> None:
        self._env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def close(self) -> None:
        for fn in reversed(self.cleanups):
            fn()
        for name, value in self._env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- what cases put in their folder --------------------------------------------------------------


def _digit() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[5:23, 12:16] = 255  # a "1"
    return image


def png(image=None, fmt="PNG") -> bytes:
    Image = pytest.importorskip("PIL.Image", reason='needs Pillow: pip install "zerograd[image]"')

    buffer = io.BytesIO()
    Image.fromarray(_digit() if image is None else image).save(buffer, fmt)
    return buffer.getvalue()


def npy(array, **kw) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kw)
    return buffer.getvalue()


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def huge_npy() -> bytes:
    """A .npy header for a 100,000 x 100,000 float32 array (40 GB), and no data."""
    buffer = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def bomb_png() -> bytes:
    """A PNG that says it is 60,000 x 60,000 pixels: 3.6 gigapixels from 100 bytes."""
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def weights(model="simple-cnn") -> bytes:
    """A zoo model's freshly made weights as a safetensors file."""
    import zerograd as zg
    from zerograd import models

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.safetensors")
        zg.save(models.create(model).state_dict(), path)
        return Path(path).read_bytes()


def plain_weights() -> bytes:
    import zerograd as zg

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.safetensors")
        zg.save({"w": zg.ones(2)}, path)
        return Path(path).read_bytes()


def put(files: dict, run: bool = False, edits=()):
    """A ``prepare`` that writes ``files`` (name -> bytes, text, or a function making them),
    after copying the finished run to ``run/`` and applying ``edits`` to it when asked."""

    def prepare(ctx: Ctx) -> None:
        if run or edits:
            folder = ctx.copy_run()
            for edit in edits:
                edit(folder, ctx)
        for name, content in files.items():
            content = content() if callable(content) else content
            path = ctx.tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)

    return prepare


def with_run(*edits):
    return put({}, run=True, edits=edits)


# edits of the copied run folder: each edit(folder, ctx)


def write(name, content):
    def edit(folder, ctx):
        data = content() if callable(content) else content
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return edit


def cut(name, keep: int):
    def edit(folder, ctx):
        path = folder / name
        path.write_bytes(path.read_bytes()[:keep])

    return edit


def drop(*names):
    def edit(folder, ctx):
        for name in names:
            (folder / name).unlink()

    return edit


def keep_only(*names):
    def edit(folder, ctx):
        for path in folder.iterdir():
            if path.name not in names:
                path.unlink()

    return edit


def config(change):
    """Edit config.json's dict with ``change(d)``."""

    def edit(folder, ctx):
        path = folder / "config.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data, indent=2))

    return edit


def lock(folder, ctx):
    """Hold the run folder's lock, as a zerograd run training there does."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    ctx.cleanups.append(lambda: os.close(fd))


def no_data(ctx: Ctx) -> None:
    """No MNIST or Fashion-MNIST files anywhere: an empty $ZEROGRAD_DATA and cache."""
    ctx.setenv("ZEROGRAD_DATA", str(ctx.tmp / "nodata"))
    ctx.setenv("XDG_CACHE_HOME", str(ctx.tmp / "cache"))


def read_only(name):
    """A folder nobody may write into (permissions; root ignores them)."""

    def prepare(ctx: Ctx) -> None:
        folder = ctx.tmp / name
        folder.mkdir()
        folder.chmod(0o500)
        ctx.cleanups.append(lambda: folder.chmod(0o700))

    return prepare


def unreadable(name, content):
    def prepare(ctx: Ctx) -> None:
        path = ctx.tmp / name
        path.write_bytes(content() if callable(content) else content)
        path.chmod(0)
        ctx.cleanups.append(lambda: path.chmod(0o600))

    return prepare


# --- zerograd train: arguments --------------------------------------------------------------------

OPT = "a problem with the options: "
for id, args, match in [
    ("lr-nan", ["--lr", "nan"], "--lr: must be a finite number above 0, got nan"),
    ("lr-inf", ["--lr", "inf"], "--lr: must be a finite number above 0, got inf"),
    ("lr-negative", ["--lr", "-1"], "--lr: must be a finite number above 0, got -1"),
    ("lr-zero", ["--lr", "0"], "--lr: must be a finite number above 0, got 0"),
    ("epochs-zero", ["--epochs", "0"], "--epochs: must be a whole number from 1 to 100000, got 0"),
    ("epochs-negative", ["--epochs", "-3"], "--epochs: .* got -3"),
    ("epochs-too-many", ["--epochs", "100001"], "--epochs: .* got 100001"),
    ("batch-size-zero", ["--batch-size", "0"], "--batch-size: must be a whole number .* got 0"),
    ("batch-size-negative", ["--batch-size", "-1"], "--batch-size: .* got -1"),
    ("batch-size-huge", ["--batch-size", "2000000"], "--batch-size: .*1000000, got 2000000"),
    ("dropout-one", ["--dropout", "1"], "--dropout: must be a probability from 0 to below 1, got 1"
     ),
    ("dropout-nan", ["--dropout", "nan"], "--dropout: .* got nan"),
    ("dropout-negative", ["--dropout", "-0.1"], "--dropout: .* got -0.1"),
    ("weight-decay-negative", ["--weight-decay", "-1"], "--weight-decay: .* at least 0, got -1"),
    ("weight-decay-inf", ["--weight-decay", "inf"], "--weight-decay: .* got inf"),
    ("val-split-one", ["--val-split", "1"], "--val-split: .* below 1, got 1"),
    ("val-split-negative", ["--val-split", "-0.1"], "--val-split: .* got -0.1"),
    ("val-split-nan", ["--val-split", "nan"], "--val-split: .* got nan"),
    ("seed-negative", ["--seed", "-1"], "--seed: must be a whole number from 0 .* got -1"),
    ("seed-too-big", ["--seed", str(2**63)], f"--seed: .* got {2**63}"),
    ("log-every-zero", ["--log-every", "0"], "--log-every: .* at least 1, got 0"),
    ("augment-unknown", ["--augment", "blur"], "--augment: unknown 'blur'; use shift, rotate"),
    ("augment-twice", ["--augment", "shift,shift"], "--augment: names a transform twice"),
    ("augment-empty-name", ["--augment", "shift,,none"], "--augment: unknown 'none'"),
    ("sample-fashion", ["--sample", "--dataset", "fashion-mnist"],
     "--sample: the package embeds a sample of MNIST only, not fashion-mnist"),
    ("out-empty", ["--out", ""], "--out: must be a folder path or null, got ''"),
    ("data-dir-empty", ["--data-dir", ""], "--data-dir: must be a folder path or null, got ''"),
]:  # fmt: skip
    case(f"train-{id}", ["train", *args], 2, re.escape(OPT) + match)

case(
    "train-many-problems",
    ["train", "--epochs", "0", "--lr", "nan", "--batch-size", "0"],
    2,
    "3 problems with the options: --lr: .*nan; --epochs: .*got 0; --batch-size: .*got 0",
)
for id, args, match in [
    ("lr-word", ["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    ("epochs-fraction", ["--epochs", "1.5"], "argument --epochs: invalid int value: '1.5'"),
    ("seed-word", ["--seed", "abc"], "argument --seed: invalid int value: 'abc'"),
    ("model-unknown", ["--model", "resnet50"], "argument --model: invalid choice: 'resnet50'"),
    ("dataset-unknown", ["--dataset", "cifar10"], "argument --dataset: invalid choice: 'cifar10'"),
    ("optimizer-unknown", ["--optimizer", "lbfgs"],
     "argument --optimizer: invalid choice: 'lbfgs'"),
    ("schedule-unknown", ["--schedule", "step"], "argument --schedule: invalid choice: 'step'"),
    ("unknown-option", ["--learning-rate", "0.1"], "unrecognized arguments: --learning-rate 0.1"),
    ("stray-argument", ["mnist"], "unrecognized arguments: mnist"),
    ("epochs-no-value", ["--epochs"], "argument --epochs: expected one argument"),
    ("out-no-value", ["--out"], "argument --out: expected one argument"),
    ("resume-and-overwrite", ["--resume", "--overwrite"],
     "argument --overwrite: not allowed with argument --resume"),
]:  # fmt: skip
    case(f"train-{id}", ["train", *args], 2, match)

case("train-data-dir-missing", ["train", "--data-dir", "nowhere", "--out", "new", "--epochs", "1"],
     2, r"--data-dir nowhere: no such folder; pass the folder that holds mnist/")  # fmt: skip
case("train-data-dir-file", ["train", "--data-dir", "notes.txt", "--out", "new", "--epochs", "1"],
     2, r"--data-dir notes.txt is a file", "notes.txt is a text file",
     put({"notes.txt": "my notes\n"}))  # fmt: skip
case("train-fashion-no-data", ["train", "--dataset", "fashion-mnist", "--out", "new"], 1,
     r"the fashion-mnist files were not found \(looked in \$ZEROGRAD_DATA and the cache",
     "no data files anywhere", no_data)  # fmt: skip

# --- zerograd train: the run folder ---------------------------------------------------------------

NEW = ["--sample", "--epochs", "1", "--no-progress"]
case("train-out-is-a-file", ["train", *NEW, "--out", "notes.txt"], 2,
     "--out notes.txt is a file, not a folder", "notes.txt is a file",
     put({"notes.txt": "my notes\n"}))  # fmt: skip
case("train-out-under-a-file", ["train", *NEW, "--out", "notes.txt/run"], 2,
     "--out notes.txt/run: notes.txt is a file, so the folder cannot be made",
     "notes.txt is a file", put({"notes.txt": "my notes\n"}))  # fmt: skip
case("train-out-read-only", ["train", *NEW, "--out", "locked/run"], 2,
     "--out locked/run: no permission to write in locked", "locked/ is read-only (chmod 500)",
     read_only("locked"), needs="non-root")  # fmt: skip
case("train-out-proc", ["train", *NEW, "--out", PROC], 2,
     f"--out {PROC}: folders cannot be made in /proc", needs="root")  # fmt: skip
case("train-finished-run", ["train", *NEW, "--out", "run"], 2,
     "run already holds a finished run .*; pass --resume to continue it, --overwrite to replace "
     "it, or another --out", "run/ is a finished run", with_run())  # fmt: skip
case("train-interrupted-run", ["train", *NEW, "--out", "run"], 2,
     "run already holds an interrupted run", "run/ stopped after epoch 1 (no results.json)",
     with_run(drop("results.json", "model.safetensors")))  # fmt: skip
case("train-folder-in-use", ["train", "--out", "run", "--resume", "--epochs", "2"], 1,
     "run is in use by another zerograd run .*; wait for it to finish, or pass another --out",
     "another run holds run/'s lock", with_run(lock))  # fmt: skip

RESUME = ["train", "--out", "run", "--resume", "--no-progress"]
case(
    "train-resume-no-folder",
    ["train", "--out", "nowhere", "--resume", "--epochs", "2"],
    2,
    r"nowhere: no such run folder; train first \(zerograd train --out nowhere\)",
)
case(
    "train-resume-default-folder",
    ["train", "--resume", "--epochs", "2"],
    2,
    "runs/mnist-mlp: no such run folder",
)
case("train-resume-empty-folder", [*RESUME, "--epochs", "2"], 2,
     r"run holds no run \(no config.json\)", "run/ is empty",
     lambda ctx: (ctx.tmp / "run").mkdir())  # fmt: skip
case("train-resume-out-is-a-file", ["train", "--out", "notes.txt", "--resume"], 2,
     "--out notes.txt is a file, not a run folder", "notes.txt is a file",
     put({"notes.txt": "my notes\n"}))  # fmt: skip
case("train-resume-before-first-checkpoint", [*RESUME, "--epochs", "2"], 2,
     r"--resume: no checkpoint at run/last.safetensors \(the run there stopped before its first "
     "epoch ended\\); start the run without --resume", "run/ holds only config.json",
     with_run(keep_only("config.json")))  # fmt: skip
for id, args, match in [
    ("dataset", ["--dataset", "fashion-mnist"],
     "cannot resume run: it was trained with dataset='mnist', this asks for 'fashion-mnist'"),
    ("model", ["--model", "simple-cnn"], "it was trained with model='mlp', this asks for "
     "'simple-cnn'. Resume with the run's own settings"),
    ("seed", ["--seed", "7"], "it was trained with seed=0, this asks for 7"),
    ("batch-size", ["--batch-size", "50"], "it was trained with batch_size=100, this asks for 50"),
    ("optimizer", ["--optimizer", "adam"], "it was trained with optimizer='momentum', this asks "
     "for 'adam'"),
    ("augment", ["--augment", "shift"], r"it was trained with augment=\[\], this asks for "
     r"\['shift'\]"),
    ("val-split", ["--val-split", "0.2"], "it was trained with val_split=0.1, this asks for 0.2"),
    ("dropout", ["--dropout", "0.2"], r"it was trained with model_options=\{\}, this asks for "
     r"\{'dropout': 0.2\}"),
    ("model-and-seed", ["--model", "mlp-small", "--seed", "4"],
     "model='mlp', this asks for 'mlp-small'; it was trained with seed=0, this asks for 4"),
]:  # fmt: skip
    match = match if id == "dataset" else "cannot resume run: .*" + match
    case(f"train-resume-other-{id}", [*RESUME, "--epochs", "2", *args], 2, match,
         "run/ is a finished run", with_run())  # fmt: skip
case("train-resume-finished", RESUME, 2,
     "run has already trained 1 epoch; pass --epochs above 1 to train on",
     "run/ finished its 1 epoch", with_run())  # fmt: skip
case("train-resume-same-epochs", [*RESUME, "--epochs", "1"], 2,
     "run has already trained 1 epoch; pass --epochs above 1", "run/ finished its 1 epoch",
     with_run())  # fmt: skip
case("train-resume-best-same-epochs", [*RESUME[:-1], "best", "--epochs", "1"], 2,
     "run has already trained 1 epoch", "run/ finished its 1 epoch", with_run())  # fmt: skip
case("train-resume-epochs-zero", [*RESUME, "--epochs", "0"], 2,
     re.escape(OPT) + "--epochs: .* got 0", "run/ is a finished run", with_run())  # fmt: skip
case("train-resume-lr-nan", [*RESUME, "--epochs", "2", "--lr", "nan"], 2,
     re.escape(OPT) + "--lr: .* got nan", "run/ is a finished run", with_run())  # fmt: skip
case("train-resume-damaged-last-whole-best", [*RESUME, "--epochs", "2"], 1,
     r"run/last.safetensors is damaged \(.*\); run/best.safetensors \(epoch 1\) is whole: resume "
     "from it with --resume best", "run/last.safetensors cut to 1,000 bytes",
     with_run(cut("last.safetensors", 1000)))  # fmt: skip
case("train-resume-damaged-last-no-best", [*RESUME, "--epochs", "2"], 1,
     r"run/last.safetensors is damaged \(.*truncated.*\)",
     "run/last.safetensors cut to 1,000 bytes, no best.safetensors",
     with_run(cut("last.safetensors", 1000), drop("best.safetensors")))  # fmt: skip
case("train-resume-garbage-last", [*RESUME, "--epochs", "2"], 1,
     r"run/last.safetensors is damaged \(.*not a valid safetensors file",
     "run/last.safetensors is 4 kB of garbage",
     with_run(write("last.safetensors", b"\x17garbage" * 512)))  # fmt: skip
case("train-resume-best-missing", [*RESUME[:-1], "best", "--epochs", "2"], 2,
     "--resume: no checkpoint at run/best.safetensors(?!.*stopped before its first epoch)",
     "run/ finished, without best.safetensors", with_run(drop("best.safetensors")))  # fmt: skip
case("train-resume-file-missing", [*RESUME[:-1], "nothere.safetensors", "--epochs", "2"], 2,
     "--resume: no checkpoint at nothere.safetensors(?!.*stopped before its first epoch)",
     "run/ is a finished run", with_run())  # fmt: skip
case("train-resume-file-weights", [*RESUME[:-1], "run/model.safetensors", "--epochs", "2"], 1,
     r"run/model.safetensors is not a checkpoint of zerograd train", "run/ is a finished run",
     with_run())  # fmt: skip
case("train-resume-file-text", [*RESUME[:-1], "notes.txt", "--epochs", "2"], 1,
     r"notes.txt is not a (safetensors )?checkpoint(?!.*--overwrite)",
     "run/ is a finished run; notes.txt is a text file",
     put({"notes.txt": "my notes\n"}, run=True))  # fmt: skip
for id, setup, edit, match in [
    ("invalid-json", '{"dataset": "mnist",', write("config.json", '{"dataset": "mnist",'),
     r"run/config.json: it is not valid JSON \(Expecting property name"),
    ("brace", "{", write("config.json", "{"), r"run/config.json: it is not valid JSON"),
    ("unknown-key", 'an extra "colour": "red"', config(lambda d: d.update(colour="red")),
     "run/config.json: colour: is not a setting zerograd knows"),
    ("wrong-type", '"epochs": "five"', config(lambda d: d.update(epochs="five")),
     "run/config.json: epochs: must be a whole number from 1 to 100000, got 'five'"),
    ("missing-key", 'no "model"', config(lambda d: d.pop("model")),
     "run/config.json: model: is missing"),
]:  # fmt: skip
    case(f"train-resume-config-{id}", [*RESUME, "--epochs", "2"], 1, match,
         f"run/config.json holds {setup}", with_run(edit))  # fmt: skip

# --- zerograd evaluate ----------------------------------------------------------------------------

EVAL = ["evaluate", "--run", "run", "--sample"]
case(
    "evaluate-no-model",
    ["evaluate", "--sample"],
    2,
    r"give --run DIR \(a folder made by zerograd train\) or --pretrained NAME",
)
case(
    "evaluate-run-and-pretrained",
    ["evaluate", "--run", "run", "--pretrained", "mlp-mnist"],
    2,
    "argument --pretrained: not allowed with argument --run",
)
case(
    "evaluate-pretrained-unknown",
    ["evaluate", "--pretrained", "resnet50"],
    2,
    "argument --pretrained: invalid choice: 'resnet50' .*'mlp-mnist'",
)
case(
    "evaluate-pretrained-language-model",
    ["evaluate", "--pretrained", LM],
    2,
    f"argument --pretrained: invalid choice: '{LM}'",
)
case("evaluate-dataset-unknown", ["evaluate", "--pretrained", "mlp-mnist", "--dataset", "emnist"],
     2, "argument --dataset: invalid choice: 'emnist'")  # fmt: skip
case(
    "evaluate-unknown-option",
    ["evaluate", "--pretrained", "mlp-mnist", "--top", "3"],
    2,
    "unrecognized arguments: --top 3",
)
case("evaluate-run-no-value", ["evaluate", "--run"], 2, "argument --run: expected one argument")
case("evaluate-run-empty", ["evaluate", "--run", ""], 2, "argument --run: the path is empty")
case(
    "evaluate-data-dir-empty",
    ["evaluate", "--pretrained", "mlp-mnist", "--data-dir", ""],
    2,
    "argument --data-dir: the path is empty",
)
case(
    "evaluate-run-missing",
    ["evaluate", "--run", "nowhere"],
    2,
    r"nowhere: no such run folder; train first \(zerograd train --out nowhere\)",
)
case("evaluate-run-is-a-file", ["evaluate", "--run", "notes.txt"], 2,
     r"--run notes.txt is a file, not a run folder; pass the folder zerograd train wrote",
     "notes.txt is a text file", put({"notes.txt": "my notes\n"}))  # fmt: skip
case("evaluate-run-empty-folder", ["evaluate", "--run", "run"], 2,
     r"run holds no run \(no config.json\); pass a folder made by zerograd train --out",
     "run/ is empty", lambda ctx: (ctx.tmp / "run").mkdir())  # fmt: skip
for id, setup, content, match in [
    ("invalid-json", '{"dataset": "mnist",', '{"dataset": "mnist",',
     r"run/config.json: it is not valid JSON \(Expecting property name .*line 1 column 21"),
    ("brace", "{", "{", r"run/config.json: it is not valid JSON"),
    ("empty", "nothing (0 bytes)", "", r"run/config.json: it is not valid JSON \(Expecting value"),
    ("list", "[1, 2]", "[1, 2]", "run/config.json: it must be a JSON object, got list"),
    ("not-utf8", "bytes ff fe", b"\xff\xfe", "run/config.json: it is not a UTF-8 text file"),
]:  # fmt: skip
    case(f"evaluate-config-{id}", EVAL, 1, match, f"run/config.json holds {setup}",
         with_run(write("config.json", content)))  # fmt: skip
for id, setup, edit, match in [
    ("missing-key", 'no "model"', config(lambda d: d.pop("model")),
     "run/config.json: model: is missing"),
    ("missing-keys", 'no "model" and no "seed"', config(lambda d: [d.pop("model"), d.pop("seed")]),
     "2 problems with run/config.json: model: is missing; seed: is missing"),
    ("wrong-types", '"epochs": "five", "model": 3', config(lambda d: d.update(epochs="five",
                                                                            model=3)),
     "run/config.json: model: must be one of mlp, .* got 3; epochs: .* got 'five'"),
    ("unknown-model", '"model": "resnet50"', config(lambda d: d.update(model="resnet50")),
     "run/config.json: model: must be one of mlp, .* got 'resnet50'"),
    ("unknown-key", 'an extra "colour": "red"', config(lambda d: d.update(colour="red")),
     "run/config.json: colour: is not a setting zerograd knows"),
    ("dropout-string", '"model_options": {"dropout": "0.5"}',
     config(lambda d: d.update(model_options={"dropout": "0.5"})),
     "run/config.json: dropout: must be a probability from 0 to below 1, got '0.5'"),
]:  # fmt: skip
    case(f"evaluate-config-{id}", EVAL, 1, match, f"run/config.json holds {setup}",
         with_run(edit))  # fmt: skip
for id, setup, edit, match in [
    ("missing", "run/ stopped after epoch 1: no model.safetensors",
     drop("model.safetensors", "results.json"),
     r"run/model.safetensors not found \(its training has not finished: resume it with zerograd "
     r"train --out run --resume\)"),
    ("empty", "run/model.safetensors is empty", write("model.safetensors", b""),
     "'run/model.safetensors' is not a valid safetensors file: it is 0 bytes long.*; the run's "
     r"weights cannot be read: train it again \(zerograd train --out run --overwrite\)"),
    ("truncated", "run/model.safetensors cut in half", cut("model.safetensors", 400_000),
     "'run/model.safetensors' is not a valid safetensors file: .*truncated.*; the run's weights "
     "cannot be read"),
    ("garbage", "run/model.safetensors is 4 kB of garbage",
     write("model.safetensors", b"\x17garbage" * 512),
     "'run/model.safetensors' is not a valid safetensors file: .*; the run's weights cannot be "
     "read"),
    ("text", "run/model.safetensors is a text file", write("model.safetensors", "weights\n"),
     "'run/model.safetensors' is not a valid safetensors file"),
    ("other-model", "run/model.safetensors holds a simple-cnn's weights",
     write("model.safetensors", weights),
     r"run/model.safetensors does not fit the run's mlp \(MLP, as its config.json says\): it "
     "lacks 1.weight, .*It holds another model's weights; put back the run's own "
     "model.safetensors"),
    ("other-sizes", "run/model.safetensors holds an mlp-small's weights",
     write("model.safetensors", lambda: weights("mlp-small")),
     r"run/model.safetensors does not fit the run's mlp .*: 1.weight is \(100, 784\), not "
     r"\(256, 784\)"),
]:  # fmt: skip
    case(f"evaluate-weights-{id}", EVAL, 1, match, setup, with_run(edit))
case("evaluate-data-dir-missing", [*EVAL[:-1], "--data-dir", "nowhere"], 2,
     "--data-dir nowhere: no such folder", "run/ is a finished run", with_run())  # fmt: skip
case("evaluate-sample-fashion", [*EVAL, "--dataset", "fashion-mnist"], 2,
     re.escape(OPT) + "--sample: the package embeds a sample of MNIST only, not fashion-mnist",
     "run/ is a finished run", with_run())  # fmt: skip
case("evaluate-fashion-no-data", ["evaluate", "--pretrained", "deep-cnn-bn-fashion"], 1,
     "the fashion-mnist files were not found", "no data files anywhere", no_data)  # fmt: skip

# --- zerograd predict ----------------------------------------------------------------------------

PRED = ["--pretrained", "mlp-mnist"]
case("predict-no-image", ["predict", *PRED], 2, "the following arguments are required: IMAGE")
case("predict-no-model", ["predict", "seven.png"], 2, "give --run DIR .* or --pretrained NAME",
     "seven.png is a digit", put({"seven.png": png}))  # fmt: skip
case("predict-image-empty-path", ["predict", "", *PRED], 2, "argument IMAGE: the path is empty")
case(
    "predict-unknown-option",
    ["predict", "x.png", *PRED, "--top", "3"],
    2,
    "unrecognized arguments: --top 3",
)
case(
    "predict-invert-unknown",
    ["predict", "x.png", *PRED, "--invert", "maybe"],
    2,
    "argument --invert: invalid choice: 'maybe'",
)
case(
    "predict-pretrained-language-model",
    ["predict", "x.png", "--pretrained", LM],
    2,
    f"argument --pretrained: invalid choice: '{LM}'",
)
case("predict-image-missing", ["predict", "nothere.png", *PRED], 1, "nothere.png: no such file")
case("predict-image-folder", ["predict", "pictures", *PRED], 1,
     "pictures is a folder; give the path of one picture", "pictures/ is a folder",
     lambda ctx: (ctx.tmp / "pictures").mkdir())  # fmt: skip
case("predict-image-unreadable", ["predict", "seven.png", *PRED], 1, "seven.png: .*[Pp]ermission",
     "seven.png may not be read (chmod 000)", unreadable("seven.png", png),
     needs="non-root")  # fmt: skip
for id, name, setup, content, match in [
    ("empty-file", "seven.png", "0 bytes", b"",
     "seven.png: not a picture Pillow can read \\(its first bytes are b''\\)"),
    ("text-as-png", "seven.png", "a text file", "a note, not a picture\n",
     "seven.png: not a picture Pillow can read \\(its first bytes are b'a note, '\\)"),
    ("truncated-png", "seven.png", "a PNG cut in half", lambda: png()[:len(png()) // 2],
     "seven.png: a damaged or truncated PNG file"),
    ("truncated-jpeg", "seven.jpg", "a JPEG cut in half",
     lambda: png(fmt="JPEG")[:len(png(fmt="JPEG")) // 2],
     "seven.jpg: a damaged or truncated JPEG file"),
    ("blank-white", "blank.png", "all white", lambda: png(np.full((28, 28), 255, np.uint8)),
     r"blank.png: the picture is blank \(every pixel has grey level 255\)"),
    ("blank-black", "blank.png", "all black", lambda: png(np.zeros((28, 28), np.uint8)),
     r"blank.png: the picture is blank \(every pixel has grey level 0\)"),
    ("huge-png", "bomb.png", "a PNG that says it is 60,000 x 60,000", bomb_png,
     "bomb.png: 3,600,000,000 pixels, more than PIL.Image.MAX_IMAGE_PIXELS"),
    ("npy-empty", "x.npy", "a (0, 28) array", lambda: npy(np.zeros((0, 28))),
     r"x.npy: the array is empty \(shape \(0, 28\)\)"),
    ("npy-nan", "x.npy", "a NaN among the grey levels",
     lambda: npy(np.where(np.eye(28) > 0, np.nan, 0.0)),
     "x.npy: 28 of the 784 values are NaN or infinite"),
    ("npy-inf", "x.npy", "all +inf", lambda: npy(np.full((28, 28), np.inf)),
     "x.npy: 784 of the 784 values are NaN or infinite"),
    ("npy-strings", "x.npy", "an array of strings", lambda: npy(np.full((28, 28), "a")),
     "x.npy: the array's dtype is <U1, not numbers"),
    ("npy-objects", "x.npy", "a pickled object array",
     lambda: npy(np.array([None, 1], dtype=object), allow_pickle=True),
     r"x.npy: the array holds Python objects \(dtype object\).* never unpickles"),
    ("npz-as-npy", "x.npy", "an .npz archive", lambda: npz(image=_digit()),
     r"x.npy: an .npz archive \(numpy.savez; it holds image\), not a .npy array"),
    ("npz", "x.npz", "an .npz archive", lambda: npz(image=_digit()),
     "x.npz: an .npz archive"),
    ("npy-colour", "x.npy", "a (3, 28, 28) array", lambda: npy(np.zeros((3, 28, 28))),
     r"x.npy: an array of shape \(3, 28, 28\); load_image needs one grey image"),
    ("npy-negative", "x.npy", "grey levels of -5", lambda: npy(np.full((28, 28), -5.0)),
     r"x.npy: values from -5 to -5; grey levels must lie in \[0, 1\] or in \[0, 255\]"),
    ("npy-huge", "x.npy", "a header for 100,000 x 100,000 and no data", huge_npy,
     "x.npy: (too large to read into memory|a damaged or truncated .npy file)"),
]:  # fmt: skip
    case(f"predict-{id}", ["predict", name, *PRED], 1, match, f"{name} is {setup}",
         put({name: content}))  # fmt: skip
case("predict-one-bad-of-two", ["predict", "seven.png", "notes.png", *PRED], 1,
     "notes.png: not a picture Pillow can read", "seven.png is a digit, notes.png a text file",
     put({"seven.png": png, "notes.png": "my notes\n"}))  # fmt: skip
case(
    "predict-run-missing",
    ["predict", "seven.png", "--run", "nowhere"],
    2,
    "nowhere: no such run folder",
    "seven.png is a digit",
    put({"seven.png": png}),
)
case(
    "predict-weights-other-model",
    ["predict", "seven.png", "--run", "run"],
    1,
    "run/model.safetensors does not fit the run's mlp",
    "run/model.safetensors holds a simple-cnn's weights",
    put({"seven.png": png}, edits=[write("model.safetensors", weights)]),
)
case(
    "predict-weights-truncated",
    ["predict", "seven.png", "--run", "run"],
    1,
    "'run/model.safetensors' is not a valid safetensors file",
    "run/model.safetensors cut in half",
    put({"seven.png": png}, edits=[cut("model.safetensors", 400_000)]),
)
case("predict-config-brace", ["predict", "seven.png", "--run", "run"], 1,
     "run/config.json: it is not valid JSON", "run/config.json holds {",
     put({"seven.png": png}, edits=[write("config.json", "{")]))  # fmt: skip

# --- zerograd generate ----------------------------------------------------------------------------

GEN = ["generate", "--pretrained", LM]
for id, args, status, match in [
    ("temperature-nan", ["--temperature", "nan"], 2,
     "argument --temperature: nan is not a finite number"),
    ("temperature-inf", ["--temperature", "inf"], 2,
     "argument --temperature: inf is not a finite number"),
    ("temperature-minus-inf", ["--temperature=-inf"], 2,
     "argument --temperature: -inf is not a finite number"),
    ("temperature-negative", ["--temperature", "-1"], 2, "--temperature must be 0 or more, got -1"),
    ("temperature-word", ["--temperature", "warm"], 2,
     "argument --temperature: 'warm' is not a number"),
    ("length-negative", ["--length", "-1"], 2, "argument --length: must be at least 0, got -1"),
    ("length-fraction", ["--length", "1.5"], 2, "argument --length: '1.5' is not a whole number"),
    ("length-huge", ["--length", str(10**12)], 2,
     f"argument --length: must be at most 100000, got {10**12}"),
    ("seed-negative", ["--seed", "-1"], 2, "argument --seed: must be at least 0, got -1"),
    ("prompt-empty", ["--prompt", ""], 2, "--prompt is empty; give at least one character"),
    ("prompt-unknown-characters", ["--prompt", "Ŝo 🙂"], 1,
     "--prompt 'Ŝo 🙂': 'Ŝ🙂' is not in the vocabulary of the model, which knows only these 65 "
     "characters"),
    ("unknown-option", ["--top-k", "5"], 2, "unrecognized arguments: --top-k 5"),
]:  # fmt: skip
    case(f"generate-{id}", [*GEN, *args], status, match)
case(
    "generate-no-model",
    ["generate"],
    2,
    r"give --weights FILE \(lesson 16's char_lstm.safetensors\) or --pretrained "
    "char-lstm-shakespeare",
)
case(
    "generate-weights-and-pretrained",
    [*GEN, "--weights", "w.safetensors"],
    2,
    "argument --weights: not allowed with argument --pretrained",
)
case(
    "generate-pretrained-unknown",
    ["generate", "--pretrained", "gpt2"],
    2,
    "argument --pretrained: invalid choice: 'gpt2'",
)
case(
    "generate-pretrained-image-model",
    ["generate", "--pretrained", "mlp-mnist"],
    2,
    "argument --pretrained: invalid choice: 'mlp-mnist'",
)
case(
    "generate-weights-empty-path",
    ["generate", "--weights", ""],
    2,
    "argument --weights: the path is empty",
)
case(
    "generate-weights-missing",
    ["generate", "--weights", "char_lstm.safetensors"],
    1,
    "char_lstm.safetensors not found; train a model with `zerograd lesson 16_char_lm --out DIR`",
)
case("generate-weights-folder", ["generate", "--weights", "run"], 2,
     "--weights run is a folder; pass the .safetensors file", "run/ is a finished run",
     with_run())  # fmt: skip
for id, setup, content, match in [
    ("empty-file", "0 bytes", b"",
     "'w.safetensors' is not a valid safetensors file: it is 0 bytes long"),
    ("text", "a text file", "weights\n", "'w.safetensors' is not a valid safetensors file"),
    ("truncated", "an image model's weights cut short", lambda: weights()[:2000],
     "'w.safetensors' is not a valid safetensors file: .*truncated"),
    ("image-model", "a simple-cnn's weights", weights,
     "w.safetensors is not a character language model's weights .*; give a file written by "
     "save_language_model, e.g. by lesson 16"),
    ("plain-tensors", "one tensor, no metadata", plain_weights,
     "w.safetensors is not a character language model's weights"),
]:  # fmt: skip
    case(f"generate-weights-{id}", ["generate", "--weights", "w.safetensors"], 1, match,
         f"w.safetensors is {setup}", put({"w.safetensors": content}))  # fmt: skip

# --- zerograd export ----------------------------------------------------------------------------

EXP = ["export", "--pretrained", "mlp-mnist"]
for id, args, match in [
    ("batch-size-zero", ["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    ("batch-size-negative", ["--batch-size", "-2"], "argument --batch-size: .* at least 1, got -2"),
    ("batch-size-huge", ["--batch-size", "1000000000"],
     "argument --batch-size: must be at most 65536, got 1000000000"),
    ("batch-size-word", ["--batch-size", "two"], "argument --batch-size: 'two' is not a whole"),
    ("opset-too-old", ["--opset", "12"], "argument --opset: invalid choice: 12 .*13, 14"),
    ("opset-too-new", ["--opset", "29"], "argument --opset: invalid choice: 29 .*27, 28"),
    ("opset-word", ["--opset", "latest"], "argument --opset: invalid int value: 'latest'"),
    ("format-unknown", ["--format", "tflite"], "argument --format: invalid choice: 'tflite'"),
    ("output-empty", ["-o", ""], "argument -o/--output: the path is empty"),
    ("output-no-value", ["-o"], "argument -o/--output: expected one argument"),
    ("unknown-option", ["--fp16"], "unrecognized arguments: --fp16"),
]:  # fmt: skip
    case(f"export-{id}", [*EXP, *args], 2, match)
case("export-no-model", ["export"], 2, "give --run DIR .* or --pretrained NAME")
case(
    "export-run-and-pretrained",
    [*EXP, "--run", "run"],
    2,
    "argument --run: not allowed with argument --pretrained",
)
case(
    "export-pretrained-unknown",
    ["export", "--pretrained", "resnet50"],
    2,
    "argument --pretrained: invalid choice: 'resnet50'",
)
case("export-onto-run-weights", ["export", "--run", "run", "-o", "run/model.safetensors"], 2,
     "-o run/model.safetensors exists and is not an ONNX file; pass --force to replace it",
     "run/ is a finished run", with_run())  # fmt: skip
case("export-onto-checkpoint", ["export", "--run", "run", "-o", "run/last.safetensors"], 2,
     "-o run/last.safetensors exists and is not an ONNX file", "run/ is a finished run",
     with_run())  # fmt: skip
case("export-onto-config", ["export", "--run", "run", "-o", "run/config.json"], 2,
     "-o run/config.json exists and is not an ONNX file", "run/ is a finished run",
     with_run())  # fmt: skip
case("export-onto-notes-named-onnx", [*EXP, "-o", "notes.onnx"], 2,
     "-o notes.onnx exists and is not an ONNX file", "notes.onnx is a text file",
     put({"notes.onnx": "my notes\n"}), needs="onnx")  # fmt: skip
case("export-onto-picture", [*EXP, "-o", "seven.png"], 2,
     "-o seven.png exists and is not an ONNX file", "seven.png is a digit",
     put({"seven.png": png}))  # fmt: skip
case("export-output-folder", [*EXP, "-o", "models"], 2,
     "-o models is a folder; give a file name such as model.onnx", "models/ is a folder",
     lambda ctx: (ctx.tmp / "models").mkdir())  # fmt: skip
case(
    "export-output-missing-folder",
    [*EXP, "-o", "models/mlp.onnx"],
    2,
    "-o models/mlp.onnx: the folder models does not exist; create it first",
)
case("export-output-under-a-file", [*EXP, "-o", "notes.txt/mlp.onnx"], 2,
     "-o notes.txt/mlp.onnx: notes.txt is a file, not a folder", "notes.txt is a file",
     put({"notes.txt": "my notes\n"}))  # fmt: skip
case("export-output-read-only", [*EXP, "-o", "locked/mlp.onnx"], 2,
     "-o locked/mlp.onnx: no permission to write in locked", "locked/ is read-only (chmod 500)",
     read_only("locked"), needs="non-root")  # fmt: skip
case("export-output-proc", [*EXP, "-o", f"{PROC}.onnx"], 1,
     f"could not create a temporary file beside '{PROC}.onnx' \\(No such file or directory\\); "
     "whatever was there before is unchanged", needs="root")  # fmt: skip
case("export-run-missing", ["export", "--run", "nowhere"], 2, "nowhere: no such run folder")
case(
    "export-run-interrupted",
    ["export", "--run", "run"],
    1,
    r"run/model.safetensors not found \(its training has not finished: resume it",
    "run/ stopped after epoch 1",
    with_run(drop("model.safetensors", "results.json")),
)
case(
    "export-weights-other-model",
    ["export", "--run", "run"],
    1,
    "run/model.safetensors does not fit the run's mlp",
    "run/model.safetensors holds a simple-cnn's weights",
    with_run(write("model.safetensors", weights)),
)
case("export-config-invalid-json", ["export", "--run", "run"], 1,
     "run/config.json: it is not valid JSON", 'run/config.json holds {"dataset": "mnist",',
     with_run(write("config.json", '{"dataset": "mnist",')))  # fmt: skip

# --- zerograd gradcheck and lesson ----------------------------------------------------------------

for id, args, match in [
    ("seed-negative", ["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    ("seed-word", ["--seed", "x"], "argument --seed: 'x' is not a whole number"),
    ("seed-fraction", ["--seed", "0.5"], "argument --seed: '0.5' is not a whole number"),
    ("op-unknown", ["--op", "no-such-op"],
     "no op matches 'no-such-op'; zerograd gradcheck --list shows the [0-9]+ op cases"),
    ("list-op-unknown", ["--list", "--op", "convolution"], "no op matches 'convolution'"),
    ("op-no-value", ["--op"], "argument --op: expected one argument"),
    ("stray-argument", ["matmul"], "unrecognized arguments: matmul"),
    ("unknown-option", ["--atol", "1e-3"], "unrecognized arguments: --atol 1e-3"),
]:  # fmt: skip
    case(f"gradcheck-{id}", ["gradcheck", *args], 2, match)

for id, args, match in [
    ("unknown", ["no-such-lesson"], r"no lesson 'no-such-lesson'. The lessons are: 01_perceptron, "
     r".* \(zerograd lesson list shows their titles\)"),
    ("number-zero", ["0"], "no lesson '0'"),
    ("number-too-big", ["99"], "no lesson '99'"),
    ("empty-name", [""], "no lesson ''"),
    ("list-extra", ["list", "extra"], "lesson list takes no arguments, got extra"),
    ("unknown-option", ["--quick"], "unrecognized arguments: --quick"),
]:  # fmt: skip
    case(f"lesson-{id}", ["lesson", *args], 2, match)

case("zerograd-unknown-command", ["fit"], 2, "argument COMMAND: invalid choice: 'fit'")
case("zerograd-unknown-option", ["--verbose"], 2, "unrecognized arguments: --verbose")


# --- running a case -------------------------------------------------------------------------------


def _unavailable(needs) -> str | None:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if needs == "non-root" and root:
        return "run as root, whom file permissions do not stop"
    if needs == "root" and not root:  # others are refused by the permission check first
        return "root only: other users are refused by the permission check first"
    if needs == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError:
            return 'needs the onnx package (pip install "zerograd[onnx]")'
    return None


def run_case(c: Case, tmp: Path, finished: Path):
    """(the result, what changed on disk) of ``zerograd ARGV`` in ``tmp``, after ``prepare``."""
    ctx = Ctx(tmp, finished)
    cwd = os.getcwd()
    try:
        if c.prepare is not None:
            c.prepare(ctx)
        before = snapshot(tmp)
        os.chdir(tmp)
        try:
            r = call(c.argv)
        finally:
            os.chdir(cwd)
        after = snapshot(tmp)
    finally:
        ctx.close()
    return r, changes(before, after)


def check(c: Case, r, changed) -> str:
    line = check_failure(r, c.prog, c.match, c.status)
    assert not changed, f"{c.id} changed what was on disk: {changed}"
    return line


def _param(c: Case):
    marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("c", [_param(c) for c in CASES])
def test_bad_invocation(c, tmp_path, finished_run):
    reason = _unavailable(c.needs)
    if reason:
        pytest.skip(reason)
    r, changed = run_case(c, tmp_path, finished_run)
    for extra, module in (("image", "PIL"), ("onnx", "onnxruntime")):  # refused for want of it
        if f'"zerograd[{extra}]"' in r.err and importlib.util.find_spec(module) is None:
            pytest.skip(f'needs the {extra} extra: pip install "zerograd[{extra}]"')
    check(c, r, changed)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_command_has_its_cases():
    for command in COMMANDS:
        n = sum(c.argv[0] == command for c in CASES)
        assert n >= 5, f"only {n} cases for zerograd {command}"
    assert len(CASES) >= 150
    from zerograd.cli import build_parser

    assert set(build_parser().commands) == set(COMMANDS)


# --- the table in docs/reliability.md -------------------------------------------------------------

INTRO = """\
## The command line: bad invocations

The `zerograd` command answers every mistake with one line on stderr, `zerograd <command>: <what
is wrong>`, naming the option, value or file, and exits with status 2 for a usage mistake and 1 for
a failure (130 for Ctrl-C), without a traceback (`--debug` shows it). The table is every bad
invocation we tried: wrong, negative and non-finite numbers, unknown options and choices, missing,
empty, damaged and foreign files, folders it may not write, runs it must not overwrite or resume.
Each row is a test (`tests/cli/test_bad_invocations.py`, same ids), which also checks that nothing
on disk changed: every file keeps its bytes and modification time, and no half-made run folder is
left behind. Each command ran in a folder of its own, `<tmp>`, holding what the command column
says (its paths are relative to it). A row marked "to be fixed" shows today's answer and what it
should be; "not run here" marks a case that needs another user (file permissions do not stop
root). The table is written by `python tests/cli/test_bad_invocations.py --write`.
"""


def _hide(text: str, tmp: Path) -> str:
    """Machine paths out of a message: the case's folder as ``<tmp>``."""
    for path in sorted({str(tmp), os.path.realpath(tmp)}, key=len, reverse=True):
        text = text.replace(path, "<tmp>")
    return text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _command(c: Case) -> str:
    line = "zerograd " + " ".join(shlex.quote(a) for a in c.argv)
    return f"`{line}`" + (f" ({c.setup})" if c.setup else "")


def render_table(finished: Path) -> str:
    rows = ["| id | command | what the user gets |", "|---|---|---|"]
    for c in CASES:
        reason = _unavailable(c.needs)
        if reason:
            got = f"exit {c.status}: (not run here: {reason})"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                r, changed = run_case(c, Path(tmp), finished)
                if c.xfail is None:
                    check(c, r, changed)
                got = f"exit {r.status}: {_hide(r.err.strip(), Path(tmp))}"
                if c.xfail:
                    got += f" (to be fixed: {c.xfail})"
        rows.append(f"| {c.id} | {_cell(_command(c))} | {_cell(got)} |")
    return "\n".join(rows) + "\n"


def doc_rows(text: str) -> dict:
    """id -> the result cell, from the rows between the command-line table's markers."""
    section = text.split(START, 1)[1].split(END, 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*([a-z][a-z0-9-]*)\s*\|(.*)\|\s*$", line)
        if m and m.group(1) != "id":
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", m.group(2))]
            rows[m.group(1)] = cells[-1].replace("\\|", "|")
    return rows


def test_doc_and_cases_agree():
    rows = doc_rows(DOC.read_text(encoding="utf-8"))
    ids = {c.id for c in CASES}
    assert not ids - rows.keys(), f"cases with no row in {DOC.name}: {sorted(ids - rows.keys())}"
    assert not rows.keys() - ids, f"rows with no case: {sorted(rows.keys() - ids)}"
    for c in CASES:  # the row says what the case expects
        got = rows[c.id]
        if c.xfail:
            assert "(to be fixed: " in got, (c.id, got)
        elif "(not run here: " not in got:
            assert got.startswith(f"exit {c.status}: {c.prog}: "), (c.id, got)
            assert re.search(c.match, got), (c.id, c.match, got)
        else:
            assert got.startswith(f"exit {c.status}: "), (c.id, got)


def main(argv) -> int:
    with tempfile.TemporaryDirectory() as base:
        finished = train_sample_run(base)
        table = render_table(finished)
    section = f"{INTRO}\n{table}"
    return write_or_print(DOC, START, END, section, argv, len(CASES))

if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main(sys.argv[1:]))
