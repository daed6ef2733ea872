"""Gradients at the edges, as PyTorch defines them: NaN inputs of relu, abs, elu, leaky_relu,
clamp, maximum and minimum; a zero base in pow (0 ** 0 and friends); max()/min() of a tensor whose
maximum is NaN (the gradient shared among the NaNs); amax with NaN (NaN gradients, as PyTorch's)."""

from __future__ import annotations

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
import zerograd.functional as F

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)

NAN = float("nan")
X = [NAN, 0.0, -1.0, 2.0, -0.0]
A = [NAN, 1.0, NAN, 2.0, 1.0, 0.0]
B = [0.0, NAN, NAN, 2.0, 3.0, -0.0]
CASES = {
    "relu": (F.relu, torch.relu, [X]),
    "abs": (zg.abs, torch.abs, [X]),
    "elu": (F.elu, torch.nn.functional.elu, [X]),
    "leaky_relu": (F.leaky_relu, torch.nn.functional.leaky_relu, [X]),
    "clamp": (lambda a: zg.clamp(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5), [X]),
    "maximum": (zg.maximum, torch.maximum, [A, B]),
    "minimum": (zg.minimum, torch.minimum, [A, B]),
    "pow_zero_exponent": (lambda a: a**0.0, lambda a: a**0.0, [[0.0, 2.0, NAN]]),
    "pow_zero_base": (zg.pow, torch.pow, [[0.0, 0.0, 0.0, 2.0, 0.0], [0.0, 2.0, -1.0, 0.0, 0.5]]),
    "rpow_zero_base": (lambda a: 0.0**a, lambda a: 0.0**a, [[0.0, 1.0, 2.0, -1.0]]),
    "sqrt_zero": (zg.sqrt, torch.sqrt, [[0.0, 4.0]]),
    "log_zero": (zg.log, torch.log, [[0.0, 1.0]]),
    "max_nan": (lambda a: zg.max(a), torch.max, [[NAN, 1.0, NAN, 0.0]]),
    "min_nan": (lambda a: zg.min(a), torch.min, [[NAN, 1.0, NAN, 0.0]]),
    "max_dim_nan": (
        lambda a: zg.max(a, 1).values,
        lambda a: torch.max(a, 1).values,
        [[[NAN, 1.0, NAN], [1.0, 2.0, 2.0]]],
    ),
    "amax_nan": (lambda a: zg.amax(a, 1), lambda a: torch.amax(a, 1), [[[NAN, 1.0], [1.0, 2.0]]]),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_at_the_edges_are_pytorchs(name, dtype):
    zf, tf, values = CASES[name]
    zs = [zg.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    ts = [torch.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    with np.errstate(all="ignore"):
        zy, ty = zf(*zs), tf(*ts)
        zy.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(zy.data, ty.detach().numpy())
    for i, (z, t) in enumerate(zip(zs, ts)):
        np.testing.assert_allclose(
            z.grad.data, t.grad.numpy(), rtol=1e-6, equal_nan=True, err_msg=f"gradient {i}"
        )
