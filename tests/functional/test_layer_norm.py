"""layer_norm and nn.LayerNorm: the formula, gradients, errors, and PyTorch's outputs, gradients
and state_dict keys."""

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
import zerograd.functional as F
from zerograd import nn
from zerograd.testing import gradcheck


def _data(shape, dtype="float64", seed=0, scale=3.0, shift=1.0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype) * scale + shift


def test_output_is_the_formula_by_hand():
    x = _data((3, 4, 5))
    w, b = _data((4, 5), seed=1), _data((4, 5), seed=2)
    y = F.layer_norm(zg.tensor(x), (4, 5), zg.tensor(w), zg.tensor(b), eps=1e-3)
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)  # biased
    np.testing.assert_allclose(y.data, (x - mu) / np.sqrt(var + 1e-3) * w + b, rtol=1e-12)


@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_every_input(affine):
    x = zg.tensor(_data((2, 3, 4)), requires_grad=True)
    if not affine:
        gradcheck(lambda x: F.layer_norm(x, 4), [x])
        return
    w = zg.tensor(_data((3, 4), seed=1), requires_grad=True)
    b = zg.tensor(_data((3, 4), seed=2), requires_grad=True)
    gradcheck(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [x, w, b])


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,normalized", [((6, 4), (4,)), ((2, 3, 4, 5), (4, 5)), ((7,), 7)])
def test_against_torch(dtype, shape, normalized):
    nshape = (normalized,) if isinstance(normalized, int) else normalized
    x = zg.tensor(_data(shape, dtype), requires_grad=True)
    w = zg.tensor(_data(nshape, dtype, seed=1), requires_grad=True)
    b = zg.tensor(_data(nshape, dtype, seed=2), requires_grad=True)
    compare_with_torch(
        torch,
        lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-4),
        lambda x, w, b: torch.nn.functional.layer_norm(x, nshape, w, b, eps=1e-4),
        [x, w, b],
        dtype,
    )


def test_large_offsets_stay_accurate():
    # the two-pass variance: E[x^2] - E[x]^2 would lose every digit at an offset of 1e4
    x = _data((4, 16), "float32", scale=1.0, shift=1e4)
    y = F.layer_norm(zg.tensor(x), 16)
    x64 = x.astype("float64")
    ref = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.data, ref, atol=2e-3)


def test_errors_name_the_op_and_the_shapes():
    with pytest.raises(
        ValueError, match=r"input has shape \(2, 5\) but normalized_shape is \(4,\)"
    ):
        F.layer_norm(zg.ones(2, 5), 4)
    with pytest.raises(ValueError, match=r"weight has shape \(5,\) but normalized_shape is \(4,\)"):
        F.layer_norm(zg.ones(2, 4), 4, weight=zg.ones(5))
    with pytest.raises(ValueError, match="normalized_shape must be a positive int"):
        F.layer_norm(zg.ones(2, 4), (4, 0))
    with pytest.raises(ValueError, match="eps must be >= 0"):
        F.layer_norm(zg.ones(2, 4), 4, eps=-1.0)
    with pytest.raises(TypeError, match="floating point"):
        F.layer_norm(zg.tensor(np.ones((2, 4), dtype="int64")), 4)
    with pytest.raises(TypeError, match="dtype float64 but the input has float32"):
        F.layer_norm(zg.ones(2, 4), 4, bias=zg.ones(4, dtype="float64"))
    ln = nn.LayerNorm((3, 4))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(3, 4\).*\(2, 4, 3\).*last 2 dim"):
        ln(zg.ones(2, 4, 3))


def test_layer_keeps_float32_and_its_parameters():
    ln = nn.LayerNorm(6, bias=False)
    assert [n for n, _ in ln.named_parameters()] == ["weight"]
    assert ln(zg.randn(2, 6)).dtype == np.float32
    assert list(nn.LayerNorm(6, elementwise_affine=False).state_dict()) == []
    np.testing.assert_array_equal(nn.LayerNorm(3).weight.data, np.ones(3, dtype="float32"))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"elementwise_affine": False}])
def test_layer_matches_torch(dtype, kwargs):
    ours = nn.LayerNorm((3, 4), eps=1e-3, **kwargs).to(dtype)
    theirs = torch.nn.LayerNorm((3, 4), eps=1e-3, dtype=getattr(torch, dtype), **kwargs)
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    params = dict(theirs.named_parameters())
    x = zg.tensor(_data((2, 5, 3, 4), dtype), requires_grad=True)

    def call_theirs(x, *ps):
        return torch.func.functional_call(theirs, dict(zip(params, ps)), (x,))

    compare_with_torch(torch, lambda x, *ps: ours(x), call_theirs, [x, *ours.parameters()], dtype)
