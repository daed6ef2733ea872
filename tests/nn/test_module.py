"""Module: registration, walking the tree, modes, state_dict, printing (PyTorch's semantics)."""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("steps", zg.zeros(1))
        self.register_buffer("scratch", zg.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_registration_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(net.state_dict()) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]


def test_shared_parameters_are_listed_once():
    net = Net()
    net.fc3 = net.fc1
    assert len(list(net.parameters())) == 4


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_assigning_a_non_parameter_over_a_parameter():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="is a Parameter"):
        lin.weight = zg.zeros(2, 2)
    lin.bias = None
    assert lin.bias is None and len(list(lin.parameters())) == 1


def test_train_eval_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    net.eval()
    assert not net.training and not net[1].training
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_freeze_unfreeze_apply():
    net = Net()
    net(zg.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.data == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.fc1.freeze()
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True]
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())
    names = []
    net.apply(lambda m: names.append(type(m).__name__))
    assert names == ["Linear", "ReLU", "Linear", "Net"]


def test_to_dtype_converts_parameters_and_buffers():
    net = Net().double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.steps.dtype == np.float64
    assert net(zg.randn(2, 4, dtype="float64")).dtype == np.float64
    assert net.float().fc1.weight.dtype == np.float32
    assert net.to("cpu") is net
    with pytest.raises(ValueError, match="device 'cuda' is not available.*CPU"):
        net.to("cuda")


def test_state_dict_shares_data_and_load_copies_in_place_keeping_dtype():
    a, b = Net(), Net()
    w = b.fc1.weight.data
    sd = {k: v.data.astype(np.float64) for k, v in a.state_dict().items()}  # float64 values
    b.load_state_dict(sd)
    assert b.fc1.weight.data is w and w.dtype == np.float32  # same array, dtype kept
    np.testing.assert_array_equal(w, a.fc1.weight.data)
    assert np.shares_memory(a.state_dict()["fc1.weight"].data, a.fc1.weight.data)


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    net = Net()
    before = net.fc1.weight.data.copy()
    sd = net.state_dict()
    bad = OrderedDict(sd)
    del bad["fc2.bias"]
    bad["fc1.weight"] = np.zeros((5, 4))
    bad["extra.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(bad)
    msg = str(e.value)
    assert "missing key: fc2.bias" in msg
    assert "unexpected key: extra.weight" in msg
    assert "size mismatch for fc1.weight: copying a value of shape (5, 4)" in msg
    assert "(3, 4)" in msg
    np.testing.assert_array_equal(net.fc1.weight.data, before)


@pytest.mark.parametrize(
    "bad, match",
    [
        (None, r"got None\.$"),
        (3, r"got int\.$"),
        (np.zeros(3), r"got ndarray\.$"),
        ("net.safetensors", r"got the path 'net.safetensors'\. Read the file first: .*io.load\("),
        (Path("net.pt"), r"got the path 'net.pt'\. .*zerograd.io.load_into\(model, path\)"),
        ([("fc1.weight", np.zeros((3, 4)))], r"got a list\. For \(name, value\) pairs pass dict"),
        (nn.Linear(4, 3), r"got a Linear module\. .*load_state_dict\(other.state_dict\(\)\)"),
    ],
)
def test_load_state_dict_of_something_not_a_mapping_says_what_to_pass(bad, match):
    # before: Python's "argument of type 'NoneType' is not iterable", "string indices must be
    # integers", or for a list of pairs a RuntimeError listing tuples as unexpected keys
    net = Net()
    before = net.fc1.weight.data.copy()
    with pytest.raises(TypeError, match=r"^Net\.load_state_dict: expected a mapping of names to "):
        net.load_state_dict(bad)
    with pytest.raises(TypeError, match=match):
        net.load_state_dict(bad)
    np.testing.assert_array_equal(net.fc1.weight.data, before)
    lin = nn.Linear(4, 3)  # a layer without sub-modules shows its configuration
    with pytest.raises(TypeError, match=r"^Linear\(in_features=4, out_features=3, bias=True\)"):
        lin.load_state_dict(None)


def test_load_state_dict_non_strict_reports_keys():
    net = Net()
    sd = net.state_dict()
    del sd["steps"]
    sd["other"] = zg.zeros(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["steps"] and result.unexpected_keys == ["other"]


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    ours = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 100),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(100, 10, bias=False),
        nn.LeakyReLU(0.1),
        nn.Softmax(dim=1),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 100),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(100, 10, bias=False),
        torch.nn.LeakyReLU(0.1),
        torch.nn.Softmax(dim=1),
    )
    assert repr(ours) == repr(theirs)


def test_state_dict_loads_into_pytorch_and_back():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    theirs.load_state_dict(
        {k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()}
    )
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        ours(zg.tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    theirs2 = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    ours.load_state_dict({k: v.numpy() for k, v in theirs2.state_dict().items()})
    np.testing.assert_allclose(
        ours(zg.tensor(x)).data, theirs2(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


# --- forward hooks ------------------------------------------------------------------------------


def test_forward_hooks_see_and_may_replace_args_and_output():
    layer = nn.Linear(3, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: calls.append(("pre", args[0].shape)))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(("post", out.shape)))
    layer(zg.zeros(4, 3))
    assert calls == [("pre", (4, 3)), ("post", (4, 2))]
    pre.remove()
    post.remove()
    layer(zg.zeros(4, 3))
    assert len(calls) == 2
    # a pre-hook may return new args (one value or a tuple), a hook a new output
    with layer.register_forward_pre_hook(lambda m, args: args[0] * 0):
        with layer.register_forward_hook(lambda m, args, out: out + 1):
            y = layer(zg.ones(1, 3))
    np.testing.assert_allclose(y.detach().numpy(), layer.bias.detach().numpy()[None] + 1, rtol=1e-6)


def test_global_hooks_run_for_every_module_first_and_are_removable():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    order = []
    own = model[0].register_forward_hook(lambda m, a, o: order.append("own"))
    with nn.register_module_forward_hook(lambda m, a, o: order.append(type(m).__name__)):
        model(zg.zeros(1, 3))
    assert order == ["Linear", "own", "ReLU", "Sequential"]
    own.remove()
    model(zg.zeros(1, 3))
    assert len(order) == 4


def test_hook_must_be_callable():
    with pytest.raises(TypeError, match="Linear.register_forward_hook: the hook must be callable"):
        nn.Linear(1, 1).register_forward_hook(3)


# --- freeze -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: zg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda ps: zg.optim.Adam(ps, lr=0.1, weight_decay=0.1),
        lambda ps: zg.optim.AdamW(ps, lr=0.1, weight_decay=0.1),
        lambda ps: zg.optim.Adagrad(ps, lr=0.1, weight_decay=0.1),
        lambda ps: zg.optim.RMSprop(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    ],
    ids=["sgd-nesterov", "adam", "adamw", "adagrad", "rmsprop"],
)
def test_frozen_parameters_get_no_gradient_and_no_update(make):
    zg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = make(model.parameters())
    x = zg.randn(5, 4)
    model(x).sum().backward()
    opt.step()  # every parameter now has optimizer state (momentum, moments ...)
    model[0].freeze()  # frozen after training: its stale gradient is dropped too
    assert all(p.grad is None for p in model[0].parameters())
    before = [p.data.copy() for p in model.parameters()]
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        assert all(p.grad is None for p in model[0].parameters())
        assert all(p.grad is not None for p in model[2].parameters())
        opt.step()
    after = [p.data for p in model.parameters()]
    assert all(np.array_equal(b, a) for b, a in zip(before[:2], after[:2]))
    assert all(not np.array_equal(b, a) for b, a in zip(before[2:], after[2:]))
    model[0].unfreeze()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
