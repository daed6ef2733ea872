"""nn.init: gains and the distributions of every scheme (PyTorch's formulas)."""

import math

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd import nn
from zerograd.nn import init


@pytest.mark.parametrize(
    "name, param, expected",
    [
        ("linear", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
    ],
)
def test_calculate_gain_matches_pytorch(name, param, expected):
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    assert init.calculate_gain(name, param) == pytest.approx(expected)
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param)
    )


def test_calculate_gain_unknown():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def _std_of(fill, shape=(400, 600)):
    zg.manual_seed(0)
    w = nn.Parameter(zg.empty(*shape))
    fill(w)
    assert w.dtype == np.float32
    return w.data.std(), w.data.mean(), w.data


@pytest.mark.parametrize(
    "fill, expected_std",
    [
        (lambda w: init.small_random_(w), 0.01),
        (lambda w: init.normal_(w, 0, 0.5), 0.5),
        (lambda w: init.uniform_(w, -1, 1), 1 / math.sqrt(3)),
        (lambda w: init.xavier_uniform_(w), math.sqrt(2 / 1000)),
        (lambda w: init.xavier_normal_(w, gain=2.0), 2 * math.sqrt(2 / 1000)),
        (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), math.sqrt(2 / 600)),
        (
            lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
            math.sqrt(2 / 400),
        ),
    ],
)
def test_init_distributions(fill, expected_std):
    std, mean, _ = _std_of(fill)
    assert std == pytest.approx(expected_std, rel=0.02)
    assert abs(mean) < 0.05 * expected_std * 10


def test_constant_fills_and_version_bump():
    w = nn.Parameter(zg.empty(2, 3))
    v = w._version
    init.constant_(w, 0.5)
    assert (w.data == 0.5).all() and w._version == v + 1
    assert (init.zeros_(w).data == 0).all() and (init.ones_(w).data == 1).all()


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.xavier_uniform_(nn.Parameter(zg.empty(5)))


def test_init_is_seeded():
    a = _std_of(init.xavier_uniform_)[2].copy()
    b = _std_of(init.xavier_uniform_)[2]
    np.testing.assert_array_equal(a, b)
