"""scaled_dot_product_attention: PyTorch's outputs and gradients (masks, causal, broadcasting),
gradient checks, fully masked rows, dropout on the weights, what is saved, errors."""

import math

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
import zerograd.functional as F
from zerograd.testing import gradcheck


def _t(shape, dtype="float64", seed=0, grad=True):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return zg.tensor(a, requires_grad=grad)


def _mask(shape, seed=5, p=0.4):
    return np.random.default_rng(seed).random(shape) > p


CASES = {  # name -> (query, key, value shapes, mask (an array, "float" or None), kwargs)
    "plain": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    "causal": ((2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5), None, {"is_causal": True}),
    "causal_more_queries": ((2, 6, 3), (2, 4, 3), (2, 4, 2), None, {"is_causal": True}),
    "scale": ((2, 4, 3), (2, 5, 3), (2, 5, 3), None, {"scale": 0.25}),
    "bool_mask": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), _mask((4, 6)), {}),
    "bool_mask_per_batch": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), _mask((2, 1, 1, 6)), {}),
    "bool_mask_broadcast_inputs": ((2, 1, 4, 5), (3, 6, 5), (6, 3), _mask((2, 3, 4, 6)), {}),
    "float_mask": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), "float", {}),
    "broadcast_batch": ((4, 5), (2, 3, 6, 5), (1, 6, 7), None, {}),
    "unbatched": ((4, 5), (6, 5), (6, 2), None, {}),
}


def _inputs(name, dtype):
    q, k, v, mask, kwargs = CASES[name]
    ins = [_t(q, dtype, 0), _t(k, dtype, 1), _t(v, dtype, 2)]
    if isinstance(mask, str):
        mask = _t((2, 1, 4, 6), dtype, 3)  # additive, differentiable
    elif mask is not None:
        mask = zg.tensor(mask)
    return ins, mask, kwargs


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_against_torch(name, dtype):
    ins, mask, kwargs = _inputs(name, dtype)
    if mask is None:
        compare_with_torch(
            torch,
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
            lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs),
            ins,
            dtype,
        )
        return
    compare_with_torch(
        torch,
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs),
        lambda q, k, v, m: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=m, **kwargs
        ),
        [*ins, mask],
        dtype,
    )


@pytest.mark.parametrize("name", ["plain", "causal_more_queries", "bool_mask", "float_mask"])
def test_gradcheck_every_input(name):
    ins, mask, kwargs = _inputs(name, "float64")
    if mask is None:
        gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs), ins)
    else:
        gradcheck(
            lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs),
            [*ins, mask],
        )


def test_gradcheck_with_dropout():
    # gradcheck reseeds the generator before every evaluation: the same mask each time
    ins, _, _ = _inputs("plain", "float64")
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3), ins)


def test_is_the_formula_by_hand():
    (q, k, v), _, _ = _inputs("bool_mask", "float64")
    m = CASES["bool_mask"][3]
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=zg.tensor(m))
    s = q.data @ np.swapaxes(k.data, -1, -2) / math.sqrt(5) + np.where(m, 0.0, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(y.data, p @ v.data, rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zeros_as_torch(kind):
    (q, k, v), _, _ = _inputs("plain", "float64")
    m = _mask((4, 6))
    m[2] = False  # query 2 may attend to nothing
    mask = m if kind == "bool" else np.where(m, 0.0, -np.inf)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=zg.tensor(mask))
    np.testing.assert_array_equal(y.data[..., 2, :], 0.0)
    g = np.random.default_rng(9).standard_normal(y.shape)
    y.backward(g)
    tq, tk, tv = (torch.tensor(t.data, requires_grad=True) for t in (q, k, v))
    ty = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    for ours, theirs in zip((q, k, v), (tq, tk, tv)):
        assert np.isfinite(ours.grad.data).all()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dropout_zeroes_weights_and_scales_the_rest():
    q, k = _t((2, 2, 40, 8), seed=0, grad=False), _t((2, 2, 50, 8), seed=1, grad=False)
    eye = zg.tensor(np.eye(50))  # y = A @ I: the output is the dropped weight matrix itself
    p = F.scaled_dot_product_attention(q, k, eye).data
    zg.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, eye, dropout_p=0.25).data
    kept = a != 0
    assert abs(kept.mean() - 0.75) < 0.02  # 16,000 weights: ~0.003 standard deviation
    np.testing.assert_allclose(a[kept], p[kept] / 0.75, rtol=1e-12)
    zg.manual_seed(3)  # the library's generator: one seed repeats the mask
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.25).data, a)


def test_keeps_only_the_attention_weights_besides_the_inputs():
    (q, k, v), _, _ = _inputs("plain", "float64")
    y = F.scaled_dot_product_attention(q, k, v)
    big = [a for a in y.grad_fn.saved if a is not None and a.shape[-2:] == (4, 6)]
    assert len(big) == 1  # P, the softmax weights (L, S); no scores, no second copy
    zg.manual_seed(0)
    y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    saved = [a for a in y.grad_fn.saved if a is not None and a.shape[-2:] == (4, 6)]
    assert [a.dtype for a in saved] == [np.float64, np.bool_]  # P, and the mask as bools


def test_float32_stays_float32():
    ins, _, _ = _inputs("causal", "float32")
    y = F.scaled_dot_product_attention(*ins, is_causal=True)
    y.sum().backward()
    assert y.dtype == np.float32 and {t.grad.dtype for t in ins} == {np.dtype("float32")}


def test_errors_name_the_op_and_what_is_wrong():
    q, k, v = zg.ones(2, 4, 5), zg.ones(2, 6, 5), zg.ones(2, 6, 3)
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(ValueError, match=r"query \(2, 4, 5\) and key \(2, 6, 4\) must have"):
        sdpa(q, zg.ones(2, 6, 4), v)
    with pytest.raises(ValueError, match=r"key \(2, 6, 5\) and value \(2, 7, 3\) must have"):
        sdpa(q, k, zg.ones(2, 7, 3))
    with pytest.raises(ValueError, match="at least 2 dims"):
        sdpa(zg.ones(5), k, v)
    with pytest.raises(ValueError, match=r"batch dims .* do not broadcast"):
        sdpa(zg.ones(3, 4, 5), k, v)
    with pytest.raises(ValueError, match=r"attn_mask has shape \(4, 5\).*\(2, 4, 6\)"):
        sdpa(q, k, v, attn_mask=zg.tensor(np.ones((4, 5), bool)))
    with pytest.raises(ValueError, match=r"attn_mask has shape \(3, 2, 4, 6\)"):
        sdpa(q, k, v, attn_mask=zg.tensor(np.ones((3, 2, 4, 6), bool)))  # wider than the scores
    with pytest.raises(ValueError, match="not both"):
        sdpa(q, k, v, attn_mask=zg.tensor(np.ones((4, 6), bool)), is_causal=True)
    with pytest.raises(TypeError, match="attn_mask must be bool .* got int64"):
        sdpa(q, k, v, attn_mask=zg.tensor(np.ones((4, 6), "int64")))
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\), got 1.0"):
        sdpa(q, k, v, dropout_p=1.0)
    with pytest.raises(TypeError, match="query is float32 but value is float64"):
        sdpa(q, k, zg.ones(2, 6, 3, dtype="float64"))
