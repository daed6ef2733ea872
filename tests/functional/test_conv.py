"""conv2d against PyTorch (forward and every gradient), gradcheck, and its error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd.functional.conv import conv2d

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}

# (x shape, weight shape, stride, padding, dilation, groups)
CASES = [
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, 1, 1),
    ((2, 3, 9, 7), (4, 3, 3, 2), 2, 1, 1, 1),
    ((2, 4, 9, 8), (6, 2, 3, 3), 2, 0, 2, 2),
    ((1, 4, 10, 9), (4, 2, 2, 3), 1, (1, 2), (2, 1), 2),
    ((2, 3, 7, 8), (5, 3, 4, 3), 1, "same", 1, 1),
    ((2, 4, 7, 8), (2, 2, 2, 3), 1, "same", 2, 2),
    ((2, 3, 6, 6), (2, 3, 3, 3), (2, 1), "valid", 1, 1),
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 0, 1, 1),  # kernel as large as the image: 1x1 output
]


def _inputs(x_shape, w_shape, bias, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = zg.tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = zg.tensor(rng.standard_normal(w_shape).astype(dtype), requires_grad=True)
    b = zg.tensor(rng.standard_normal(w_shape[0]).astype(dtype), requires_grad=True)
    return [x, w, b] if bias else [x, w]


def _check(x_shape, w_shape, stride, padding, dilation, groups, bias, dtype):
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if bias:
        zfn = lambda x, w, b: conv2d(x, w, b, **kw)
        tfn = lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kw)
    else:
        zfn = lambda x, w: conv2d(x, w, **kw)
        tfn = lambda x, w: torch.nn.functional.conv2d(x, w, **kw)
    inputs = _inputs(x_shape, w_shape, bias, dtype)
    compare_with_torch(torch, zfn, tfn, inputs, dtype, tol=TOL[dtype])


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note about its own copy
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_conv2d_against_torch(case, bias, dtype):
    _check(*case, bias, dtype)


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 3),
    cg=st.integers(1, 2),
    og=st.integers(1, 2),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.one_of(
        st.tuples(st.integers(0, 2), st.integers(0, 2)), st.sampled_from(["same", "valid"])
    ),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    bias=st.booleans(),
)
def test_conv2d_hypothesis(n, groups, cg, og, kh, kw, stride, padding, dilation, extra, bias):
    if padding == "same":
        stride = (1, 1)
    # the smallest image with an output, plus a few rows and columns
    pads = (0, 0) if isinstance(padding, str) else padding
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * pads[0]) + extra[0]
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * pads[1]) + extra[1]
    _check(
        (n, groups * cg, h, w),
        (groups * og, cg, kh, kw),
        stride,
        padding,
        dilation,
        groups,
        bias,
        "float64",
    )


def test_conv2d_keeps_float32():
    x, w, b = _inputs((2, 3, 6, 6), (4, 3, 3, 3), True, "float32")
    y = conv2d(x, w, b, padding=1)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(stride=2, padding=1),
        dict(padding="same", dilation=2),
        dict(stride=(1, 2), dilation=(2, 1), groups=2),
    ],
)
def test_conv2d_gradcheck_every_input(kw):
    x, w, b = _inputs((2, 4, 5, 6), (4, 4 // kw.get("groups", 1), 3, 2), True, "float64")
    assert zg.gradcheck(lambda x, w, b: conv2d(x, w, b, **kw), [x, w, b])


def test_conv2d_only_computes_needed_gradients():
    rng = np.random.default_rng(0)
    x = zg.tensor(rng.standard_normal((2, 3, 5, 5)))  # data: no gradient
    w = zg.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


def test_conv2d_takes_one_unbatched_image_as_pytorch_does():
    rng = np.random.default_rng(0)
    x = zg.tensor(rng.standard_normal((3, 8, 8)), requires_grad=True)
    w = zg.tensor(rng.standard_normal((4, 3, 3, 3)))
    y = conv2d(x, w, padding=1)
    assert y.shape == (4, 8, 8)
    np.testing.assert_allclose(y.data, conv2d(x.data[None], w, padding=1).data[0], rtol=1e-12)
    y.sum().backward()
    assert x.grad.shape == (3, 8, 8)


def test_conv2d_rejects_input_of_other_ranks():
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D .* or 3-D .*\(8, 8\)"):
        conv2d(zg.ones(8, 8), zg.ones(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: weight must be 4-D.*\(4, 27\)"):
        conv2d(zg.ones(1, 3, 8, 8), zg.ones(4, 27))


def test_conv2d_rejects_weight_that_does_not_fit_the_channels():
    with pytest.raises(ValueError, match=r"conv2d: input has shape \(1, 3, 8, 8\).*\(4, 2, 3, 3\)"):
        conv2d(zg.ones(1, 3, 8, 8), zg.ones(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"groups=2.*\(2 \* 2 != 3\)"):
        conv2d(zg.ones(1, 3, 8, 8), zg.ones(4, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"out_channels 5 must be divisible by groups=2"):
        conv2d(zg.ones(1, 4, 8, 8), zg.ones(5, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"bias has shape \(3,\).*needs \(4,\)"):
        conv2d(zg.ones(1, 3, 8, 8), zg.ones(4, 3, 3, 3), zg.ones(3))


def test_conv2d_rejects_input_too_small():
    with pytest.raises(
        ValueError,
        match=r"conv2d: input of size \(H, W\) = \(4, 4\) is too small for kernel_size=\(3, 3\), "
        r"stride=\(1, 1\), padding=0, dilation=\(2, 2\).*\(0, 0\)",
    ):
        conv2d(zg.ones(1, 1, 4, 4), zg.ones(1, 1, 3, 3), dilation=2)


def test_conv2d_rejects_bad_parameters():
    x, w = zg.ones(1, 1, 6, 6), zg.ones(1, 1, 3, 3)
    with pytest.raises(ValueError, match=r"padding='same' is not supported for strided"):
        conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv2d: padding must be .*'full'"):
        conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match=r"conv2d: stride must be .*>= 1, got 0"):
        conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match=r"conv2d: padding must be .*>= 0, got \(1, -1\)"):
        conv2d(x, w, padding=(1, -1))
    with pytest.raises(ValueError, match=r"conv2d: groups must be a positive int, got 0"):
        conv2d(x, w, groups=0)
    with pytest.raises(TypeError, match=r"conv2d: input \(float32\), weight \(float64\)"):
        conv2d(x, zg.ones(1, 1, 3, 3, dtype="float64"))
