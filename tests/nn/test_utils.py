"""nn.utils.clip_grad_norm_ and clip_grad_value_ against torch.nn.utils."""

import math

import numpy as np
import pytest
from torch_ref import needs_torch, torch

import zerograd as zg
from zerograd import nn

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def _params(dtype, scale, seed=0, without_grad=True):
    """Our parameters and PyTorch's with the same gradients; the last one has no gradient."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in SHAPES:
        g = (scale * rng.standard_normal(shape)).astype(dtype)
        p = nn.Parameter(zg.zeros(shape, dtype=dtype))
        tp = torch.zeros(shape, dtype=getattr(torch, dtype), requires_grad=True)
        p.grad, tp.grad = zg.tensor(g.copy()), torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(tp)
    if without_grad:
        ours.append(nn.Parameter(zg.ones(3, dtype=dtype)))
        theirs.append(torch.ones(3, dtype=getattr(torch, dtype), requires_grad=True))
    return ours, theirs


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("scale", [0.01, 10.0])  # below and above max_norm
def test_clip_grad_norm_against_torch(scale, norm_type, dtype):
    ours, theirs = _params(dtype, scale)
    total = nn.utils.clip_grad_norm_(iter(ours), max_norm=1.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, zg.Tensor) and total.shape == () and total.dtype == np.dtype(dtype)
    tol = dict(rtol=1e-5) if dtype == "float32" else dict(rtol=1e-12)
    np.testing.assert_allclose(total.item(), ttotal.item(), **tol)
    for p, tp in zip(ours, theirs):
        if tp.grad is None:
            assert p.grad is None
            continue
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), **tol)
    if scale == 10.0:  # clipped: the new norm is max_norm
        flat = np.concatenate([p.grad.data.ravel() for p in ours if p.grad is not None])
        norm = np.abs(flat).max() if float(norm_type) == math.inf else None
        if norm is None:
            norm = (np.abs(flat) ** float(norm_type)).sum() ** (1 / float(norm_type))
        np.testing.assert_allclose(norm, 1.5, rtol=1e-5)


def test_clip_grad_norm_single_tensor_and_no_grads():
    p = nn.Parameter(zg.zeros(2))
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == 0.0  # no gradient: nothing to clip
    p.grad = zg.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-5)


@needs_torch
def test_clip_grad_norm_nonfinite():
    ours, theirs = _params("float64", 1.0, without_grad=False)
    ours[0].grad.data[0, 0] = theirs[0].grad[0, 0] = math.nan
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order 2.0 .* nan"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isnan(total.item()) and math.isnan(ttotal.item())
    for p, tp in zip(ours, theirs):  # as PyTorch: scaled by nan
        np.testing.assert_array_equal(p.grad.data, tp.grad.numpy())
    with pytest.raises(ValueError, match=r"norm_type must be a positive number or inf, got 0.0"):
        nn.utils.clip_grad_norm_(ours, 1.0, norm_type=0)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_against_torch(dtype):
    ours, theirs = _params(dtype, 2.0)
    assert nn.utils.clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, tp in zip(ours, theirs):
        if tp.grad is None:
            assert p.grad is None
            continue
        np.testing.assert_array_equal(p.grad.data, tp.grad.numpy())
        assert p.grad.dtype == np.dtype(dtype)
    assert max(np.abs(p.grad.data).max() for p in ours if p.grad is not None) == pytest.approx(0.7)


def test_clipping_a_model_after_backward():
    zg.manual_seed(0)
    model = nn.LSTM(3, 8)
    out, _ = model(zg.randn(20, 4, 3) * 100)
    (out * out).sum().backward()
    total = zg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    assert total.item() > 0.5
    after = math.sqrt(sum(float((p.grad.data**2).sum()) for p in model.parameters()))
    assert after == pytest.approx(0.5, rel=1e-4)
