"""Reductions: dim/axis aliases, max's (values, indices), ties, ranges, errors."""

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 7


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "var"])
def test_numpy_axis_keepdims_are_aliases_of_dim_keepdim(name):
    x = zg.tensor(X)
    a = getattr(x, name)(dim=1, keepdim=True)
    b = getattr(x, name)(axis=1, keepdims=True)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.shape == (2, 1, 4)


def test_dim_and_axis_together_is_an_error():
    with pytest.raises(TypeError, match="both dim=0 and its alias axis=1"):
        zg.tensor(X).sum(dim=0, axis=1)


def test_dim_out_of_range_names_the_op():
    with pytest.raises(
        IndexError,
        match=r"mean: dim 3 is out of range for a tensor of 3 dimension\(s\); "
        r"use a dim in \[-3, 2\]",
    ):
        zg.tensor(X).mean(dim=3)


def test_max_returns_values_and_indices_like_pytorch():
    x = zg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    r = x.max(dim=1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    values, indices = x.min(axis=0, keepdims=True)
    assert values.shape == (1, 3) and indices.tolist() == [[0, 1, 0]]
    assert x.max().item() == 7.0


def test_max_ties_share_the_gradient_evenly_like_pytorch():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = zg.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    x.max().backward()
    t.max().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())
    x.grad = None
    x.amax(dim=1).sum().backward()
    t.grad = None
    t.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())


def test_var_std_default_unbiased_and_numpy_style():
    x = zg.tensor(X)
    np.testing.assert_allclose(x.var().item(), X.var(ddof=1))
    np.testing.assert_allclose(x.var(correction=0).item(), X.var())
    np.testing.assert_allclose(x.std(dim=2, unbiased=False).data, X.std(axis=2))


def test_argmax_argmin():
    x = zg.tensor([[1.0, 9.0, 2.0], [7.0, 0.0, 3.0]])
    assert x.argmax().item() == 1
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(axis=0, keepdims=True).tolist() == [[0, 1, 0]]
    assert x.argmax().dtype == np.int64


def test_logsumexp_is_stable():
    x = zg.tensor([1000.0, 1000.0], dtype="float64")
    np.testing.assert_allclose(x.logsumexp(dim=0).item(), 1000 + np.log(2))
    y = zg.tensor([-np.inf, -np.inf], dtype="float64")
    with np.errstate(divide="ignore"):  # log(0) is the right answer here
        assert y.logsumexp(dim=0).item() == -np.inf


def test_max_of_empty_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        zg.zeros(0).max()


def test_sum_dtype_argument_and_int_sum():
    assert zg.arange(4).sum().item() == 6
    assert zg.ones(3).sum(dtype="float64").dtype == np.float64
