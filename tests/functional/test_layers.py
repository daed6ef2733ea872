"""linear, dropout, dropout2d and one_hot."""

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
import zerograd.functional as F


def test_linear_error_says_how_to_fix():
    with pytest.raises(ValueError, match=r"input has shape \(32, 28, 28\).*must be 784.*Flatten"):
        F.linear(zg.ones(32, 28, 28), zg.ones(100, 784))
    with pytest.raises(ValueError, match=r"bias has shape \(3,\)"):
        F.linear(zg.ones(2, 4), zg.ones(5, 4), zg.ones(3))


def test_linear_skips_gradients_nobody_needs():
    x = zg.randn(4, 3)  # data: no gradient
    W = zg.randn(2, 3, requires_grad=True)
    F.linear(x, W).sum().backward()
    assert x.grad is None and W.grad.shape == (2, 3)


def test_dropout_scales_kept_units_and_routes_the_gradient():
    zg.manual_seed(0)
    x = zg.ones(200, 100, requires_grad=True)
    y = F.dropout(x, p=0.3)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    np.testing.assert_allclose(x.grad.data, g * kept / 0.7, rtol=1e-6)
    assert y.dtype == np.float32


def test_dropout_in_eval_or_p0_is_identity_and_p1_zeros():
    x = zg.randn(5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).data == 0).all()
    with pytest.raises(ValueError, match="probability"):
        F.dropout(x, 1.2)


def test_dropout_matches_torch_in_distribution():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    zg.manual_seed(0)
    ours = F.dropout(zg.ones(100_000), 0.25).data
    theirs = torch.nn.functional.dropout(torch.ones(100_000), 0.25).numpy()
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.01
    assert set(np.unique(ours)) == set(np.unique(theirs).astype(np.float32))


def test_dropout2d_drops_whole_channels_and_routes_the_gradient():
    zg.manual_seed(0)
    x = zg.ones(50, 40, 3, 4, requires_grad=True)
    y = F.dropout2d(x, p=0.25)
    per_map = y.data.reshape(50, 40, 12)
    kept = per_map[:, :, 0] != 0
    # every map is all kept (scaled by 1/(1-p)) or all zero
    assert (per_map == per_map[:, :, :1]).all()
    np.testing.assert_allclose(per_map[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.03
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    np.testing.assert_allclose(x.grad.data, g * kept[:, :, None, None] / 0.75, rtol=1e-6)


def test_dropout2d_unbatched_eval_and_errors():
    zg.manual_seed(0)
    y = F.dropout2d(zg.ones(64, 2, 2), 0.5)  # (C, H, W): one sample
    assert all(len(set(m.ravel().tolist())) == 1 for m in y.data)
    x = zg.randn(2, 3, 4, 4)
    assert F.dropout2d(x, 0.5, training=False) is x
    assert (F.dropout2d(x, 1.0).data == 0).all()
    with pytest.raises(ValueError, match=r"got shape \(2, 3\); for other shapes use dropout"):
        F.dropout2d(zg.ones(2, 3))
    with pytest.raises(ValueError, match="probability"):
        F.dropout2d(x, -0.5)


def test_dropout2d_matches_torch_in_distribution():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    zg.manual_seed(0)
    ours = F.dropout2d(zg.ones(400, 100, 2, 2), 0.3).data[:, :, 0, 0]
    theirs = torch.nn.functional.dropout2d(torch.ones(400, 100, 2, 2), 0.3)[:, :, 0, 0].numpy()
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.01
    assert set(np.unique(ours)) == set(np.unique(theirs).astype(np.float32))


def test_one_hot():
    assert F.one_hot(zg.tensor([[1], [0]]), 3).tolist() == [[[0, 1, 0]], [[1, 0, 0]]]
    assert F.one_hot(zg.tensor([2, 0])).shape == (2, 3)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        F.one_hot(zg.tensor([2]), 2)
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(zg.tensor([1.0]))
