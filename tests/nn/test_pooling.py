"""MaxPool1d, AvgPool1d, MaxPool2d, MaxUnpool2d, AvgPool2d and AdaptiveAvgPool2d layers:
constructor, repr, forward and backward vs PyTorch."""

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd.nn.pooling import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool2d,
)

LAYERS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), dict(stride=1, padding=1)),
    ("MaxPool2d", ((2, 3),), dict(stride=(1, 2), padding=(1, 0))),
    ("MaxPool2d", (3, 2, 1, 2), dict(ceil_mode=True)),  # torch's positional order
    ("MaxPool2d", (3,), dict(stride=2, dilation=(2, 1), return_indices=True, ceil_mode=True)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AvgPool2d", ((2, 3),), dict(padding=(1, 1))),
    ("AvgPool2d", (3, 2, 1, True, False), {}),  # ceil_mode, count_include_pad positionally
    ("AvgPool2d", (3,), dict(stride=2, ceil_mode=True, divisor_override=4)),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
]
ZG = {"MaxPool2d": MaxPool2d, "AvgPool2d": AvgPool2d, "AdaptiveAvgPool2d": AdaptiveAvgPool2d}

LAYERS_1D = [
    ("MaxPool1d", (3,), {}),
    ("MaxPool1d", (3, 2, 1, 2), dict(ceil_mode=True)),
    ("MaxPool1d", (2,), dict(stride=1, return_indices=True)),
    ("AvgPool1d", (3,), {}),
    ("AvgPool1d", ((3,), 2, 1, True, False), {}),
]
ZG_1D = {"MaxPool1d": MaxPool1d, "AvgPool1d": AvgPool1d}


@needs_torch
@pytest.mark.parametrize("name, args, kwargs", LAYERS_1D)
def test_pool1d_layer_repr_matches_torch(name, args, kwargs):
    assert repr(ZG_1D[name](*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 11), (3, 10)])
@pytest.mark.parametrize("name, args, kwargs", LAYERS_1D)
def test_pool1d_layer_against_torch(name, args, kwargs, shape, dtype):
    data = np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape) / 5.0
    x = zg.tensor(data.astype(dtype), requires_grad=True)
    zl, tl = ZG_1D[name](*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    compare_with_torch(torch, zl, tl, [x], dtype)


@needs_torch
@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_pooling_layer_repr_matches_torch(name, args, kwargs):
    assert repr(ZG[name](*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_pooling_layer_against_torch(name, args, kwargs, dtype):
    rng = np.random.default_rng(0)
    data = rng.permutation(2 * 3 * 8 * 9).reshape(2, 3, 8, 9) / 5.0  # distinct: no max ties
    x = zg.tensor(data.astype(dtype), requires_grad=True)
    compare_with_torch(
        torch, ZG[name](*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs), [x], dtype
    )


def test_pooling_layers_have_no_parameters():
    assert list(MaxPool2d(2).parameters()) == []
    assert list(MaxPool1d(2).parameters()) == list(AvgPool1d(2).parameters()) == []
    assert list(MaxUnpool2d(2).parameters()) == []
    assert list(AvgPool2d(2).parameters()) == []
    assert list(AdaptiveAvgPool2d(1).parameters()) == []


@needs_torch
@pytest.mark.parametrize(
    "args, kwargs", [((2,), {}), ((3, 2, 1), {}), (((3, 2),), dict(stride=(2, 1), padding=(1, 0)))]
)
def test_max_unpool2d_repr_matches_torch(args, kwargs):
    assert repr(MaxUnpool2d(*args, **kwargs)) == repr(torch.nn.MaxUnpool2d(*args, **kwargs))


def test_max_pool2d_attributes_are_torch_s():
    m = MaxPool2d(3, None, 1, 2, True, True)  # torch's order: ..., return_indices, ceil_mode
    assert (m.kernel_size, m.stride, m.padding, m.dilation) == (3, 3, 1, 2)
    assert m.return_indices is True and m.ceil_mode is True
    a = AvgPool2d(3, None, 1, True, False, 5)
    assert (a.stride, a.ceil_mode, a.count_include_pad, a.divisor_override) == (3, True, False, 5)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape, args, kwargs",
    [
        ((2, 3, 7, 9), (2,), {}),
        ((2, 3, 7, 9), (3, 2, 1), dict(ceil_mode=True)),
        ((3, 8, 7), ((3, 2),), dict(stride=(2, 1), ceil_mode=True)),  # unbatched
    ],
)
def test_max_pool_then_unpool_layers_against_torch(shape, args, kwargs, dtype):
    """Pool with indices, unpool to the input's size: a SegNet-style round trip, both gradients
    through the pooled values."""
    unpool_kw = {k: v for k, v in kwargs.items() if k == "stride"}  # the pooling's geometry
    pool = MaxPool2d(*args, **kwargs, return_indices=True)
    unpool = MaxUnpool2d(*args, **unpool_kw)
    tpool = torch.nn.MaxPool2d(*args, **kwargs, return_indices=True)
    tunpool = torch.nn.MaxUnpool2d(*args, **unpool_kw)

    def zg_fn(x):
        y, idx = pool(x)
        return unpool(y, idx, output_size=x.shape[-2:]) * 2.0 + 1.0

    def torch_fn(x):
        y, idx = tpool(x)
        return tunpool(y, idx, output_size=x.shape[-2:]) * 2.0 + 1.0

    data = np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape) / 5.0
    x = zg.tensor(data.astype(dtype), requires_grad=True)
    compare_with_torch(torch, zg_fn, torch_fn, [x], dtype)
