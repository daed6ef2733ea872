"""max_pool2d, max_unpool2d, avg_pool2d, adaptive_avg_pool2d, max_pool1d and avg_pool1d against
PyTorch (every option, and PyTorch's own sample inputs), gradcheck, ties, NaN and errors."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd.functional.pooling import (
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)

TF = None if torch is None else torch.nn.functional

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-12, atol=1e-12)}

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
        ((2, 3, 7, 8), (3, 4)),  # uneven windows, overlapping
        ((1, 2, 5, 6), (3, 6)),
        ((2, 3, 4, 3), (5, 3)),  # more outputs than inputs
        ((3, 7, 5), (2, 4)),  # unbatched
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


def test_pool2d_rejects_inputs_that_are_not_3d_or_4d():
    msg = r"input must be 4-D \(N, C, H, W\) or 3-D \(C, H, W\), got shape \(8, 8\)"
    with pytest.raises(ValueError, match=r"max_pool2d: " + msg):
        max_pool2d(zg.ones(8, 8), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d: " + msg):
        avg_pool2d(zg.ones(8, 8), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: input must be 4-D"):
        adaptive_avg_pool2d(zg.ones(1, 1, 3, 8, 8), 1)
    with pytest.raises(ValueError, match=r"max_unpool2d: input must be 4-D .*\(2, 2\)"):
        max_unpool2d(zg.ones(2, 2), np.zeros((2, 2), dtype=np.int64), 2)
    with pytest.raises(TypeError, match=r"max_pool2d: input must be floating point, got int64"):
        max_pool2d(zg.tensor(np.ones((1, 1, 4, 4), dtype="int64")), 2)


def test_pool2d_rejects_too_small_input():
    msg = r"max_pool2d: input of size \(H, W\) = \(4, 4\) is too small for kernel_size=\(5, 5\)"
    with pytest.raises(ValueError, match=msg + r".*stride=\(5, 5\), padding=\(0, 0\).*\(0, 0\)"):
        max_pool2d(zg.ones(1, 1, 4, 4), 5)
    msg = r"max_pool2d: .*\(3, 9\).*dilation=\(2, 1\) \(each window spans \(5, 3\)\).*\(-1, 7\)"
    with pytest.raises(ValueError, match=msg):
        max_pool2d(zg.ones(1, 1, 3, 9), 3, stride=1, dilation=(2, 1), ceil_mode=True)
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


def test_adaptive_avg_pool2d_uneven_windows_are_pytorchs():
    rng = np.random.default_rng(0)
    x = zg.tensor(rng.standard_normal((2, 3, 7, 8)), requires_grad=True)
    # output rows average input rows [0, 3), [2, 5), [4, 7): floor(i 7 / 3) .. ceil((i + 1) 7 / 3)
    y = adaptive_avg_pool2d(x, (3, 4))
    np.testing.assert_allclose(y.data[..., 1, 0], x.data[..., 2:5, 0:2].mean(axis=(-2, -1)))
    y.sum().backward()
    # row 2 and row 4 sit in two windows each: their gradient is the sum of both shares
    np.testing.assert_allclose(x.grad.data[0, 0, :, 0], [1, 1, 2, 1, 2, 1, 1] / np.array(6.0))


# --- every option: a grid against PyTorch --------------------------------------------------------

# odd sizes (ceil mode's partial windows), kernels square and not, strides equal to the kernel,
# smaller and uneven, padding, dilation
SHAPES = [(2, 3, 7, 9), (1, 2, 8, 8)]
MAX_GRID = list(
    itertools.product(SHAPES, [2, 3, (3, 2)], [None, 1, (2, 3)], [0, 1], [1, 2], [False, True])
)


def _grid_id(case):
    return "-".join(str(v).replace(" ", "") for v in case)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", MAX_GRID, ids=[_grid_id(c) for c in MAX_GRID])
def test_max_pool2d_options_against_torch(case, dtype):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    kw = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    # both outputs: the values (and the input's gradient), and the int64 indices exactly
    compare_with_torch(
        torch,
        lambda x: max_pool2d(x, kernel, **kw, return_indices=True),
        lambda x: TF.max_pool2d(x, kernel, **kw, return_indices=True),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )
    # without indices: the output alone
    x = _x(shape, dtype)
    y = max_pool2d(x, kernel, **kw)
    assert isinstance(y, zg.Tensor)
    np.testing.assert_array_equal(y.data, TF.max_pool2d(torch.from_numpy(x.data), kernel, **kw))


AVG_GRID = list(
    itertools.product(
        SHAPES,
        [2, 3, (3, 2)],
        [None, 1, (2, 3)],
        [0, 1],
        [False, True],
        [(True, None), (False, None), (True, 3), (False, -2)],
    )
)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", AVG_GRID, ids=[_grid_id(c) for c in AVG_GRID])
def test_avg_pool2d_options_against_torch(case, dtype):
    shape, kernel, stride, padding, ceil_mode, (count_include_pad, divisor_override) = case
    kw = dict(stride=stride, padding=padding, ceil_mode=ceil_mode)
    kw.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    compare_with_torch(
        torch,
        lambda x: avg_pool2d(x, kernel, **kw),
        lambda x: TF.avg_pool2d(x, kernel, **kw),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )


def test_avg_pool2d_ceil_mode_divisors_like_torch():
    # 6 wide, kernel 3, stride 2, padding 1, ceil: windows start at -1, 1, 3, 5; the last one
    # (5..7) hangs one past the padded input (-1..6). With the padding counted it is divided by
    # 2 along that dim (pixel 5 and the padding at 6, not the overhang at 7), without by its
    # one real pixel
    x = np.ones((1, 1, 6, 6))
    y = avg_pool2d(zg.tensor(x), 3, 2, 1, ceil_mode=True).data
    y_excl = avg_pool2d(zg.tensor(x), 3, 2, 1, ceil_mode=True, count_include_pad=False).data
    if torch is not None:
        np.testing.assert_array_equal(
            y, TF.avg_pool2d(torch.from_numpy(x), 3, 2, 1, ceil_mode=True).numpy()
        )
    np.testing.assert_allclose(y[0, 0, 3], [2 / 6, 3 / 6, 3 / 6, 1 / 4], rtol=1e-15)
    np.testing.assert_array_equal(y_excl, np.ones((1, 1, 4, 4)))


UNPOOL_GRID = list(
    itertools.product(SHAPES, [2, 3, (3, 2)], [None, 1, (2, 3)], [0, 1], [False, True])
)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", UNPOOL_GRID, ids=[_grid_id(c) for c in UNPOOL_GRID])
def test_max_unpool2d_after_max_pool2d_against_torch(case, dtype):
    shape, kernel, stride, padding, ceil_mode = case
    kw = dict(stride=stride, padding=padding)
    pooled, idx = max_pool2d(
        _x(shape, dtype), kernel, **kw, ceil_mode=ceil_mode, return_indices=True
    )
    y = zg.tensor(pooled.data, requires_grad=True)  # the unpooling's own input
    compare_with_torch(
        torch,
        lambda v: max_unpool2d(v, idx, kernel, **kw, output_size=shape[-2:]),
        lambda v: TF.max_unpool2d(v, torch.from_numpy(idx.data), kernel, **kw, output_size=shape),
        [y],
        dtype,
        tol=TOL[dtype],
    )


POOL1D_GRID = list(itertools.product([(2, 3, 11), (4, 8)], [2, 3], [None, 1, 2], [0, 1], [1, 2]))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("case", POOL1D_GRID, ids=[_grid_id(c) for c in POOL1D_GRID])
def test_pool1d_options_against_torch(case, ceil_mode, dtype):
    shape, kernel, stride, padding, dilation = case
    kw = dict(stride=stride, padding=padding, ceil_mode=ceil_mode)
    compare_with_torch(
        torch,
        lambda x: max_pool1d(x, kernel, **kw, dilation=dilation, return_indices=True),
        lambda x: TF.max_pool1d(x, kernel, **kw, dilation=dilation, return_indices=True),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )
    count_include_pad = dilation == 1  # both ways, over the grid
    compare_with_torch(
        torch,
        lambda x: avg_pool1d(x, kernel, **kw, count_include_pad=count_include_pad),
        lambda x: TF.avg_pool1d(x, kernel, **kw, count_include_pad=count_include_pad),
        [_x(shape, dtype)],
        dtype,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: max_pool1d(x, 3, stride=2, padding=1, dilation=2, ceil_mode=True),
        lambda x: avg_pool1d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda x: max_pool1d(x[0], 2, ceil_mode=True),  # unbatched (C, L)
    ],
)
def test_pool1d_gradcheck(fn):
    assert zg.gradcheck(fn, [_x((2, 3, 8), "float64")])


def test_pool1d_rejects_bad_arguments():
    with pytest.raises(
        ValueError, match=r"max_pool1d: input must be 3-D \(N, C, L\) or 2-D .*\(8,\)"
    ):
        max_pool1d(zg.ones(8), 2)
    with pytest.raises(
        ValueError, match=r"avg_pool1d: kernel_size must be an int >= 1 .*got \(2, 2\)"
    ):
        avg_pool1d(zg.ones(1, 1, 8), (2, 2))
    with pytest.raises(
        ValueError, match=r"max_pool1d: padding=2 must be at most half of kernel_size=3"
    ):
        max_pool1d(zg.ones(1, 1, 8), 3, padding=2)
    with pytest.raises(
        ValueError, match=r"max_pool1d: input of length L = 3 is too small .*spans 5"
    ):
        max_pool1d(zg.ones(1, 1, 3), 3, dilation=2)
    with pytest.raises(TypeError, match=r"avg_pool1d: input must be floating point, got int64"):
        avg_pool1d(zg.tensor(np.ones((1, 1, 4), dtype=np.int64)), 2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: max_pool2d(x, 3, stride=2, padding=1, dilation=2),
        lambda x: max_pool2d(x, (3, 2), stride=(2, 3), ceil_mode=True),
        lambda x: max_pool2d(x, 2, stride=1, dilation=(1, 2), ceil_mode=True, return_indices=True)[
            0
        ],
        lambda x: avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        lambda x: avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda x: avg_pool2d(x, (2, 3), stride=1, padding=(1, 0), divisor_override=5),
        lambda x: max_pool2d(x[0], 2, stride=1, ceil_mode=True),  # unbatched (C, H, W)
        lambda x: avg_pool2d(x[1], 3, stride=2, ceil_mode=True),
    ],
)
def test_pool2d_options_gradcheck(fn):
    assert zg.gradcheck(fn, [_x((2, 2, 5, 7), "float64")])


def test_max_unpool2d_gradcheck():
    # windows that do not overlap, so no two indices coincide (where they do, the gradient is
    # PyTorch's gather for both values while only the last one is kept: not a derivative)
    x = _x((2, 3, 5, 7), "float64")
    y, idx = max_pool2d(x, 3, stride=3, padding=1, ceil_mode=True, return_indices=True)
    v = zg.tensor(y.data, requires_grad=True)
    assert zg.gradcheck(lambda v: max_unpool2d(v, idx, 3, 3, 1, output_size=(5, 7)), [v])
    assert zg.gradcheck(lambda v: max_unpool2d(v[0], idx[0], 3, 3, 1, output_size=(5, 7)), [v])


def test_max_unpool2d_puts_values_back_where_the_indices_say():
    x = zg.tensor([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 8.0]]]])
    y, idx = max_pool2d(x, 2, return_indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.data, [[[[1, 6]]]])  # h*W + w in the 2 x 4 plane
    out = max_unpool2d(y, idx, 2)
    np.testing.assert_array_equal(out.data, [[[[0, 5, 0, 0], [0, 0, 9, 0]]]])
    assert max_unpool2d(y, idx, 2, output_size=(1, 1, 3, 5)).shape == (1, 1, 3, 5)


@needs_torch
def test_pool2d_unbatched_input_like_torch():
    x = _x((3, 7, 6), "float64")
    t = torch.from_numpy(x.data)
    y, idx = max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    yt, it = TF.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True)
    assert y.shape == (3, 4, 4) and idx.shape == (3, 4, 4)
    np.testing.assert_array_equal(y.data, yt.numpy())
    np.testing.assert_array_equal(idx.data, it.numpy())
    u = max_unpool2d(y, idx, 3, 2, 1, output_size=(7, 6))
    np.testing.assert_array_equal(u.data, TF.max_unpool2d(yt, it, 3, 2, 1, output_size=(7, 6)))
    a = avg_pool2d(x, 2, ceil_mode=True, divisor_override=3)
    np.testing.assert_allclose(a.data, TF.avg_pool2d(t, 2, ceil_mode=True, divisor_override=3))
    np.testing.assert_allclose(
        adaptive_avg_pool2d(x[:, :6], 2).data, TF.adaptive_avg_pool2d(t[:, :6], 2)
    )


@needs_torch
def test_max_pool2d_indices_and_gradient_with_nan_and_inf_like_torch():
    # PyTorch keeps a window's last NaN, and a window of -inf points at its first real pixel
    # (never at the padding)
    data = np.array(
        [
            [
                [[np.nan, 1.0, np.nan, 2.0], [0.0, np.nan, 0.0, 1.0], [-np.inf] * 4],
                [[-np.inf] * 4, [-np.inf] * 4, [1.0, 1.0, 1.0, 1.0]],
            ]
        ]
    )
    for kw in (
        dict(kernel_size=2, padding=1),
        dict(kernel_size=3, stride=1, padding=1, dilation=1),
        dict(kernel_size=2, stride=2, ceil_mode=True),
        dict(kernel_size=(1, 4)),
        dict(kernel_size=2, stride=1, dilation=(2, 1), padding=1, ceil_mode=True),
    ):
        x = zg.tensor(data, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        y, idx = max_pool2d(x, **kw, return_indices=True)
        yt, it = TF.max_pool2d(t, **kw, return_indices=True)
        np.testing.assert_array_equal(y.data, yt.detach().numpy())
        np.testing.assert_array_equal(idx.data, it.numpy())
        g = np.arange(np.prod(y.shape), dtype=float).reshape(y.shape) + 1.0
        (y * zg.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
        # the path without indices routes the gradient the same way
        x2 = zg.tensor(data, requires_grad=True)
        (max_pool2d(x2, **kw) * zg.tensor(g)).sum().backward()
        np.testing.assert_array_equal(x2.grad.data, t.grad.numpy())


def test_pool2d_rejects_bad_options():
    x = zg.ones(1, 1, 6, 6)
    with pytest.raises(ValueError, match=r"max_pool2d: dilation must be .* >= 1, got 0"):
        max_pool2d(x, 2, dilation=0)
    with pytest.raises(TypeError, match=r"max_pool2d: ceil_mode must be True or False, got 'yes'"):
        max_pool2d(x, 2, ceil_mode="yes")
    with pytest.raises(TypeError, match=r"max_pool2d: return_indices must be True or False"):
        max_pool2d(x, 2, return_indices=None)
    with pytest.raises(TypeError, match=r"avg_pool2d: count_include_pad must be True or False"):
        avg_pool2d(x, 2, count_include_pad="no")
    with pytest.raises(ValueError, match=r"avg_pool2d: divisor_override must not be 0"):
        avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match=r"avg_pool2d: divisor_override must be an int .*2.5"):
        avg_pool2d(x, 2, divisor_override=2.5)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding=\(2, 2\) must be at most half"):
        avg_pool2d(x, 3, padding=2, ceil_mode=True)


def test_max_unpool2d_rejects_bad_arguments():
    y, idx = max_pool2d(_x((1, 2, 4, 4), "float64"), 2, return_indices=True)
    with pytest.raises(
        TypeError, match=r"max_unpool2d: indices must be an integer tensor .*float64"
    ):
        max_unpool2d(y, y, 2)
    with pytest.raises(TypeError, match=r"max_unpool2d: indices must be an integer tensor .*list"):
        max_unpool2d(y, [0, 1], 2)
    with pytest.raises(ValueError, match=r"indices of shape \(2, 2, 2\) must have the input's"):
        max_unpool2d(y, idx.data[0], 2)
    with pytest.raises(IndexError, match=r"max_unpool2d: index 13 is out of range .*\(3, 3\)"):
        max_unpool2d(y, idx, 2, stride=1)  # 2 x 2 pooled with stride 1 unpools to 3 x 3
    with pytest.raises(ValueError, match=r"output_size=\(6, 4\) is out of range: dim 0 must be "):
        max_unpool2d(y, idx, 2, output_size=(6, 4))
    with pytest.raises(ValueError, match=r"max_unpool2d: output_size must be \(OH, OW\) or"):
        max_unpool2d(y, idx, 2, output_size=(2, 4, 4))
    with pytest.raises(TypeError, match=r"max_unpool2d: output_size must be a sequence of ints"):
        max_unpool2d(y, idx, 2, output_size=4)
    with pytest.raises(ValueError, match=r"max_unpool2d: kernel_size must be .* >= 1, got 0"):
        max_unpool2d(y, idx, 0)


# --- PyTorch's own sample inputs (its OpInfo database) -------------------------------------------

OPINFO = {
    "nn.functional.max_pool1d": max_pool1d,
    "nn.functional.avg_pool1d": avg_pool1d,
    "nn.functional.max_pool2d": max_pool2d,
    "nn.functional.avg_pool2d": avg_pool2d,
    "nn.functional.max_unpool2d": max_unpool2d,
}


def _from_torch(value):
    if isinstance(value, torch.Tensor):
        return zg.tensor(value.detach().numpy().copy(), requires_grad=value.requires_grad)
    return value


@needs_torch
@pytest.mark.parametrize("name", list(OPINFO))
def test_torch_opinfo_samples(name):
    """Every sample PyTorch's OpInfo has for the op: the same outputs and input gradient."""
    op_db = pytest.importorskip(
        "torch.testing._internal.common_methods_invocations",
        reason="needs torch's test internals (torch.testing._internal)",
    ).op_db
    rng = np.random.default_rng(0)
    n = 0
    for op in (o for o in op_db if o.name == name):
        for s in op.sample_inputs("cpu", torch.float64, requires_grad=True):
            touts = op(s.input, *s.args, **s.kwargs)
            x = _from_torch(s.input)
            args = [_from_torch(a) for a in s.args]
            zouts = OPINFO[name](x, *args, **{k: _from_torch(v) for k, v in s.kwargs.items()})
            touts = touts if isinstance(touts, tuple) else (touts,)
            zouts = zouts if isinstance(zouts, tuple) else (zouts,)
            where = f"{name}{tuple(s.input.shape)} args={s.args} kwargs={s.kwargs}"
            assert len(zouts) == len(touts), where
            for z, t in zip(zouts, touts):
                assert z.shape == tuple(t.shape) and z.dtype == t.numpy(force=True).dtype, where
                np.testing.assert_allclose(z.data, t.detach().numpy(), rtol=1e-12, atol=1e-12)
            g = rng.standard_normal(zouts[0].shape)
            (touts[0] * torch.from_numpy(g)).sum().backward()
            (zouts[0] * zg.tensor(g)).sum().backward()
            np.testing.assert_allclose(x.grad.data, s.input.grad.numpy(), rtol=1e-12, atol=1e-12)
            n += 1
    assert n > 0, f"PyTorch has no samples for {name}"
