"""The reliability table: every bad input tried and what the user gets.

Each row of the tables in ``docs/reliability.md`` is one case here, under the same id, and
``test_doc_and_cases_agree`` fails if a row has no case or a case no row. A case either raises, and
then the error must be exactly the type in its row, match its message pattern, and come from
zerograd's own code (the traceback's last frame is not inside NumPy or another library), or it
works, checking what it got. Cases that could leave state behind (a model, an optimizer, a file)
check afterwards that nothing changed.

The tables are generated from these cases, with the messages the library gives today::

    python tests/test_reliability.py --write     # rewrite the tables in docs/reliability.md
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io as pyio
import json
import os
import re
import shutil
import sys
import tempfile
import traceback
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from doc_tables import write_or_print

import zerograd as zg
from zerograd import functional as F
from zerograd import io, nn, optim
from zerograd.data import DataLoader, TensorDataset
from zerograd.data.idx import IDXError, read_idx, write_idx
from zerograd.data.mnist import MNIST
from zerograd.optim import lr_scheduler

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
START, END = "<!-- reliability table: start -->", "<!-- reliability table: end -->"


@dataclasses.dataclass
class Case:
    id: str
    section: str
    what: str  # the bad input, as the table shows it
    run: object  # run(ctx) -> str describing what worked, or raises
    expect: type | None  # the exception type, or None: it works
    match: str  # a regex the message must contain
    needs: str | None  # "torch", "load_pytorch"


CASES: list[Case] = []


def case(id, section, what, expect=None, match="", needs=None):
    def register(fn):
        CASES.append(Case(id, section, what, fn, expect, match, needs))
        return fn

    return register


class Ctx:
    """What a case gets: a private folder, checks to run after the call, environment changes."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.checks = []
        self._env = {}

    def after(self, fn):
        """Run ``fn`` after the call whether it raised or not (no partial state left)."""
        self.checks.append(fn)
        return fn

    def setenv(self, name, value):
        self._env.setdefault(name, os.environ.get(name))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def restore(self):
        for name, value in self._env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def t32(*shape, fill=None):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if fill is not None:
        a[...] = fill
    return zg.tensor(a)


def ints(*values):
    return zg.tensor(np.array(values, dtype=np.int64))


def same_state(module):
    """A snapshot of ``module``'s state_dict and a check that it is unchanged."""
    before = {k: v.data.copy() for k, v in module.state_dict().items()}

    def check():
        now = module.state_dict()
        assert list(now) == list(before)
        for k, v in before.items():
            np.testing.assert_array_equal(now[k].data, v, err_msg=f"{k} changed")

    return check


# ---------------------------------------------------------------------------------------------
# tensors

sec = "Tensors"


@case(
    "tensor-ragged-lists",
    sec,
    "zerograd.tensor([[1, 2], [3]])",
    ValueError,
    r"^tensor: the nested lists are ragged: data\[0\] has 2 items but data\[1\] has 1",
)
def _(ctx):
    zg.tensor([[1, 2], [3]])


@case(
    "Tensor-ragged-lists",
    sec,
    "zerograd.Tensor([[[1, 2], [3, 4]], [[5, 6], [7]]])",
    ValueError,
    r"^Tensor: the nested lists are ragged: data\[0\]\[0\] has 2 items but data\[1\]\[1\] has 1",
)
def _(ctx):
    zg.Tensor([[[1, 2], [3, 4]], [[5, 6], [7]]])


# ---------------------------------------------------------------------------------------------
# layers: every Module subclass exported by zerograd.nn, each given wrong ranks, wrong sizes,
# wrong dtypes, lists, an empty batch and NaN


@dataclasses.dataclass
class LayerSpec:
    make: object
    shape: tuple  # a valid input shape
    who: str  # regex: the layer (with its config) or op the message names
    rank: tuple | None = None  # an input shape of the wrong rank
    rank_error: type = ValueError
    features: tuple | None = None  # the wrong feature / channel size
    params: bool = False  # has floating parameters: dtype and list inputs are errors
    float_only: bool = True  # integer inputs are an error (else they work, as in PyTorch)
    promotes: bool = False  # integer inputs become the default float dtype (torch.sigmoid/tanh)
    empty: tuple | None = None  # the empty-batch shape (default: N = 0 first)
    nan_out: bool = True  # NaN in, NaN out


LAYERS = {
    "Linear": LayerSpec(lambda: nn.Linear(4, 3), (2, 4), r"Linear\(in_features=4, out_features=3",
                        rank=(), features=(2, 5), params=True),
    "Identity": LayerSpec(lambda: nn.Identity(), (2, 4), "", float_only=False),
    "Flatten": LayerSpec(lambda: nn.Flatten(), (2, 3, 4), "flatten", rank=(2,),
                         rank_error=IndexError, float_only=False),
    "Dropout": LayerSpec(lambda: nn.Dropout(0.3), (2, 4), "dropout"),
    "Dropout2d": LayerSpec(lambda: nn.Dropout2d(0.3), (2, 3, 4, 4), "dropout2d", rank=(2, 3)),
    "BatchNorm1d": LayerSpec(lambda: nn.BatchNorm1d(4), (3, 4), r"BatchNorm1d\(4, eps=",
                             rank=(3,), features=(3, 5), params=True),
    "BatchNorm2d": LayerSpec(lambda: nn.BatchNorm2d(3), (2, 3, 4, 4), r"BatchNorm2d\(3, eps=",
                             rank=(2, 3), features=(2, 4, 4, 4), params=True),
    "Conv2d": LayerSpec(lambda: nn.Conv2d(3, 2, 3), (2, 3, 5, 5), r"Conv2d\(3, 2, kernel_size",
                        rank=(5, 5), features=(2, 4, 5, 5), params=True),
    "MaxPool2d": LayerSpec(lambda: nn.MaxPool2d(2), (2, 3, 4, 4), "max_pool2d", rank=(4, 4)),
    "AvgPool2d": LayerSpec(lambda: nn.AvgPool2d(2), (2, 3, 4, 4), "avg_pool2d", rank=(4, 4)),
    "MaxPool1d": LayerSpec(lambda: nn.MaxPool1d(2), (2, 3, 8), "max_pool1d", rank=(8,)),
    "AvgPool1d": LayerSpec(lambda: nn.AvgPool1d(2), (2, 3, 8), "avg_pool1d", rank=(8,)),
    "AdaptiveAvgPool2d": LayerSpec(lambda: nn.AdaptiveAvgPool2d(2), (2, 3, 4, 4),
                                   "adaptive_avg_pool2d", rank=(2, 3)),
    "RNN": LayerSpec(lambda: nn.RNN(4, 3), (5, 2, 4), r"RNN\(4, 3\)", rank=(4,),
                     features=(5, 2, 3), params=True, empty=(5, 0, 4)),
    "LSTM": LayerSpec(lambda: nn.LSTM(4, 3), (5, 2, 4), r"LSTM\(4, 3\)", rank=(4,),
                      features=(5, 2, 3), params=True, empty=(5, 0, 4)),
    "GRU": LayerSpec(lambda: nn.GRU(4, 3), (5, 2, 4), r"GRU\(4, 3\)", rank=(4,),
                     features=(5, 2, 3), params=True, empty=(5, 0, 4)),
    "RNNCell": LayerSpec(lambda: nn.RNNCell(4, 3), (2, 4), r"RNNCell\(4, 3\)", rank=(2, 2, 4),
                         features=(2, 3), params=True),
    "LSTMCell": LayerSpec(lambda: nn.LSTMCell(4, 3), (2, 4), r"LSTMCell\(4, 3\)",
                          rank=(2, 2, 4), features=(2, 3), params=True),
    "GRUCell": LayerSpec(lambda: nn.GRUCell(4, 3), (2, 4), r"GRUCell\(4, 3\)", rank=(2, 2, 4),
                         features=(2, 3), params=True),
    "Step": LayerSpec(lambda: nn.Step(), (2, 4), "step", float_only=False, nan_out=False),
    "Sigmoid": LayerSpec(lambda: nn.Sigmoid(), (2, 4), "sigmoid", float_only=False,
                         promotes=True),
    "Tanh": LayerSpec(lambda: nn.Tanh(), (2, 4), "tanh", float_only=False, promotes=True),
    "ReLU": LayerSpec(lambda: nn.ReLU(), (2, 4), "relu", float_only=False),
    "LeakyReLU": LayerSpec(lambda: nn.LeakyReLU(), (2, 4), "leaky_relu"),
    "ELU": LayerSpec(lambda: nn.ELU(), (2, 4), "elu"),
    "GELU": LayerSpec(lambda: nn.GELU(), (2, 4), "gelu"),
    "Softplus": LayerSpec(lambda: nn.Softplus(), (2, 4), "softplus"),
    "Softmax": LayerSpec(lambda: nn.Softmax(dim=1), (2, 4), "softmax", rank=(4,),
                         rank_error=IndexError),
    "LogSoftmax": LayerSpec(lambda: nn.LogSoftmax(dim=1), (2, 4), "log_softmax", rank=(4,),
                            rank_error=IndexError),
    "Sequential": LayerSpec(lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU()), (2, 4),
                            r"Linear\(in_features=4, out_features=3", features=(2, 5),
                            params=True),
    "LayerNorm": LayerSpec(lambda: nn.LayerNorm(4), (2, 4), r"LayerNorm\(\(4,\), eps=",
                           rank=(), features=(2, 5), params=True),
    "MultiheadAttention": LayerSpec(lambda: nn.MultiheadAttention(4, 2), (5, 2, 4),
                                    r"MultiheadAttention\(embed_dim=4, num_heads=2\)",
                                    rank=(4,), features=(5, 2, 3), params=True,
                                    empty=(5, 0, 4)),
    "TransformerEncoderLayer": LayerSpec(lambda: nn.TransformerEncoderLayer(4, 2, 8), (5, 2, 4),
                                         r"TransformerEncoderLayer\(d_model=4, nhead=2\)",
                                         rank=(4,), features=(5, 2, 3), params=True,
                                         empty=(5, 0, 4)),
    "TransformerEncoder": LayerSpec(
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 2), (5, 2, 4),
        r"TransformerEncoderLayer\(d_model=4, nhead=2\)", rank=(4,), features=(5, 2, 3),
        params=True, empty=(5, 0, 4)),
}  # fmt: skip
# exported Module subclasses with rows of their own below (not the generic ones above)
SPECIAL = {"Embedding", "ModuleList", "Module", "MaxUnpool2d", "TransformerDecoderLayer",
           "TransformerDecoder"}  # fmt: skip
LOSSES = {"MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"}


def _shape_text(shape):
    return f"shape {tuple(shape)}" if shape != () else "a 0-d tensor"


def _call(layer, x):
    y = layer(x)
    return y[0] if isinstance(y, tuple) else y


def _layer_cases():
    for name, s in LAYERS.items():
        sec = "Layers"

        if s.rank is not None:
            case(f"{name}-wrong-rank", sec, f"{name} given {_shape_text(s.rank)} "
                 f"(valid: {s.shape})", s.rank_error, s.who)(
                lambda ctx, s=s: _call(s.make(), t32(*s.rank)))  # fmt: skip
        if s.features is not None:
            case(f"{name}-wrong-size", sec, f"{name} given shape {s.features} (valid: {s.shape})",
                 ValueError, s.who)(lambda ctx, s=s: _call(s.make(), t32(*s.features)))  # fmt: skip

        def int_input(ctx, s=s):
            layer = s.make()
            y = _call(layer, zg.tensor(np.ones(s.shape, dtype=np.int64)))
            if s.promotes:
                assert y.dtype == np.float32
                return f"works: int64 in, float32 out (as in PyTorch), shape {y.shape}"
            assert y.dtype == np.int64
            return f"works: int64 in, int64 out, shape {y.shape}"

        if s.float_only or s.params:
            case(f"{name}-int-input", sec, f"{name} given int64 input", TypeError,
                 rf"{s.who}.*int64")(int_input)  # fmt: skip
        else:
            case(f"{name}-int-input", sec, f"{name} given int64 input")(int_input)

        def float64_input(ctx, s=s):
            y = _call(s.make(), zg.tensor(np.ones(s.shape)))
            assert y.dtype == np.float64
            return "works: float64 in, float64 out (no parameters to disagree with)"

        if s.params:
            case(f"{name}-float64-input", sec, f"{name} (float32 parameters) given float64 input",
                 TypeError, rf"{s.who}.*float64.*float32")(float64_input)  # fmt: skip
            case(f"{name}-list-input", sec, f"{name} given a Python list", TypeError,
                 rf"{s.who}.*must be a Tensor, got list")(
                lambda ctx, s=s: _call(s.make(), np.ones(s.shape).tolist()))  # fmt: skip
        else:
            case(f"{name}-float64-input", sec, f"{name} given float64 input")(float64_input)

        empty = s.empty or (0,) + s.shape[1:]

        def empty_batch(ctx, s=s, empty=empty):
            layer = s.make()
            x = zg.tensor(np.zeros(empty, np.float32), requires_grad=True)
            y = _call(layer, x)
            axis = 1 if s.empty else 0
            assert y.shape[axis] == 0, y.shape
            y.sum().backward()
            assert x.grad.shape == x.shape
            for p in layer.parameters():
                assert p.grad is None or not p.grad.data.any()
            return f"works, as in PyTorch: output {y.shape}; backward gives zero gradients"

        case(f"{name}-empty-batch", sec, f"{name} given an empty batch {empty}")(empty_batch)

        def nan_input(ctx, s=s):
            y = _call(s.make(), t32(*s.shape, fill=np.nan))
            if s.nan_out:
                assert np.isnan(y.data).any()
                return "works, as in PyTorch: NaN propagates to the output"
            assert not np.isnan(y.data).any()
            return "works: step(NaN) is 0 (NaN > 0 is false)"

        case(f"{name}-nan-input", sec, f"{name} given all-NaN input")(nan_input)


_layer_cases()
sec = "Layers"


@case(
    "TransformerDecoderLayer-wrong-memory-size",
    sec,
    "TransformerDecoderLayer(4, 2, 8) given memory of shape (6, 2, 3)",
    ValueError,
    r"TransformerDecoderLayer\(d_model=4, nhead=2\): memory has shape \(6, 2, 3\)",
)
def _(ctx):
    nn.TransformerDecoderLayer(4, 2, 8)(t32(5, 2, 4), t32(6, 2, 3))


@case(
    "TransformerDecoder-float64-target",
    sec,
    "TransformerDecoder (float32 parameters) given a float64 target",
    TypeError,
    r"TransformerDecoderLayer\(d_model=4, nhead=2\): input is float64 but the parameters",
)
def _(ctx):
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8), 2)
    decoder(zg.tensor(np.ones((5, 2, 4))), t32(6, 2, 4))


@case(
    "MultiheadAttention-heads-do-not-divide",
    sec,
    "MultiheadAttention(10, 3)",
    ValueError,
    r"MultiheadAttention\(embed_dim=10, num_heads=3\): embed_dim must be divisible by num_heads",
)
def _(ctx):
    nn.MultiheadAttention(10, 3)


@case("ReLU-bool-input", sec, "ReLU given bool input", TypeError, "relu: bool input")
def _(ctx):
    nn.ReLU()(zg.tensor(np.ones((2, 2), bool)))


@case(
    "Conv2d-image-too-small",
    sec,
    "Conv2d(3, 2, 3) given 2x2 images",
    ValueError,
    r"Conv2d\(3, 2, kernel_size=\(3, 3\).*too small",
)
def _(ctx):
    nn.Conv2d(3, 2, 3)(t32(2, 3, 2, 2))


@case(
    "MaxPool2d-image-too-small",
    sec,
    "MaxPool2d(2) given 1x1 images",
    ValueError,
    "max_pool2d: input of size .* too small",
)
def _(ctx):
    nn.MaxPool2d(2)(t32(2, 3, 1, 1))


@case(
    "MaxUnpool2d-float-indices",
    sec,
    "MaxUnpool2d(2) given float indices",
    TypeError,
    "max_unpool2d: indices must be an integer tensor",
)
def _(ctx):
    nn.MaxUnpool2d(2)(t32(2, 3, 2, 2), t32(2, 3, 2, 2))


@case(
    "MaxUnpool2d-index-out-of-range",
    sec,
    "MaxUnpool2d(2) given an index past its 4x4 output",
    IndexError,
    "max_unpool2d: index 16 is out of range",
)
def _(ctx):
    nn.MaxUnpool2d(2)(t32(1, 1, 2, 2), np.full((1, 1, 2, 2), 16))


@case("AdaptiveAvgPool2d-uneven", sec, "AdaptiveAvgPool2d(2) given 5x5 images")
def _(ctx):
    y = nn.AdaptiveAvgPool2d(2)(t32(2, 3, 5, 5))
    return f"works, as in PyTorch: output {y.shape} (uneven, overlapping windows of 3 rows)"


@case(
    "RNN-empty-sequence",
    sec,
    "RNN given a sequence of length 0",
    ValueError,
    r"RNN\(4, 3\).*length 0",
)
def _(ctx):
    nn.RNN(4, 3)(t32(0, 2, 4))


@case(
    "LSTM-hx-wrong-shape",
    sec,
    "LSTM given h_0 of the wrong shape",
    ValueError,
    r"LSTM\(4, 3\): h_0 has shape \(1, 3, 3\) but must be",
)
def _(ctx):
    nn.LSTM(4, 3)(t32(5, 2, 4), (t32(1, 3, 3), t32(1, 2, 3)))


@case(
    "LSTM-hx-not-a-pair",
    sec,
    "LSTM given one tensor as hx",
    TypeError,
    r"LSTM\(4, 3\): hx must be a pair",
)
def _(ctx):
    nn.LSTM(4, 3)(t32(5, 2, 4), t32(1, 2, 3))


@case(
    "Embedding-float-ids",
    sec,
    "Embedding(5, 3) given float ids",
    TypeError,
    r"Embedding\(5, 3\): indices must be integers, got float32",
)
def _(ctx):
    nn.Embedding(5, 3)(t32(2, 2))


@case(
    "Embedding-id-too-big",
    sec,
    "Embedding(5, 3) given id 5",
    IndexError,
    r"Embedding\(5, 3\): index 5 is out of range",
)
def _(ctx):
    nn.Embedding(5, 3)(ints(1, 5))


@case(
    "Embedding-negative-id",
    sec,
    "Embedding(5, 3) given id -1",
    IndexError,
    r"Embedding\(5, 3\): index -1 is out of range",
)
def _(ctx):
    nn.Embedding(5, 3)(ints(-1, 2))


@case("Embedding-empty-batch", sec, "Embedding(5, 3) given no ids, shape (0, 4)")
def _(ctx):
    y = nn.Embedding(5, 3)(zg.tensor(np.zeros((0, 4), np.int64)))
    assert y.shape == (0, 4, 3)
    return f"works, as in PyTorch: output {y.shape}"


@case(
    "ModuleList-forward",
    sec,
    "calling a ModuleList",
    NotImplementedError,
    "ModuleList has no forward",
)
def _(ctx):
    nn.ModuleList([nn.ReLU()])(t32(2))


@case(
    "BatchNorm1d-one-sample-training",
    sec,
    "BatchNorm1d given 1 sample while training",
    ValueError,
    "more than 1 value per channel when training",
)
def _(ctx):
    bn = nn.BatchNorm1d(4)
    ctx.after(same_state(bn))
    bn(t32(1, 4))


@case(
    "BatchNorm1d-rejected-input-changes-nothing",
    sec,
    "BatchNorm1d given float64 input: the running statistics and num_batches_tracked",
    TypeError,
    r"BatchNorm1d\(4.*float64",
)
def _(ctx):
    bn = nn.BatchNorm1d(4, momentum=None)
    bn(t32(3, 4))
    ctx.after(same_state(bn))  # num_batches_tracked stays 1
    bn(zg.tensor(np.ones((3, 4))))


@case(
    "Linear-zero-features",
    sec,
    "nn.Linear(0, 3)",
    ValueError,
    "Linear: in_features must be a positive int, got 0",
)
def _(ctx):
    nn.Linear(0, 3)


@case(
    "Conv2d-zero-kernel",
    sec,
    "nn.Conv2d(1, 2, kernel_size=0)",
    ValueError,
    "Conv2d: kernel_size must be an int or a pair of ints, each >= 1, got 0",
)
def _(ctx):
    nn.Conv2d(1, 2, kernel_size=0)


@case(
    "Dropout-p-out-of-range",
    sec,
    "nn.Dropout(p=1.5)",
    ValueError,
    r"Dropout: p must be a probability in \[0, 1\], got 1.5",
)
def _(ctx):
    nn.Dropout(1.5)


@case(
    "BatchNorm1d-eps-zero",
    sec,
    "nn.BatchNorm1d(4, eps=0)",
    ValueError,
    "BatchNorm1d: eps must be positive and finite, got 0.0",
)
def _(ctx):
    nn.BatchNorm1d(4, eps=0)


for _id, _what, _make, _msg in [
    ("BatchNorm1d-eps-nan", "nn.BatchNorm1d(4, eps=nan)", lambda: nn.BatchNorm1d(4, eps=np.nan),
     "BatchNorm1d: eps must be positive and finite, got nan"),
    ("LeakyReLU-negative-slope-nan", "nn.LeakyReLU(nan)", lambda: nn.LeakyReLU(np.nan),
     "LeakyReLU: negative_slope must be finite, got nan"),
    ("ELU-alpha-inf", "nn.ELU(alpha=inf)", lambda: nn.ELU(np.inf),
     "ELU: alpha must be finite, got inf"),
    ("Softplus-beta-nan", "nn.Softplus(beta=nan)", lambda: nn.Softplus(beta=np.nan),
     "Softplus: beta must be positive and finite, got nan"),
]:  # fmt: skip
    case(_id, sec, _what + " (PyTorch takes it: NaN or inf outputs)", ValueError, _msg)(
        lambda ctx, make=_make: make()
    )


@case(
    "Embedding-padding-idx-out-of-range",
    sec,
    "nn.Embedding(5, 3, padding_idx=5)",
    ValueError,
    r"Embedding: padding_idx must be an int in \[-5, 4\]",
)
def _(ctx):
    nn.Embedding(5, 3, padding_idx=5)


@case(
    "LSTM-dropout-out-of-range",
    sec,
    "nn.LSTM(4, 3, dropout=2)",
    ValueError,
    r"LSTM: dropout must be a probability in \[0, 1\]",
)
def _(ctx):
    nn.LSTM(4, 3, dropout=2)


@case(
    "load-state-dict-none",
    sec,
    "model.load_state_dict(None): the model unchanged",
    TypeError,
    r"^Linear\(in_features=3, out_features=2, bias=True\).load_state_dict: expected a mapping of "
    r"names to Tensors or arrays.*got None",
)
def _(ctx):
    model = nn.Linear(3, 2)
    ctx.after(same_state(model))
    model.load_state_dict(None)


@case(
    "load-state-dict-path",
    sec,
    "model.load_state_dict('model.safetensors') (a path, not the weights)",
    TypeError,
    r"got the path 'model.safetensors'. Read the file first: "
    r"model.load_state_dict\(zerograd.io.load\(path\)\)",
)
def _(ctx):
    nn.Sequential(nn.Linear(3, 2)).load_state_dict("model.safetensors")


# ---------------------------------------------------------------------------------------------
# losses

sec = "Losses"
LOGITS = (2, 3)


def logits():
    return t32(*LOGITS)


@case(
    "CrossEntropyLoss-target-negative",
    sec,
    "class target -1 with 3 classes",
    IndexError,
    r"cross_entropy: target -1 is out of range for 3 classes; class indices .* \[0, 2\]",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), ints(-1, 2))


@case(
    "CrossEntropyLoss-target-too-big",
    sec,
    "class target 3 with 3 classes",
    IndexError,
    r"cross_entropy: target 3 is out of range for 3 classes.*labels start at 0",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), ints(0, 3))


@case(
    "CrossEntropyLoss-target-uint8-255",
    sec,
    "uint8 class target 255 (a wrapped -1)",
    IndexError,
    "target 255 is out of range",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), zg.tensor(np.array([255, 1], np.uint8)))


@case(
    "CrossEntropyLoss-ignored-target",
    sec,
    "target -100 (the default ignore_index) among valid ones",
)
def _(ctx):
    loss = nn.CrossEntropyLoss()(logits(), ints(-100, 1))
    assert np.isfinite(loss.item())
    return "works: the ignored target adds nothing, as in PyTorch"


@case(
    "CrossEntropyLoss-one-hot-targets",
    sec,
    "one-hot int targets (2, 3) for logits (2, 3)",
    ValueError,
    r"needs class-index targets of shape \(2,\), got \(2, 3\)",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), ints([1, 0, 0], [0, 1, 0]))


@case(
    "CrossEntropyLoss-target-wrong-length",
    sec,
    "3 targets for 2 samples",
    ValueError,
    r"input of shape \(2, 3\) needs class-index targets of shape \(2,\), got \(3,\)",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), ints(0, 1, 2))


@case(
    "CrossEntropyLoss-float-class-targets",
    sec,
    "float class indices (2,) for logits (2, 3)",
    ValueError,
    r"input has shape \(2, 3\) but target has shape \(2,\)",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), zg.tensor([0.0, 1.0]))


@case(
    "CrossEntropyLoss-bool-targets",
    sec,
    "bool targets",
    TypeError,
    "target must be class indices .ints. or probabilities, got bool",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), zg.tensor([True, False]))


@case(
    "CrossEntropyLoss-int-logits",
    sec,
    "int64 logits",
    TypeError,
    "cross_entropy: input must hold floating logits, got int64",
)
def _(ctx):
    nn.CrossEntropyLoss()(ints([1, 2, 3], [1, 2, 3]), ints(0, 1))


@case(
    "CrossEntropyLoss-0d-logits",
    sec,
    "0-d logits",
    ValueError,
    "input must have a class dimension, got a 0-d tensor",
)
def _(ctx):
    nn.CrossEntropyLoss()(zg.tensor(1.0), ints(0))


@case(
    "CrossEntropyLoss-weight-wrong-size",
    sec,
    "weight of 2 values for 3 classes",
    ValueError,
    r"weight must have shape \(3,\), one per class, got \(2,\)",
)
def _(ctx):
    nn.CrossEntropyLoss(weight=zg.ones(2))(logits(), ints(0, 1))


@case(
    "CrossEntropyLoss-label-smoothing-2",
    sec,
    "label_smoothing=2.0",
    ValueError,
    r"label_smoothing must be in \[0, 1\], got 2.0",
)
def _(ctx):
    nn.CrossEntropyLoss(label_smoothing=2.0)(logits(), ints(0, 1))


@case(
    "CrossEntropyLoss-label-smoothing-string",
    sec,
    "label_smoothing='0.1' (a string, e.g. from a config file)",
    TypeError,
    r"^CrossEntropyLoss: label_smoothing must be a number, got '0.1' \(str\). "
    r"Pass the number itself: label_smoothing=0.1.",
)
def _(ctx):
    nn.CrossEntropyLoss(label_smoothing="0.1")


@case(
    "cross_entropy-label-smoothing-nan",
    sec,
    "F.cross_entropy(..., label_smoothing=nan) (PyTorch returns NaN)",
    ValueError,
    r"^cross_entropy: label_smoothing must be in \[0, 1\], got nan",
)
def _(ctx):
    F.cross_entropy(logits(), ints(0, 1), label_smoothing=float("nan"))


@case(
    "CrossEntropyLoss-ignore-index-float",
    sec,
    "ignore_index=1.5",
    TypeError,
    "ignore_index must be an int",
)
def _(ctx):
    nn.CrossEntropyLoss(ignore_index=1.5)(logits(), ints(0, 1))


@case(
    "CrossEntropyLoss-bad-reduction",
    sec,
    "reduction='avg'",
    ValueError,
    "CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
)
def _(ctx):
    nn.CrossEntropyLoss(reduction="avg")


@case(
    "CrossEntropyLoss-soft-targets-wrong-shape",
    sec,
    "probability targets (2, 4) for (2, 3)",
    ValueError,
    r"input has shape \(2, 3\) but target has shape \(2, 4\)",
)
def _(ctx):
    nn.CrossEntropyLoss()(logits(), t32(2, 4))


@case("CrossEntropyLoss-empty-batch", sec, "an empty batch: logits (0, 3), targets (0,)")
def _(ctx):
    x, t = zg.tensor(np.zeros((0, 3), np.float32), requires_grad=True), ints()
    mean = nn.CrossEntropyLoss()(x, t)
    total = nn.CrossEntropyLoss(reduction="sum")(x, t)
    none = nn.CrossEntropyLoss(reduction="none")(x, t)
    assert np.isnan(mean.item()) and total.item() == 0 and none.shape == (0,)
    mean.backward()
    assert x.grad.shape == (0, 3)
    return "works, as in PyTorch: mean is NaN (0/0, no warning), sum 0, none an empty tensor"


@case("CrossEntropyLoss-all-targets-ignored", sec, "every target equal to ignore_index")
def _(ctx):
    x = zg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, ints(-100, -100))
    loss.backward()
    assert np.isnan(loss.item()) and not x.grad.data.any()
    return "works, as in PyTorch: the mean over no targets is NaN, its gradient zero"


@case("CrossEntropyLoss-nan-logits", sec, "NaN in the logits")
def _(ctx):
    loss = nn.CrossEntropyLoss()(zg.tensor([[np.nan, 1.0, 0.0], [0.0, 1.0, 2.0]]), ints(1, 2))
    assert np.isnan(loss.item())
    return "works, as in PyTorch: the loss is NaN (anomaly mode finds where it came from)"


@case("CrossEntropyLoss-inf-logits", sec, "-inf logit of a class that is not the target")
def _(ctx):
    loss = nn.CrossEntropyLoss()(zg.tensor([[-np.inf, 1.0, 0.0]]), ints(1))
    assert np.isfinite(loss.item())
    return "works, as in PyTorch: a masked-out class (-inf) is fine"


@case(
    "NLLLoss-target-too-big",
    sec,
    "NLLLoss: class target 3 with 3 classes",
    IndexError,
    r"nll_loss: target 3 is out of range for 3 classes",
)
def _(ctx):
    nn.NLLLoss()(F.log_softmax(logits(), dim=1), ints(3, 0))


@case(
    "NLLLoss-target-negative",
    sec,
    "NLLLoss: class target -2",
    IndexError,
    r"nll_loss: target -2 is out of range",
)
def _(ctx):
    nn.NLLLoss()(F.log_softmax(logits(), dim=1), ints(-2, 0))


@case(
    "NLLLoss-float-targets",
    sec,
    "NLLLoss: float targets",
    TypeError,
    "nll_loss: target must hold class indices .ints., got float32",
)
def _(ctx):
    nn.NLLLoss()(logits(), zg.tensor([0.0, 1.0]))


@case(
    "NLLLoss-int-input",
    sec,
    "NLLLoss: int64 log-probabilities",
    TypeError,
    "nll_loss: input must be floating point, got int64",
)
def _(ctx):
    nn.NLLLoss()(ints([0, 1, 2], [0, 1, 2]), ints(0, 1))


@case("NLLLoss-empty-batch", sec, "NLLLoss: an empty batch")
def _(ctx):
    assert np.isnan(nn.NLLLoss()(zg.tensor(np.zeros((0, 3), np.float32)), ints()).item())
    return "works, as in PyTorch: mean over no samples is NaN"


@case(
    "MSELoss-shape-mismatch",
    sec,
    "MSELoss: input (2, 3), target (3, 2)",
    ValueError,
    r"mse_loss: input has shape \(2, 3\) but target has shape \(3, 2\)",
)
def _(ctx):
    nn.MSELoss()(t32(2, 3), t32(3, 2))


@case(
    "MSELoss-broadcastable-target",
    sec,
    "MSELoss: input (4, 1), target (4,) (PyTorch broadcasts to (4, 4) with a warning)",
    ValueError,
    r"input has shape \(4, 1\) but target has shape \(4,\); they must match",
)
def _(ctx):
    nn.MSELoss()(t32(4, 1), t32(4))


@case(
    "MSELoss-int-input",
    sec,
    "MSELoss: int64 input",
    TypeError,
    "mse_loss: input must be floating point, got int64",
)
def _(ctx):
    nn.MSELoss()(ints(1, 2), ints(1, 2))


@case("MSELoss-int-target", sec, "MSELoss: float32 input, int64 target")
def _(ctx):
    loss = nn.MSELoss()(t32(2), ints(0, 1))
    assert loss.dtype == np.float32
    return "works: the target is converted to float32 (NumPy would compute in float64)"


@case("MSELoss-empty-batch", sec, "MSELoss: empty input and target")
def _(ctx):
    assert np.isnan(nn.MSELoss()(t32(0, 3), t32(0, 3)).item())
    return "works, as in PyTorch: the mean of nothing is NaN"


@case("MSELoss-nan-input", sec, "MSELoss: NaN in the input")
def _(ctx):
    assert np.isnan(nn.MSELoss()(zg.tensor([np.nan, 1.0]), zg.tensor([1.0, 1.0])).item())
    return "works, as in PyTorch: the loss is NaN"


@case(
    "BCELoss-input-outside-0-1",
    sec,
    "BCELoss: input 1.5 (logits, not probabilities)",
    ValueError,
    r"binary_cross_entropy: input must hold probabilities in \[0, 1\].*Apply sigmoid",
)
def _(ctx):
    nn.BCELoss()(zg.tensor([1.5, 0.5]), zg.tensor([1.0, 0.0]))


@case(
    "BCELoss-nan-input",
    sec,
    "BCELoss: NaN probability",
    ValueError,
    r"input must hold probabilities in \[0, 1\], got 1 value\(s\) outside, e.g. nan",
)
def _(ctx):
    nn.BCELoss()(zg.tensor([np.nan, 0.5]), zg.tensor([1.0, 0.0]))


@case(
    "BCELoss-target-outside-0-1",
    sec,
    "BCELoss: target 2.0",
    ValueError,
    r"target must hold probabilities in \[0, 1\]",
)
def _(ctx):
    nn.BCELoss()(zg.tensor([0.5, 0.5]), zg.tensor([2.0, 0.0]))


@case(
    "BCELoss-weight-wrong-shape",
    sec,
    "BCELoss: weight (3,) for input (2,)",
    ValueError,
    r"weight of shape \(3,\) does not broadcast to the input's shape \(2,\)",
)
def _(ctx):
    nn.BCELoss(weight=zg.ones(3))(zg.tensor([0.5, 0.5]), zg.tensor([1.0, 0.0]))


@case(
    "BCELoss-int-input",
    sec,
    "BCELoss: int64 probabilities",
    TypeError,
    "binary_cross_entropy: input must be floating point, got int64",
)
def _(ctx):
    nn.BCELoss()(ints(0, 1), ints(0, 1))


@case(
    "BCELoss-shape-mismatch",
    sec,
    "BCELoss: input (4,), target (4, 1)",
    ValueError,
    r"binary_cross_entropy: input has shape \(4,\) but target has shape \(4, 1\)",
)
def _(ctx):
    nn.BCELoss()(t32(4, fill=0.5), t32(4, 1, fill=1.0))


@case(
    "BCEWithLogitsLoss-shape-mismatch",
    sec,
    "BCEWithLogitsLoss: input (4, 1), target (4,)",
    ValueError,
    r"binary_cross_entropy_with_logits: input has shape \(4, 1\) but target has shape \(4,\)",
)
def _(ctx):
    nn.BCEWithLogitsLoss()(t32(4, 1), t32(4))


@case(
    "NLLLoss-target-wrong-length",
    sec,
    "NLLLoss: 3 targets for 2 samples",
    ValueError,
    r"nll_loss: input of shape \(2, 3\) needs class-index targets of shape \(2,\), got \(3,\)",
)
def _(ctx):
    nn.NLLLoss()(F.log_softmax(logits(), dim=1), ints(0, 1, 2))


@case("BCELoss-probabilities-0-and-1", sec, "BCELoss: p exactly 0 and 1, warnings as errors")
def _(ctx):
    p = zg.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    t = zg.tensor([0.0, 1.0, 1.0, 0.0], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        loss = nn.BCELoss()(p, t)
        loss.backward()
    assert loss.item() == 50.0 and np.all(np.isfinite(p.grad.data))
    return (
        "works, as in PyTorch: loss 50 (each log clamped at -100), no RuntimeWarning; the "
        f"target's gradient is PyTorch's -logit(p): {t.grad.tolist()}"
    )


@case("MSELoss-overflow", sec, "MSELoss of float32 |x - t| = 1e30, warnings as errors")
def _(ctx):
    x = zg.tensor([1e30, 0.0], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        loss = nn.MSELoss()(x, zg.zeros(2))
        loss.backward()
    assert loss.item() == np.inf
    np.testing.assert_allclose(x.grad.data, [1e30, 0.0], rtol=1e-6)  # 2 (x - t) / 2
    return "works, as in PyTorch: the loss is inf (float32 overflows), no RuntimeWarning"


@case("BCELoss-empty-batch", sec, "BCELoss: empty input and target")
def _(ctx):
    assert np.isnan(nn.BCELoss()(t32(0), t32(0)).item())
    return "works, as in PyTorch: the mean of nothing is NaN"


@case(
    "BCEWithLogitsLoss-int-input",
    sec,
    "BCEWithLogitsLoss: int64 logits",
    TypeError,
    "binary_cross_entropy_with_logits: input must be floating point, got int64",
)
def _(ctx):
    nn.BCEWithLogitsLoss()(ints(1, 2), ints(1, 0))


@case(
    "BCEWithLogitsLoss-pos-weight-wrong-shape",
    sec,
    "BCEWithLogitsLoss: pos_weight (3,), input (2,)",
    ValueError,
    r"pos_weight of shape \(3,\) does not broadcast",
)
def _(ctx):
    nn.BCEWithLogitsLoss(pos_weight=zg.ones(3))(zg.tensor([0.5, 0.5]), zg.tensor([1.0, 0.0]))


@case("BCEWithLogitsLoss-nan-input", sec, "BCEWithLogitsLoss: NaN logit")
def _(ctx):
    assert np.isnan(nn.BCEWithLogitsLoss()(zg.tensor([np.nan]), zg.tensor([1.0])).item())
    return "works, as in PyTorch: the loss is NaN"


@case("BCEWithLogitsLoss-soft-target-2", sec, "BCEWithLogitsLoss: target 2.0")
def _(ctx):
    nn.BCEWithLogitsLoss()(zg.tensor([0.5]), zg.tensor([2.0]))
    return "works, as in PyTorch (the formula is defined for any target)"


# ---------------------------------------------------------------------------------------------
# optimizers and schedules

sec = "Optimizers and schedules"
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def params():
    return nn.Linear(2, 1).parameters()


for _name in OPTIMIZERS:
    for _label, _lr, _err, _msg in [
        ("negative", -0.1, ValueError, "lr must be >= 0, got -0.1"),
        ("nan", float("nan"), ValueError, "lr must be >= 0, got nan"),
        ("inf", float("inf"), ValueError, "lr must be finite, got inf"),
        ("string", "0.1", TypeError, "lr must be a number, got '0.1'"),
    ]:
        case(f"{_name}-lr-{_label}", sec, f"{_name}(params, lr={_lr!r})", _err,
             f"{_name}: {_msg}")(
            lambda ctx, n=_name, lr=_lr: getattr(optim, n)(params(), lr=lr))  # fmt: skip


@case("SGD-lr-zero", sec, "SGD(params, lr=0)")
def _(ctx):
    optim.SGD(params(), lr=0)
    return "works, as in PyTorch: steps change nothing (warm-up schedules start there)"


@case(
    "SGD-momentum-negative",
    sec,
    "SGD(momentum=-0.9)",
    ValueError,
    "SGD: momentum must be >= 0, got -0.9",
)
def _(ctx):
    optim.SGD(params(), lr=0.1, momentum=-0.9)


@case(
    "SGD-nesterov-without-momentum",
    sec,
    "SGD(nesterov=True) without momentum",
    ValueError,
    "nesterov=True needs momentum > 0 and dampening = 0",
)
def _(ctx):
    optim.SGD(params(), lr=0.1, nesterov=True)


@case(
    "SGD-weight-decay-negative",
    sec,
    "SGD(weight_decay=-1e-4)",
    ValueError,
    "SGD: weight_decay must be >= 0",
)
def _(ctx):
    optim.SGD(params(), lr=0.1, weight_decay=-1e-4)


@case(
    "SGD-dampening-nan",
    sec,
    "SGD(momentum=0.9, dampening=nan) (PyTorch takes it: every weight NaN after a step)",
    ValueError,
    "SGD: dampening must be finite, got nan",
)
def _(ctx):
    optim.SGD(params(), lr=0.1, momentum=0.9, dampening=float("nan"))


@case(
    "clip_grad_norm_-max-norm-nan",
    sec,
    "clip_grad_norm_(params, max_norm=nan) (PyTorch makes every gradient NaN)",
    ValueError,
    r"clip_grad_norm_: max_norm must be >= 0 \(inf: clip nothing\), got nan",
)
def _(ctx):
    w = nn.Parameter(zg.tensor([3.0, 4.0]))
    (w * w).sum().backward()
    ctx.after(lambda: w.grad.tolist() == [6.0, 8.0] or pytest.fail("the gradient changed"))
    nn.utils.clip_grad_norm_([w], float("nan"))


@case("clip_grad_norm_-max-norm-inf", sec, "clip_grad_norm_(params, max_norm=inf)")
def _(ctx):
    w = nn.Parameter(zg.tensor([3.0, 4.0]))
    (w * w).sum().backward()
    total = nn.utils.clip_grad_norm_([w], float("inf"))
    assert total.item() == 10.0 and w.grad.tolist() == [6.0, 8.0]
    return "works, as in PyTorch: returns the norm (10.0) and clips nothing"


@case(
    "clip_grad_value_-negative",
    sec,
    "clip_grad_value_(params, -1.0) (PyTorch sets every gradient to -1)",
    ValueError,
    r"clip_grad_value_: clip_value must be >= 0 \(inf: clip nothing\), got -1.0",
)
def _(ctx):
    w = nn.Parameter(zg.tensor([3.0, 4.0]))
    (w * w).sum().backward()
    nn.utils.clip_grad_value_([w], -1.0)


@case(
    "Adam-beta1-one",
    sec,
    "Adam(betas=(1.0, 0.999))",
    ValueError,
    r"Adam: betas\[0\] must be in \[0, 1\), got 1.0",
)
def _(ctx):
    optim.Adam(params(), betas=(1.0, 0.999))


@case(
    "Adam-betas-not-a-pair",
    sec,
    "Adam(betas=0.9)",
    TypeError,
    "Adam: betas must be a pair of numbers, got 0.9",
)
def _(ctx):
    optim.Adam(params(), betas=0.9)


@case("Adam-eps-negative", sec, "Adam(eps=-1e-8)", ValueError, "Adam: eps must be >= 0")
def _(ctx):
    optim.Adam(params(), eps=-1e-8)


@case(
    "AdamW-weight-decay-inf",
    sec,
    "AdamW(weight_decay=inf)",
    ValueError,
    "AdamW: weight_decay must be finite, got inf",
)
def _(ctx):
    optim.AdamW(params(), weight_decay=float("inf"))


@case(
    "RMSprop-alpha-negative", sec, "RMSprop(alpha=-0.1)", ValueError, "RMSprop: alpha must be >= 0"
)
def _(ctx):
    optim.RMSprop(params(), alpha=-0.1)


@case(
    "Adagrad-lr-decay-negative",
    sec,
    "Adagrad(lr_decay=-1)",
    ValueError,
    "Adagrad: lr_decay must be >= 0",
)
def _(ctx):
    optim.Adagrad(params(), lr_decay=-1)


@case(
    "SGD-no-parameters",
    sec,
    "SGD([]) (e.g. a used-up generator)",
    ValueError,
    "SGD: got an empty parameter list",
)
def _(ctx):
    optim.SGD([], lr=0.1)


@case(
    "SGD-given-the-model",
    sec,
    "SGD(model) instead of SGD(model.parameters())",
    TypeError,
    "SGD: params must be an iterable of Tensors or of dicts .parameter groups., got Linear",
)
def _(ctx):
    optim.SGD(nn.Linear(2, 1), lr=0.1)


@case(
    "SGD-duplicate-parameters", sec, "the same parameter twice", ValueError, "appear more than once"
)
def _(ctx):
    m = nn.Linear(2, 1)
    optim.SGD([m.weight, m.weight], lr=0.1)


@case(
    "Adam-load-state-of-another-optimizer",
    sec,
    "Adam.load_state_dict(an SGD state with momentum): Adam's state unchanged",
    ValueError,
    "unexpected state 'momentum_buffer'",
)
def _(ctx):
    m = nn.Linear(2, 1)
    sgd, adam = optim.SGD(m.parameters(), lr=0.1, momentum=0.9), optim.Adam(m.parameters())
    for o in (sgd, adam):
        m(t32(3, 2)).sum().backward()
        o.step()
    before = json.dumps(adam.state_dict()["param_groups"])
    exp_avg = adam.state_dict()["state"][0]["exp_avg"].data.copy()

    @ctx.after
    def unchanged():
        assert json.dumps(adam.state_dict()["param_groups"]) == before
        np.testing.assert_array_equal(adam.state_dict()["state"][0]["exp_avg"].data, exp_avg)

    adam.load_state_dict(sgd.state_dict())


@case(
    "Adam-load-malformed-state",
    sec,
    "Adam.load_state_dict with param_groups = None",
    ValueError,
    "'param_groups' is a NoneType, not a list of dicts",
)
def _(ctx):
    optim.Adam(params()).load_state_dict({"state": {}, "param_groups": None})


for _id, _sched, _kw, _err, _msg in [
    ("StepLR-step-size-0", "StepLR", {"step_size": 0}, ValueError,
     "StepLR: step_size must be a positive integer"),
    ("StepLR-gamma-negative", "StepLR", {"step_size": 2, "gamma": -0.5}, ValueError,
     "StepLR: gamma must be a finite number >= 0.0, got -0.5"),
    ("StepLR-gamma-nan", "StepLR", {"step_size": 2, "gamma": float("nan")}, ValueError,
     "StepLR: gamma must be"),
    ("MultiStepLR-milestones-not-a-list", "MultiStepLR", {"milestones": 3}, TypeError,
     "MultiStepLR: milestones must be a list"),
    ("ExponentialLR-gamma-inf", "ExponentialLR", {"gamma": float("inf")}, ValueError,
     "ExponentialLR: gamma must be a finite"),
    ("CosineAnnealingLR-T-max-0", "CosineAnnealingLR", {"T_max": 0}, ValueError,
     "CosineAnnealingLR: T_max must be a finite number > 0"),
    ("CosineAnnealingLR-eta-min-negative", "CosineAnnealingLR", {"T_max": 10, "eta_min": -1},
     ValueError, "CosineAnnealingLR: eta_min must be a finite number >= 0.0"),
    ("CosineAnnealingLR-T-max-inf", "CosineAnnealingLR", {"T_max": float("inf")}, ValueError,
     "CosineAnnealingLR: T_max must be a finite number > 0.0, got inf"),
    ("StepLR-last-epoch-nan", "StepLR", {"step_size": 2, "last_epoch": float("nan")}, ValueError,
     "StepLR: last_epoch must be an int >= -1"),
    ("LinearLR-start-factor-0", "LinearLR", {"start_factor": 0}, ValueError,
     r"LinearLR: start_factor must be in \(0, 1\]"),
    ("LinearLR-total-iters-0", "LinearLR", {"total_iters": 0}, ValueError,
     "LinearLR: total_iters must be a positive"),
    ("ReduceLROnPlateau-factor-1", "ReduceLROnPlateau", {"factor": 1.0}, ValueError,
     r"factor must be in \[0, 1\)"),
    ("ReduceLROnPlateau-patience-negative", "ReduceLROnPlateau", {"patience": -1}, ValueError,
     "patience must be an int >= 0"),
    ("ReduceLROnPlateau-min-lr-negative", "ReduceLROnPlateau", {"min_lr": -1e-3}, ValueError,
     "min_lr must be a finite number >= 0"),
]:  # fmt: skip
    case(_id, sec,
         f"lr_scheduler.{_sched}(optimizer, " + ", ".join(f"{k}={v!r}" for k, v in _kw.items())
         + ")", _err, _msg)(
        lambda ctx, s=_sched, kw=_kw: getattr(lr_scheduler, s)(
            optim.SGD(params(), lr=0.1), **kw))  # fmt: skip


@case(
    "SequentialLR-milestones-nan",
    sec,
    "lr_scheduler.SequentialLR(optimizer, [StepLR, ExponentialLR], milestones=[nan])",
    ValueError,
    r"SequentialLR: milestones must be integers \(epochs\), got \[nan\]",
)
def _(ctx):
    opt = optim.SGD(params(), lr=0.1)
    schedules = [lr_scheduler.StepLR(opt, 2), lr_scheduler.ExponentialLR(opt, 0.9)]
    lr_scheduler.SequentialLR(opt, schedules, milestones=[float("nan")])


@case(
    "StepLR-load-wrong-kind",
    sec,
    "StepLR.load_state_dict with last_epoch='3' (a damaged file)",
    ValueError,
    "'last_epoch' is '3', not like this schedule's 0",
)
def _(ctx):
    sched = lr_scheduler.StepLR(optim.SGD(params(), lr=0.1), 2)
    state = sched.state_dict()
    state["last_epoch"] = "3"
    sched.load_state_dict(state)


@case(
    "StepLR-given-the-model",
    sec,
    "StepLR(model, 2)",
    TypeError,
    "StepLR: expected a zerograd.optim.Optimizer, got Linear",
)
def _(ctx):
    lr_scheduler.StepLR(nn.Linear(2, 1), 2)


@case(
    "ReduceLROnPlateau-metric-not-a-number",
    sec,
    "scheduler.step('loss')",
    TypeError,
    "ReduceLROnPlateau.step: metric must be a number",
)
def _(ctx):
    lr_scheduler.ReduceLROnPlateau(optim.SGD(params(), lr=0.1)).step("loss")


# ---------------------------------------------------------------------------------------------
# data

sec = "Data"


def dataset(n=5):
    return TensorDataset(np.zeros((n, 2), np.float32), np.arange(n))


@case(
    "DataLoader-batch-size-0",
    sec,
    "DataLoader(ds, batch_size=0)",
    ValueError,
    "DataLoader: batch_size must be positive, got 0",
)
def _(ctx):
    DataLoader(dataset(), batch_size=0)


@case(
    "DataLoader-batch-size-float",
    sec,
    "DataLoader(ds, batch_size=2.5)",
    TypeError,
    "DataLoader: batch_size must be a positive integer, got 2.5",
)
def _(ctx):
    DataLoader(dataset(), batch_size=2.5)


@case(
    "DataLoader-shuffle-not-bool",
    sec,
    "DataLoader(ds, shuffle='yes')",
    TypeError,
    "DataLoader: shuffle must be True or False",
)
def _(ctx):
    DataLoader(dataset(), shuffle="yes")


@case(
    "DataLoader-not-a-dataset",
    sec,
    "DataLoader(a generator)",
    TypeError,
    "DataLoader: the dataset must define __getitem__ and __len__",
)
def _(ctx):
    DataLoader(iter(range(3)))


@case("DataLoader-empty-dataset", sec, "DataLoader over 0 samples")
def _(ctx):
    loader = DataLoader(dataset(0), batch_size=4)
    assert len(loader) == 0 and list(loader) == []
    return "works, as in PyTorch: no batches"


@case(
    "TensorDataset-lengths-differ",
    sec,
    "TensorDataset(5 inputs, 4 targets)",
    ValueError,
    "TensorDataset",
)
def _(ctx):
    TensorDataset(np.zeros((5, 2)), np.arange(4))


@case(
    "TensorDataset-index-out-of-range",
    sec,
    "dataset[5] of 5 samples",
    IndexError,
    "TensorDataset: index 5 is out of range for 5 samples",
)
def _(ctx):
    dataset()[5]


def mnist_folder(ctx, images, labels, gz=True):
    """A folder with t10k-images/labels files holding ``images`` and ``labels``."""
    folder = ctx.tmp / "mnist"
    folder.mkdir(exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", labels)
    ctx.setenv("ZEROGRAD_DATA", None)  # only this folder, not the real data
    ctx.setenv("XDG_CACHE_HOME", str(ctx.tmp / "cache"))
    return folder


IMAGES = np.zeros((4, 28, 28), np.uint8)
LABELS = np.array([1, 2, 3, 4], np.uint8)


@case(
    "MNIST-counts-differ",
    sec,
    "MNIST: 4 images but 3 labels",
    IDXError,
    r"header gives shape \(3,\), expected \(4,\)",
)
def _(ctx):
    mnist_folder(ctx, IMAGES, LABELS[:3])
    MNIST(ctx.tmp, train=False, verify=False)


@case(
    "MNIST-images-as-labels",
    sec,
    "MNIST: the image file given as the label file",
    IDXError,
    r"magic number 0x00000803 .* expected 0x00000801 .*images vs labels",
)
def _(ctx):
    folder = mnist_folder(ctx, IMAGES, LABELS)
    shutil.copy(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    MNIST(ctx.tmp, train=False, verify=False)


@case(
    "MNIST-label-out-of-range",
    sec,
    "MNIST: a label 12",
    ValueError,
    "holds label 12; expected labels 0 to 9",
)
def _(ctx):
    mnist_folder(ctx, IMAGES, np.array([1, 2, 12, 4], np.uint8))
    MNIST(ctx.tmp, train=False, verify=False)


@case(
    "MNIST-wrong-checksum",
    sec,
    "MNIST: files that are not the published ones (verify=True)",
    ValueError,
    "is not the published t10k-images-idx3-ubyte file of MNIST: its SHA-256",
)
def _(ctx):
    mnist_folder(ctx, IMAGES, LABELS)
    MNIST(ctx.tmp, train=False)


@case("MNIST-missing", sec, "MNIST: no files anywhere", FileNotFoundError, "MNIST")
def _(ctx):
    ctx.setenv("ZEROGRAD_DATA", None)
    ctx.setenv("XDG_CACHE_HOME", str(ctx.tmp / "cache"))
    MNIST(ctx.tmp / "nowhere", train=False)


@case(
    "MNIST-truncated-real-file",
    sec,
    "MNIST: the real t10k-labels .gz cut short",
    IDXError,
    "gzip stream is truncated",
    needs="data",
)
def _(ctx):
    real = Path(os.environ["ZEROGRAD_DATA"])
    source = next(real.rglob("t10k-labels-idx1-ubyte.gz"))
    target = ctx.tmp / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(source.read_bytes()[:-100])
    read_idx(target, magic=2049)


# ---------------------------------------------------------------------------------------------
# IDX files

sec = "IDX files"


def idx_file(ctx, data: bytes, gz=False, name="x-idx1-ubyte"):
    path = ctx.tmp / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def idx_bytes(a):
    a = np.asarray(a)
    return bytes([0, 0, 8, a.ndim]) + b"".join(n.to_bytes(4, "big") for n in a.shape) + a.tobytes()


LABEL_BYTES = idx_bytes(LABELS)


@case(
    "idx-truncated",
    sec,
    "a raw IDX file missing its last byte",
    IDXError,
    r"truncated: only 3 data bytes follow the header; the header promises shape \(4,\)",
)
def _(ctx):
    read_idx(idx_file(ctx, LABEL_BYTES[:-1]))


@case(
    "idx-truncated-gzip", sec, "a .gz IDX file cut short", IDXError, "the gzip stream is truncated"
)
def _(ctx):
    path = idx_file(ctx, LABEL_BYTES, gz=True)
    path.write_bytes(path.read_bytes()[:-12])
    read_idx(path)


@case("idx-bad-crc", sec, "a .gz IDX file with a wrong CRC", IDXError, "corrupt gzip data")
def _(ctx):
    path = idx_file(ctx, LABEL_BYTES, gz=True)
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # the CRC-32 in the trailer
    path.write_bytes(bytes(data))
    read_idx(path)


@case("idx-not-idx", sec, "a text file read as IDX", IDXError, "bad magic number 0x68656C6C")
def _(ctx):
    read_idx(idx_file(ctx, b"hello world\n"))


@case("idx-empty", sec, "an empty file", IDXError, "only 0 bytes, too short for the 4-byte magic")
def _(ctx):
    read_idx(idx_file(ctx, b""))


@case(
    "idx-wrong-magic",
    sec,
    "labels (2049) where images (2051) are expected",
    IDXError,
    r"magic number 0x00000801 \(2049: uint8, 1 dimensions\), expected 0x00000803",
)
def _(ctx):
    read_idx(idx_file(ctx, LABEL_BYTES), magic=2051)


@case(
    "idx-wrong-count",
    sec,
    "a header promising 5 labels over 4",
    IDXError,
    r"truncated: only 4 data bytes .* promises shape \(5,\)",
)
def _(ctx):
    data = bytearray(LABEL_BYTES)
    data[4:8] = (5).to_bytes(4, "big")
    read_idx(idx_file(ctx, bytes(data)))


@case("idx-trailing-data", sec, "bytes after the data", IDXError, "3 bytes of trailing data")
def _(ctx):
    read_idx(idx_file(ctx, LABEL_BYTES + b"abc"))


@case(
    "idx-gzip-bomb",
    sec,
    "a 35-byte .gz whose header promises 60000 images",
    IDXError,
    r"a gzip file of \d+ bytes holds at most",
)
def _(ctx):
    head = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (60000, 28, 28))
    read_idx(idx_file(ctx, head + bytes(50), gz=True))


@case(
    "idx-huge-shape",
    sec,
    "a header of shape (0, 2^32-1, 2^32-1, 2^32-1) (found by fuzzing)",
    IDXError,
    "too big for any array; the header is corrupt",
)
def _(ctx):
    head = bytes([0, 0, 8, 4]) + (0).to_bytes(4, "big") + b"\xff\xff\xff\xff" * 3
    read_idx(idx_file(ctx, head))


@case(
    "idx-too-many-dimensions",
    sec,
    "a header whose dimension byte says 200 (NumPy arrays have at most 64)",
    IDXError,
    r"IDX file .*x-idx1-ubyte: magic number 0x000008C8 says 200 dimensions, more than the "
    r"(64|32) a NumPy array",
)
def _(ctx):
    read_idx(idx_file(ctx, bytes([0, 0, 8, 200]) + (1).to_bytes(4, "big") * 200 + b"\x07"))


@case(
    "idx-missing",
    sec,
    "a path that does not exist",
    FileNotFoundError,
    "can't read IDX file .*nope-idx1-ubyte",
)
def _(ctx):
    read_idx(ctx.tmp / "nope-idx1-ubyte")


@case("idx-directory", sec, "a folder given as the file", IsADirectoryError, "can't read IDX file")
def _(ctx):
    read_idx(ctx.tmp)


# ---------------------------------------------------------------------------------------------
# safetensors files

sec = "safetensors files"


def weights_file(ctx):
    path = ctx.tmp / "w.safetensors"
    io.save({"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "bias": np.ones(2)}, path)
    return path


def with_header(ctx, edit, body_edit=None):
    """A copy of the weights file with its header edited (and re-padded), or its body."""
    path = weights_file(ctx)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header, body = json.loads(data[8 : 8 + n]), data[8 + n :]
    text = edit(header)
    if not isinstance(text, bytes):
        text = json.dumps(text).encode()
    text += b" " * (-len(text) % 8)
    if body_edit:
        body = body_edit(body)
    path.write_bytes(len(text).to_bytes(8, "little") + text + body)
    return path


def _set(d, key, field, value):
    d[key][field] = value
    return d


@case(
    "safetensors-truncated",
    sec,
    "a file cut 4 bytes short",
    ValueError,
    r"'bias' has data_offsets \[24, 40\] past the end of the data .36 bytes; the file is tr",
)
def _(ctx):
    path = weights_file(ctx)
    path.write_bytes(path.read_bytes()[:-4])
    io.load(path)


@case(
    "safetensors-too-short",
    sec,
    "a 5-byte file",
    ValueError,
    "it is 5 bytes long; expected at least 8 bytes",
)
def _(ctx):
    path = ctx.tmp / "w.safetensors"
    path.write_bytes(b"12345")
    io.load(path)


@case(
    "safetensors-header-length-lies",
    sec,
    "a header length past the end of the file",
    ValueError,
    "the header length 1000000 runs past the end of the file",
)
def _(ctx):
    path = weights_file(ctx)
    path.write_bytes((10**6).to_bytes(8, "little") + path.read_bytes()[8:])
    io.load(path)


@case(
    "safetensors-header-huge",
    sec,
    "a header length of 2^64 - 1",
    ValueError,
    "the header length 18446744073709551615 runs past the end",
)
def _(ctx):
    path = weights_file(ctx)
    path.write_bytes(b"\xff" * 8 + path.read_bytes()[8:])
    io.load(path)


@case(
    "safetensors-offsets-overlap",
    sec,
    "two tensors claiming the same bytes",
    ValueError,
    "overlaps tensor",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: _set(h, "bias", "data_offsets", [8, 24])))


@case(
    "safetensors-offsets-gap",
    sec,
    "offsets leaving bytes to no tensor",
    ValueError,
    r"bytes \[0, 8\) of the data belong to no tensor",
)
def _(ctx):
    h = lambda h: _set(_set(h, "weight", "data_offsets", [8, 32]), "bias", "data_offsets", [32, 48])
    io.load(with_header(ctx, h, lambda body: bytes(8) + body))


@case(
    "safetensors-offsets-past-end",
    sec,
    "a tensor of 500 float64 where 2 are stored",
    ValueError,
    r"data_offsets \[24, 4024\] past the end of the data",
)
def _(ctx):
    edit = lambda h: _set(_set(h, "bias", "shape", [500]), "bias", "data_offsets", [24, 4024])
    io.load(with_header(ctx, edit))


@case(
    "safetensors-shape-lies",
    sec,
    "a shape whose size does not match its bytes",
    ValueError,
    r"'weight' of dtype F32 and shape \[3, 3\] spans bytes \[0, 24\), 24 bytes; expected 36",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: _set(h, "weight", "shape", [3, 3])))


@case(
    "safetensors-huge-shape",
    sec,
    "a declared shape of (2^62, 2^62)",
    ValueError,
    "too big for memory",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: _set(h, "weight", "shape", [2**62, 2**62])))


@case(
    "safetensors-negative-size",
    sec,
    "a shape with -1",
    ValueError,
    r"tensor 'weight' has shape \[-1, 3\]",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: _set(h, "weight", "shape", [-1, 3])))


@case(
    "safetensors-duplicate-names",
    sec,
    "the same tensor name twice in the header",
    ValueError,
    "the header has the name 'bias' twice",
)
def _(ctx):
    def dup(h):
        text = json.dumps(h)
        return (text[:-1] + ', "bias": ' + json.dumps(h["bias"]) + "}").encode()

    io.load(with_header(ctx, dup))


@case(
    "safetensors-unknown-dtype",
    sec,
    "dtype F8_E4M3 (float8)",
    ValueError,
    "has dtype 'F8_E4M3', which zerograd cannot read",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: _set(h, "bias", "dtype", "F8_E4M3")))


@case(
    "safetensors-dtype-lies",
    sec,
    "dtype F64 declared over F32 bytes",
    ValueError,
    "expected 48 bytes",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: _set(h, "weight", "dtype", "F64")))


@case(
    "safetensors-bad-bool",
    sec,
    "a BOOL tensor holding the byte 2",
    ValueError,
    "is BOOL but holds bytes other than 0 and 1",
)
def _(ctx):
    path = ctx.tmp / "b.safetensors"
    io.save({"m": np.array([True, False])}, path)
    data = bytearray(path.read_bytes())
    data[-1] = 2
    path.write_bytes(bytes(data))
    io.load(path)


@case(
    "safetensors-header-not-json",
    sec,
    "a header that is not JSON",
    ValueError,
    "the header is not valid UTF-8 JSON",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: b"{not json}"))


@case(
    "safetensors-header-deep-nesting",
    sec,
    "a header nested 100000 deep",
    ValueError,
    "the header is not valid UTF-8 JSON",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}"))


@case(
    "safetensors-metadata-not-strings",
    sec,
    '__metadata__ {"epoch": 3} (a number)',
    ValueError,
    "__metadata__ is .* expected an object of strings to strings",
)
def _(ctx):
    io.load(with_header(ctx, lambda h: {**h, "__metadata__": {"epoch": 3}}))


@case(
    "safetensors-trailing-bytes",
    sec,
    "bytes after the last tensor",
    ValueError,
    "3 trailing bytes follow the last tensor",
)
def _(ctx):
    path = weights_file(ctx)
    path.write_bytes(path.read_bytes() + b"abc")
    io.load(path)


@case(
    "safetensors-load-into-wrong-model",
    sec,
    "load_into a model of other sizes: the model is unchanged",
    RuntimeError,
    r"load_into: '.*w.safetensors' does not fit: Error\(s\) in loading state_dict for Linear",
)
def _(ctx):
    path = weights_file(ctx)
    model = nn.Linear(4, 2)
    ctx.after(same_state(model))
    io.load_into(model, path)


@case(
    "safetensors-load-into-damaged",
    sec,
    "load_into from a damaged file: model unchanged",
    ValueError,
    "is not a valid safetensors file",
)
def _(ctx):
    path = weights_file(ctx)
    path.write_bytes(path.read_bytes()[:-1])
    model = nn.Linear(3, 2)
    ctx.after(same_state(model))
    io.load_into(model, path)


@case(
    "safetensors-save-bad-value",
    sec,
    "save({'w': [1, 2]}): no file is created",
    TypeError,
    "save: value for key 'w' is a list, not a Tensor or NumPy array",
)
def _(ctx):
    ctx.after(lambda: _nothing_in(ctx.tmp))
    io.save({"w": [1, 2]}, ctx.tmp / "w.safetensors")


def _nothing_in(folder):
    assert os.listdir(folder) == [], os.listdir(folder)


@case(
    "safetensors-save-object-dtype",
    sec,
    "save of an object array",
    TypeError,
    "has dtype object, which safetensors files made by zerograd cannot hold",
)
def _(ctx):
    ctx.after(lambda: _nothing_in(ctx.tmp))
    io.save({"w": np.array([None])}, ctx.tmp / "w.safetensors")


# ---------------------------------------------------------------------------------------------
# checkpoints

sec = "Checkpoints"


def training_state(arch=0):
    zg.manual_seed(0)
    if arch == 0:
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    else:
        model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(t32(4, 3)).sum().backward()
    opt.step()
    return model, opt


def unchanged_training_state(ctx, model, opt):
    """After the call: model, optimizer and RNG exactly as they were."""
    check_model = same_state(model)
    groups = json.dumps(opt.state_dict()["param_groups"], sort_keys=True)
    state = {i: {k: (v.data.copy() if hasattr(v, "data") else v) for k, v in s.items()}
             for i, s in opt.state_dict()["state"].items()}  # fmt: skip
    rng = json.dumps(zg.get_rng_state(), default=str)

    @ctx.after
    def check():
        check_model()
        assert json.dumps(opt.state_dict()["param_groups"], sort_keys=True) == groups
        for i, s in opt.state_dict()["state"].items():
            for k, v in s.items():
                np.testing.assert_array_equal(getattr(v, "data", v), state[i][k])
        assert json.dumps(zg.get_rng_state(), default=str) == rng


def checkpoint(ctx, arch=0, **kwargs):
    model, opt = training_state(arch)
    path = ctx.tmp / "ckpt.safetensors"
    io.save_checkpoint(path, model, opt, epoch=3, **kwargs)
    return path


def edit_metadata(path, field, value):
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    if value is None:
        del header["__metadata__"][field]
    else:
        header["__metadata__"][field] = value
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n :])


@case(
    "checkpoint-from-another-model",
    sec,
    "a checkpoint of Linear(3, 5) layers loaded into Linear(3, 4) ones",
    RuntimeError,
    r"load_checkpoint: '.*ckpt.safetensors' does not fit: Error\(s\) in loading state_dict "
    r"for Sequential:\n  size mismatch for 0.weight",
)
def _(ctx):
    path = checkpoint(ctx, arch=1)
    model, opt = training_state(0)
    unchanged_training_state(ctx, model, opt)
    io.load_checkpoint(path, model, opt)


@case(
    "checkpoint-optimizer-of-another-kind",
    sec,
    "an Adam checkpoint loaded into SGD",
    ValueError,
    "does not fit: Error.s. in loading state_dict for SGD",
)
def _(ctx):
    path = checkpoint(ctx)
    model, _ = training_state(0)
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    check = same_state(model)
    ctx.after(check)
    io.load_checkpoint(path, model, sgd)


@case(
    "checkpoint-plain-weights",
    sec,
    "a plain weights file given to load_checkpoint",
    ValueError,
    "is not a zerograd checkpoint: its metadata has format=None",
)
def _(ctx):
    path = weights_file(ctx)
    io.load_checkpoint(path, nn.Linear(3, 2))


@case(
    "checkpoint-newer-version",
    sec,
    "a checkpoint of format version 2",
    ValueError,
    "has checkpoint format version '2', but this zerograd reads version 1 only",
)
def _(ctx):
    path = checkpoint(ctx)
    edit_metadata(path, "format_version", "2")
    io.load_checkpoint(path, *training_state())


@case(
    "checkpoint-no-optimizer-state",
    sec,
    "an optimizer passed, none saved",
    ValueError,
    "holds no optimizer state .it was saved without one.; pass optimizer=None",
)
def _(ctx):
    model, opt = training_state()
    path = ctx.tmp / "ckpt.safetensors"
    io.save_checkpoint(path, model)
    io.load_checkpoint(path, model, opt)


@case(
    "checkpoint-damaged-rng-state",
    sec,
    "an RNG state with a number too big for it",
    ValueError,
    "the saved RNG state cannot be restored .OverflowError",
)
def _(ctx):
    path = checkpoint(ctx)
    state = zg.get_rng_state()
    state["has_uint32"] = 2**70
    edit_metadata(path, "rng_state", json.dumps(state))
    model, opt = training_state()
    unchanged_training_state(ctx, model, opt)
    io.load_checkpoint(path, model, opt)


@case(
    "checkpoint-damaged-optimizer-json",
    sec,
    "optimizer metadata with params = null",
    ValueError,
    "saved parameter group 0 is not a dict with a list of 'params'",
)
def _(ctx):
    path = checkpoint(ctx)
    opt_json = optimizer_json(path)
    opt_json["param_groups"][0]["params"] = None
    edit_metadata(path, "optimizer", json.dumps(opt_json))
    model, opt = training_state()
    unchanged_training_state(ctx, model, opt)
    io.load_checkpoint(path, model, opt)


@case(
    "checkpoint-scheduler-fails-last",
    sec,
    "a scheduler state of another kind: model and optimizer rolled back",
    ValueError,
    "does not fit: Error.s. in loading state_dict for ExponentialLR",
)
def _(ctx):
    model, opt = training_state()
    path = ctx.tmp / "ckpt.safetensors"
    io.save_checkpoint(path, model, opt, lr_scheduler.StepLR(opt, 2), epoch=1)
    model2, opt2 = training_state(0)
    with zg.no_grad():
        for p in model2.parameters():
            p.data[...] = 7.0  # differs from the checkpoint, so a half-load would show
    other_kind = lr_scheduler.ExponentialLR(opt2, 0.5)
    unchanged_training_state(ctx, model2, opt2)
    io.load_checkpoint(path, model2, opt2, other_kind)


def optimizer_json(path):
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    return json.loads(json.loads(data[8 : 8 + n])["__metadata__"]["optimizer"])


@case(
    "checkpoint-optimizer-step-inf",
    sec,
    "an optimizer step count of Infinity (found by fuzzing)",
    ValueError,
    r"state\[0\]\['step'\] must be a number, got inf",
)
def _(ctx):
    path = checkpoint(ctx)
    opt_json = optimizer_json(path)
    opt_json["state"]["0"]["step"] = float("inf")
    edit_metadata(path, "optimizer", json.dumps(opt_json))
    model, opt = training_state()
    unchanged_training_state(ctx, model, opt)
    io.load_checkpoint(path, model, opt)


@case(
    "checkpoint-rollback-drops-new-group-keys",
    sec,
    "a parameter group with an extra key, then a scheduler that does not fit: the extra key "
    "does not stay behind (found by fuzzing)",
    ValueError,
    "does not fit: Error.s. in loading state_dict for ExponentialLR",
)
def _(ctx):
    model, opt = training_state()
    path = ctx.tmp / "ckpt.safetensors"
    io.save_checkpoint(path, model, opt, lr_scheduler.StepLR(opt, 2), epoch=1)
    opt_json = optimizer_json(path)
    opt_json["param_groups"][0]["\x7fps"] = 1e-8  # "eps" with a flipped bit
    edit_metadata(path, "optimizer", json.dumps(opt_json))
    model2, opt2 = training_state(0)
    other_kind = lr_scheduler.ExponentialLR(opt2, 0.5)
    unchanged_training_state(ctx, model2, opt2)
    ctx.after(lambda: "\x7fps" not in opt2.param_groups[0] or pytest.fail("key left behind"))
    io.load_checkpoint(path, model2, opt2, other_kind)


@case(
    "checkpoint-scheduler-state-null",
    sec,
    "scheduler metadata that is JSON null (found by fuzzing)",
    TypeError,
    "does not fit: StepLR.load_state_dict: expected the dict from state_dict.., got NoneType",
)
def _(ctx):
    model, opt = training_state()
    path = ctx.tmp / "ckpt.safetensors"
    io.save_checkpoint(path, model, opt, lr_scheduler.StepLR(opt, 2), epoch=1)
    edit_metadata(path, "scheduler", "null")
    model2, opt2 = training_state(0)
    sched = lr_scheduler.StepLR(opt2, 2)
    unchanged_training_state(ctx, model2, opt2)
    io.load_checkpoint(path, model2, opt2, sched)


@case(
    "checkpoint-truncated",
    sec,
    "a checkpoint cut short",
    ValueError,
    "is not a valid safetensors file",
)
def _(ctx):
    path = checkpoint(ctx)
    path.write_bytes(path.read_bytes()[:-10])
    model, opt = training_state()
    unchanged_training_state(ctx, model, opt)
    io.load_checkpoint(path, model, opt)


@case(
    "checkpoint-metadata-not-json",
    sec,
    "epoch metadata that is not JSON",
    ValueError,
    "epoch is not valid JSON",
)
def _(ctx):
    path = checkpoint(ctx)
    edit_metadata(path, "epoch", "{")
    io.load_checkpoint(path, *training_state())


@case(
    "checkpoint-save-extra-not-json",
    sec,
    "save_checkpoint(extra={'f': print}): no file",
    TypeError,
    r"save_checkpoint: extra\['f'\] is a builtin_function_or_method",
)
def _(ctx):
    ctx.after(lambda: _nothing_in(ctx.tmp))
    io.save_checkpoint(ctx.tmp / "ckpt.safetensors", nn.Linear(2, 1), extra={"f": print})


@case(
    "checkpoint-save-fails-keeps-previous",
    sec,
    "save_checkpoint over an existing one failing half-way (e.g. a full disk)",
    OSError,
    "atomic_write: could not write .*; whatever was there before is unchanged",
)
def _(ctx):
    path = checkpoint(ctx)
    before = path.read_bytes()
    from zerograd.io import atomic

    real = atomic.os.fsync

    def no_space(fd):
        raise OSError(28, "No space left on device")

    @ctx.after
    def kept():
        atomic.os.fsync = real
        assert path.read_bytes() == before and os.listdir(ctx.tmp) == [path.name]

    atomic.os.fsync = no_space
    io.save_checkpoint(path, *training_state(), epoch=4)


# ---------------------------------------------------------------------------------------------
# PyTorch .pt files (zerograd.io.load_pytorch, where this zerograd has it)

sec = "PyTorch .pt files"


def pt_archive(ctx, pickle_bytes: bytes, extra=()) -> Path:
    """A zip laid out as torch.save writes it, with the given data.pkl."""
    path = ctx.tmp / "model.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("model/data.pkl", pickle_bytes)
        z.writestr("model/byteorder", "little")
        for name, blob in extra:
            z.writestr(f"model/{name}", blob)
    return path


def load_pytorch(*args, **kwargs):
    return io.load_pytorch(*args, **kwargs)


@case(
    "pt-holding-code",
    sec,
    "a .pt whose pickle calls os.system: the code does not run",
    ValueError,
    "refusing to load it: its pickle .data.pkl. names the Python global 'os.system'",
    needs="load_pytorch",
)
def _(ctx):
    marker = ctx.tmp / "pwned"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    ctx.after(lambda: not marker.exists() or pytest.fail("the file's code ran"))
    load_pytorch(pt_archive(ctx, payload))


@case(
    "pt-holding-eval",
    sec,
    "a .pt whose pickle calls builtins.eval",
    ValueError,
    "names the Python global 'builtins.eval'",
    needs="load_pytorch",
)
def _(ctx):
    load_pytorch(pt_archive(ctx, b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R."))


@case(
    "pt-plain-pickle",
    sec,
    "a plain pickle (not torch's zip)",
    ValueError,
    "it is a pickle, not the zip archive torch.save writes",
    needs="load_pytorch",
)
def _(ctx):
    path = ctx.tmp / "w.pt"
    path.write_bytes(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00}\x94.")
    load_pytorch(path)


@case(
    "pt-safetensors-file",
    sec,
    "a safetensors file given to load_pytorch",
    ValueError,
    r"looks like a safetensors file; read it with zerograd.io.load",
    needs="load_pytorch",
)
def _(ctx):
    load_pytorch(weights_file(ctx))


@case(
    "pt-truncated",
    sec,
    "a torch.save file cut short",
    ValueError,
    "not a readable zip archive",
    needs="torch",
)
def _(ctx):
    import torch

    path = ctx.tmp / "w.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    path.write_bytes(path.read_bytes()[:-30])
    load_pytorch(path)


@case(
    "pt-whole-model",
    sec,
    "torch.save(model) (a pickled nn.Module)",
    ValueError,
    "names the Python global 'torch.nn.modules.linear.Linear'",
    needs="torch",
)
def _(ctx):
    import torch

    path = ctx.tmp / "w.pt"
    torch.save(torch.nn.Linear(3, 2), path)
    load_pytorch(path)


@case(
    "pt-checkpoint-without-key",
    sec,
    "a {'model': ..., 'epoch': 3} checkpoint without key=",
    ValueError,
    "it is a checkpoint, not a state_dict.*pass key='model'",
    needs="torch",
)
def _(ctx):
    import torch

    path = ctx.tmp / "w.pt"
    torch.save({"model": torch.nn.Linear(3, 2).state_dict(), "epoch": 3}, path)
    load_pytorch(path)


@case(
    "pt-wrong-key",
    sec,
    "key='net' that the file does not have",
    ValueError,
    "it has no top-level entry 'net'",
    needs="torch",
)
def _(ctx):
    import torch

    path = ctx.tmp / "w.pt"
    torch.save({"model": torch.nn.Linear(3, 2).state_dict()}, path)
    load_pytorch(path, key="net")


@case(
    "pt-size-past-storage",
    sec,
    "a tensor whose size reaches past its storage",
    ValueError,
    "past the end of its storage",
    needs="torch",
)
def _(ctx):
    import torch

    buf = pyio.BytesIO()
    torch.save({"w": torch.zeros(2, 3)}, buf)
    src = zipfile.ZipFile(pyio.BytesIO(buf.getvalue()))
    path = ctx.tmp / "w.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            blob = src.read(info)
            if info.filename.endswith("data.pkl"):  # torch.Size((2, 3)) -> (2, 30): BININT1 3
                blob = blob.replace(b"K\x02K\x03\x86", b"K\x02K\x1e\x86", 1)
            z.writestr(info.filename, blob)
    load_pytorch(path)


@case(
    "pt-billion-laughs",
    sec,
    "a 550-byte pickle whose shared lists expand to 2**60 items (a 'billion laughs')",
    ValueError,
    "reading it would visit more than 10000000 objects",
    needs="load_pytorch",
)
def _(ctx):
    pkl = b"\x80\x02]q\x00"  # [] as memo 0, then 60 times: L_i = [L_(i-1), L_(i-1)]
    for i in range(1, 61):
        pkl += b"0(h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"lq" + bytes([i])
    load_pytorch(pt_archive(ctx, pkl + b"."))


@case(
    "pt-nested-100000-deep",
    sec,
    "a pickle of 100,000 nested lists (Python's repr would raise RecursionError)",
    ValueError,
    "nests lists, tuples, dicts or sets deeper than 100 levels",
    needs="load_pytorch",
)
def _(ctx):
    load_pytorch(pt_archive(ctx, b"\x80\x02" + b"(" * 100_000 + b"l" * 100_000 + b"."))


@case(
    "pt-deep-tuple-key",
    sec,
    "a dict key of 1,000,000 nested tuples (hashing it crashes CPython's unpickler)",
    ValueError,
    "nests lists, tuples, dicts or sets deeper than 100 levels",
    needs="load_pytorch",
)
def _(ctx):
    key = b"(" * 1_000_000 + b"t" * 1_000_000
    load_pytorch(pt_archive(ctx, b"\x80\x02}" + key + b"Ns."))


@case(
    "pt-load-into-wrong-model",
    sec,
    "load_pytorch_into a model of other sizes: unchanged",
    RuntimeError,
    r"Error\(s\) in loading state_dict for Linear",
    needs="torch",
)
def _(ctx):
    import torch

    path = ctx.tmp / "w.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    model = nn.Linear(4, 2)
    ctx.after(same_state(model))
    io.load_pytorch_into(model, path)


# ---------------------------------------------------------------------------------------------
# running a case, the test, the doc check


def _available(needs) -> str | None:
    """Why a case cannot run here, or None."""
    if needs in ("load_pytorch", "torch") and not hasattr(io, "load_pytorch"):
        return "zerograd.io.load_pytorch is not in this zerograd yet"
    if needs == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            return 'needs torch (it writes the .pt files): pip install "zerograd[test]"'
    if needs == "data" and not os.environ.get("ZEROGRAD_DATA"):
        return "needs the MNIST files: set ZEROGRAD_DATA to a folder holding mnist/"
    return None


def run_case(c: Case, tmp: Path):
    """(result text, exception or None); the after-checks have run."""
    ctx = Ctx(tmp)
    error = result = None
    try:
        result = c.run(ctx)
    except Exception as e:  # noqa: BLE001 - the case decides what is expected
        error = e
    finally:
        ctx.restore()
    for check in ctx.checks:
        check()
    return result, error


def _check_error(c: Case, error):
    if c.expect is None:
        if error is not None:
            raise error
        return
    assert error is not None, f"{c.id}: expected {c.expect.__name__}, nothing was raised"
    assert type(error) is c.expect, (
        f"{c.id}: expected {c.expect.__name__}, got {type(error).__name__}: {error}"
    )
    assert re.search(c.match, str(error), re.S), f"{c.id}: {c.match!r} not in {str(error)!r}"
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1].filename if frames else ""
    assert f"{os.sep}zerograd{os.sep}" in last and f"{os.sep}numpy{os.sep}" not in last, (
        f"{c.id}: the traceback ends in {last}, not in zerograd's own checks"
    )


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_row(c, tmp_path):
    reason = _available(c.needs)
    if reason:
        pytest.skip(reason)
    result, error = run_case(c, tmp_path)
    _check_error(c, error)
    if c.expect is None:
        assert isinstance(result, str) and result.startswith("works"), result


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_exported_module_is_in_the_table():
    exported = {
        name
        for name in nn.__all__
        if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)
    }
    covered = set(LAYERS) | SPECIAL | LOSSES
    assert exported == covered, (exported - covered, covered - exported)
    for name in LOSSES:
        assert any(c.id.startswith(name + "-") for c in CASES), name


def test_every_optimizer_and_schedule_is_in_the_table():
    for name in optim.__all__:
        obj = getattr(optim, name)
        if isinstance(obj, type) and name != "Optimizer":
            assert any(c.id.startswith(name + "-") for c in CASES), name
    for name in dir(lr_scheduler):
        obj = getattr(lr_scheduler, name)
        if (isinstance(obj, type) and obj.__module__ == lr_scheduler.__name__
                and not name.startswith("_") and name not in ("LRScheduler", "LambdaLR",
                                                              "SequentialLR")):  # fmt: skip
            assert any(c.id.startswith(name + "-") for c in CASES), name


def doc_rows(text: str) -> dict:
    """id -> the result cell, from every table row of the doc whose first cell is `an-id`."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|(.*)\|\s*$", line)
        if m:
            cells = [cell.strip() for cell in m.group(2).split(" | ")]
            rows[m.group(1)] = cells[-1]
    return rows


def test_doc_and_cases_agree():
    rows = doc_rows(DOC.read_text(encoding="utf-8"))
    ids = {c.id for c in CASES}
    assert not ids - rows.keys(), f"cases with no row in {DOC.name}: {sorted(ids - rows.keys())}"
    assert not rows.keys() - ids, f"rows with no case: {sorted(rows.keys() - ids)}"
    for c in CASES:  # the row says the same outcome as the case expects
        outcome = c.expect.__name__ if c.expect else "works"
        assert rows[c.id].startswith(outcome), (c.id, rows[c.id][:60], outcome)


# ---------------------------------------------------------------------------------------------
# writing the tables


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_tables() -> str:
    out = []
    section = None
    for c in CASES:
        if c.section != section:
            section = c.section
            out += ["", f"### {section}", "", "| id | bad input | what the user gets |",
                    "|---|---|---|"]  # fmt: skip
        reason = _available(c.needs)
        if reason:
            got = f"{c.expect.__name__ if c.expect else 'works'}: (not run here: {reason})"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                result, error = run_case(c, Path(tmp))
                _check_error(c, error)
                if error is None:
                    got = result
                else:
                    got = f"{type(error).__name__}: {str(error).replace(tmp, '<tmp>')}"
        out.append(f"| `{c.id}` | {_cell(c.what)} | {_cell(got)} |")
    return "\n".join(out[1:]) + "\n"


def main(argv) -> int:
    return write_or_print(DOC, START, END, render_tables(), argv, len(CASES))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main(sys.argv[1:]))
