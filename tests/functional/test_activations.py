"""Activations: the course's values, stability at extreme inputs (no nan, no warnings)."""

import warnings

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
import zerograd.functional as F

TF = None if torch is None else torch.nn.functional

EXTREME = np.array([-1000.0, -300.0, -88.0, -20.0, -1e-3, 0.5, 20.0, 88.0, 300.0, 1000.0])

# empty without torch: the test over it then skips, saying what to install
STABLE = (
    {}
    if torch is None
    else {
        "sigmoid": (F.sigmoid, torch.sigmoid),
        "tanh": (F.tanh, torch.tanh),
        "softplus": (F.softplus, TF.softplus),
        "elu": (F.elu, TF.elu),
        "gelu": (F.gelu, TF.gelu),
        "softmax": (lambda x: F.softmax(x, dim=0), lambda x: torch.softmax(x, dim=0)),
        "log_softmax": (lambda x: F.log_softmax(x, dim=0), lambda x: torch.log_softmax(x, dim=0)),
        "logsumexp": (lambda x: x.logsumexp(dim=0), lambda x: torch.logsumexp(x, dim=0)),
    }
)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_extreme_inputs_match_torch_without_warnings(name, dtype):
    zf, tf = STABLE[name]
    x = zg.tensor(EXTREME.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        compare_with_torch(torch, zf, tf, [x], dtype, tol=dict(rtol=1e-5, atol=1e-30))
    assert np.isfinite(x.grad.data).all()


def test_course_values():
    y = F.sigmoid(zg.tensor([1.0, 2.0], dtype="float64")).data
    np.testing.assert_allclose(y, [0.7310585786, 0.8807970780])
    assert F.step(zg.tensor([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 1.0]
    assert F.relu(zg.tensor([-1.0, 3.0])).tolist() == [0.0, 3.0]
    x = zg.tensor([1.0, -2.0])
    assert F.identity(x) is x


def test_softmax_on_the_books_overflow_example():
    a = np.array([1010.0, 1000.0, 990.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(a) / np.sum(np.exp(a))
    assert np.isnan(naive).all()
    y = F.softmax(zg.tensor(a)).data
    np.testing.assert_allclose(y, [9.99954600e-01, 4.53978686e-05, 2.06106005e-09], rtol=1e-7)
    assert y.sum() == pytest.approx(1.0)


def test_leaky_relu_slope_and_gelu_mode_validation():
    assert F.leaky_relu(zg.tensor([-2.0]), 0.2).item() == pytest.approx(-0.4)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(zg.ones(1), approximate="fast")
    with pytest.raises(ValueError, match="beta"):
        F.softplus(zg.ones(1), beta=0)


def test_activation_methods_on_tensor():
    x = zg.tensor([[0.5, -1.0]])
    np.testing.assert_allclose(x.softmax(dim=1).data.sum(), 1.0, rtol=1e-6)
    assert x.relu().tolist() == [[0.5, 0.0]]
    assert x.sigmoid().shape == x.tanh().shape == x.log_softmax(1).shape == (1, 2)
