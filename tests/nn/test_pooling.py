"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d layers: repr, forward and backward vs PyTorch."""

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

LAYERS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), dict(stride=1, padding=1)),
    ("MaxPool2d", ((2, 3),), dict(stride=(1, 2), padding=(1, 0))),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AvgPool2d", ((2, 3),), dict(padding=(1, 1))),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
]
ZG = {"MaxPool2d": MaxPool2d, "AvgPool2d": AvgPool2d, "AdaptiveAvgPool2d": AdaptiveAvgPool2d}


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
    assert list(AvgPool2d(2).parameters()) == []
    assert list(AdaptiveAvgPool2d(1).parameters()) == []
