"""The model zoo's CNNs: shapes, configs, state_dict keys and outputs equal to PyTorch's twins."""

import numpy as np
import pytest
from torch_ref import needs_torch, torch

import zerograd as zg
from zerograd import models, nn

tnn = None if torch is None else torch.nn


def torch_twin(name):
    """The same network written in PyTorch, layer for layer."""
    if name == "simple-cnn":
        return tnn.Sequential(
            tnn.Conv2d(1, 30, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(4320, 100), tnn.ReLU(), tnn.Linear(100, 10),
        )  # fmt: skip
    if name == "lenet5":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10),
        )  # fmt: skip
    bn = name == "deep-cnn-bn"
    layers, c = [], 1
    for i, (o, p) in enumerate([(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)]):
        layers.append(tnn.Conv2d(c, o, 3, padding=p, bias=not bn))
        layers += [tnn.BatchNorm2d(o)] if bn else []
        layers.append(tnn.ReLU())
        layers += [tnn.MaxPool2d(2)] if i % 2 else []
        c = o
    layers += [tnn.Flatten(), tnn.Linear(1024, 50, bias=not bn)]
    layers += [tnn.BatchNorm1d(50)] if bn else []
    layers += [tnn.ReLU(), tnn.Dropout(0.5), tnn.Linear(50, 10)]
    return tnn.Sequential(*layers)


CNNS = ["simple-cnn", "lenet5", "deep-cnn", "deep-cnn-bn"]


@needs_torch
@pytest.mark.parametrize("name", CNNS)
def test_cnn_matches_its_torch_twin_forward_and_backward(name):
    zg.manual_seed(0)
    ours, theirs = models.create(name).double(), torch_twin(name).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).split("\n", 1)[1] == repr(theirs).split("\n", 1)[1]
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    ours.eval(), theirs.eval()  # dropout off, batch norm on running statistics
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    xz, xt = zg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xz), theirs(xt)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xz.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (k, p), pt in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, pt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("name", CNNS)
def test_cnn_trains_and_rebuilds_from_its_config(name):
    zg.manual_seed(0)
    model = models.create(name)
    x = zg.randn(8, 1, 28, 28)
    assert model(x).shape == (8, 10) and model(x).dtype == np.float32
    again = type(model)(**model.config)
    assert list(again.state_dict()) == list(model.state_dict())


def test_he_init_scales_conv_weights_by_fan_in():
    zg.manual_seed(0)
    conv = models.DeepConvNet()[2]  # 16 -> 16 channels, 3 x 3: fan_in 144
    assert isinstance(conv, nn.Conv2d)
    assert abs(conv.weight.data.std() - np.sqrt(2 / 144)) < 0.01
    assert (conv.bias.data == 0).all()


def test_sizes_that_do_not_fit_name_the_model_and_the_formula():
    with pytest.raises(ValueError, match=r"SimpleConvNet: an input of size 23 with kernel 2"):
        models.SimpleConvNet(input_size=27)
    with pytest.raises(ValueError, match=r"LeNet5: activation must be one of"):
        models.LeNet5(activation="swish")
    with pytest.raises(ValueError, match=r"unknown model 'vgg'; choose one of mlp, "):
        models.create("vgg")


def test_models_reject_flat_images_with_a_fix():
    with pytest.raises(ValueError, match=r"Reshape flat images first"):
        models.SimpleConvNet()(zg.ones(2, 784))


@needs_torch
def test_shipped_weights_load_into_the_torch_twin_unchanged():
    safetensors_torch = pytest.importorskip(
        "safetensors.torch", reason='needs safetensors: pip install "zerograd[test]"'
    )
    from zerograd.models import hub

    path = hub.WEIGHTS_DIR / "simple-cnn-mnist.safetensors"
    twin = torch_twin("simple-cnn")
    result = twin.load_state_dict(safetensors_torch.load_file(str(path)))
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    ours = models.pretrained("simple-cnn-mnist")(zg.tensor(x)).data
    np.testing.assert_allclose(ours, twin(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
