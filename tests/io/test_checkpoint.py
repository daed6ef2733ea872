"""zerograd.io checkpoints: model + optimizer + scheduler + epoch + extra + RNG in one file,
resuming bit for bit; clear errors for files that are not (or not this version of) checkpoints."""

import json
import struct

import numpy as np
import pytest

import zerograd as zg
from zerograd import io, nn


class StandInSGD:
    """SGD with momentum following zerograd.optim's contract: per-index state, plain groups."""

    def __init__(self, params, lr, momentum=0.9):
        self.params = list(params)
        self.param_groups = [
            {
                "lr": lr,
                "momentum": momentum,
                "betas": (0.9, 0.999),  # a tuple, as Adam keeps them: must come back a tuple
                "eps": 1e-8,
                "nesterov": False,
                "params": list(range(len(self.params))),
            }
        ]
        self.state = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        group = self.param_groups[0]
        for i, p in enumerate(self.params):
            state = self.state.setdefault(i, {"step": 0})
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = zg.tensor(p.grad.data.copy())
            else:
                buf = state["momentum_buffer"].data
                buf *= group["momentum"]
                buf += p.grad.data
            state["step"] += 1
            p.data -= group["lr"] * state["momentum_buffer"].data

    def state_dict(self):
        return {
            "state": {i: dict(s) for i, s in self.state.items()},
            "param_groups": [dict(g) for g in self.param_groups],
        }

    def load_state_dict(self, sd):
        self.state = {
            int(i): {k: zg.tensor(v.data.copy()) if isinstance(v, zg.Tensor) else v
                     for k, v in s.items()}
            for i, s in sd["state"].items()
        }  # fmt: skip
        self.param_groups = [dict(g) for g in sd["param_groups"]]


class StandInStepLR:
    """StepLR following the contract: state_dict() is a dict of plain values."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.optimizer = optimizer
        self.step_size, self.gamma = step_size, gamma
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.last_epoch = 0

    def step(self):
        self.last_epoch += 1
        for g, base in zip(self.optimizer.param_groups, self.base_lrs):
            g["lr"] = base * self.gamma ** (self.last_epoch // self.step_size)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, sd):
        self.__dict__.update(sd)


def make_net():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1))


def train(net, opt, sched, steps):
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        x, t = zg.randn(16, 4), zg.randn(16, 1)  # data and dropout both draw from the RNG
        loss = loss_fn(net(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def snapshot(net):
    return {k: v.data.copy() for k, v in net.state_dict().items()}


def assert_same_weights(a, b):
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def assert_same_optimizer_state(a, b):
    assert a["param_groups"] == b["param_groups"]
    assert list(a["state"]) == list(b["state"])
    for i in a["state"]:
        sa, sb = a["state"][i], b["state"][i]
        assert list(sa) == list(sb)
        for k in sa:
            if isinstance(sa[k], zg.Tensor):
                assert isinstance(sb[k], zg.Tensor)
                np.testing.assert_array_equal(sa[k].data, sb[k].data)
            else:
                assert sa[k] == sb[k] and type(sa[k]) is type(sb[k])


def setup(make_opt, make_sched, seed):
    zg.manual_seed(seed)
    net = make_net()
    opt = make_opt(net.parameters())
    return net, opt, make_sched(opt)


def check_resume_is_bit_identical(tmp_path, make_opt, make_sched):
    path = tmp_path / "ckpt.safetensors"
    net, opt, sched = setup(make_opt, make_sched, seed=0)
    train(net, opt, sched, 3)
    io.save_checkpoint(path, net, opt, sched, epoch=3, extra={"best": 0.5, "cfg": {"h": [8]}})
    saved_opt = opt.state_dict()
    saved_opt = {
        "state": {i: {k: v.data.copy() if isinstance(v, zg.Tensor) else v for k, v in s.items()}
                  for i, s in saved_opt["state"].items()},
        "param_groups": [dict(g) for g in saved_opt["param_groups"]],
    }  # fmt: skip
    saved_sched = sched.state_dict()
    train(net, opt, sched, 4)  # the uninterrupted run
    final, final_opt = snapshot(net), opt.state_dict()
    next_numbers = zg.rand(5).data

    net2, opt2, sched2 = setup(make_opt, make_sched, seed=123)  # other weights, other RNG
    info = io.load_checkpoint(path, net2, opt2, sched2)
    assert info == {"epoch": 3, "extra": {"best": 0.5, "cfg": {"h": [8]}}}
    restored_opt = opt2.state_dict()
    assert restored_opt["param_groups"] == saved_opt["param_groups"]
    for i, s in saved_opt["state"].items():
        for k, v in s.items():
            got = restored_opt["state"][i][k]
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(got.data, v)
            else:
                assert got == v and type(got) is type(v)
    assert sched2.state_dict() == saved_sched
    train(net2, opt2, sched2, 4)  # the resumed run
    assert_same_weights(snapshot(net2), final)
    assert_same_optimizer_state(opt2.state_dict(), final_opt)
    np.testing.assert_array_equal(zg.rand(5).data, next_numbers)


def test_resume_with_stand_in_optimizer_is_bit_identical(tmp_path):
    check_resume_is_bit_identical(
        tmp_path,
        lambda params: StandInSGD(params, lr=0.05),
        lambda opt: StandInStepLR(opt, step_size=2, gamma=0.5),
    )


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_resume_with_real_optimizers_is_bit_identical(tmp_path, name):
    from zerograd import optim
    from zerograd.optim import lr_scheduler

    kwargs = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    check_resume_is_bit_identical(
        tmp_path,
        lambda params: getattr(optim, name)(params, **kwargs),
        lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    )


def test_rng_resumes_where_it_was_saved(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    zg.manual_seed(7)
    zg.randn(100)  # somewhere in the middle of the stream
    net = nn.Linear(2, 2)
    io.save_checkpoint(path, net)
    expected = zg.randn(10).data
    zg.manual_seed(999)
    assert io.load_checkpoint(path, nn.Linear(2, 2)) == {"epoch": None, "extra": None}
    np.testing.assert_array_equal(zg.randn(10).data, expected)


def test_checkpoint_is_plain_safetensors_with_documented_names(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    zg.manual_seed(0)
    net = make_net()
    opt = StandInSGD(net.parameters(), lr=0.1)
    sched = StandInStepLR(opt, step_size=1)
    train(net, opt, sched, 1)
    io.save_checkpoint(path, net, opt, sched, epoch=1)
    tensors, meta = io.load(path), io.load_metadata(path)
    assert list(tensors) == ["model.0.weight", "model.0.bias", "model.3.weight", "model.3.bias"] + [
        f"optimizer.state.{i}.momentum_buffer" for i in range(4)
    ]
    assert meta["format"] == "zerograd.checkpoint" and meta["format_version"] == "1"
    assert json.loads(meta["epoch"]) == 1
    assert json.loads(meta["rng_state"])["bit_generator"] == "PCG64"
    optimizer = json.loads(meta["optimizer"])
    assert optimizer["state"]["0"] == {
        "step": 1,
        "momentum_buffer": {"__tensor__": "optimizer.state.0.momentum_buffer"},
    }
    assert optimizer["param_groups"][0]["betas"] == {"__tuple__": [0.9, 0.999]}
    assert json.loads(meta["scheduler"])["last_epoch"] == 1

    st_numpy = pytest.importorskip(
        "safetensors.numpy", reason='needs safetensors: pip install "zerograd[test]"'
    )
    theirs = st_numpy.load_file(str(path))
    for k, t in tensors.items():
        np.testing.assert_array_equal(theirs[k], t.data)


def test_load_into_takes_the_model_part_of_a_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    zg.manual_seed(0)
    net = make_net()
    io.save_checkpoint(path, net, StandInSGD(net.parameters(), lr=0.1))
    other = make_net()
    io.load_into(other, path)
    assert_same_weights(snapshot(other), snapshot(net))


# ---------------------------------------------------------------------------------------------
# what save_checkpoint refuses


def test_save_rejects_values_json_cannot_hold(tmp_path):
    path = tmp_path / "c.safetensors"
    net = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="epoch must be an int or None, got True"):
        io.save_checkpoint(path, net, epoch=True)
    with pytest.raises(TypeError, match="extra must be a dict.*list"):
        io.save_checkpoint(path, net, extra=[1])
    with pytest.raises(TypeError, match=r"extra\['model'\] is a Linear, which cannot be stored"):
        io.save_checkpoint(path, net, extra={"model": net})
    with pytest.raises(TypeError, match=r"extra\['w'\]\[1\] is a Tensor"):
        io.save_checkpoint(path, net, extra={"w": [1, zg.ones(1)]})
    with pytest.raises(TypeError, match=r"extra\['by_epoch'\] has the key 3"):
        io.save_checkpoint(path, net, extra={"by_epoch": {3: 0.5}})
    with pytest.raises(ValueError, match="reserved key '__tuple__'"):
        io.save_checkpoint(path, net, extra={"x": {"__tuple__": [1]}})

    class Bad(StandInSGD):
        def state_dict(self):
            return {"state": {"0": {}}, "param_groups": []}

    with pytest.raises(TypeError, match="optimizer state keys must be parameter indices.*'0'"):
        io.save_checkpoint(path, net, Bad(net.parameters(), lr=0.1))

    class Worse(StandInSGD):
        def state_dict(self):
            return [1, 2]

    with pytest.raises(TypeError, match="Worse.state_dict\\(\\) must return"):
        io.save_checkpoint(path, net, Worse(net.parameters(), lr=0.1))
    assert not path.exists()


def test_numpy_scalars_in_extra_become_python_numbers(tmp_path):
    path = tmp_path / "c.safetensors"
    io.save_checkpoint(path, nn.Linear(1, 1), extra={"acc": np.float32(0.5), "n": np.int64(3)})
    extra = io.load_checkpoint(path, nn.Linear(1, 1))["extra"]
    assert extra == {"acc": 0.5, "n": 3} and type(extra["n"]) is int


# ---------------------------------------------------------------------------------------------
# what load_checkpoint refuses: nothing is changed


def forged_checkpoint(path, **changes):
    """A checkpoint whose metadata fields are replaced (or removed, with None)."""
    net = nn.Linear(2, 1)
    opt = StandInSGD(net.parameters(), lr=0.1)
    opt.state = {0: {"step": 1, "momentum_buffer": zg.ones(1, 2)}}
    io.save_checkpoint(path, net, opt, epoch=1)
    tensors, meta = io.load(path), io.load_metadata(path)
    for k, v in changes.items():
        if v is None:
            meta.pop(k)
        else:
            meta[k] = v
    io.save(tensors, path, metadata=meta)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"format": None}, "not a zerograd checkpoint: its metadata has format=None"),
        ({"format": "other"}, "format='other', expected 'zerograd.checkpoint'"),
        ({"format_version": "2"}, "format version '2', but this zerograd reads version 1"),
        ({"format_version": None}, "format version None"),
        ({"epoch": "{oops"}, "epoch is not valid JSON"),
        ({"rng_state": None}, "lacks 'rng_state'"),
        ({"rng_state": '{"bit_generator": "MT19937"}'}, "RNG state cannot be restored"),
        ({"optimizer": '{"state": {"0": {"m": {"__tensor__": "nope"}}}, "param_groups": []}'},
         "refers to a tensor 'nope'"),
        ({"optimizer": '{"state": {"x": {"m": {"__tensor__": "optimizer.state.0.momentum_buffer"'
                       '}}}, "param_groups": []}'}, "optimizer state is malformed"),
        ({"optimizer": '{"state": {}, "param_groups": []}'}, "belong to neither the model"),
        ({"optimizer": None}, "holds no optimizer state.*pass optimizer=None"),
    ],
)  # fmt: skip
def test_load_rejects_damaged_checkpoints_changing_nothing(tmp_path, changes, match):
    path = tmp_path / "c.safetensors"
    forged_checkpoint(path, **changes)
    zg.manual_seed(5)
    net = nn.Linear(2, 1)
    opt = StandInSGD(net.parameters(), lr=0.3)
    before, rng = snapshot(net), zg.get_rng_state()
    with pytest.raises(ValueError, match=match):
        io.load_checkpoint(path, net, opt)
    assert_same_weights(snapshot(net), before)
    assert opt.param_groups[0]["lr"] == 0.3 and opt.state == {}
    assert zg.get_rng_state() == rng


def test_load_rejects_plain_weights_and_non_safetensors(tmp_path):
    path = tmp_path / "w.safetensors"
    io.save(nn.Linear(2, 1).state_dict(), path)
    with pytest.raises(ValueError, match="w.safetensors' is not a zerograd checkpoint.*load_into"):
        io.load_checkpoint(path, nn.Linear(2, 1))
    path.write_bytes(b"\x80\x04\x95" + b"\x00" * 40)  # a pickle's opening bytes
    with pytest.raises(ValueError, match="w.safetensors' is not a valid safetensors file"):
        io.load_checkpoint(path, nn.Linear(2, 1))
    path.write_bytes(struct.pack("<Q", 2) + b"{}")  # valid safetensors, empty
    with pytest.raises(ValueError, match="not a zerograd checkpoint"):
        io.load_checkpoint(path, nn.Linear(2, 1))


def test_load_without_scheduler_state(tmp_path):
    path = tmp_path / "c.safetensors"
    net = nn.Linear(2, 1)
    opt = StandInSGD(net.parameters(), lr=0.1)
    io.save_checkpoint(path, net, opt)
    with pytest.raises(ValueError, match="holds no scheduler state.*pass scheduler=None"):
        io.load_checkpoint(path, nn.Linear(2, 1), opt, StandInStepLR(opt, 1))


def test_load_into_a_different_architecture_changes_nothing(tmp_path):
    path = tmp_path / "c.safetensors"
    io.save_checkpoint(path, nn.Linear(2, 1), epoch=4)
    net = nn.Linear(3, 1)
    before, rng = snapshot(net), zg.get_rng_state()
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        io.load_checkpoint(path, net)
    assert_same_weights(snapshot(net), before)
    assert zg.get_rng_state() == rng


def test_a_failing_scheduler_load_rolls_back_model_and_optimizer(tmp_path):
    path = tmp_path / "c.safetensors"
    zg.manual_seed(0)
    net = make_net()
    opt = StandInSGD(net.parameters(), lr=0.1)
    sched = StandInStepLR(opt, step_size=1)
    train(net, opt, sched, 2)
    io.save_checkpoint(path, net, opt, sched)

    class Picky(StandInStepLR):
        def load_state_dict(self, sd):
            raise ValueError("Picky: not my kind of state")

    zg.manual_seed(1)
    net2 = make_net()
    opt2 = StandInSGD(net2.parameters(), lr=0.7)
    train(net2, opt2, StandInStepLR(opt2, step_size=5), 1)
    weights, opt_state = snapshot(net2), opt2.state_dict()
    opt_state = {  # a deep snapshot: state_dict() hands out the live tensors
        "state": {i: {k: zg.tensor(v.data.copy()) if isinstance(v, zg.Tensor) else v
                      for k, v in s.items()} for i, s in opt_state["state"].items()},
        "param_groups": [dict(g) for g in opt_state["param_groups"]],
    }  # fmt: skip
    rng = zg.get_rng_state()
    with pytest.raises(ValueError, match="Picky"):
        io.load_checkpoint(path, net2, opt2, Picky(opt2, step_size=5))
    assert_same_weights(snapshot(net2), weights)
    assert_same_optimizer_state(opt2.state_dict(), opt_state)
    assert zg.get_rng_state() == rng
