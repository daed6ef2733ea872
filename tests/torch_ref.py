"""The shared PyTorch reference helper: one call compares an op's forward and backward.

Used by every test that checks zerograd against PyTorch, so a case is one line. The suite runs
without torch: ``torch`` here is then None, and the reference tests skip, marked ``@needs_torch``
(or through ``pytest.importorskip("torch", reason=NEEDS_TORCH)``), while the rest of their modules
(gradchecks, errors, dtypes) still run.
"""

from __future__ import annotations

import numpy as np
import pytest

import zerograd as zg

NEEDS_TORCH = 'needs torch (the reference the tests compare against): pip install "zerograd[test]"'

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason=NEEDS_TORCH)

TOLERANCES = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-9, atol=1e-10)}


def to_torch(torch, value, requires_grad):
    data = value.data if isinstance(value, zg.Tensor) else value
    if not isinstance(data, np.ndarray):
        return data
    t = torch.from_numpy(np.array(data))
    return t.requires_grad_(True) if requires_grad and t.is_floating_point() else t


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare_with_torch(torch, zg_fn, torch_fn, inputs, dtype, seed=0, tol=None):
    """Run both functions on the same inputs; compare outputs and input gradients.

    ``inputs`` are zerograd Tensors (requiring grad where differentiable) or constants. Backward
    uses a random upstream gradient (not ones), so a backward that forgets to multiply by gy fails.
    """
    tol = tol or TOLERANCES[dtype]
    zin = inputs
    tin = [to_torch(torch, x, isinstance(x, zg.Tensor) and x.requires_grad) for x in inputs]
    zouts = _as_list(zg_fn(*zin))
    touts = _as_list(torch_fn(*tin))
    assert len(zouts) == len(touts)
    rng = np.random.default_rng(seed + 99)
    zsum, tsum = None, None
    for z, t in zip(zouts, touts):
        np.testing.assert_allclose(z.data, t.detach().numpy(), **tol, err_msg="forward")
        assert z.shape == tuple(t.shape), (z.shape, t.shape)
        assert z.dtype == np.dtype(str(t.dtype).replace("torch.", "")), (z.dtype, t.dtype)
        if not z.requires_grad:
            continue
        g = rng.standard_normal(z.shape).astype(z.dtype)
        zterm = (z * zg.Tensor(g)).sum()
        tterm = (t * torch.from_numpy(g)).sum()
        zsum = zterm if zsum is None else zsum + zterm
        tsum = tterm if tsum is None else tsum + tterm
    if zsum is None:
        return
    zsum.backward()
    tsum.backward()
    for i, (z, t) in enumerate(zip(zin, tin)):
        if isinstance(z, zg.Tensor) and z.requires_grad:
            assert z.grad is not None, f"input {i} got no gradient"
            assert z.grad.dtype == z.dtype
            np.testing.assert_allclose(
                z.grad.data, t.grad.numpy(), **tol, err_msg=f"gradient of input {i}"
            )
