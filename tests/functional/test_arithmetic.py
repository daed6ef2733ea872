"""Arithmetic: broadcasting drawn by hypothesis against PyTorch, scalars, dtypes, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
import zerograd.functional as F

# empty without torch: the test over it then skips, saying what to install
BINARY = (
    {}
    if torch is None
    else {
        "add": (F.add, torch.add),
        "sub": (F.sub, torch.sub),
        "mul": (F.mul, torch.mul),
        "div": (F.div, torch.div),
        "maximum": (F.maximum, torch.maximum),
        "minimum": (F.minimum, torch.minimum),
        "pow": (F.pow, torch.pow),
    }
)
shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


def _inputs(shape_pair, dtype, seed, positive_second=False):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape_pair[0]).astype(dtype)
    b = rng.standard_normal(shape_pair[1]).astype(dtype)
    if positive_second:
        a, b = np.abs(a) + 0.5, b  # pow: positive base
    return zg.tensor(a, requires_grad=True), zg.tensor(b, requires_grad=True)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=25, deadline=None)
@given(shape_pair=shapes, seed=st.integers(0, 2**16))
def test_binary_broadcasting_against_torch(name, dtype, shape_pair, seed):
    zf, tf = BINARY[name]
    a, b = _inputs(shape_pair.input_shapes, dtype, seed, positive_second=(name == "pow"))
    if name == "div":
        b = zg.tensor(np.abs(b.data) + 0.5, requires_grad=True)
    compare_with_torch(torch, zf, tf, [a, b], dtype, seed=seed)


@settings(max_examples=20, deadline=None)
@given(shape_pair=shapes, seed=st.integers(0, 2**16))
def test_binary_broadcasting_gradcheck(shape_pair, seed):
    a, b = _inputs(shape_pair.input_shapes, "float64", seed)
    b = zg.tensor(np.abs(b.data) + 0.5, requires_grad=True)
    assert zg.gradcheck(lambda a, b: (a * b + a / b - b) * a, [a, b])


@needs_torch
@settings(max_examples=25, deadline=None)
@given(
    batch=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    n=st.integers(1, 4),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_matmul_batch_broadcasting_against_torch(batch, n, k, m, seed):
    sa = batch.input_shapes[0] + (n, k)
    sb = batch.input_shapes[1] + (k, m)
    a, b = _inputs((sa, sb), "float64", seed)
    compare_with_torch(torch, F.matmul, torch.matmul, [a, b], "float64", seed=seed)


@needs_torch
@settings(max_examples=15, deadline=None)
@given(shape_pair=shapes, seed=st.integers(0, 2**16))
def test_where_broadcasting_against_torch(shape_pair, seed):
    a, b = _inputs(shape_pair.input_shapes, "float64", seed)
    cond = zg.tensor(np.random.default_rng(seed).random(shape_pair.result_shape) > 0.5)
    compare_with_torch(torch, F.where, torch.where, [cond, a, b], "float64", seed=seed)


def test_reflected_operators_and_numpy_operands():
    x = zg.tensor([1.0, 2.0], requires_grad=True)
    y = 2 - x + 3 * x / 4 + 1 / x + 2**x + np.array([1.0, 1.0], dtype=np.float32) * x
    y.sum().backward()
    expected = -1 + 0.75 - 1 / np.array([1.0, 4.0]) + np.log(2) * 2 ** np.array([1.0, 2.0]) + 1
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6)
    assert isinstance(np.ones(2) * x, zg.Tensor)  # numpy defers to the tensor


@pytest.mark.parametrize("scalar", [2.0, 2, np.float64(2.0), np.float32(2.0)])
def test_python_and_numpy_scalars_keep_float32(scalar):
    x = zg.ones(3)
    for y in (x * scalar, x + scalar, x / scalar, x - scalar, x**scalar, scalar * x):
        assert y.dtype == np.float32


def test_mixed_float_dtypes_promote_like_pytorch():
    assert (zg.ones(2) + zg.ones(2, dtype="float64")).dtype == np.float64


def test_broadcast_error_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"mul: cannot broadcast shapes \(3, 4\) and \(5,\)"):
        zg.ones(3, 4) * zg.ones(5)


@pytest.mark.parametrize(
    "sa, sb, message",
    [
        ((3, 4), (5, 6), r"cannot multiply \(3, 4\) by \(5, 6\): inner sizes 4 and 5 differ"),
        ((3,), (4,), r"inner sizes 3 and 4 differ"),
        ((2, 3, 4), (3, 4, 5), r"batch dimensions \(2,\) and \(3,\)"),
    ],
)
def test_matmul_errors(sa, sb, message):
    with pytest.raises(ValueError, match=message):
        zg.ones(*sa) @ zg.ones(*sb)


def test_comparisons_give_bool_tensors_without_grad():
    x = zg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2):
        assert r.dtype == np.bool_ and not r.requires_grad
    assert (x > 1.5).tolist() == [False, True, True]


def test_clamp_validates():
    with pytest.raises(ValueError, match="at least one"):
        F.clamp(zg.ones(2))
    with pytest.raises(ValueError, match="larger than max"):
        F.clamp(zg.ones(2), 1.0, 0.0)


def test_where_needs_a_bool_condition():
    with pytest.raises(TypeError, match="bool"):
        F.where(zg.ones(2), zg.ones(2), zg.zeros(2))


def test_maximum_splits_ties_like_pytorch():
    a = zg.tensor([1.0, 2.0], requires_grad=True)
    b = zg.tensor([1.0, 3.0], requires_grad=True)
    F.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 0.0])
    np.testing.assert_allclose(b.grad.data, [0.5, 1.0])


def test_to_float_double():
    x = zg.tensor([1.0, 2.0], requires_grad=True)
    assert x.float() is x  # already float32
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad
    assert x.to("float64").dtype == np.float64
    assert zg.tensor([1, 2]).float().dtype == np.float32
