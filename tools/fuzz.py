"""Fuzz zerograd's file readers: IDX, safetensors, checkpoints and PyTorch ``.pt`` state dicts.

Every generated input is written to a file and handed to the reader. Each one ends in one of:

- a valid load: the reader returned normally;
- a clear error: the library's own error (the type its docstring names, a message naming the
  file) raised from zerograd's own code, and, where a model or optimizer was being filled, the
  model, optimizer, scheduler and RNG exactly as they were before the call;
- a crash: anything else (an exception of another type or from deep inside NumPy, json, zlib,
  pickle ..., a message that does not name the file, state left half-changed). Each crash is
  printed with its input number, the mutations that made it and the traceback's last frame.

Inputs are mutations of valid files (bit flips, truncations, byte insertions and deletions,
splices; then format-aware edits: IDX headers with wrong magic, dimensions and counts, gzip
streams wrapping corrupt data; safetensors headers lying about offsets, sizes, dtypes and shapes,
huge sizes, duplicate names; checkpoint metadata edited field by field; .pt archives with pickles
naming other globals, lying sizes and strides, damaged storages) plus fully random bytes. Input
``i`` depends only on ``--seed`` and ``i``, so ``--start i --inputs 1`` replays it.

    python tools/fuzz.py --reader idx --inputs 100000
    python tools/fuzz.py --reader pt --inputs 1000 --seed 3 --save-crashes /tmp/crashes

The last line is the summary: inputs tried, clear errors, valid loads, crashes, time. The exit
status is 1 if there was a crash. ``tests/test_fuzz.py`` runs a short version of each target.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import io
import json
import math
import os
import pickletools
import random
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))

import zerograd as zg  # noqa: E402
from zerograd import nn, optim  # noqa: E402
from zerograd.data.idx import IDXError, read_idx, write_idx  # noqa: E402
from zerograd.io import (  # noqa: E402
    load,
    load_checkpoint,
    load_into,
    load_metadata,
    save,
    save_checkpoint,
)

READERS = ("idx", "safetensors", "checkpoint", "pt")

# values that break size arithmetic: zero, one, signed/unsigned limits, just past them
INTERESTING_INTS = [
    0, 1, 2, 3, 7, 8, 255, 256, 2**15 - 1, 2**16, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
    2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, -1, -2, -(2**31), -(2**63),
]  # fmt: skip
INTERESTING_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x7B, 0x7D, 0x22, 0x5B]


# ---------------------------------------------------------------------------------------------
# generic byte mutations


def flip_bits(rng, data: bytes) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def set_bytes(rng, data: bytes) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.choice([1, 2, 3])):
        b[rng.randrange(len(b))] = rng.choice(INTERESTING_BYTES + [rng.randrange(256)])
    return bytes(b)


def truncate(rng, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)] if data else data


def truncate_tail(rng, data: bytes) -> bytes:
    """Cut a few bytes off the end: the common case of an interrupted copy."""
    return data[: max(0, len(data) - rng.choice([1, 2, 3, 4, 7, 8, 16, 64]))]


def insert_bytes(rng, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    n = rng.choice([1, 1, 2, 4, 8, 64])
    junk = bytes(rng.randrange(256) for _ in range(n))
    return data[:i] + junk + data[i:]


def delete_bytes(rng, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.choice([1, 2, 4, 8, 64]) :]


def duplicate_chunk(rng, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.choice([1, 4, 16, 256]))
    k = rng.randrange(len(data) + 1)
    return data[:k] + data[i:j] + data[k:]


def append_garbage(rng, data: bytes) -> bytes:
    tail = rng.choice([b"\0", b"\0" * 8, b"x", bytes(rng.randrange(256) for _ in range(17))])
    return data + tail


def overwrite_int(rng, data: bytes) -> bytes:
    """An interesting integer, little- or big-endian, 4 or 8 bytes, somewhere."""
    if len(data) < 8:
        return data
    width = rng.choice([4, 8])
    v = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
    raw = v.to_bytes(width, rng.choice(["little", "big"]))
    i = rng.randrange(len(data) - width + 1)
    return data[:i] + raw + data[i + width :]


BYTE_MUTATIONS = [
    flip_bits,
    set_bytes,
    truncate,
    truncate_tail,
    insert_bytes,
    delete_bytes,
    duplicate_chunk,
    append_garbage,
    overwrite_int,
]


def random_bytes(rng) -> bytes:
    n = rng.choice([0, 1, 4, 8, 9, 16, 64, 300, 2048])
    return bytes(rng.randrange(256) for _ in range(n))


# ---------------------------------------------------------------------------------------------
# a target: valid seeds, format-aware mutations, the call, and what counts as a clear error


class Target:
    name = "?"
    seed_weight = 0.93  # the rest are fully random bytes
    structured_weight = 0.6  # of the mutated seeds: format-aware edits (the rest byte-level)

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.seeds = self.make_seeds()  # [(label, bytes, info)]
        self.path = workdir / f"input{self.suffix}"

    suffix = ".bin"

    def make_seeds(self) -> list:
        raise NotImplementedError

    def structured(self, rng, data: bytes, info) -> tuple[bytes, str]:
        raise NotImplementedError

    def generate(self, rng) -> tuple[bytes, str, object]:
        """One input: its bytes, how it was made, and the seed's info (None for random bytes)."""
        if rng.random() > self.seed_weight:
            return random_bytes(rng), "random bytes", None
        label, data, info = rng.choice(self.seeds)
        steps = [label]
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if rng.random() < self.structured_weight:
                try:
                    data, what = self.structured(rng, data, info)
                except Exception:  # noqa: BLE001 - an earlier step left nothing to edit
                    data, what = flip_bits(rng, data), "bit flips (structure unusable)"
            else:
                fn = rng.choice(BYTE_MUTATIONS)
                data, what = fn(rng, data), fn.__name__
            steps.append(what)
        return data, " > ".join(steps), info

    def load(self, rng, info):
        raise NotImplementedError

    # the types a clear error may have (its message must also name the file)
    errors: tuple = (ValueError,)

    def check_error(self, exc: BaseException) -> str | None:
        """None if ``exc`` is the library's clear error, else why it is a crash."""
        if not isinstance(exc, self.errors):
            return f"{type(exc).__name__} is not one of the documented errors"
        if os.fspath(self.path) not in str(exc):
            return "the message does not name the file"
        return None

    def before(self):
        """A snapshot of what a failed load must leave unchanged (None: nothing)."""
        return None

    def changed(self, snapshot) -> str | None:
        return None

    def reset(self, snapshot) -> None:
        """Put the state back after a successful load."""


# ----- IDX ------------------------------------------------------------------------------------


def _idx_bytes(array) -> bytes:
    a = numpy.asarray(array)
    code = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}[a.dtype.str[1:]]
    header = bytes([0, 0, code, a.ndim]) + b"".join(n.to_bytes(4, "big") for n in a.shape)
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=6, mtime=0)


class IdxTarget(Target):
    name = "idx"
    suffix = "-idx-ubyte"
    errors = (IDXError,)

    def make_seeds(self):
        r = numpy.random.default_rng(0)
        arrays = {
            "images": r.integers(0, 256, (2, 28, 28), dtype=numpy.uint8),
            "labels": r.integers(0, 10, (5,), dtype=numpy.uint8),
            "small-uint8": r.integers(0, 256, (3, 4, 5), dtype=numpy.uint8),
            "int8": r.integers(-128, 128, (6,), dtype=numpy.int8),
            "int16": r.integers(-999, 999, (2, 3), dtype=numpy.int16),
            "int32": r.integers(-(10**6), 10**6, (1, 2, 1, 2), dtype=numpy.int32),
            "float32": r.standard_normal((4,)).astype(numpy.float32),
            "float64": r.standard_normal((2, 2)).astype(numpy.float64),
            "empty": numpy.zeros((0, 28, 28), numpy.uint8),
        }
        seeds = []
        for label, a in arrays.items():
            raw = _idx_bytes(a)
            seeds.append((f"{label}.raw", raw, {"raw": raw, "gz": False}))
            seeds.append((f"{label}.gz", _gz(raw), {"raw": raw, "gz": True}))
        # the writer's own output must read back
        path = self.workdir / "seed-idx2-ubyte.gz"
        write_idx(path, arrays["int16"])
        seeds.append(("write_idx.gz", path.read_bytes(), {"raw": _idx_bytes(arrays["int16"]),
                                                           "gz": True}))  # fmt: skip
        return seeds

    def structured(self, rng, data, info):
        raw = info["raw"] if info is not None else data
        what = rng.choice(
            ["magic", "ndim", "dim", "count", "data", "gzip-of-edit", "gzip-stream", "gzip-bomb"]
        )
        b = bytearray(raw)
        if what == "magic":
            i = rng.randrange(4)
            b[i] = rng.choice([0, 1, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0xFF])
        elif what == "ndim":
            b[3] = rng.choice([0, 1, 2, 3, 4, 5, 16, 200, 255])
        elif what in ("dim", "count"):
            ndim = b[3] if len(b) >= 4 else 0
            if ndim and len(b) >= 4 + 4 * ndim:
                k = rng.randrange(ndim) if what == "dim" else 0  # count: the first dimension
                old = int.from_bytes(b[4 + 4 * k : 8 + 4 * k], "big")
                new = rng.choice([0, 1, old + 1, max(old - 1, 0), 2 * old, 60000, 10000,
                                  2**31 - 1, 2**32 - 1, rng.randrange(2**32)])  # fmt: skip
                b[4 + 4 * k : 8 + 4 * k] = (new % 2**32).to_bytes(4, "big")
        elif what == "data":
            b = bytearray(rng.choice([truncate_tail, append_garbage, delete_bytes])(rng, bytes(b)))
        elif what == "gzip-stream" and info is not None and info["gz"]:
            return self._gzip_stream(rng, data), what
        elif what == "gzip-bomb":
            # a tiny gzip whose header promises 60000 MNIST images: must not allocate 47 MB
            head = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (60000, 28, 28))
            return _gz(head + bytes(rng.randrange(1, 4096))), what
        out = bytes(b)
        gz = info["gz"] if info is not None else False
        if what == "gzip-of-edit" or (gz and rng.random() < 0.8):
            out = _gz(out)  # a valid gzip wrapper around corrupt IDX data: past the CRC check
        return out, what

    def _gzip_stream(self, rng, data: bytes) -> bytes:
        kind = rng.randrange(6)
        if kind == 0:  # a bad CRC or ISIZE in the trailer
            i = len(data) - rng.randrange(1, 9)
            return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
        if kind == 1:  # the stream cut short
            return data[: rng.randrange(10, max(11, len(data)))]
        if kind == 2:  # zero padding after the stream (tolerated, like gzip -d)
            return data + b"\0" * rng.choice([1, 8, 512])
        if kind == 3:  # a second member
            return data + _gz(bytes(rng.randrange(256) for _ in range(rng.randrange(32))))
        if kind == 4:  # garbage after the stream
            return data + b"garbage"
        return flip_bits(rng, data)

    def load(self, rng, info):
        mode = rng.randrange(4)
        if mode == 0:
            return read_idx(self.path)
        if mode == 1:  # as MNIST reads images
            return read_idx(self.path, magic=2051, shape=(None, 28, 28))
        if mode == 2:  # as MNIST reads labels
            return read_idx(self.path, magic=2049, shape=(rng.choice([2, 5, 60000]),))
        return read_idx(self.path, magic=rng.choice([2049, 2051, 0x0B02, 0x0D01]))


# ----- safetensors ----------------------------------------------------------------------------


def split_safetensors(data: bytes):
    """(header dict, data bytes) of a valid file, or None."""
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + n])
    except (ValueError, RecursionError):
        return None
    return (header, data[8 + n :]) if isinstance(header, dict) else None


def join_safetensors(header_text: bytes, body: bytes, pad: bool = True) -> bytes:
    if pad:
        header_text += b" " * (-len(header_text) % 8)
    return len(header_text).to_bytes(8, "little") + header_text + body


DTYPE_NAMES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8",
               "BOOL", "F8_E4M3", "F8_E5M2", "C64", "I128", "bf16", "f32", "", "F32 "]  # fmt: skip
WEIRD_VALUES = [None, True, False, -1, 0, 1.5, "3", [], {}, [[1]], 2**63, 2**64, 10**30, -(2**63),
                float("inf"), "F32", {"dtype": "F32"}]  # fmt: skip


class SafetensorsTarget(Target):
    name = "safetensors"
    suffix = ".safetensors"

    def make_seeds(self):
        r = numpy.random.default_rng(1)
        dicts = {
            "mixed": {
                "weight": r.standard_normal((3, 4)).astype(numpy.float32),
                "bias": r.standard_normal(3).astype(numpy.float32),
                "steps": numpy.array(7, dtype=numpy.int64),
                "mask": numpy.array([True, False, True]),
                "half": r.standard_normal((2, 2)).astype(numpy.float16),
                "i8": numpy.arange(-3, 3, dtype=numpy.int8),
                "u16": numpy.arange(4, dtype=numpy.uint16),
                "f64": r.standard_normal(2),
            },
            "empty-tensor": {"a": numpy.zeros((0, 3), numpy.float32), "b": numpy.ones(2)},
            "one": {"x": numpy.arange(5, dtype=numpy.int32)},
            "none": {},
        }
        seeds = []
        for label, d in dicts.items():
            path = self.workdir / f"seed-{label}.safetensors"
            meta = {"format": "pt", "note": "fuzz seed"} if label == "mixed" else None
            save(d, path, metadata=meta)
            seeds.append((label, path.read_bytes(), None))
        # BF16, which zerograd reads but does not write
        bf = numpy.arange(6, dtype=numpy.uint16) + 0x3F80
        header = {"b": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}}
        text = json.dumps(header).encode()
        seeds.append(("bf16", join_safetensors(text, bf.astype("<u2").tobytes()), None))
        # a file the reference implementation wrote, if it is installed
        try:
            from safetensors.numpy import save as st_save

            seeds.append(("reference", st_save({"t": numpy.eye(3, dtype=numpy.float32)}), None))
        except ImportError:
            pass
        # the model the load_into calls fill
        model_path = self.workdir / "seed-model.safetensors"
        save(self.model_state(), model_path)
        seeds.append(("model", model_path.read_bytes(), None))
        return seeds

    def __init__(self, workdir):
        zg.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
        super().__init__(workdir)

    def model_state(self):
        return self.model.state_dict()

    def structured(self, rng, data, info):
        parts = split_safetensors(data)
        if parts is None:
            return flip_bits(rng, data), "bit flips (no header to edit)"
        header, body = parts
        return self.edit(rng, header, body)

    def edit(self, rng, header: dict, body: bytes) -> tuple[bytes, str]:
        names = [k for k in header if k != "__metadata__"]
        what = rng.choice(
            ["dtype", "shape", "offsets", "duplicate", "entry-keys", "metadata", "length",
             "padding", "body", "nesting", "big-number", "not-utf8", "rename", "entry-type"]
        )  # fmt: skip
        h = copy.deepcopy(header)
        pad = True
        if what in ("dtype", "shape", "offsets", "entry-keys", "entry-type", "rename") and names:
            key = rng.choice(names)
            entry = h[key]
            if what == "dtype":
                entry["dtype"] = rng.choice(DTYPE_NAMES + [None, 3])
            elif what == "shape":
                shape = list(entry["shape"])
                op = rng.randrange(5)
                if op == 0 and shape:
                    shape[rng.randrange(len(shape))] = rng.choice(INTERESTING_INTS + WEIRD_VALUES)
                elif op == 1:
                    shape.append(rng.choice([0, 1, 2, 2**40]))
                elif op == 2 and shape:
                    shape.pop()
                elif op == 3:
                    shape = shape[::-1] + [1]
                else:
                    shape = rng.choice(WEIRD_VALUES)
                entry["shape"] = shape
            elif what == "offsets":
                begin, end = entry["data_offsets"]
                op = rng.randrange(7)
                if op == 0:
                    entry["data_offsets"] = [begin + rng.choice([-1, 1, 8]), end]
                elif op == 1:
                    entry["data_offsets"] = [begin, end + rng.choice([-1, 1, 8, 2**40])]
                elif op == 2:
                    entry["data_offsets"] = [end, begin]
                elif op == 3:
                    entry["data_offsets"] = [rng.choice(INTERESTING_INTS),
                                             rng.choice(INTERESTING_INTS)]  # fmt: skip
                elif op == 4:  # the same bytes as another tensor: an overlap
                    other = h[rng.choice(names)]
                    entry["data_offsets"] = list(other["data_offsets"])
                elif op == 5:
                    entry["data_offsets"] = rng.choice(WEIRD_VALUES)
                else:
                    entry["data_offsets"] = [begin, end, end]
            elif what == "entry-keys":
                if rng.random() < 0.5:
                    entry.pop(rng.choice(list(entry)))
                else:
                    entry[rng.choice(["extra", "dtype ", "offsets"])] = 1
            elif what == "entry-type":
                h[key] = rng.choice(WEIRD_VALUES)
            else:
                h[rng.choice(["", "__metadata__", key + key, "\u00e9", "model.x"])] = h.pop(key)
        elif what == "duplicate" and names:
            key = rng.choice(names)
            text = json.dumps(h)
            dup = json.dumps({key: h[key]})[1:-1]
            text = text[:-1] + (", " if len(h) else "") + dup + "}"
            return join_safetensors(text.encode(), body), what
        elif what == "metadata":
            h["__metadata__"] = rng.choice(
                [{"a": 1}, {"a": None}, [], "text", {"a": {"b": "c"}}, {"format": "pt"}, None]
            )
        elif what == "length":
            text = json.dumps(h).encode()
            text += b" " * (-len(text) % 8)
            n = len(text) + rng.choice([-9, -1, 1, 8, 2**32, 2**63, 2**64 - 1 - len(text)])
            return (n % 2**64).to_bytes(8, "little") + text + body, what
        elif what == "padding":
            pad = False
            text = json.dumps(h).encode() + rng.choice([b"", b"\0", b"\t", b"\n \n", b"   x"])
            return join_safetensors(text, body, pad=rng.random() < 0.5), what
        elif what == "body":
            body = rng.choice(BYTE_MUTATIONS)(rng, body)
        elif what == "nesting":
            depth = rng.choice([100, 1000, 100000])
            text = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
            return join_safetensors(text, body), what
        elif what == "big-number" and names:
            key = rng.choice(names)
            text = json.dumps(h).replace(
                json.dumps(h[key]["data_offsets"]), "[0, " + "9" * rng.choice([20, 400, 5000]) + "]"
            )
            return join_safetensors(text.encode(), body), what
        elif what == "not-utf8":
            text = json.dumps(h).encode()
            i = rng.randrange(1, max(2, len(text)))
            return join_safetensors(text[:i] + b"\xff\xfe" + text[i:], body), what
        try:
            text = json.dumps(h, ensure_ascii=rng.random() < 0.5).encode()
        except (TypeError, ValueError):
            text = b"{}"
        return join_safetensors(text, body, pad=pad), what

    def load(self, rng, info):
        mode = rng.random()
        if mode < 0.7:
            return load(self.path)
        if mode < 0.8:
            return load_metadata(self.path)
        return load_into(self.model, self.path, strict=rng.random() < 0.8)

    errors = (ValueError, RuntimeError)  # RuntimeError: load_into's load_state_dict

    def before(self):
        return {k: v.data.copy() for k, v in self.model.state_dict().items()}

    def changed(self, snapshot):
        now = self.model.state_dict()
        for k, v in snapshot.items():
            a = now[k].data
            if a.shape != v.shape or a.dtype != v.dtype or not numpy.array_equal(a, v, True):
                return f"the model's {k!r} changed although the load failed"
        return None

    def reset(self, snapshot):
        self.model.load_state_dict(snapshot)


# ----- checkpoints ----------------------------------------------------------------------------


def _make_training_state(arch: int = 0, opt: str = "adam"):
    zg.manual_seed(0)
    if arch == 0:
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    else:
        model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    if opt == "adam":
        optimizer = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), amsgrad=True)
    else:
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _train_step(model, optimizer, scheduler):
    x = zg.randn(8, 3)
    loss = (model(x) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()


def _json_nodes(v, path=()):
    """Every (path, value) in a JSON tree."""
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _json_nodes(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _json_nodes(x, path + (i,))


def _json_set(tree, path, value):
    if not path:
        return value
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return tree


JSON_REPLACEMENTS = [None, True, 0, -1, 1.5, 2**64, "x", "", [], {}, [1, 2], {"a": 1},
                     {"__tensor__": "model.0.weight"}, {"__tensor__": "nope"}, {"__tuple__": 3},
                     {"__tuple__": [1, 2]}, float("nan"), float("inf")]  # fmt: skip


class CheckpointTarget(SafetensorsTarget):
    name = "checkpoint"

    def __init__(self, workdir):
        self.model, self.optimizer, self.scheduler = _make_training_state()
        _train_step(self.model, self.optimizer, self.scheduler)
        Target.__init__(self, workdir)

    def make_seeds(self):
        seeds = []
        for label, arch, opt, steps, with_opt in [
            ("adam", 0, "adam", 3, True),
            ("adam-fresh", 0, "adam", 0, True),
            ("sgd", 0, "sgd", 2, True),
            ("model-only", 0, "adam", 1, False),
            ("other-model", 1, "adam", 1, True),  # a checkpoint from another model
        ]:
            model, optimizer, scheduler = _make_training_state(arch, opt)
            for _ in range(steps):
                _train_step(model, optimizer, scheduler)
            path = self.workdir / f"seed-{label}.safetensors"
            if with_opt:
                save_checkpoint(path, model, optimizer, scheduler, epoch=steps,
                                extra={"best": 0.5, "note": "seed", "hist": [1, 2]})  # fmt: skip
            else:
                save_checkpoint(path, model, epoch=steps)
            seeds.append((label, path.read_bytes(), {"optimizer": with_opt}))
        plain = self.workdir / "seed-plain.safetensors"  # weights, not a checkpoint
        save(self.model.state_dict(), plain)
        seeds.append(("plain-weights", plain.read_bytes(), {"optimizer": False}))
        return seeds

    def structured(self, rng, data, info):
        parts = split_safetensors(data)
        if parts is None:
            return flip_bits(rng, data), "bit flips (no header to edit)"
        header, body = parts
        meta = header.get("__metadata__")
        if isinstance(meta, dict) and meta and rng.random() < 0.6:
            return self.edit_metadata(rng, header, body, meta)
        if rng.random() < 0.4:
            return self.edit_tensor(rng, header, body)
        return self.edit(rng, header, body)

    def edit_metadata(self, rng, header, body, meta):
        h = copy.deepcopy(header)
        field = rng.choice(list(meta))
        text = meta[field]
        op = rng.randrange(10)
        if op == 0:
            new = rng.choice(["", "{", "nul", "[]", "1e999", '"x"', "{" * 5000, "NaN", "null"])
            what = f"metadata {field}: not the JSON expected"
        elif op == 1:
            h["__metadata__"].pop(field)
            what = f"metadata {field}: removed"
            new = None
        else:
            try:
                tree = json.loads(text)
            except ValueError:
                tree = text
            nodes = list(_json_nodes(tree))
            path, value = rng.choice(nodes)
            if isinstance(value, dict) and value and rng.random() < 0.3:
                value.pop(rng.choice(list(value)))
                what = f"metadata {field}: key removed at {list(path)}"
            elif isinstance(value, list) and rng.random() < 0.3:
                value.append(rng.choice(JSON_REPLACEMENTS)) if rng.random() < 0.5 else (
                    value.pop() if value else None
                )
                what = f"metadata {field}: list length changed at {list(path)}"
            elif isinstance(value, dict) and rng.random() < 0.3:
                value[rng.choice(["99", "x", "__tensor__", "-1", "state"])] = rng.choice(
                    JSON_REPLACEMENTS
                )
                what = f"metadata {field}: key added at {list(path)}"
            else:
                repl = rng.choice(JSON_REPLACEMENTS)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    repl = rng.choice([repl, value + 1, -value, value * 2**40, 2**64 - 1])
                tree = _json_set(tree, path, copy.deepcopy(repl))
                what = f"metadata {field}: value replaced at {list(path)}"
            new = json.dumps(tree) if not isinstance(tree, str) else tree
        if new is not None:
            h["__metadata__"][field] = new
        try:
            text = json.dumps(h).encode()
        except ValueError:
            text = b"{}"
        return join_safetensors(text, body), what

    def edit_tensor(self, rng, header, body):
        """Keep the file valid safetensors but change what a tensor is: the checks after."""
        names = [k for k in header if k != "__metadata__"]
        if not names:
            return join_safetensors(json.dumps(header).encode(), body), "no tensor to edit"
        h = copy.deepcopy(header)
        key = rng.choice(names)
        e = h[key]
        n = math.prod(e["shape"])
        op = rng.randrange(5)
        if op == 0 and n:  # the same bytes, another shape
            e["shape"] = rng.choice([[n], [1, n], [n, 1]] + ([e["shape"][::-1]] if e["shape"]
                                                            else []))  # fmt: skip
            what = f"tensor {key}: reshaped"
        elif op == 1:  # the same bytes, another dtype of the same size
            same = {"F32": ["I32", "U32"], "I64": ["F64", "U64"], "F64": ["I64"], "I32": ["F32"]}
            e["dtype"] = rng.choice(same.get(e["dtype"], [e["dtype"]]))
            what = f"tensor {key}: dtype changed"
        elif op == 2:
            h[rng.choice(["model.9.weight", "optimizer.state.7.exp_avg", "stray", key + "x"])] = (
                h.pop(key)
            )
            what = f"tensor {key}: renamed"
        else:  # dropped: the offsets of the others are redone
            h.pop(key)
            what = f"tensor {key}: removed"
            return self._repack(h, header, body), what
        return join_safetensors(json.dumps(h).encode(), body), what

    @staticmethod
    def _repack(h, old_header, body):
        """Rebuild the data section for the entries left in ``h`` (valid offsets)."""
        chunks, begin = [], 0
        for k, e in h.items():
            if k == "__metadata__":
                continue
            b0, b1 = old_header[k]["data_offsets"]
            chunks.append(body[b0:b1])
            e["data_offsets"] = [begin, begin + b1 - b0]
            begin += b1 - b0
        return join_safetensors(json.dumps(h).encode(), b"".join(chunks))

    def load(self, rng, info):
        with_opt = info["optimizer"] if info else rng.random() < 0.5
        if with_opt and rng.random() < 0.9:
            return load_checkpoint(self.path, self.model, self.optimizer, self.scheduler)
        return load_checkpoint(self.path, self.model)

    errors = (ValueError, RuntimeError, TypeError)

    def before(self):
        return (
            {k: v.data.copy() for k, v in self.model.state_dict().items()},
            _optimizer_snapshot(self.optimizer),
            copy.deepcopy(self.scheduler.state_dict()),
            copy.deepcopy(zg.get_rng_state()),
        )

    def changed(self, snapshot):
        model, opt, sched, rng_state = snapshot
        problem = SafetensorsTarget.changed(self, model)
        if problem:
            return problem
        if not _same_optimizer(_optimizer_snapshot(self.optimizer), opt):
            return "the optimizer's state changed although the load failed"
        if self.scheduler.state_dict() != sched:
            return "the scheduler's state changed although the load failed"
        if not _same_json(zg.get_rng_state(), rng_state):
            return "the RNG state changed although the load failed"
        return None

    def reset(self, snapshot):
        model, opt, sched, rng_state = snapshot
        self.model.load_state_dict(model)
        self.optimizer.load_state_dict(copy.deepcopy(opt))
        self.scheduler.load_state_dict(copy.deepcopy(sched))
        zg.set_rng_state(copy.deepcopy(rng_state))


def _optimizer_snapshot(optimizer):
    sd = optimizer.state_dict()
    return {
        "state": {
            i: {k: (zg.tensor(v.data.copy()) if hasattr(v, "data") else copy.deepcopy(v))
                for k, v in s.items()}
            for i, s in sd["state"].items()
        },
        "param_groups": copy.deepcopy(sd["param_groups"]),
    }  # fmt: skip


def _same_optimizer(a, b) -> bool:
    if a["param_groups"] != b["param_groups"] or a["state"].keys() != b["state"].keys():
        return False
    for i in a["state"]:
        sa, sb = a["state"][i], b["state"][i]
        if sa.keys() != sb.keys():
            return False
        for k in sa:
            va, vb = sa[k], sb[k]
            if hasattr(va, "data"):
                if not hasattr(vb, "data") or not numpy.array_equal(va.data, vb.data, True):
                    return False
            elif va != vb:
                return False
    return True


def _same_json(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


# ----- PyTorch .pt ----------------------------------------------------------------------------


def _load_pytorch():
    """``zerograd.io.load_pytorch`` if this zerograd has it, else None."""
    import zerograd.io

    return getattr(zerograd.io, "load_pytorch", None)


class PtTarget(Target):
    name = "pt"
    suffix = ".pt"
    errors = (ValueError,)

    def __init__(self, workdir):
        self.reader = _load_pytorch()
        if self.reader is None:
            raise SystemExit("fuzz: zerograd.io.load_pytorch does not exist in this zerograd.")
        super().__init__(workdir)

    def make_seeds(self):
        try:
            import torch
        except ImportError:
            raise SystemExit(
                "fuzz: the pt target makes its seed files with torch.save; install torch "
                '(pip install "zerograd[test]").'
            ) from None
        torch.manual_seed(0)
        lin = torch.nn.Linear(3, 2)
        conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
        w = torch.randn(4, 3)
        states = {
            "linear": (lin.state_dict(), None),
            "conv-bn": (conv.state_dict(), None),
            "dtypes": (
                {
                    "f64": torch.randn(2, dtype=torch.float64),
                    "f16": torch.randn(3).half(),
                    "bf16": torch.randn(3).bfloat16(),
                    "i64": torch.arange(4),
                    "i8": torch.arange(-2, 2, dtype=torch.int8),
                    "u8": torch.arange(3, dtype=torch.uint8),
                    "b": torch.tensor([True, False]),
                    "empty": torch.zeros(0, 3),
                    "scalar": torch.tensor(3.5),
                },
                None,
            ),  # fmt: skip
            "views": ({"w": w, "t": w.t(), "row": w[1], "tied": w, "neg": w[:, 1:]}, None),
            "checkpoint": (
                {"model": lin.state_dict(), "epoch": 3, "optimizer": {"lr": 0.1}},
                "model",
            ),  # fmt: skip
        }
        seeds = []
        for label, (obj, key) in states.items():
            buf = io.BytesIO()
            torch.save(obj, buf)
            seeds.append((label, buf.getvalue(), {"key": key}))
        return seeds

    def structured(self, rng, data, info):
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
        except Exception:
            return flip_bits(rng, data), "bit flips (not a readable zip)"
        if not entries:
            return data, "empty zip"
        names = [n for n, _ in entries]
        pkl = next((i for i, n in enumerate(names) if n.endswith("/data.pkl")), None)
        op = rng.randrange(8)
        if op <= 3 and pkl is not None:
            blob, what = self.edit_pickle(rng, entries[pkl][1])
            entries[pkl] = (names[pkl], blob)
        elif op == 4:  # a storage's bytes
            storages = [i for i, n in enumerate(names) if "/data/" in n]
            if storages:
                i = rng.choice(storages)
                entries[i] = (names[i], rng.choice([truncate_tail, append_garbage, truncate])(
                    rng, entries[i][1]))  # fmt: skip
            what = "storage bytes"
        elif op == 5:  # an entry removed
            entries.pop(rng.randrange(len(entries)))
            what = "entry removed"
        elif op == 6:  # byteorder, or code: TorchScript
            folder = names[0].split("/")[0]
            extra = rng.choice(
                [
                    ("byteorder", b"big"),
                    ("byteorder", b"middle"),
                    ("code/__torch__.py", b"x"),
                    ("constants.pkl", b"\x80\x02N."),
                ]
            )
            entries = [e for e in entries if e[0] != f"{folder}/{extra[0]}"]
            entries.append((f"{folder}/{extra[0]}", extra[1]))  # fmt: skip
            what = f"entry {extra[0]} = {extra[1]!r}"
        else:  # the folder renamed for some entries
            i = rng.randrange(len(entries))
            entries[i] = ("other/" + names[i].split("/", 1)[-1], entries[i][1])
            what = "entry moved to another folder"
        out = io.BytesIO()
        compression = zipfile.ZIP_STORED if rng.random() < 0.8 else zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(out, "w", compression) as z:
            for name, blob in entries:
                z.writestr(name, blob)
        return out.getvalue(), what

    GLOBALS = [
        b"os\nsystem", b"posix\nsystem", b"builtins\neval", b"builtins\nexec",
        b"builtins\ngetattr", b"subprocess\nPopen", b"torch\nload", b"numpy\nload",
        b"torch._utils\n_rebuild_tensor_v2", b"torch._utils\n_rebuild_tensor_v3",
        b"torch._utils\n_rebuild_parameter", b"collections\nOrderedDict",
        b"torch\nFloatStorage", b"torch\nLongStorage", b"torch\nHalfStorage",
        b"torch\nComplexFloatStorage", b"torch\nQInt8Storage", b"torch\nfloat32",
        b"torch\ncomplex64", b"torch\nSize", b"builtins\nset", b"copyreg\n_reconstructor",
    ]  # fmt: skip

    def edit_pickle(self, rng, blob: bytes) -> tuple[bytes, str]:
        try:
            ops = list(pickletools.genops(blob))
        except Exception:
            return flip_bits(rng, blob), "pickle bit flips"
        ints = [(op, arg, pos) for op, arg, pos in ops
                if op.name in ("BININT1", "BININT2", "BININT", "LONG1")]  # fmt: skip
        globals_ = [(op, arg, pos) for op, arg, pos in ops if op.name == "GLOBAL"]
        strings = [(op, arg, pos) for op, arg, pos in ops
                   if op.name in ("SHORT_BINUNICODE", "BINUNICODE")]  # fmt: skip
        kind = rng.randrange(5)
        if kind == 0 and ints:  # a size, stride, offset or numel: another value, same width
            op, arg, pos = rng.choice(ints)
            if op.name == "LONG1":
                n = blob[pos + 1]
                v = rng.choice(INTERESTING_INTS) % (1 << (8 * n)) if n else 0
                raw = v.to_bytes(n, "little")
                return blob[: pos + 2] + raw + blob[pos + 2 + n :], "pickle long changed"
            width = {"BININT1": 1, "BININT2": 2, "BININT": 4}[op.name]
            v = rng.choice(INTERESTING_INTS + [arg + 1, arg - 1, 2 * arg, 0])
            signed = op.name == "BININT"
            lo, hi = (-(2**31), 2**31 - 1) if signed else (0, 2 ** (8 * width) - 1)
            v = min(max(v, lo), hi)
            raw = v.to_bytes(width, "little", signed=signed)
            return blob[: pos + 1] + raw + blob[pos + 1 + width :], f"pickle int {arg} -> {v}"
        if kind == 1 and globals_:  # another global: code, or another storage type
            op, arg, pos = rng.choice(globals_)
            end = blob.index(b"\n", blob.index(b"\n", pos + 1) + 1) + 1
            new = rng.choice(self.GLOBALS)
            return blob[: pos + 1] + new + b"\n" + blob[end:], f"pickle global -> {new!r}"
        if kind == 2 and strings:  # a key, storage key or location: another string
            op, arg, pos = rng.choice(strings)
            width = 1 if op.name == "SHORT_BINUNICODE" else 4
            old_len = int.from_bytes(blob[pos + 1 : pos + 1 + width], "little")
            new = rng.choice(["", "0", "1", "99", "cuda:0", "storage", "weight", "\u00e9" * 3,
                              "../../etc/passwd"]).encode()  # fmt: skip
            if width == 1 and len(new) > 255:
                new = new[:255]
            head = blob[: pos + 1] + len(new).to_bytes(width, "little") + new
            return head + blob[pos + 1 + width + old_len :], f"pickle string -> {new!r}"
        if kind == 3:  # a whole malicious pickle
            payload = rng.choice([
                b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85q\x01Rq\x02.",
                b"cbuiltins\neval\n(S'1+1'\ntR.",
                b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00}q\x00(X\x01\x00\x00\x00ar\xff\xff\xff\x7fu.",
                b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01\x82\x01\x00\x00\x00s.",
                b"(" * 100000 + b".",
            ])  # fmt: skip
            return payload, "malicious pickle"
        return flip_bits(rng, blob), "pickle bit flips"

    def load(self, rng, info):
        key = info["key"] if info else None
        if rng.random() < 0.1:
            key = rng.choice([None, "model", "optimizer", "epoch", "missing"])
        return self.reader(self.path, key=key)


TARGETS = {
    "idx": IdxTarget,
    "safetensors": SafetensorsTarget,
    "checkpoint": CheckpointTarget,
    "pt": PtTarget,
}


# ---------------------------------------------------------------------------------------------
# the run


def _in_zerograd(tb) -> bool:
    frames = traceback.extract_tb(tb)
    return bool(frames) and f"{os.sep}zerograd{os.sep}" in frames[-1].filename


class Summary:
    def __init__(self, reader: str):
        self.reader = reader
        self.inputs = self.errors = self.valid = 0
        self.crashes = []  # (index, how, problem, last frame)
        self.slowest = (0.0, -1)
        self.seconds = 0.0

    def line(self) -> str:
        return (
            f"fuzz {self.reader}: {self.inputs} inputs, {self.errors} clear errors, {self.valid} "
            f"valid loads, {len(self.crashes)} crashes in {self.seconds:.1f} s (slowest input "
            f"#{self.slowest[1]}: {1000 * self.slowest[0]:.1f} ms)"
        )


def run_one(target: Target, rng) -> tuple:
    """Generate one input with ``rng``, run it, classify the outcome.

    Returns ``(outcome, data, how, problem, frame)``: outcome "valid", "error" (a clear error) or
    "crash", the input's bytes and how they were made, and for a crash what is wrong and where.
    """
    data, how, info = target.generate(rng)
    target.path.write_bytes(data)
    snapshot = target.before()
    try:
        target.load(rng, info)
    except Exception as e:  # noqa: BLE001 - classifying every exception is the point
        problem = target.check_error(e)
        if problem is None and not _in_zerograd(e.__traceback__):
            problem = "raised outside zerograd's own code"
        if problem is None and snapshot is not None:
            problem = target.changed(snapshot)
        if problem is None:
            return "error", data, how, None, None
        last = traceback.extract_tb(e.__traceback__)[-1]
        problem = f"{problem}: {type(e).__name__}: {str(e)[:300]}"
        return "crash", data, how, problem, f"{last.filename}:{last.lineno}"
    if snapshot is not None:
        target.reset(snapshot)
    return "valid", data, how, None, None


def fuzz(
    reader: str,
    inputs: int,
    seed: int = 0,
    start: int = 0,
    progress: int = 0,
    out=sys.stdout,
    save_crashes: Path | None = None,
    show: int = 20,
) -> Summary:
    """Run ``inputs`` generated inputs through ``reader``; return the counts and the crashes."""
    workdir = Path(tempfile.mkdtemp(prefix=f"zerograd-fuzz-{reader}-"))
    try:
        target = TARGETS[reader](workdir)
        summary = Summary(reader)
        t0 = time.perf_counter()
        for i in range(start, start + inputs):
            t = time.perf_counter()
            outcome, data, how, problem, frame = run_one(
                target, random.Random(f"{seed}:{reader}:{i}")
            )
            elapsed = time.perf_counter() - t
            if elapsed > summary.slowest[0]:
                summary.slowest = (elapsed, i)
            summary.inputs += 1
            if outcome == "valid":
                summary.valid += 1
            elif outcome == "error":
                summary.errors += 1
            else:
                summary.crashes.append((i, how, problem, frame))
                if len(summary.crashes) <= show:
                    print(f"CRASH input #{i} ({how}): {problem} [at {frame}]", file=out)
                if save_crashes is not None:
                    save_crashes.mkdir(parents=True, exist_ok=True)
                    (save_crashes / f"{reader}-{seed}-{i}{target.suffix}").write_bytes(data)
            if progress and summary.inputs % progress == 0:
                rate = summary.inputs / (time.perf_counter() - t0)
                print(
                    f"  {summary.inputs}/{inputs}: {summary.errors} clear errors, "
                    f"{summary.valid} valid, {len(summary.crashes)} crashes ({rate:.0f}/s)",
                    file=out,
                    flush=True,
                )
        summary.seconds = time.perf_counter() - t0
        return summary
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _limit_memory(megabytes: int) -> None:
    """Cap the address space so a reader that believes a lying size fails fast (as a crash)."""
    try:
        import resource
    except ImportError:
        return
    limit = megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", choices=READERS, required=True)
    parser.add_argument("--inputs", type=int, default=10000, help="how many inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--start", type=int, default=0, help="first input number (to replay)")
    parser.add_argument("--progress", type=int, default=5000, help="report every N inputs")
    parser.add_argument("--save-crashes", type=Path, help="folder for the crashing inputs")
    parser.add_argument(
        "--memory-limit-mb", type=int, default=4096,
        help="address-space cap (0: none); a reader allocating a lying size then fails as a crash",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.inputs < 1:
        parser.error(f"--inputs must be at least 1, got {args.inputs}")
    if args.memory_limit_mb:
        _limit_memory(args.memory_limit_mb)
    print(
        f"fuzz {args.reader}: inputs {args.start}..{args.start + args.inputs - 1}, seed "
        f"{args.seed}, numpy {numpy.__version__}, python {sys.version.split()[0]}",
        flush=True,
    )
    summary = fuzz(
        args.reader,
        args.inputs,
        seed=args.seed,
        start=args.start,
        progress=args.progress,
        save_crashes=args.save_crashes,
    )
    print(summary.line(), flush=True)
    return 1 if summary.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
