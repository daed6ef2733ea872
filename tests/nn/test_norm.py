"""nn.BatchNorm1d/2d against PyTorch's: outputs, gradients, running statistics over several
steps, eval mode, state_dict, repr and errors."""

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd import nn

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _pair(C, dtype="float32", layer="BatchNorm1d", **kwargs):
    ours = getattr(nn, layer)(C, dtype=dtype, **kwargs)
    theirs = getattr(torch.nn, layer)(C, dtype=getattr(torch, dtype), **kwargs)
    # non-trivial gamma and beta, the same in both
    rng = np.random.default_rng(7)
    with zg.no_grad():
        if ours.weight is not None:
            ours.weight.copy_(rng.uniform(0.5, 2, C).astype(dtype))
        if ours.bias is not None:
            ours.bias.copy_(rng.standard_normal(C).astype(dtype))
    theirs.load_state_dict(
        {k: torch.from_numpy(np.array(v.data)) for k, v in ours.state_dict().items()}
    )
    return ours, theirs


def _batch(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 2 + 0.5


def _assert_state_equal(ours, theirs, dtype):
    tsd = theirs.state_dict()
    for k, v in ours.state_dict().items():
        np.testing.assert_allclose(v.data, tsd[k].numpy(), **TOL[dtype], err_msg=k)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(8, 5), (4, 5, 3)])
def test_forward_backward_in_train_mode(dtype, shape):
    ours, theirs = _pair(5, dtype)
    x = zg.tensor(_batch(shape, dtype, 0), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], dtype)
    # gamma and beta gradients too
    g = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    ours.zero_grad()
    theirs.zero_grad()
    (ours(x) * zg.tensor(g)).sum().backward()
    (theirs(torch.from_numpy(x.data)) * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), **TOL[dtype])


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_running_statistics_after_several_steps_then_eval(momentum):
    ours, theirs = _pair(4, "float64", momentum=momentum)
    for step in range(6):
        x = _batch((10, 4), "float64", step)
        ours(zg.tensor(x))
        theirs(torch.from_numpy(x))
    assert int(ours.num_batches_tracked) == 6
    _assert_state_equal(ours, theirs, "float64")
    ours.eval()
    theirs.eval()
    x = zg.tensor(_batch((3, 4), "float64", 99), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], "float64")
    assert int(ours.num_batches_tracked) == 6  # eval leaves the statistics alone
    # a single example is fine in eval mode
    np.testing.assert_allclose(
        ours(zg.tensor(x.data[:1])).data, theirs(torch.from_numpy(x.data[:1])).detach().numpy()
    )


@needs_torch
def test_no_affine_no_tracking_matches_torch():
    ours, theirs = _pair(3, "float64", affine=False, track_running_stats=False)
    assert list(ours.parameters()) == [] and ours.state_dict() == {}
    assert ours.running_mean is None and ours.num_batches_tracked is None
    ours.eval()
    theirs.eval()
    # no running statistics: batch statistics even in eval, as in PyTorch
    x = zg.tensor(_batch((6, 3), "float64", 3), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], "float64")


@needs_torch
def test_bias_false():
    ours, theirs = _pair(3, "float64", bias=False)
    assert ours.bias is None and list(ours.state_dict()) == list(theirs.state_dict())
    x = zg.tensor(_batch((6, 3), "float64", 4), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], "float64")


@needs_torch
def test_state_dict_keys_and_loading_into_torch():
    zg.manual_seed(0)
    ours = nn.BatchNorm1d(6)
    with zg.no_grad():
        ours.weight.copy_(zg.rand(6) + 0.5)
        ours.bias.copy_(zg.randn(6))
    for step in range(3):
        ours(zg.tensor(_batch((16, 6), "float32", step)))
    sd = ours.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == np.int64 and sd["num_batches_tracked"].shape == ()
    theirs = torch.nn.BatchNorm1d(6)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.data)) for k, v in sd.items()})
    assert int(theirs.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    x = _batch((5, 6), "float32", 10)
    np.testing.assert_allclose(
        ours(zg.tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), **TOL["float32"]
    )
    # and back: torch's state_dict loads into ours
    fresh = nn.BatchNorm1d(6)
    fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    _assert_state_equal(fresh, theirs, "float32")


def test_inside_a_model_and_to_double():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    assert [n for n, _ in model.named_buffers()] == [
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    model.double()
    assert model[1].running_var.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64  # integers are left alone
    out = model(zg.randn(5, 4, dtype="float64"))
    out.sum().backward()
    assert model[1].weight.grad.shape == (3,)


@needs_torch
def test_repr_matches_torch():
    for kwargs in ({}, {"momentum": None, "affine": False, "track_running_stats": False}):
        assert repr(nn.BatchNorm1d(7, **kwargs)) == repr(torch.nn.BatchNorm1d(7, **kwargs))
    assert repr(nn.BatchNorm1d(2, eps=1e-3, bias=False)) == repr(
        torch.nn.BatchNorm1d(2, eps=1e-3, bias=False)
    )


def test_shape_errors_name_the_layer():
    bn = nn.BatchNorm1d(100)
    with pytest.raises(
        ValueError,
        match=r"BatchNorm1d\(100, eps=1e-05, .*\): expected input of shape \(N, 100\) or "
        r"\(N, 100, L\), got shape \(32, 50\)",
    ):
        bn(zg.randn(32, 50))
    with pytest.raises(ValueError, match=r"got shape \(2, 100, 4, 4\).*nn.Flatten"):
        bn(zg.randn(2, 100, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(zg.randn(1, 100))
    with pytest.raises(ValueError, match="num_features must be a positive int"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)


def test_reset_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(zg.randn(4, 2) * 5 + 3)
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0.0, 0.0] and bn.running_var.tolist() == [1.0, 1.0]
    assert int(bn.num_batches_tracked) == 0


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_2d_trains_and_evaluates_like_torch(dtype):
    ours, theirs = _pair(3, dtype, layer="BatchNorm2d", momentum=0.3)
    for seed in range(3):  # running statistics over several training steps
        x = zg.tensor(_batch((4, 3, 5, 6), dtype, seed), requires_grad=True)
        compare_with_torch(torch, ours, theirs, [x], dtype, seed=seed)
    _assert_state_equal(ours, theirs, dtype)
    ours.eval()
    theirs.eval()
    x = zg.tensor(_batch((2, 3, 5, 6), dtype, 9), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], dtype)
    assert repr(ours) == repr(theirs)
    assert int(ours.num_batches_tracked) == 3


def test_batch_norm_2d_needs_images():
    with pytest.raises(
        ValueError, match=r"expected images of shape \(N, 3, H, W\), got shape \(4, 3\)"
    ):
        nn.BatchNorm2d(3)(zg.zeros(4, 3))
