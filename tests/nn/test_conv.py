"""nn.Conv2d against torch.nn.Conv2d: outputs, parameter gradients, repr, default init, errors."""

import math

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd.functional.conv import conv2d
from zerograd.nn.conv import Conv2d

CONFIGS = [
    dict(in_channels=1, out_channels=3, kernel_size=5),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2, padding=1, bias=False),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding="same", dilation=2, groups=2),
    dict(in_channels=2, out_channels=2, kernel_size=(2, 3), stride=(1, 2), padding="valid"),
]


def _twins(cfg, dtype):
    ours = Conv2d(**cfg, dtype=dtype)
    theirs = torch.nn.Conv2d(**cfg, dtype=getattr(torch, dtype))
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in state.items()})
    return ours, theirs


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_conv2d_layer_against_torch(cfg, dtype):
    ours, theirs = _twins(cfg, dtype)
    rng = np.random.default_rng(0)
    x = zg.tensor(rng.standard_normal((2, cfg["in_channels"], 9, 8)).astype(dtype))
    x.requires_grad_(True)
    compare_with_torch(torch, ours, theirs, [x], dtype)
    # parameter gradients too, with a random upstream gradient
    ours.zero_grad()
    theirs.zero_grad()
    y = ours(x)
    g = rng.standard_normal(y.shape).astype(dtype)
    (y * zg.tensor(g)).sum().backward()
    (theirs(torch.from_numpy(x.data)) * torch.from_numpy(g)).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    names = 0
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), **tol, err_msg=name)
        names += 1
    assert names == (2 if cfg.get("bias", True) else 1)


@needs_torch
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_conv2d_repr_is_pytorchs(cfg):
    assert repr(Conv2d(**cfg)) == repr(torch.nn.Conv2d(**cfg))


def test_conv2d_default_init_is_pytorchs():
    zg.manual_seed(0)
    conv = Conv2d(32, 64, 3, groups=2)
    bound = 1 / math.sqrt(16 * 3 * 3)  # fan_in = in_channels / groups * KH * KW
    w = conv.weight.data
    assert w.shape == (64, 16, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound  # the std of U(-b, b)
    b = conv.bias.data
    assert b.dtype == np.float32 and np.abs(b).max() <= bound and np.abs(b).max() > bound / 2


def test_conv2d_layer_gradcheck():
    conv = Conv2d(2, 3, (2, 3), stride=(2, 1), padding=1, dtype="float64")
    x = zg.randn(2, 2, 5, 4, dtype="float64", requires_grad=True)

    # the layer's own config, with the parameters as gradcheck's inputs
    run = lambda x, w, b: conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    assert zg.gradcheck(run, [x, conv.weight, conv.bias])


def test_conv2d_shape_errors_name_the_layer():
    conv = Conv2d(1, 30, 5)
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(1, 30, kernel_size=\(5, 5\), stride=\(1, 1\)\): input has shape "
        r"\(32, 784\) but must be \(N, 1, H, W\) or one image \(1, H, W\)\. Reshape flat",
    ):
        conv(zg.zeros(32, 784))
    with pytest.raises(ValueError, match=r"\(32, 28, 28\) but must be .*x\.unsqueeze\(1\)"):
        conv(zg.zeros(32, 28, 28))
    assert conv(zg.zeros(1, 28, 28)).shape == (30, 24, 24)  # one image, unbatched
    with pytest.raises(ValueError, match=r"\(2, 3, 28, 28\) but must be \(N, 1, H, W\)"):
        conv(zg.zeros(2, 3, 28, 28))
    with pytest.raises(
        ValueError, match=r"^Conv2d\(1, 30, .*\): input of size \(H, W\) = \(4, 4\) is too small"
    ):
        conv(zg.zeros(2, 1, 4, 4))


def test_conv2d_rejects_bad_config():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels=3 must be divisible by groups=2"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: out_channels must be a positive int, got 0"):
        Conv2d(3, 0, 3)
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be .*got \(3, 0\)"):
        Conv2d(3, 4, (3, 0))
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' is not supported for strided"):
        Conv2d(3, 4, 3, stride=2, padding="same")


@needs_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_modes_match_pytorch(mode, padding):
    t = torch.nn.Conv2d(3, 4, 3, padding=padding, padding_mode=mode, dtype=torch.float64)
    z = Conv2d(3, 4, 3, padding=padding, padding_mode=mode, dtype=zg.float64)
    z.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    assert repr(z) == repr(t)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7))
    xt, xz = torch.tensor(x, requires_grad=True), zg.tensor(x, requires_grad=True)
    t(xt).sum().backward()
    yz = z(xz)
    yz.sum().backward()
    np.testing.assert_allclose(yz.data, t(xt).detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xz.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z.weight.grad.data, t.weight.grad.numpy(), rtol=1e-12)


def test_conv2d_rejects_an_unknown_padding_mode():
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode must be 'zeros', .*got 'mirror'"):
        Conv2d(3, 4, 3, padding_mode="mirror")
