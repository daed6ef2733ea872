"""Linear, containers, activations, dropout and loss modules against PyTorch."""

import math

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd import nn


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_linear_against_torch(dtype, bias, shape):
    ours = nn.Linear(4, 3, bias=bias, dtype=dtype)
    theirs = torch.nn.Linear(4, 3, bias=bias, dtype=getattr(torch, dtype))
    theirs.load_state_dict(
        {k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()}
    )
    x = zg.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], dtype)
    g = np.random.default_rng(99).standard_normal(shape[:-1] + (3,)).astype(dtype)
    # parameter gradients too
    ours.zero_grad()
    theirs.zero_grad()
    (ours(x) * zg.tensor(g)).sum().backward()
    (theirs(torch.from_numpy(x.data)) * torch.from_numpy(g)).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), **tol, err_msg=name)


def test_linear_gradcheck():
    lin = nn.Linear(3, 2, dtype="float64")
    x = zg.randn(4, 3, dtype="float64", requires_grad=True)
    assert zg.gradcheck(lambda x, w, b: zg.functional.linear(x, w, b), [x, lin.weight, lin.bias])


def test_linear_default_init_is_pytorchs():
    zg.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = lin.weight.data
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # the std of U(-b, b)
    assert np.abs(lin.bias.data).max() <= bound


def test_linear_shape_error_names_the_layer():
    with pytest.raises(
        ValueError,
        match=r"Linear\(in_features=784, out_features=100, bias=True\): "
        r"input has shape \(32, 28, 28\) but its last dimension must be 784\. "
        r"Flatten the images first",
    ):
        nn.Linear(784, 100)(zg.zeros(32, 28, 28))
    with pytest.raises(ValueError, match="positive int"):
        nn.Linear(0, 3)


def test_sequential_indexing_slicing_len_iteration():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and seq(zg.ones(5, 2)).shape == (5, 1)
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)
    del seq[3]
    assert len(seq) == 3
    with pytest.raises(IndexError, match="out of range"):
        seq[7]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(2, 2), zg.functional.relu)


def test_module_list_registers_parameters():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]


# empty without torch: the test over it then skips, saying what to install
ACTIVATIONS = (
    []
    if torch is None
    else [
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.ELU(0.5), torch.nn.ELU(0.5)),
        (nn.GELU(), torch.nn.GELU()),
        (nn.GELU("tanh"), torch.nn.GELU("tanh")),
        (nn.Softplus(2.0), torch.nn.Softplus(2.0)),
        (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
        (nn.Identity(), torch.nn.Identity()),
        (nn.Flatten(0), torch.nn.Flatten(0)),
    ]
)


@needs_torch
@pytest.mark.parametrize(
    "pair", ACTIVATIONS, ids=lambda p: repr(p[0]) if hasattr(p[0], "training") else ""
)
def test_activation_modules_against_torch(pair):
    ours, theirs = pair
    x = zg.tensor(np.random.default_rng(1).uniform(-3, 3, (4, 5)), requires_grad=True)
    compare_with_torch(torch, ours, theirs, [x], "float64")
    assert repr(ours) == repr(theirs)


def test_step_module():
    assert nn.Step()(zg.tensor([-1.0, 2.0])).tolist() == [0.0, 1.0]


def test_dropout_module_follows_train_and_eval():
    zg.manual_seed(0)
    d = nn.Dropout(0.5)
    x = zg.ones(1000)
    assert (d(x).data == 0).any()
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(-0.1)


@needs_torch
def test_dropout2d_module_follows_train_and_eval_and_matches_torch_repr():
    zg.manual_seed(0)
    d = nn.Dropout2d(0.5)
    x = zg.ones(8, 16, 3, 3)
    y = d(x).data
    assert (y == 0).any() and (y.reshape(8, 16, 9) == y.reshape(8, 16, 9)[:, :, :1]).all()
    d.eval()
    assert d(x) is x
    assert repr(d) == repr(torch.nn.Dropout2d(0.5))
    with pytest.raises(ValueError, match=r"Dropout2d: p must be a probability"):
        nn.Dropout2d(2)


# empty without torch: the test over it then skips, saying what to install
LOSSES = (
    []
    if torch is None
    else [
        (nn.MSELoss(), torch.nn.MSELoss(), "float"),
        (nn.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum"), "float"),
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), "index"),
        (
            nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=2),
            torch.nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=2),
            "index",
        ),
        (nn.NLLLoss(reduction="none"), torch.nn.NLLLoss(reduction="none"), "index"),
        (nn.BCELoss(), torch.nn.BCELoss(), "prob"),
        (
            nn.BCEWithLogitsLoss(pos_weight=zg.tensor([2.0] * 4, dtype="float64")),
            torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0] * 4, dtype=torch.float64)),
            "float01",
        ),
    ]
)


@needs_torch
@pytest.mark.parametrize(
    "ours, theirs, kind", LOSSES, ids=lambda v: repr(v) if hasattr(v, "training") else None
)
def test_loss_modules_against_torch(ours, theirs, kind):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4))
    if kind == "prob":
        x = rng.uniform(0.05, 0.95, (6, 4))
    t = {
        "float": rng.standard_normal((6, 4)),
        "index": rng.integers(0, 4, 6),
        "prob": rng.uniform(0, 1, (6, 4)),
        "float01": rng.uniform(0, 1, (6, 4)),
    }[kind]
    compare_with_torch(
        torch, ours, theirs, [zg.tensor(x, requires_grad=True), zg.tensor(t)], "float64"
    )
    assert repr(ours) == repr(theirs)


def test_loss_module_validates_reduction():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
