"""max_pool2d, avg_pool2d and adaptive_avg_pool2d against PyTorch, gradcheck, ties and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd.functional.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

TF = None if torch is None else torch.nn.functional

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}

# (x shape, kernel_size, stride, padding)
CASES = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 3, 8, 8), 2, 1, 1),
    ((2, 3, 9, 7), 3, 2, 1),
    ((2, 2, 9, 9), 3, 3, 0),
    ((1, 2, 7, 10), (2, 3), (1, 2), (1, 0)),
    ((2, 1, 8, 9), (3, 2), 3, (1, 1)),
    ((3, 2, 5, 6), 3, 1, 0),
    ((2, 2, 4, 4), 4, None, 0),  # kernel as large as the image: 1x1 output
]


def _x(shape, dtype, seed=0):
    """Distinct values (a permutation, scaled): no ties, so the arg-max is unique."""
    rng = np.random.default_rng(seed)
    data = rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0
    return zg.tensor(data.astype(dtype), requires_grad=True)


def _check_max(shape, kernel, stride, padding, dtype):
    kw = dict(kernel_size=kernel, stride=stride, padding=padding)
    compare_with_torch(
        torch,
        lambda x: max_pool2d(x, **kw),
        lambda x: TF.max_pool2d(x, **kw),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )


def _check_avg(shape, kernel, stride, padding, count_include_pad, dtype):
    kw = dict(kernel_size=kernel, stride=stride, padding=padding)
    kw["count_include_pad"] = count_include_pad
    compare_with_torch(
        torch,
        lambda x: avg_pool2d(x, **kw),
        lambda x: TF.avg_pool2d(x, **kw),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_max_pool2d_against_torch(case, dtype):
    _check_max(*case, dtype)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_avg_pool2d_against_torch(case, count_include_pad, dtype):
    _check_avg(*case, count_include_pad, dtype)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape, output_size",
    [
        ((2, 3, 8, 8), 1),
        ((2, 3, 7, 5), 1),
        ((2, 3, 8, 6), (4, 3)),
        ((2, 3, 8, 6), (2, None)),
        ((1, 2, 6, 6), 6),
    ],
)
def test_adaptive_avg_pool2d_against_torch(shape, output_size, dtype):
    compare_with_torch(
        torch,
        lambda x: adaptive_avg_pool2d(x, output_size),
        lambda x: TF.adaptive_avg_pool2d(x, output_size),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )


@needs_torch
@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    count_include_pad=st.booleans(),
)
def test_pool2d_hypothesis(n, c, kernel, stride, pad, extra, count_include_pad):
    pad = tuple(min(p, k // 2) for p, k in zip(pad, kernel))  # PyTorch's rule: 2P <= K
    h, w = (max(1, k - 2 * p) + e for k, p, e in zip(kernel, pad, extra))
    _check_max((n, c, h, w), kernel, stride, pad, "float64")
    _check_avg((n, c, h, w), kernel, stride, pad, count_include_pad, "float64")


def test_pooling_keeps_float32():
    for fn in (
        lambda x: max_pool2d(x, 3, 2, 1),
        lambda x: avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        lambda x: adaptive_avg_pool2d(x, 1),
    ):
        x = _x((2, 3, 6, 6), "float32")
        y = fn(x)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32


def test_max_pool2d_gradient_goes_to_the_arg_max():
    x = zg.tensor([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 8.0]]]], requires_grad=True)
    y = max_pool2d(x, 2)
    np.testing.assert_array_equal(y.data, [[[[5.0, 9.0]]]])
    (y * zg.tensor([[[[10.0, 20.0]]]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0, 10, 0, 0], [0, 0, 20, 0]]]])


@needs_torch
def test_max_pool2d_tie_goes_to_the_first_maximum_like_torch():
    data = np.array([[[[0.0, 2.0, 2.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    x = zg.tensor(data, requires_grad=True)
    max_pool2d(x, 2, stride=1).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    TF.max_pool2d(t, 2, stride=1).sum().backward()
    # the all-equal window (1, 1) of zeros picks its top-left pixel; row-major first everywhere
    expected = [[[[0, 2, 0], [1, 1, 0], [0, 0, 0]]]]
    np.testing.assert_array_equal(t.grad.numpy(), expected)
    np.testing.assert_array_equal(x.grad.data, expected)


@needs_torch
def test_max_pool2d_ties_in_tiled_windows_like_torch():
    # stride == kernel: the fast path that writes each pixel's gradient once
    data = np.zeros((2, 3, 4, 6))
    data[0, 1, 0, 1] = data[0, 1, 1, 0] = 1.0  # a tie between two offsets of one window
    x = zg.tensor(data, requires_grad=True)
    g = np.arange(2 * 3 * 2 * 3, dtype=float).reshape(2, 3, 2, 3)
    (max_pool2d(x, 2) * zg.tensor(g)).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    (TF.max_pool2d(t, 2) * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


@needs_torch
def test_max_pool2d_nan_propagates_and_takes_the_gradient():
    data = np.array([[[[1.0, np.nan, 0.0, 3.0], [2.0, 0.0, 1.0, 0.0]]]])
    x = zg.tensor(data, requires_grad=True)
    y = max_pool2d(x, 2)
    t = torch.tensor(data, requires_grad=True)
    yt = TF.max_pool2d(t, 2)
    np.testing.assert_array_equal(y.data, yt.detach().numpy())  # [[nan, 3]]
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: max_pool2d(x, 2),
        lambda x: max_pool2d(x, 3, stride=1, padding=1),
        lambda x: max_pool2d(x, (2, 3), stride=(1, 2), padding=(1, 0)),
        lambda x: avg_pool2d(x, 3, stride=2, padding=1),
        lambda x: avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False),
        lambda x: adaptive_avg_pool2d(x, (2, 3)),
        lambda x: adaptive_avg_pool2d(x, 1),
    ],
)
def test_pool2d_gradcheck(fn):
    # distinct values 1/7 apart: finite differences (eps 1e-6) never swap a window's maximum
    assert zg.gradcheck(fn, [_x((2, 2, 4, 6), "float64")])


def test_pool2d_rejects_non_4d_input():
    with pytest.raises(ValueError, match=r"max_pool2d: input must be 4-D .*\(3, 8, 8\).*unsqueeze"):
        max_pool2d(zg.ones(3, 8, 8), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d: input must be 4-D .*\(8, 8\)"):
        avg_pool2d(zg.ones(8, 8), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: input must be 4-D"):
        adaptive_avg_pool2d(zg.ones(3, 8, 8), 1)
    with pytest.raises(TypeError, match=r"max_pool2d: input must be floating point, got int64"):
        max_pool2d(zg.tensor(np.ones((1, 1, 4, 4), dtype="int64")), 2)


def test_pool2d_rejects_too_small_input():
    msg = r"max_pool2d: input of size \(H, W\) = \(4, 4\) is too small for kernel_size=\(5, 5\)"
    with pytest.raises(ValueError, match=msg + r".*stride=\(5, 5\), padding=\(0, 0\).*\(0, 0\)"):
        max_pool2d(zg.ones(1, 1, 4, 4), 5)
    with pytest.raises(ValueError, match=r"avg_pool2d: input of size \(H, W\) = \(2, 9\)"):
        avg_pool2d(zg.ones(1, 1, 2, 9), 3, stride=1)


def test_pool2d_rejects_padding_over_half_the_kernel():
    with pytest.raises(ValueError, match=r"max_pool2d: padding=\(2, 2\).*kernel_size=\(2, 2\)"):
        max_pool2d(zg.ones(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding=\(0, 2\).*kernel_size=\(3, 3\)"):
        avg_pool2d(zg.ones(1, 1, 4, 4), 3, padding=(0, 2))


def test_pool2d_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"max_pool2d: kernel_size must be .* >= 1, got 0"):
        max_pool2d(zg.ones(1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match=r"avg_pool2d: stride must be .* >= 1, got \(1, 0\)"):
        avg_pool2d(zg.ones(1, 1, 4, 4), 2, stride=(1, 0))
    with pytest.raises(ValueError, match=r"max_pool2d: padding must be .* >= 0, got -1"):
        max_pool2d(zg.ones(1, 1, 4, 4), 2, padding=-1)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be .*got 0"):
        adaptive_avg_pool2d(zg.ones(1, 1, 4, 4), 0)


def test_adaptive_avg_pool2d_uneven_windows_not_implemented():
    msg = r"adaptive_avg_pool2d: input of size \(H, W\) = \(7, 8\) with output_size=\(3, 4\)"
    with pytest.raises(NotImplementedError, match=msg):
        adaptive_avg_pool2d(zg.ones(1, 1, 7, 8), (3, 4))
