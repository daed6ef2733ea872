"""batch_norm: formulas, running statistics, errors, against PyTorch (the registry covers the
gradcheck and the basic forward/backward twins)."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
import zerograd.functional as F
from zerograd.autograd import Function
from zerograd.functional import norm
from zerograd.functional.registry import CASES, case_inputs


def _data(shape, dtype="float64", seed=0, scale=3.0, shift=1.0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype) * scale + shift


def test_training_output_is_the_formula_by_hand():
    x = _data((8, 3))
    w, b = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
    y = F.batch_norm(zg.tensor(x), None, None, zg.tensor(w), zg.tensor(b), training=True)
    mu, var = x.mean(axis=0), x.var(axis=0)  # biased variance, over the batch
    np.testing.assert_allclose(y.data, (x - mu) / np.sqrt(var + 1e-5) * w + b, rtol=1e-12)
    # each channel comes out with mean beta and standard deviation ~gamma
    np.testing.assert_allclose(y.data.mean(axis=0), b, atol=1e-12)
    np.testing.assert_allclose(y.data.std(axis=0), w, rtol=1e-5)


def test_eval_uses_the_running_statistics():
    x = _data((4, 2, 3))
    rm, rv = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    y = F.batch_norm(zg.tensor(x), zg.tensor(rm), zg.tensor(rv), training=False, eps=0.0)
    expected = (x - rm[None, :, None]) / np.sqrt(rv[None, :, None])
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


def test_running_statistics_update_in_place_with_unbiased_variance():
    x = _data((5, 2, 4))
    rm, rv = zg.zeros(2, dtype="float64"), zg.ones(2, dtype="float64")
    arrays = rm.data, rv.data
    F.batch_norm(zg.tensor(x), rm, rv, training=True, momentum=0.25)
    m = 5 * 4  # values per channel
    np.testing.assert_allclose(rm.data, 0.25 * x.mean(axis=(0, 2)), rtol=1e-12)
    unbiased = x.var(axis=(0, 2)) * m / (m - 1)
    np.testing.assert_allclose(rv.data, 0.75 + 0.25 * unbiased, rtol=1e-12)
    assert rm.data is arrays[0] and rv.data is arrays[1]  # same arrays: updated in place
    assert rm._version == 2 and rv._version == 2  # mul_ then add_


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_against_torch_several_shapes(dtype, shape, training):
    C = shape[1]
    rng = np.random.default_rng(1)
    x = zg.tensor(_data(shape, dtype), requires_grad=True)
    w = zg.tensor(rng.uniform(0.5, 2, C).astype(dtype), requires_grad=True)
    b = zg.tensor(rng.standard_normal(C).astype(dtype), requires_grad=True)
    rm = zg.tensor(rng.standard_normal(C).astype(dtype))
    rv = zg.tensor(rng.uniform(0.5, 2, C).astype(dtype))
    trm, trv = torch.from_numpy(rm.data.copy()), torch.from_numpy(rv.data.copy())

    def ours(x, w, b):
        return F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.2, eps=1e-3)

    def theirs(x, w, b):
        return torch.nn.functional.batch_norm(
            x, trm, trv, w, b, training=training, momentum=0.2, eps=1e-3
        )

    compare_with_torch(torch, ours, theirs, [x, w, b], dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12)
    np.testing.assert_allclose(rm.data, trm.numpy(), **tol)
    np.testing.assert_allclose(rv.data, trv.numpy(), **tol)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=2, max_size=4).map(tuple),
    training=st.booleans(),
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_batch_norm_hypothesis(shape, training, affine, dtype):
    if training and np.prod(shape) // shape[1] < 2:
        shape = (2,) + shape[1:]  # training needs more than one value per channel
    C = shape[1]
    rng = np.random.default_rng(sum(shape))
    x = zg.tensor(_data(shape, dtype, seed=len(shape)), requires_grad=True)
    w = zg.tensor(rng.uniform(0.5, 2, C).astype(dtype), requires_grad=True)
    b = zg.tensor(rng.standard_normal(C).astype(dtype), requires_grad=True)
    w = w if affine in ("both", "weight") else None
    b = b if affine in ("both", "bias") else None
    rm = zg.tensor(rng.standard_normal(C).astype(dtype))
    rv = zg.tensor(rng.uniform(0.5, 2, C).astype(dtype))
    trm, trv = torch.from_numpy(rm.data.copy()), torch.from_numpy(rv.data.copy())
    inputs = [t for t in (x, w, b) if t is not None]

    def split(wb):  # the given weight and bias back in their places, None where absent
        it = iter(wb)
        return (next(it) if w is not None else None), (next(it) if b is not None else None)

    def ours(x, *wb):
        return F.batch_norm(x, rm, rv, *split(wb), training=training, momentum=0.3)

    def theirs(x, *wb):
        return torch.nn.functional.batch_norm(
            x, trm, trv, *split(wb), training=training, momentum=0.3
        )

    compare_with_torch(torch, ours, theirs, inputs, dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm.data, trm.numpy(), **tol)
    np.testing.assert_allclose(rv.data, trv.numpy(), **tol)


def test_gradcheck_every_input_4d():
    x = zg.tensor(_data((3, 2, 2, 3)), requires_grad=True)
    w = zg.tensor([1.5, 0.7], dtype="float64", requires_grad=True)
    b = zg.tensor([0.1, -0.2], dtype="float64", requires_grad=True)
    assert zg.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])


def test_float32_stays_float32_and_running_stats_keep_their_dtype():
    x = zg.tensor(_data((4, 3), "float32"), requires_grad=True)
    rm, rv = zg.zeros(3), zg.ones(3)
    y = F.batch_norm(x, rm, rv, zg.ones(3), zg.zeros(3), training=True)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert rm.dtype == np.float32 and rv.dtype == np.float32


def test_normalisation_removes_a_large_offset():
    # the batch mean is subtracted before squaring: an offset of 1e4 loses nothing in float64
    x = _data((16, 2), shift=1e4)
    y = F.batch_norm(zg.tensor(x), None, None, training=True)
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(y.data, expected, rtol=1e-9)


def test_errors_say_what_is_wrong():
    x = zg.randn(4, 3)
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, \*\), got shape \(4,\)"):
        F.batch_norm(zg.randn(4), None, None, training=True)
    with pytest.raises(ValueError, match=r"running_mean has shape \(2,\).*must have shape \(3,\)"):
        F.batch_norm(x, zg.zeros(2), zg.ones(2), training=True)
    with pytest.raises(ValueError, match=r"weight has shape \(4,\)"):
        F.batch_norm(x, None, None, zg.ones(4), training=True)
    with pytest.raises(TypeError, match="running_var has dtype float64 but the input has float32"):
        F.batch_norm(x, zg.zeros(3), zg.ones(3, dtype="float64"))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(zg.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="needed in evaluation"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        F.batch_norm(x, zg.zeros(3), None, training=True)
    with pytest.raises(TypeError, match="floating point"):
        F.batch_norm(zg.tensor([[1, 2], [3, 4]]), None, None, training=True)


def test_no_gradient_for_inputs_that_do_not_need_one():
    x = zg.tensor(_data((4, 3)))  # data: no gradient
    w = zg.ones(3, dtype="float64", requires_grad=True)
    F.batch_norm(x, None, None, w, training=True).sum().backward()
    assert x.grad is None and w.grad is not None


def test_registry_reaches_every_function_in_norm():
    # test_registry.py lists the modules it scans; this covers functional/norm.py the same way
    defined = {
        obj
        for _, obj in inspect.getmembers(norm, inspect.isclass)
        if issubclass(obj, Function) and obj.__module__ == norm.__name__
    }
    reached = set()
    for case in CASES:
        if case.name.startswith(("batch_norm", "layer_norm")):
            out = case.fn(*case_inputs(case))
            reached.add(type(out.grad_fn))
    assert defined and defined <= reached
